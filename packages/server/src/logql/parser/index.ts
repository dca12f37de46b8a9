/**
 * LogQL text → Lookout's AST (../ast.ts). @grafana/lezer-logql does the syntax; this adapter
 * turns its concrete tree into typed nodes and applies the checks Loki's parser makes
 * (matchers, aggregation parameters, unwrap, literals in set operations), with Loki's messages.
 */
import { parser as lezerParser } from '@grafana/lezer-logql';
import type { SyntaxNode } from '@lezer/common';
import type {
  BinaryExpr,
  BinaryOp,
  CompareOp,
  Grouping,
  LabelExtraction,
  LabelFilterExpr,
  LabelMatcher,
  LineFilterOp,
  LineFilterValue,
  LogSelector,
  LogqlExpr,
  MetricExpr,
  RangeAggregation,
  RangeOp,
  Stage,
  Unwrap,
  VectorOp,
} from '../ast.js';
import { checkTemplate } from '../engine/template.js';
import { LogqlParseError } from '../errors.js';
import { tryCompileRe2 } from '../regex.js';
import { parseBytes, parseDurationNs, parseGoFloat, unquote } from './values.js';

const MAX_INPUT = 131072;
const ERR_MATCHER_REQUIRED =
  'queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will';

export function parseLogql(query: string, options: { validate?: boolean } = {}): LogqlExpr {
  if (query.length >= MAX_INPUT) throw new LogqlParseError(`input size too long (${query.length} > ${MAX_INPUT})`);
  const tree = lezerParser.parse(query);
  const error = firstError(tree.topNode);
  if (error !== undefined) throw syntaxError(query, error);
  const top = tree.topNode.getChild('Expr');
  if (!top) throw syntaxError(query, query.length);
  return new Builder(query, options.validate ?? true).expr(top);
}

/**
 * A log query (selector and pipeline), not a metric query. `validate: false` skips Loki's
 * matcher requirement, as Promtail's match stage parses its selectors.
 */
export function parseLogSelector(query: string, options: { validate?: boolean } = {}): LogSelector {
  const expr = parseLogql(query, options);
  if (expr.kind !== 'log') throw new LogqlParseError('only log selector is supported');
  return expr;
}

function firstError(node: SyntaxNode): number | undefined {
  let found: number | undefined;
  node.cursor().iterate((n) => {
    if (found !== undefined) return false;
    if (n.type.isError) {
      found = n.from;
      return false;
    }
    return undefined;
  });
  return found;
}

function lineCol(query: string, offset: number): { line: number; col: number } {
  const before = query.slice(0, offset);
  const line = before.split('\n').length;
  const col = offset - (before.lastIndexOf('\n') + 1) + 1;
  return { line, col };
}

/** Loki's goyacc message: `syntax error: unexpected <token>` with its token names. */
function syntaxError(query: string, offset: number): LogqlParseError {
  let at = offset;
  while (at < query.length && /\s/.test(query[at]!)) at++;
  const { line, col } = lineCol(query, at);
  return new LogqlParseError(`syntax error: unexpected ${tokenName(query.slice(at))}`, line, col);
}

function tokenName(rest: string): string {
  if (rest === '') return '$end';
  if (/^["`]/.test(rest)) return 'STRING';
  const dur = /^\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d|w|y)/.exec(rest);
  if (dur) return 'DURATION';
  if (/^\[/.test(rest)) return 'RANGE';
  if (/^[0-9.]/.test(rest)) return 'NUMBER';
  const ident = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(rest);
  if (ident) {
    const word = ident[0];
    return KEYWORDS.has(word.toLowerCase()) ? word.toLowerCase() : 'IDENTIFIER';
  }
  const op = /^(\|=|\|~|\|>|!=|!~|!>|=~|==|>=|<=|[-+*/%^|=<>(){}[\],!])/.exec(rest);
  return op ? op[0] : rest[0]!;
}

const KEYWORDS = new Set([
  'json', 'logfmt', 'unpack', 'pattern', 'regexp', 'unwrap', 'label_format', 'line_format', 'label_replace', 'vector',
  'offset', 'bool', 'on', 'ignoring', 'group_left', 'group_right', 'decolorize', 'drop', 'keep', 'by', 'without',
  'and', 'or', 'unless', 'sum', 'avg', 'count', 'max', 'min', 'stddev', 'stdvar', 'bottomk', 'topk', 'sort',
  'sort_desc', 'count_over_time', 'rate', 'rate_counter', 'bytes_over_time', 'bytes_rate', 'avg_over_time',
  'sum_over_time', 'min_over_time', 'max_over_time', 'stddev_over_time', 'stdvar_over_time', 'quantile_over_time',
  'first_over_time', 'last_over_time', 'absent_over_time', 'ip', 'bytes', 'duration', 'duration_seconds',
]);

const RANGE_OPS: Record<string, RangeOp> = {
  CountOverTime: 'count_over_time',
  Rate: 'rate',
  RateCounter: 'rate_counter',
  BytesOverTime: 'bytes_over_time',
  BytesRate: 'bytes_rate',
  AvgOverTime: 'avg_over_time',
  SumOverTime: 'sum_over_time',
  MinOverTime: 'min_over_time',
  MaxOverTime: 'max_over_time',
  StddevOverTime: 'stddev_over_time',
  StdvarOverTime: 'stdvar_over_time',
  QuantileOverTime: 'quantile_over_time',
  FirstOverTime: 'first_over_time',
  LastOverTime: 'last_over_time',
  AbsentOverTime: 'absent_over_time',
};

const BIN_OPS: Record<string, BinaryOp> = {
  Or: 'or', And: 'and', Unless: 'unless', Add: '+', Sub: '-', Mul: '*', Div: '/', Mod: '%', Pow: '^',
  Eql: '==', Neq: '!=', Gtr: '>', Gte: '>=', Lss: '<', Lte: '<=',
};

const COMPARE_OPS: Record<string, CompareOp> = { Gtr: '>', Gte: '>=', Lss: '<', Lte: '<=', Neq: '!=', Eq: '==', Eql: '==' };
const MATCH_OPS: Record<string, LabelMatcher['type']> = { Eq: '=', Neq: '!=', Re: '=~', Nre: '!~' };
const FILTER_OPS: Record<string, LineFilterOp> = { PipeExact: '|=', PipeMatch: '|~', PipePattern: '|>', Npa: '!>', Nre: '!~', Neq: '!=' };

function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
}

class Builder {
  constructor(
    private readonly q: string,
    private readonly validate: boolean,
  ) {}

  private text(node: SyntaxNode): string {
    return this.q.slice(node.from, node.to);
  }

  private fail(message: string, node?: SyntaxNode): never {
    if (node === undefined) throw new LogqlParseError(message);
    const { line, col } = lineCol(this.q, node.from);
    throw new LogqlParseError(message, line, col);
  }

  private string(node: SyntaxNode): string {
    const value = unquote(this.text(node));
    if (value === undefined) this.fail('invalid string literal', node);
    return value;
  }

  private child(node: SyntaxNode, name: string): SyntaxNode {
    const c = node.getChild(name);
    if (!c) throw syntaxError(this.q, node.to);
    return c;
  }

  expr(node: SyntaxNode): LogqlExpr {
    const inner = node.firstChild;
    if (!inner) throw syntaxError(this.q, node.from);
    if (inner.name === 'LogExpr') {
      const sel = this.logExpr(inner);
      if (this.validate) validateSelector(sel);
      return sel;
    }
    return this.metric(inner);
  }

  private logExpr(node: SyntaxNode): LogSelector {
    const nested = node.getChild('LogExpr');
    if (nested) return this.logExpr(nested);
    const selector = this.child(node, 'Selector');
    const pipeline = node.getChild('PipelineExpr');
    return {
      kind: 'log',
      matchers: this.matchers(selector),
      stages: pipeline ? this.pipeline(pipeline) : [],
      pos: { start: node.from, end: node.to },
    };
  }

  private matchers(selector: SyntaxNode): LabelMatcher[] {
    const list = selector.getChild('Matchers');
    if (!list) return [];
    const out: LabelMatcher[] = [];
    const walk = (n: SyntaxNode): void => {
      for (const c of children(n)) {
        if (c.name === 'Matchers') walk(c);
        else if (c.name === 'Matcher') out.push(this.matcher(c));
      }
    };
    walk(list);
    return out;
  }

  private matcher(node: SyntaxNode): LabelMatcher {
    const [ident, op, str] = children(node);
    const type = MATCH_OPS[op!.name]!;
    const matcher: LabelMatcher = { type, name: this.text(ident!), value: this.string(str!) };
    if (type === '=~' || type === '!~') {
      const re = tryCompileRe2(matcher.value, true);
      if (typeof re === 'string') this.fail(re, str);
    }
    return matcher;
  }

  private pipeline(node: SyntaxNode): Stage[] {
    const stages: Stage[] = [];
    const walk = (n: SyntaxNode): void => {
      for (const c of children(n)) {
        if (c.name === 'PipelineExpr') walk(c);
        else if (c.name === 'PipelineStage') stages.push(...this.stage(c));
      }
    };
    walk(node);
    return stages;
  }

  private stage(node: SyntaxNode): Stage[] {
    const lineFilters = node.getChild('LineFilters');
    if (lineFilters) return this.lineFilters(lineFilters);
    const body = children(node).find((c) => c.name !== 'Pipe');
    if (!body) throw syntaxError(this.q, node.to);
    switch (body.name) {
      case 'LogfmtParser': {
        const flags = this.flags(body);
        return [{ kind: 'logfmt', extractions: [], ...flags }];
      }
      case 'LogfmtExpressionParser': {
        const flags = this.flags(body);
        return [{ kind: 'logfmt', extractions: this.extractions(this.child(body, 'LabelExtractionExpressionList')), ...flags }];
      }
      case 'JsonExpressionParser':
        return [{ kind: 'json', extractions: this.extractions(this.child(body, 'LabelExtractionExpressionList')) }];
      case 'LabelParser': {
        const first = body.firstChild!;
        if (first.name === 'Json') return [{ kind: 'json', extractions: [] }];
        if (first.name === 'Unpack') return [{ kind: 'unpack' }];
        const str = this.child(body, 'String');
        const pattern = this.string(str);
        if (first.name === 'Regexp') {
          const re = tryCompileRe2(pattern, false);
          if (typeof re === 'string') this.fail(`invalid regexp parser: ${re}`);
          if (!/\(\?P?<[a-zA-Z_][a-zA-Z0-9_]*>/.test(pattern)) this.fail('invalid regexp parser: at least one named capture must be supplied');
          return [{ kind: 'regexp', pattern }];
        }
        const err = validatePattern(pattern);
        if (err) this.fail(`invalid pattern parser: ${err}`);
        return [{ kind: 'pattern', pattern }];
      }
      case 'LabelFilter':
        return [{ kind: 'label_filter', filter: this.labelFilter(body) }];
      case 'LineFormatExpr': {
        const template = this.string(this.child(body, 'String'));
        const err = checkTemplate(template);
        if (err) this.fail(err);
        return [{ kind: 'line_format', template }];
      }
      case 'LabelFormatExpr': {
        const items: { dst: string; rename?: string; template?: string }[] = [];
        const walk = (n: SyntaxNode): void => {
          for (const c of children(n)) {
            if (c.name === 'LabelsFormat') walk(c);
            else if (c.name === 'LabelFormatMatcher') {
              const [dst, , value] = children(c);
              if (value!.name === 'String') items.push({ dst: this.text(dst!), template: this.string(value!) });
              else items.push({ dst: this.text(dst!), rename: this.text(value!) });
            }
          }
        };
        walk(this.child(body, 'LabelsFormat'));
        for (const item of items) {
          const err = item.template === undefined ? undefined : checkTemplate(item.template);
          if (err) this.fail(err);
        }
        const seen = new Set<string>();
        for (const item of items) {
          if (seen.has(item.dst)) this.fail(`stage 'label_format' : multiple label name '${item.dst}' not allowed in a single format operation`);
          seen.add(item.dst);
        }
        return [{ kind: 'label_format', items }];
      }
      case 'DecolorizeExpr':
        return [{ kind: 'decolorize' }];
      case 'DropLabelsExpr':
      case 'KeepLabelsExpr': {
        const kind = body.name === 'DropLabelsExpr' ? 'drop' : 'keep';
        const labels: { name: string; matcher?: LabelMatcher }[] = [];
        const walk = (n: SyntaxNode): void => {
          for (const c of children(n)) {
            if (c.name === 'DropLabels' || c.name === 'KeepLabels') walk(c);
            else if (c.name === 'DropLabel' || c.name === 'KeepLabel') {
              const m = c.getChild('Matcher');
              if (m) {
                const matcher = this.matcher(m);
                labels.push({ name: matcher.name, matcher });
              } else labels.push({ name: this.text(this.child(c, 'Identifier')) });
            }
          }
        };
        walk(body);
        return [{ kind, labels }];
      }
      default:
        throw syntaxError(this.q, body.from);
    }
  }

  private flags(node: SyntaxNode): { strict: boolean; keepEmpty: boolean } {
    const flagsNode = node.getChild('LogfmtParserFlags');
    const text = flagsNode ? this.text(flagsNode) : '';
    return { strict: text.includes('--strict'), keepEmpty: text.includes('--keep-empty') };
  }

  private extractions(node: SyntaxNode): LabelExtraction[] {
    const out: LabelExtraction[] = [];
    const walk = (n: SyntaxNode): void => {
      for (const c of children(n)) {
        if (c.name === 'LabelExtractionExpressionList') walk(c);
        else if (c.name === 'LabelExtractionExpression') {
          const ident = this.text(this.child(c, 'Identifier'));
          const str = c.getChild('String');
          out.push({ label: ident, expression: str ? this.string(str) : ident });
        }
      }
    };
    walk(node);
    return out;
  }

  private lineFilters(node: SyntaxNode): Stage[] {
    const out: { kind: 'line_filter'; op: LineFilterOp; values: LineFilterValue[] }[] = [];
    const orValues = (n: SyntaxNode, into: LineFilterValue[]): void => {
      const parts = children(n);
      for (let i = 0; i < parts.length; i++) {
        const c = parts[i]!;
        if (c.name === 'String') into.push({ kind: 'text', value: this.string(c) });
        else if (c.name === 'FilterOp') {
          const str = parts.slice(i).find((p) => p.name === 'String');
          if (!str) throw syntaxError(this.q, c.to);
          into.push({ kind: 'ip', value: this.string(str) });
          i = parts.indexOf(str);
        } else if (c.name === 'OrFilter') orValues(c, into);
      }
    };
    const walk = (n: SyntaxNode): void => {
      for (const c of children(n)) {
        if (c.name === 'LineFilters') walk(c);
        else if (c.name === 'LineFilter') {
          const filter = this.child(c, 'Filter');
          const op = FILTER_OPS[filter.firstChild!.name]!;
          const values: LineFilterValue[] = [];
          orValues(c, values);
          out.push({ kind: 'line_filter', op, values });
        } else if (c.name === 'OrFilter') orValues(c, out[out.length - 1]!.values);
      }
    };
    walk(node);
    for (const f of out) {
      for (const v of f.values) {
        if (v.kind === 'ip') {
          if (f.op !== '|=' && f.op !== '!=') this.fail(`syntax error: unexpected ip`, node);
          if (!validIpPattern(v.value)) this.fail(`invalid ip pattern: ${v.value}`);
        } else if (f.op === '|~' || f.op === '!~') {
          const re = tryCompileRe2(v.value, false);
          if (typeof re === 'string') this.fail(re);
        } else if (f.op === '|>' || f.op === '!>') {
          const err = validatePattern(v.value, true);
          if (err) this.fail(err);
        }
      }
    }
    return out;
  }

  private labelFilter(node: SyntaxNode): LabelFilterExpr {
    const parts = children(node);
    if (parts.length === 1) {
      const c = parts[0]!;
      switch (c.name) {
        case 'LabelFilter':
          // A parenthesised filter: the parentheses are anonymous tokens.
          return this.labelFilter(c);
        case 'Matcher': {
          const m = this.matcher(c);
          return { kind: 'matcher', matcher: m };
        }
        case 'IpLabelFilter': {
          const [ident, op] = children(c);
          const cidr = this.string(this.child(c, 'String'));
          if (!validIpPattern(cidr)) this.fail(`invalid ip pattern: ${cidr}`);
          return { kind: 'ip', name: this.text(ident!), op: op!.name === 'Eq' ? '=' : '!=', cidr };
        }
        case 'UnitFilter': {
          const inner = c.firstChild!;
          const [ident, op, value] = children(inner);
          const text = this.text(value!);
          const parsed = inner.name === 'DurationFilter' ? parseDurationNs(text) : parseBytes(text);
          if (parsed === undefined) this.fail(`invalid ${inner.name === 'DurationFilter' ? 'duration' : 'bytes'} ${text}`, value);
          return { kind: inner.name === 'DurationFilter' ? 'duration' : 'bytes', name: this.text(ident!), op: COMPARE_OPS[op!.name]!, value: parsed, text };
        }
        case 'NumberFilter': {
          const [ident, op, lit] = children(c);
          const text = this.text(lit!).replace(/\s+/g, '');
          const value = parseGoFloat(text);
          if (value === undefined) this.fail(`unable to parse literal as a float: ${text}`, lit);
          return { kind: 'number', name: this.text(ident!), op: COMPARE_OPS[op!.name]!, value, text };
        }
        default:
          throw syntaxError(this.q, c.from);
      }
    }
    const filters = parts.filter((p) => p.name === 'LabelFilter');
    if (filters.length === 1) return this.labelFilter(filters[0]!);
    const or = parts.some((p) => p.name === 'Or');
    return { kind: or ? 'or' : 'and', left: this.labelFilter(filters[0]!), right: this.labelFilter(filters[1]!) };
  }

  metric(node: SyntaxNode): MetricExpr {
    if (node.name === 'Expr') {
      const inner = node.firstChild!;
      if (inner.name === 'LogExpr') {
        const { line, col } = lineCol(this.q, inner.from);
        throw new LogqlParseError('syntax error: unexpected log selector in metric expression', line, col);
      }
      return this.metric(inner);
    }
    if (node.name === 'MetricExpr') {
      const inner = children(node).find((c) => c.name !== '(' && c.name !== ')');
      if (!inner) throw syntaxError(this.q, node.from);
      return this.metric(inner);
    }
    const pos = { start: node.from, end: node.to };
    switch (node.name) {
      case 'RangeAggregationExpr':
        return this.rangeAgg(node);
      case 'VectorAggregationExpr':
        return this.vectorAgg(node);
      case 'BinOpExpr':
        return this.binary(node);
      case 'LiteralExpr': {
        const text = this.text(node).replace(/\s+/g, '');
        const value = parseGoFloat(text);
        if (value === undefined) this.fail(`unable to parse literal as a float: ${text}`);
        return { kind: 'literal', value, pos };
      }
      case 'VectorExpr': {
        const text = this.text(this.child(node, 'Number'));
        const value = parseGoFloat(text);
        if (value === undefined) this.fail(`unable to parse vectorExpr as a float: ${text}`);
        return { kind: 'vector', value, pos };
      }
      case 'LabelReplaceExpr': {
        const inner = this.metric(this.child(node, 'MetricExpr'));
        const [dst, replacement, src, regex] = node.getChildren('String').map((s) => this.string(s));
        const re = tryCompileRe2(regex!, true);
        if (typeof re === 'string') this.fail(`invalid regex in label_replace: ${re}`);
        if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(dst!)) this.fail(`invalid destination label name in label_replace: ${dst}`);
        return { kind: 'label_replace', expr: inner, dst: dst!, replacement: replacement!, src: src!, regex: regex!, pos };
      }
      default:
        throw syntaxError(this.q, node.from);
    }
  }

  private grouping(node: SyntaxNode | null): Grouping | undefined {
    if (!node) return undefined;
    const labelsNode = node.getChild('Labels');
    const labels: string[] = [];
    const walk = (n: SyntaxNode): void => {
      for (const c of children(n)) {
        if (c.name === 'Labels') walk(c);
        else if (c.name === 'Identifier') labels.push(this.text(c));
      }
    };
    if (labelsNode) walk(labelsNode);
    return { without: node.getChild('Without') !== null, labels };
  }

  private rangeAgg(node: SyntaxNode): RangeAggregation {
    const opNode = this.child(node, 'RangeOp').firstChild!;
    const op = RANGE_OPS[opNode.name]!;
    const numberNode = node.getChild('Number');
    const grouping = this.grouping(node.getChild('Grouping'));
    let param: number | undefined;
    if (numberNode) {
      const text = this.text(numberNode);
      if (op !== 'quantile_over_time') this.fail(`parameter ${text} not supported for operation ${op}`);
      param = parseGoFloat(text);
      if (param === undefined) this.fail(`invalid parameter for operation ${op}: ${text}`);
    } else if (op === 'quantile_over_time') this.fail(`parameter required for operation ${op}`);

    let selector: LogSelector | undefined;
    let stages: Stage[] = [];
    let rangeMs: number | undefined;
    let offsetMs = 0;
    let unwrap: Unwrap | undefined;
    const walk = (n: SyntaxNode): void => {
      for (const c of children(n)) {
        switch (c.name) {
          case 'LogRangeExpr':
            walk(c);
            break;
          case 'Selector':
            selector = { kind: 'log', matchers: this.matchers(c), stages: [], pos: { start: c.from, end: c.to } };
            break;
          case 'PipelineExpr':
            stages = stages.concat(this.pipeline(c));
            break;
          case 'Range': {
            const d = this.child(c, 'Duration');
            const ns = parseDurationNs(this.text(d));
            if (ns === undefined || ns <= 0) this.fail(`syntax error: unexpected RANGE`, c);
            rangeMs = ns / 1e6;
            break;
          }
          case 'OffsetExpr': {
            const ns = parseDurationNs(this.text(this.child(c, 'Duration')));
            if (ns === undefined) this.fail('syntax error: unexpected offset', c);
            offsetMs = ns / 1e6;
            break;
          }
          case 'UnwrapExpr':
            unwrap = this.unwrap(c);
            break;
        }
      }
    };
    walk(this.child(node, 'LogRangeExpr'));
    if (!selector || rangeMs === undefined) throw syntaxError(this.q, node.to);
    const sel: LogSelector = { ...(selector as LogSelector), stages, pos: { start: (selector as LogSelector).pos.start, end: node.to } };
    if (this.validate) validateSelector(sel);
    const expr: RangeAggregation = { kind: 'range_agg', op, selector: sel, rangeMs, offsetMs, pos: { start: node.from, end: node.to } };
    if (param !== undefined) expr.param = param;
    if (unwrap) expr.unwrap = unwrap;
    if (grouping) expr.grouping = grouping;
    const err = validateRangeAgg(expr);
    if (err) this.fail(err);
    return expr;
  }

  private unwrap(node: SyntaxNode): Unwrap {
    const inner = node.getChild('UnwrapExpr');
    if (inner) {
      const base = this.unwrap(inner);
      const filter = this.child(node, 'LabelFilter');
      base.postFilters.push(this.labelFilter(filter));
      return base;
    }
    const conv = node.getChild('ConvOp');
    const conversion = conv ? ({ BytesConv: 'bytes', DurationConv: 'duration', DurationSecondsConv: 'duration_seconds' } as const)[conv.firstChild!.name as 'BytesConv']! : '';
    return { label: this.text(this.child(node, 'Identifier')), conversion, postFilters: [] };
  }

  private vectorAgg(node: SyntaxNode): MetricExpr {
    const opNode = this.child(node, 'VectorOp').firstChild!;
    const op = opNode.name.toLowerCase() as VectorOp;
    const numberNode = node.getChild('Number');
    const grouping = this.grouping(node.getChild('Grouping'));
    const inner = this.metric(this.child(node, 'MetricExpr'));
    let param: number | undefined;
    if (op === 'topk' || op === 'bottomk') {
      if (!numberNode) this.fail(`parameter required for operation ${op}`);
      const text = this.text(numberNode);
      const n = parseGoFloat(text);
      if (n === undefined || !Number.isInteger(n)) this.fail(`invalid parameter ${op}(${text},`);
      if (n <= 0) this.fail(`invalid parameter (must be greater than 0) ${op}(${text}`);
      param = n;
    } else if (numberNode) this.fail(`unsupported parameter for operation ${op}(${this.text(numberNode)},`);
    if ((op === 'sort' || op === 'sort_desc') && grouping && grouping.labels.length > 0) this.fail("sort and sort_desc doesn't allow grouping by ");
    const expr: MetricExpr = { kind: 'vector_agg', op, expr: inner, pos: { start: node.from, end: node.to } };
    if (param !== undefined) expr.param = param;
    if (grouping) expr.grouping = grouping;
    return expr;
  }

  /**
   * The Lezer grammar's operator precedence differs from Loki's (it binds `+` tighter than `*`),
   * so a chain of unparenthesised binary operations is flattened and re-associated here with
   * Loki's precedence: or < and/unless < comparisons < +,- < *,/,% < ^ (right-associative).
   */
  private binary(node: SyntaxNode): MetricExpr {
    const operands: SyntaxNode[] = [];
    const ops: SyntaxNode[] = [];
    const flatten = (n: SyntaxNode): void => {
      const parts = children(n);
      const exprs = parts.filter((p) => p.name === 'Expr');
      const opNode = parts.find((p) => BIN_OPS[p.name] !== undefined)!;
      const side = (e: SyntaxNode): void => {
        const inner = e.firstChild;
        if (inner?.name === 'MetricExpr' && inner.firstChild?.name === 'BinOpExpr') flatten(inner.firstChild);
        else operands.push(e);
      };
      side(exprs[0]!);
      ops.push(opNode);
      side(exprs[1]!);
    };
    flatten(node);
    const built = operands.map((e) => this.metric(e));
    const prec = (op: BinaryOp): number =>
      op === 'or' ? 1 : op === 'and' || op === 'unless' ? 2 : ['==', '!=', '>', '>=', '<', '<='].includes(op) ? 3 : op === '+' || op === '-' ? 4 : op === '^' ? 6 : 5;
    // Precedence climbing over operands[i] (op i sits between operands i and i+1).
    const operandAt = built;
    let index = 0;
    const climbFrom = (minPrec: number): MetricExpr => {
      let lhs = operandAt[index]!;
      while (index < ops.length) {
        const opNode = ops[index]!;
        const op = BIN_OPS[opNode.name]!;
        const p = prec(op);
        if (p < minPrec) break;
        index++;
        const rhs = climbFrom(op === '^' ? p : p + 1);
        lhs = this.makeBinary(op, opNode, lhs, rhs);
      }
      return lhs;
    };
    return climbFrom(0);
  }

  private makeBinary(op: BinaryOp, opNode: SyntaxNode, lhs: MetricExpr, rhs: MetricExpr): MetricExpr {
    const pos = { start: lhs.pos.start, end: rhs.pos.end };
    // The modifier follows its operator in the tree.
    const modifier = opNode.nextSibling?.name === 'BinOpModifier' ? opNode.nextSibling : null;
    let returnBool = false;
    let matching: NonNullable<BinaryExpr['matching']> | undefined;
    if (modifier) {
      returnBool = modifier.getChild('Bool') !== null;
      const onIgn = modifier.getChild('OnOrIgnoringModifier');
      if (onIgn) {
        matching = { on: onIgn.getChild('On') !== null, labels: this.groupingLabels(onIgn.getChild('GroupingLabels')), card: 'one-to-one', include: [] };
        if (modifier.getChild('GroupLeft')) matching.card = 'many-to-one';
        if (modifier.getChild('GroupRight')) matching.card = 'one-to-many';
        matching.include = this.groupingLabels(modifier.getChild('GroupingLabels'));
      }
    }
    const logical = op === 'and' || op === 'or' || op === 'unless';
    if (logical && lhs.kind === 'literal') this.fail(`unexpected literal for left leg of logical/set binary operation (${op}): ${lhs.value.toFixed(6)}`);
    if (logical && rhs.kind === 'literal') this.fail(`unexpected literal for right leg of logical/set binary operation (${op}): ${rhs.value.toFixed(6)}`);
    if (returnBool && !['==', '!=', '>', '>=', '<', '<='].includes(op)) this.fail('bool modifier can only be used on comparison operators');
    if (lhs.kind === 'literal' && rhs.kind === 'literal') {
      // Loki folds literal arithmetic at parse time ((1+1) is the literal 2).
      return { kind: 'literal', value: foldLiteral(op, lhs.value, rhs.value), pos };
    }
    const expr: MetricExpr = { kind: 'binary', op, lhs, rhs, returnBool, pos };
    if (matching) expr.matching = matching;
    return expr;
  }

  private groupingLabels(node: SyntaxNode | null): string[] {
    if (!node) return [];
    const out: string[] = [];
    node.cursor().iterate((n) => {
      if (n.name === 'LabelName') out.push(this.q.slice(n.from, n.to));
    });
    return out;
  }
}

function foldLiteral(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/': return b === 0 ? NaN : a / b;
    case '%': return b === 0 ? NaN : a % b;
    case '^': return a ** b;
    case '==': return a === b ? 1 : 0;
    case '!=': return a !== b ? 1 : 0;
    case '>': return a > b ? 1 : 0;
    case '>=': return a >= b ? 1 : 0;
    case '<': return a < b ? 1 : 0;
    case '<=': return a <= b ? 1 : 0;
    default: return NaN;
  }
}

function matcherMatchesEmpty(m: LabelMatcher): boolean {
  switch (m.type) {
    case '=': return m.value === '';
    case '!=': return m.value !== '';
    case '=~': return (tryCompileRe2(m.value, true) as RegExp).test('');
    case '!~': return !(tryCompileRe2(m.value, true) as RegExp).test('');
  }
}

function validateSelector(sel: LogSelector): void {
  if (!sel.matchers.some((m) => (m.type === '=' || m.type === '=~') && !matcherMatchesEmpty(m))) {
    throw new LogqlParseError(ERR_MATCHER_REQUIRED);
  }
}

function validateRangeAgg(e: RangeAggregation): string | undefined {
  const groupable = ['avg_over_time', 'stddev_over_time', 'stdvar_over_time', 'quantile_over_time', 'max_over_time', 'min_over_time', 'first_over_time', 'last_over_time'];
  if (e.grouping && !groupable.includes(e.op)) return `grouping not allowed for ${e.op} aggregation`;
  if (e.unwrap) {
    const ok = ['avg_over_time', 'sum_over_time', 'max_over_time', 'min_over_time', 'stddev_over_time', 'stdvar_over_time', 'quantile_over_time', 'rate', 'rate_counter', 'absent_over_time', 'first_over_time', 'last_over_time'];
    return ok.includes(e.op) ? undefined : `invalid aggregation ${e.op} with unwrap`;
  }
  return ['bytes_over_time', 'bytes_rate', 'count_over_time', 'rate', 'absent_over_time'].includes(e.op) ? undefined : `invalid aggregation ${e.op} without unwrap`;
}

/** Loki's pattern syntax: literals and `<name>`/`<_>` captures, no two captures side by side. */
export function validatePattern(pattern: string, forFilter = false): string | undefined {
  const parts = splitPattern(pattern);
  if (!forFilter && !parts.some((p) => p.kind === 'capture' && p.name !== '_')) return 'at least one capture is required';
  if (parts.length === 0) return 'empty pattern';
  for (let i = 1; i < parts.length; i++) {
    if (parts[i]!.kind === 'capture' && parts[i - 1]!.kind === 'capture') return 'found consecutive capture: ' + pattern;
  }
  const names = new Set<string>();
  for (const p of parts) {
    if (p.kind === 'capture' && p.name !== '_') {
      if (names.has(p.name)) return `duplicate capture name (${p.name}): ${pattern}`;
      names.add(p.name);
    }
  }
  return undefined;
}

export type PatternPart = { kind: 'literal'; text: string } | { kind: 'capture'; name: string };

export function splitPattern(pattern: string): PatternPart[] {
  const parts: PatternPart[] = [];
  const re = /<(_|[a-zA-Z_][a-zA-Z0-9_]*)>/g;
  let last = 0;
  for (let m = re.exec(pattern); m; m = re.exec(pattern)) {
    if (m.index > last) parts.push({ kind: 'literal', text: pattern.slice(last, m.index) });
    parts.push({ kind: 'capture', name: m[1]! });
    last = m.index + m[0].length;
  }
  if (last < pattern.length) parts.push({ kind: 'literal', text: pattern.slice(last) });
  return parts;
}

function validIpPattern(p: string): boolean {
  const ip4 = '(?:\\d{1,3}(?:\\.\\d{1,3}){3})';
  const ip6 = '(?:[0-9a-fA-F:]*:[0-9a-fA-F:.]*)';
  const ip = `(?:${ip4}|${ip6})`;
  return new RegExp(`^(?:${ip}|${ip}/\\d{1,3}|${ip}\\s*-\\s*${ip})$`).test(p.trim());
}
