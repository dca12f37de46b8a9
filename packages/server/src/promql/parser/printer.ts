/**
 * Printing the AST the way Prometheus does: `exprToString` is its String() (promql/parser
 * printer.go), `formatPromql` its Prettify (prettier.go, used by /api/v1/format_query) and
 * `promqlAstToJson` the tree /api/v1/parse_query returns (web/api/v1/translate_ast.go).
 */
import { formatPromDuration, isLegacyLabelName } from '../../model/index.js';
import type { AtModifier, Expr, LabelMatcher, Subquery, VectorMatching, VectorSelector } from '../ast.js';
import { goQuote } from './lexer.js';
import { PROMQL_FUNCTIONS } from './functions.js';

/** Go's strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never an exponent. */
export function formatFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const negative = s.startsWith('-');
  const mantissa = s.slice(negative ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const [intPart, fracPart = ''] = mantissa.split('.');
  const digits = intPart! + fracPart;
  const point = intPart!.length + exp;
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${out}` : out;
}

function labelList(labels: readonly string[]): string {
  return labels.map((l) => (isLegacyLabelName(l) ? l : goQuote(l))).join(', ');
}

function matcherString(m: LabelMatcher): string {
  const name = m.name !== '' && isLegacyLabelName(m.name) ? m.name : goQuote(m.name);
  return `${name}${m.type}${goQuote(m.value)}`;
}

/** Byte-wise comparison, as Go's sort.Strings. */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function atString(at: AtModifier | undefined): string {
  if (at === undefined) return '';
  if (at.kind === 'start') return ' @ start()';
  if (at.kind === 'end') return ' @ end()';
  return ` @ ${(at.ms / 1000).toFixed(3)}`;
}

function offsetString(offsetMs: number): string {
  if (offsetMs > 0) return ` offset ${formatPromDuration(offsetMs)}`;
  if (offsetMs < 0) return ` offset -${formatPromDuration(-offsetMs)}`;
  return '';
}

function selectorBody(vs: VectorSelector): string {
  const labels: string[] = [];
  for (const m of vs.matchers) {
    if (m.name === '__name__' && m.type === '=' && m.value === vs.name && m.value !== '') continue;
    labels.push(matcherString(m));
  }
  labels.sort(compareBytes);
  return (vs.name ?? '') + (labels.length > 0 ? `{${labels.join(',')}}` : '');
}

function matchingString(m: VectorMatching | undefined): string {
  if (m === undefined) return '';
  let out = '';
  const grouped = m.card === 'many-to-one' || m.card === 'one-to-many';
  if (m.labels.length > 0 || m.on || grouped) out += ` ${m.on ? 'on' : 'ignoring'} (${labelList(m.labels)})`;
  if (grouped) out += ` group_${m.card === 'many-to-one' ? 'left' : 'right'} (${labelList(m.include)})`;
  return out;
}

function aggregatePrefix(e: Extract<Expr, { kind: 'Aggregate' }>): string {
  if (e.without) return `${e.op} without (${labelList(e.grouping)}) `;
  if (e.grouping.length > 0) return `${e.op} by (${labelList(e.grouping)}) `;
  return e.op;
}

function subquerySuffix(e: Subquery): string {
  const step = e.stepMs !== 0 ? formatPromDuration(e.stepMs) : '';
  return `[${formatPromDuration(e.rangeMs)}:${step}]${atString(e.at)}${offsetString(e.offsetMs)}`;
}

/** Prometheus's Expr.String(). */
export function exprToString(e: Expr): string {
  switch (e.kind) {
    case 'NumberLiteral':
      if (e.duration === true) {
        return e.value < 0 ? `-${formatPromDuration(Math.trunc(-e.value * 1e3))}` : formatPromDuration(Math.trunc(e.value * 1e3));
      }
      return formatFloat(e.value);
    case 'StringLiteral':
      return goQuote(e.value);
    case 'VectorSelector':
      return selectorBody(e) + atString(e.at) + offsetString(e.offsetMs);
    case 'MatrixSelector': {
      const vs = e.vectorSelector;
      return `${selectorBody(vs)}[${formatPromDuration(e.rangeMs)}]${atString(vs.at)}${offsetString(vs.offsetMs)}`;
    }
    case 'Subquery':
      return exprToString(e.expr) + subquerySuffix(e);
    case 'Call':
      return `${e.func}(${e.args.map(exprToString).join(', ')})`;
    case 'Aggregate':
      return `${aggregatePrefix(e)}(${e.param !== undefined ? `${exprToString(e.param)}, ` : ''}${exprToString(e.expr)})`;
    case 'Binary':
      return `${exprToString(e.lhs)} ${e.op}${e.returnBool ? ' bool' : ''}${matchingString(e.matching)} ${exprToString(e.rhs)}`;
    case 'Unary':
      return e.op + exprToString(e.expr);
    case 'Paren':
      return `(${exprToString(e.expr)})`;
  }
}

const indent = (n: number): string => '  '.repeat(n);

/** Prometheus's Prettify: nodes longer than the line limit are split, children indented. */
export function formatPromql(e: Expr, maxCharactersPerLine = 100): string {
  const needsSplit = (n: Expr): boolean => Buffer.byteLength(exprToString(n), 'utf8') > maxCharactersPerLine;
  const pretty = (n: Expr, level: number): string => {
    switch (n.kind) {
      case 'Aggregate': {
        if (!needsSplit(n)) return indent(level) + exprToString(n);
        let s = `${indent(level)}${aggregatePrefix(n)}(\n`;
        if (n.param !== undefined) s += `${pretty(n.param, level + 1)},\n`;
        return `${s}${pretty(n.expr, level + 1)}\n${indent(level)})`;
      }
      case 'Binary': {
        if (!needsSplit(n)) return indent(level) + exprToString(n);
        return `${pretty(n.lhs, level + 1)}\n${indent(level)}${n.op}${n.returnBool ? ' bool' : ''}${matchingString(n.matching)}\n${pretty(n.rhs, level + 1)}`;
      }
      case 'Call': {
        if (!needsSplit(n)) return indent(level) + exprToString(n);
        return `${indent(level)}${n.func}(\n${n.args.map((a) => pretty(a, level + 1)).join(',\n')}\n${indent(level)})`;
      }
      case 'Paren': {
        if (!needsSplit(n)) return indent(level) + exprToString(n);
        return `${indent(level)}(\n${pretty(n.expr, level + 1)}\n${indent(level)})`;
      }
      case 'Subquery':
        // As Prometheus: an unsplit subquery carries no indentation of its own.
        if (!needsSplit(n)) return exprToString(n);
        return pretty(n.expr, level) + subquerySuffix(n);
      case 'Unary':
        return `${indent(level)}${n.op}${pretty(n.expr, level).trim()}`;
      default:
        return indent(level) + exprToString(n);
    }
  };
  return pretty(e, 0);
}

function matchersJson(matchers: readonly LabelMatcher[]): { name: string; value: string; type: string }[] {
  return matchers.map((m) => ({ name: m.name, value: m.value, type: m.type }));
}

function timestampJson(at: AtModifier | undefined): number | null {
  return at?.kind === 'timestamp' ? at.ms : null;
}

function startOrEndJson(at: AtModifier | undefined): string | null {
  return at === undefined || at.kind === 'timestamp' ? null : at.kind;
}

const CARD_NAMES: Record<VectorMatching['card'], string> = {
  'one-to-one': 'one-to-one',
  'many-to-one': 'many-to-one',
  'one-to-many': 'one-to-many',
  'many-to-many': 'many-to-many',
};

/**
 * The JSON tree Prometheus 3's /api/v1/parse_query returns for an expression (objects with their
 * keys in sorted order, as Go's encoding/json writes maps).
 */
export function promqlAstToJson(e: Expr): unknown {
  return sortKeys(astToJson(e));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
  return out;
}

function astToJson(e: Expr): unknown {
  switch (e.kind) {
    case 'Aggregate':
      return {
        type: 'aggregation',
        op: e.op,
        expr: astToJson(e.expr),
        param: e.param === undefined ? null : astToJson(e.param),
        grouping: [...e.grouping],
        without: e.without,
      };
    case 'Binary':
      return {
        type: 'binaryExpr',
        op: e.op,
        lhs: astToJson(e.lhs),
        rhs: astToJson(e.rhs),
        matching:
          e.matching === undefined
            ? null
            : {
                card: CARD_NAMES[e.matching.card],
                labels: [...e.matching.labels],
                on: e.matching.on,
                include: [...e.matching.include],
                fillValues: { lhs: null, rhs: null },
              },
        bool: e.returnBool,
      };
    case 'Call': {
      const fn = PROMQL_FUNCTIONS.get(e.func);
      return {
        type: 'call',
        func: {
          name: e.func,
          argTypes: fn === undefined ? [] : [...fn.argTypes],
          variadic: fn?.variadic ?? 0,
          returnType: fn?.returnType ?? e.type,
        },
        args: e.args.map(astToJson),
      };
    }
    case 'MatrixSelector': {
      const vs = e.vectorSelector;
      return {
        type: 'matrixSelector',
        name: vs.name ?? '',
        range: e.rangeMs,
        rangeExpr: null,
        offset: vs.offsetMs,
        offsetExpr: null,
        matchers: matchersJson(vs.matchers),
        timestamp: timestampJson(vs.at),
        startOrEnd: startOrEndJson(vs.at),
        anchored: false,
        smoothed: false,
      };
    }
    case 'Subquery':
      return {
        type: 'subquery',
        expr: astToJson(e.expr),
        range: e.rangeMs,
        rangeExpr: null,
        offset: e.offsetMs,
        offsetExpr: null,
        step: e.stepMs,
        stepExpr: null,
        timestamp: timestampJson(e.at),
        startOrEnd: startOrEndJson(e.at),
      };
    case 'NumberLiteral':
      return { type: 'numberLiteral', val: formatFloat(e.value) };
    case 'Paren':
      return { type: 'parenExpr', expr: astToJson(e.expr) };
    case 'StringLiteral':
      return { type: 'stringLiteral', val: e.value };
    case 'Unary':
      return { type: 'unaryExpr', op: e.op, expr: astToJson(e.expr) };
    case 'VectorSelector':
      return {
        type: 'vectorSelector',
        name: e.name ?? '',
        offset: e.offsetMs,
        offsetExpr: null,
        matchers: matchersJson(e.matchers),
        timestamp: timestampJson(e.at),
        startOrEnd: startOrEndJson(e.at),
        anchored: false,
        smoothed: false,
      };
  }
}
