/**
 * The TraceQL subset Lookout answers, parsed into storage conditions: one spanset filter
 * `{ cond && cond && ... }` (every condition on the same span), with attributes in the
 * `resource.`, `span.` and unscoped `.` forms, the span and trace intrinsics, Tempo's
 * literals and comparison operators. Grafana's query builder also sends
 * `(a = x || a = y)` for multi-value filters; those become one "any of" condition.
 *
 * Anything else (pipelines, several spansets, structural operators, arithmetic, ...) is
 * rejected with a parse error that names the position and the construct, in the shape of
 * Tempo's own errors ("parse error at line 1, col N: ...").
 *
 * Also here: Tempo's legacy `tags` search parameter (logfmt) and Go durations
 * (`minDuration`, `maxDuration`), both needed by the Tempo API.
 */
import { LookoutError } from '../errors.js';
import { parseGoDurationNs } from '../model/index.js';
import type { SpanCondition, SpanConditionValue } from '../storage/index.js';

type Op = SpanCondition['op'];

type Literal =
  | { type: 'string'; value: string }
  | { type: 'int' | 'float' | 'duration'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'nil' }
  | { type: 'status' | 'kind'; value: string };

type Node =
  | { type: 'cond'; cond: SpanCondition; pos: number }
  | { type: 'and'; items: Node[]; pos: number }
  | { type: 'or'; items: Node[]; pos: number };

type Token =
  | { kind: 'punct' | 'op'; text: string; pos: number }
  | { kind: 'string'; text: string; value: string; pos: number }
  | { kind: 'number'; text: string; value: number; isFloat: boolean; pos: number }
  | { kind: 'duration'; text: string; value: number; pos: number }
  | { kind: 'word'; text: string; pos: number }
  /** `span.`, `resource.`, `.` (scope ''), ...: an attribute name follows. */
  | { kind: 'scopedot'; text: string; scope: string; pos: number }
  /** `span:`, `trace:`, ...: an intrinsic name follows. */
  | { kind: 'scopecolon'; text: string; scope: string; pos: number }
  | { kind: 'eof'; text: string; pos: number };

const STATUSES = new Set(['error', 'ok', 'unset']);
const KINDS = new Set(['unspecified', 'internal', 'server', 'client', 'producer', 'consumer']);
const COMPARISONS = new Set<string>(['=', '!=', '>', '>=', '<', '<=', '=~', '!~']);
const ARITHMETIC = new Set(['+', '-', '*', '/', '%', '^']);
const STRUCTURAL = new Set(['>>', '<<', '>', '<', '~', '!>', '!<', '!>>', '!<<', '&~', '&>', '&<', '&>>', '&<<']);
// Longest first, so `!>>` wins over `!>` and `&&` over `&`.
const OPERATORS = [
  '!>>', '!<<', '&>>', '&<<',
  '&&', '||', '=~', '!~', '!=', '>=', '<=', '>>', '<<', '!>', '!<', '&~', '&>', '&<',
  '=', '>', '<', '!', '|', '~', '+', '-', '*', '/', '%', '^', '&',
];
const ATTRIBUTE_SCOPES = new Set(['span', 'resource', 'parent', 'event', 'link', 'instrumentation']);
const INTRINSIC_SCOPES = new Set(['span', 'trace', 'event', 'link', 'instrumentation']);

/** Unscoped intrinsic names → the storage key. */
const INTRINSICS: Record<string, string> = {
  name: 'name',
  status: 'status',
  kind: 'kind',
  duration: 'duration',
  statusMessage: 'statusMessage',
  rootName: 'rootName',
  rootServiceName: 'rootServiceName',
  traceDuration: 'traceDuration',
};
const SPAN_INTRINSICS: Record<string, string> = {
  name: 'name',
  status: 'status',
  kind: 'kind',
  duration: 'duration',
  statusMessage: 'statusMessage',
};
const TRACE_INTRINSICS: Record<string, string> = {
  rootService: 'rootServiceName',
  rootName: 'rootName',
  duration: 'traceDuration',
};
// Valid TraceQL that this subset does not evaluate: named so the error says what is missing.
const UNSUPPORTED_INTRINSICS = new Set([
  'childCount', 'nestedSetLeft', 'nestedSetRight', 'nestedSetParent', 'id', 'traceID', 'spanID', 'parentID',
  'parent', 'timeSinceStart', 'version',
]);
const FUNCTIONS = new Set([
  'count', 'avg', 'max', 'min', 'sum', 'by', 'coalesce', 'select', 'rate', 'count_over_time', 'min_over_time',
  'max_over_time', 'avg_over_time', 'sum_over_time', 'quantile_over_time', 'histogram_over_time', 'compare',
  'topk', 'bottomk', 'with',
]);

const SUBSET_HINT = 'Lookout supports one spanset filter { ... } whose conditions are joined by &&';

/**
 * Parses a TraceQL query into conditions that must all hold on one span. `{}` gives [].
 * Throws LookoutError LOOKOUT_ERR_QUERY_PARSE on anything outside the supported subset.
 */
export function parseTraceQL(query: string): SpanCondition[] {
  return new Parser(query).parseQuery();
}

/**
 * The conditions that can be read out of a possibly incomplete query, as Tempo does for the
 * `q` of tag-name and tag-value requests (Grafana sends what the user has typed so far):
 * the whole query when it parses, otherwise each `&&` part of the first spanset that does.
 */
export function extractConditionsLenient(query: string): SpanCondition[] {
  try {
    return parseTraceQL(query);
  } catch {
    // fall through to the part-by-part reading
  }
  const open = query.indexOf('{');
  if (open < 0) return [];
  const close = query.indexOf('}', open);
  const body = query.slice(open + 1, close < 0 ? undefined : close);
  const out: SpanCondition[] = [];
  for (const part of splitTopLevelAnd(body)) {
    try {
      out.push(...parseTraceQL(`{${part}}`));
    } catch {
      // an incomplete condition is simply left out
    }
  }
  return out;
}

function splitTopLevelAnd(body: string): string[] {
  const parts: string[] = [];
  let quote = '';
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (quote !== '') {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === '`') {
      quote = c;
    } else if (c === '&' && body[i + 1] === '&') {
      parts.push(body.slice(start, i));
      start = i + 2;
      i++;
    }
  }
  parts.push(body.slice(start));
  return parts.filter((p) => p.trim() !== '');
}

class Parser {
  private pos = 0;

  constructor(private readonly src: string) {}

  parseQuery(): SpanCondition[] {
    const first = this.next();
    if (!(first.kind === 'punct' && first.text === '{')) {
      if (first.kind === 'eof') this.fail(first.pos, 'syntax error: unexpected end of query, expecting {');
      if (first.kind === 'punct' && first.text === '(') {
        this.unsupported(first.pos, 'grouping spansets with ( ... )');
      }
      if (first.kind === 'word' && FUNCTIONS.has(first.text)) {
        this.unsupported(first.pos, `${first.text}() outside a spanset (metrics and aggregate queries)`);
      }
      this.fail(first.pos, `syntax error: unexpected ${describe(first)}, expecting {`);
    }
    let conditions: SpanCondition[] = [];
    const afterOpen = this.peek();
    if (afterOpen.kind === 'punct' && afterOpen.text === '}') {
      this.next();
    } else {
      conditions = this.normalise(this.parseOr());
      const close = this.next();
      if (!(close.kind === 'punct' && close.text === '}')) {
        this.fail(close.pos, `syntax error: unexpected ${describe(close)}, expecting && or }`);
      }
    }
    const rest = this.next();
    if (rest.kind !== 'eof') this.rejectAfterSpanset(rest);
    return conditions;
  }

  private rejectAfterSpanset(token: Token): never {
    if (token.kind === 'op' && token.text === '|') this.unsupported(token.pos, 'pipelines (|)');
    if (token.kind === 'op' && (token.text === '&&' || token.text === '||')) {
      this.unsupported(token.pos, `combining spansets with ${token.text}`);
    }
    if (token.kind === 'op' && STRUCTURAL.has(token.text)) {
      this.unsupported(token.pos, `structural operator ${token.text}`);
    }
    if (token.kind === 'punct' && token.text === '{') this.unsupported(token.pos, 'more than one spanset');
    this.fail(token.pos, `syntax error: unexpected ${describe(token)} after the spanset`);
  }

  private parseOr(): Node {
    const items = [this.parseAnd()];
    let orPos = -1;
    for (;;) {
      const t = this.peek();
      if (!(t.kind === 'op' && t.text === '||')) break;
      if (orPos < 0) orPos = t.pos;
      this.next();
      items.push(this.parseAnd());
    }
    return items.length === 1 ? items[0]! : { type: 'or', items, pos: orPos };
  }

  private parseAnd(): Node {
    const first = this.parsePrimary();
    const items = [first];
    for (;;) {
      const t = this.peek();
      if (!(t.kind === 'op' && t.text === '&&')) break;
      this.next();
      items.push(this.parsePrimary());
    }
    return items.length === 1 ? first : { type: 'and', items, pos: first.pos };
  }

  private parsePrimary(): Node {
    const t = this.peek();
    if (t.kind === 'punct' && t.text === '(') {
      this.next();
      const inner = this.parseOr();
      const close = this.next();
      if (!(close.kind === 'punct' && close.text === ')')) {
        this.fail(close.pos, `syntax error: unexpected ${describe(close)}, expecting )`);
      }
      return inner;
    }
    return this.parseCondition();
  }

  private parseCondition(): Node {
    const start = this.peek().pos;
    const field = this.parseField();
    const opToken = this.next();
    if (opToken.kind === 'op' && ARITHMETIC.has(opToken.text)) {
      this.unsupported(opToken.pos, `arithmetic (${opToken.text})`);
    }
    if (!(opToken.kind === 'op' && COMPARISONS.has(opToken.text))) {
      this.fail(
        opToken.pos,
        `syntax error: unexpected ${describe(opToken)}, expecting a comparison operator (= != > >= < <= =~ !~) after ${field.text}`,
      );
    }
    const op = opToken.text as Op;
    const valuePos = this.peek().pos;
    const literal = this.parseValue();
    const after = this.peek();
    if (after.kind === 'op' && ARITHMETIC.has(after.text)) this.unsupported(after.pos, `arithmetic (${after.text})`);
    return { type: 'cond', cond: this.buildCondition(field, op, literal, valuePos), pos: start };
  }

  private parseField(): { scope: SpanCondition['scope']; key: string; text: string } {
    const t = this.next();
    switch (t.kind) {
      case 'scopedot': {
        if (t.scope !== '' && t.scope !== 'span' && t.scope !== 'resource') {
          this.unsupported(t.pos, `${t.scope}. attributes`);
        }
        const key = this.scanAttributeName();
        return { scope: t.scope === '' ? 'any' : (t.scope as 'span' | 'resource'), key, text: `${t.text}${key}` };
      }
      case 'scopecolon': {
        const name = this.next();
        const word = name.kind === 'word' ? name.text : '';
        const table = t.scope === 'span' ? SPAN_INTRINSICS : t.scope === 'trace' ? TRACE_INTRINSICS : undefined;
        const key = table?.[word];
        if (key !== undefined) return { scope: 'intrinsic', key, text: `${t.text}${word}` };
        if (word === '') this.fail(name.pos, `syntax error: unexpected ${describe(name)}, expecting an intrinsic name`);
        this.unsupported(t.pos, `intrinsic ${t.text}${word}`);
      }
      // falls through: unsupported() never returns
      case 'word': {
        const key = INTRINSICS[t.text];
        if (key !== undefined) return { scope: 'intrinsic', key, text: t.text };
        if (UNSUPPORTED_INTRINSICS.has(t.text)) this.unsupported(t.pos, `intrinsic ${t.text}`);
        if (FUNCTIONS.has(t.text)) this.unsupported(t.pos, `${t.text}()`);
        if (isValueWord(t.text)) {
          this.unsupported(t.pos, `a condition that does not start with an attribute or intrinsic (${t.text})`);
        }
        this.fail(t.pos, `syntax error: unexpected identifier ${t.text}`);
      }
      // falls through: fail() never returns
      case 'string':
      case 'number':
      case 'duration':
        this.unsupported(t.pos, `a condition that does not start with an attribute or intrinsic (${t.text})`);
      // falls through: unsupported() never returns
      default:
        if (t.kind === 'op' && t.text === '!') this.unsupported(t.pos, 'negation (!)');
        if (t.kind === 'punct' && t.text === '{') this.unsupported(t.pos, 'nested spansets');
        this.fail(t.pos, `syntax error: unexpected ${describe(t)}, expecting an attribute or intrinsic`);
    }
  }

  private parseValue(): Literal {
    let t = this.next();
    let negative = false;
    if (t.kind === 'op' && t.text === '-') {
      negative = true;
      t = this.next();
      if (t.kind !== 'number' && t.kind !== 'duration') {
        this.fail(t.pos, `syntax error: unexpected ${describe(t)}, expecting a number or duration after -`);
      }
    }
    switch (t.kind) {
      case 'string':
        return { type: 'string', value: t.value };
      case 'number':
        return { type: t.isFloat ? 'float' : 'int', value: negative ? -t.value : t.value };
      case 'duration':
        return { type: 'duration', value: negative ? -t.value : t.value };
      case 'word':
        if (t.text === 'true' || t.text === 'false') return { type: 'bool', value: t.text === 'true' };
        if (t.text === 'nil') return { type: 'nil' };
        if (STATUSES.has(t.text)) return { type: 'status', value: t.text };
        if (KINDS.has(t.text)) return { type: 'kind', value: t.text };
        if (t.text === 'minInt') return { type: 'int', value: -(2 ** 63) };
        // 2^63 - 1 is not a double; the nearest one compares the same against stored int64 text.
        if (t.text === 'maxInt') return { type: 'int', value: 2 ** 63 };
        if (INTRINSICS[t.text] !== undefined) this.unsupported(t.pos, 'comparing an intrinsic with another field');
        this.fail(t.pos, `syntax error: unexpected identifier ${t.text}, expecting a value`);
      // falls through: fail() never returns
      case 'scopedot':
      case 'scopecolon':
        this.unsupported(t.pos, 'comparing an attribute with another attribute');
      // falls through: unsupported() never returns
      default:
        this.fail(t.pos, `syntax error: unexpected ${describe(t)}, expecting a value`);
    }
  }

  private buildCondition(
    field: { scope: SpanCondition['scope']; key: string; text: string },
    op: Op,
    literal: Literal,
    pos: number,
  ): SpanCondition {
    const regex = op === '=~' || op === '!~';
    const equality = op === '=' || op === '!=';
    if (field.scope === 'intrinsic') {
      switch (field.key) {
        case 'status':
        case 'kind': {
          const words = field.key === 'status' ? 'error, ok or unset' : 'unspecified, internal, server, client, producer or consumer';
          if (literal.type !== field.key) this.fail(pos, `invalid comparison: ${field.text} must be compared with ${words}`);
          if (!equality) this.fail(pos, `invalid comparison: ${field.text} only supports = and !=`);
          break;
        }
        case 'duration':
        case 'traceDuration':
          if (literal.type !== 'duration' && literal.type !== 'int' && literal.type !== 'float') {
            this.fail(pos, `invalid comparison: ${field.text} must be compared with a duration such as 100ms`);
          }
          if (regex) this.fail(pos, `invalid comparison: ${op} needs a string field, ${field.text} is a duration`);
          break;
        default:
          if (literal.type !== 'string') this.fail(pos, `invalid comparison: ${field.text} must be compared with a string`);
      }
    } else {
      if (literal.type === 'status' || literal.type === 'kind') {
        this.fail(pos, `invalid comparison: ${literal.value} is a ${literal.type} keyword; quote it to compare ${field.text} with a string`);
      }
      if (literal.type === 'nil' && !equality) this.fail(pos, `invalid comparison: nil only supports = and !=`);
      if (literal.type === 'bool' && !equality) this.fail(pos, `invalid comparison: booleans only support = and !=`);
      if (regex && literal.type !== 'string') this.fail(pos, `invalid comparison: ${op} needs a string value`);
    }
    if (regex && literal.type === 'string') this.checkRegex(literal.value, pos);
    return { scope: field.scope, key: field.key, op, value: literalValue(literal) };
  }

  // ClickHouse's match() is RE2, like Tempo's Go regexp: reject what RE2 cannot do rather than
  // letting the storage fail on it.
  private checkRegex(pattern: string, pos: number): void {
    if (/\(\?<?[=!]/.test(pattern)) this.fail(pos, `invalid regular expression ${JSON.stringify(pattern)}: lookaround is not supported (RE2 syntax)`);
    if (/(^|[^\\])\\[1-9]/.test(pattern)) {
      this.fail(pos, `invalid regular expression ${JSON.stringify(pattern)}: backreferences are not supported (RE2 syntax)`);
    }
    try {
      new RegExp(pattern.replace(/\(\?[imsU]+\)/g, '').replace(/\(\?P</g, '(?<'));
    } catch (error) {
      this.fail(pos, `invalid regular expression ${JSON.stringify(pattern)}: ${(error as Error).message}`);
    }
  }

  /** An `or` becomes one condition only when every branch compares the same field with = (or =~). */
  private normalise(node: Node): SpanCondition[] {
    if (node.type === 'cond') return [node.cond];
    if (node.type === 'and') return node.items.flatMap((item) => this.normalise(item));
    const leaves: SpanCondition[] = [];
    const collect = (n: Node): void => {
      if (n.type === 'or') n.items.forEach(collect);
      else if (n.type === 'cond') leaves.push(n.cond);
      else this.unsupported(node.pos, `|| between groups of conditions (${OR_HINT})`);
    };
    node.items.forEach(collect);
    const first = leaves[0]!;
    const sameField = leaves.every((c) => c.scope === first.scope && c.key === first.key);
    if (sameField && leaves.every((c) => c.op === '=' && c.value !== null)) {
      const values: SpanConditionValue[] = [];
      for (const c of leaves) if (!values.includes(c.value as SpanConditionValue)) values.push(c.value as SpanConditionValue);
      return [{ scope: first.scope, key: first.key, op: '=', value: values.length === 1 ? values[0]! : values }];
    }
    if (sameField && leaves.every((c) => c.op === '=~')) {
      return [{ scope: first.scope, key: first.key, op: '=~', value: leaves.map((c) => `(?:${String(c.value)})`).join('|') }];
    }
    this.unsupported(node.pos, `|| here (${OR_HINT})`);
  }

  // --- scanning ---------------------------------------------------------------------------

  private peek(): Token {
    const saved = this.pos;
    const token = this.next();
    this.pos = saved;
    return token;
  }

  private next(): Token {
    const src = this.src;
    while (this.pos < src.length && /\s/.test(src[this.pos]!)) this.pos++;
    const start = this.pos;
    if (start >= src.length) return { kind: 'eof', text: '', pos: start };
    const c = src[start]!;
    if ('{}(),'.includes(c)) {
      this.pos++;
      return { kind: 'punct', text: c, pos: start };
    }
    if (c === '"' || c === '`') return this.scanString(start);
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[start + 1] ?? ''))) return this.scanNumber(start);
    if (c === '.') {
      this.pos++;
      return { kind: 'scopedot', text: '.', scope: '', pos: start };
    }
    if (/[A-Za-z_]/.test(c)) {
      let end = start + 1;
      while (end < src.length && /[A-Za-z0-9_]/.test(src[end]!)) end++;
      const word = src.slice(start, end);
      const sep = src[end];
      if (sep === '.' && ATTRIBUTE_SCOPES.has(word)) {
        this.pos = end + 1;
        return { kind: 'scopedot', text: `${word}.`, scope: word, pos: start };
      }
      if (sep === ':' && INTRINSIC_SCOPES.has(word)) {
        this.pos = end + 1;
        return { kind: 'scopecolon', text: `${word}:`, scope: word, pos: start };
      }
      this.pos = end;
      return { kind: 'word', text: word, pos: start };
    }
    for (const op of OPERATORS) {
      if (src.startsWith(op, start)) {
        this.pos = start + op.length;
        return { kind: 'op', text: op, pos: start };
      }
    }
    this.fail(start, `syntax error: unexpected character ${JSON.stringify(c)}`);
  }

  /** An attribute name after `span.`/`resource.`/`.`: Tempo's attribute runes, with "quoted" parts. */
  private scanAttributeName(): string {
    const src = this.src;
    const start = this.pos;
    let name = '';
    while (this.pos < src.length) {
      const c = src[this.pos]!;
      if (c === '"') {
        this.pos++;
        let closed = false;
        while (this.pos < src.length) {
          const q = src[this.pos]!;
          if (q === '"') {
            this.pos++;
            closed = true;
            break;
          }
          if (q === '\\') {
            const escaped = src[this.pos + 1];
            if (escaped !== '"' && escaped !== '\\') this.fail(this.pos, 'invalid escape sequence in quoted attribute name');
            name += escaped;
            this.pos += 2;
          } else {
            name += q;
            this.pos++;
          }
        }
        if (!closed) this.fail(start, 'unexpected EOF, expecting " to close the attribute name');
      } else if (isAttributeRune(c)) {
        name += c;
        this.pos++;
      } else {
        break;
      }
    }
    if (name === '') this.fail(start, 'syntax error: expecting an attribute name');
    return name;
  }

  private scanString(start: number): Token {
    const src = this.src;
    const quote = src[start]!;
    let i = start + 1;
    let value = '';
    if (quote === '`') {
      const end = src.indexOf('`', i);
      if (end < 0) this.fail(start, 'literal not terminated');
      this.pos = end + 1;
      return { kind: 'string', text: src.slice(start, end + 1), value: src.slice(i, end), pos: start };
    }
    for (;;) {
      if (i >= src.length || src[i] === '\n') this.fail(start, 'literal not terminated');
      const c = src[i]!;
      if (c === '"') break;
      if (c !== '\\') {
        value += c;
        i++;
        continue;
      }
      const [text, length] = this.unescape(i);
      value += text;
      i += length;
    }
    this.pos = i + 1;
    return { kind: 'string', text: src.slice(start, i + 1), value, pos: start };
  }

  /** One Go escape sequence at src[at] (a backslash): its text and its length. */
  private unescape(at: number): [string, number] {
    const e = this.src[at + 1];
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"' };
    if (e !== undefined && simple[e] !== undefined) return [simple[e], 2];
    const hexLength = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hexLength > 0) {
      const digits = this.src.slice(at + 2, at + 2 + hexLength);
      if (digits.length === hexLength && /^[0-9a-fA-F]+$/.test(digits)) {
        const code = parseInt(digits, 16);
        if (e === 'x') return [String.fromCharCode(code), 2 + hexLength];
        if (code <= 0x10ffff && (code < 0xd800 || code > 0xdfff)) return [String.fromCodePoint(code), 2 + hexLength];
      }
    } else if (e !== undefined && /[0-7]/.test(e)) {
      const digits = this.src.slice(at + 1, at + 4);
      if (/^[0-7]{3}$/.test(digits) && parseInt(digits, 8) < 256) return [String.fromCharCode(parseInt(digits, 8)), 4];
    }
    this.fail(at, `invalid escape sequence \\${e ?? ''} in string (write regular expressions in backquotes, e.g. \`\\d+\`)`);
  }

  private scanNumber(start: number): Token {
    const src = this.src;
    const match = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(src.slice(start))!;
    let end = start + match[0].length;
    // Like Tempo's lexer: digits followed by unit letters (up to the next space or operator) are a duration.
    let unitEnd = end;
    while (unitEnd < src.length && /[0-9.nsumhµdwy]/.test(src[unitEnd]!)) unitEnd++;
    if (unitEnd > end) {
      const text = src.slice(start, unitEnd);
      const ns = parseTraceQLDuration(text);
      if (ns === undefined) this.fail(start, `invalid duration ${text}`);
      this.pos = unitEnd;
      return { kind: 'duration', text, value: ns, pos: start };
    }
    if (end < src.length && /[A-Za-z_]/.test(src[end]!)) {
      while (end < src.length && /[A-Za-z0-9_]/.test(src[end]!)) end++;
      this.fail(start, `invalid number or duration ${src.slice(start, end)}`);
    }
    this.pos = end;
    const text = match[0];
    return { kind: 'number', text, value: Number(text), isFloat: /[.eE]/.test(text), pos: start };
  }

  private unsupported(at: number, what: string): never {
    this.fail(at, `unsupported construct: ${what} (${SUBSET_HINT})`);
  }

  private fail(at: number, message: string): never {
    const before = this.src.slice(0, at);
    const line = before.split('\n').length;
    const column = [...before.slice(before.lastIndexOf('\n') + 1)].length + 1;
    throw new LookoutError('LOOKOUT_ERR_QUERY_PARSE', `parse error at line ${line}, col ${column}: ${message}`);
  }
}

const OR_HINT = '|| is only supported between = (or =~) conditions on the same field, e.g. (span.a = 1 || span.a = 2)';

function isAttributeRune(c: string): boolean {
  return !/\s/.test(c) && !'{}()=~!<>&|^,'.includes(c);
}

function isValueWord(word: string): boolean {
  return (
    word === 'true' || word === 'false' || word === 'nil' || word === 'minInt' || word === 'maxInt' || STATUSES.has(word) || KINDS.has(word)
  );
}

function literalValue(literal: Literal): SpanConditionValue | null {
  return literal.type === 'nil' ? null : literal.value;
}

function describe(token: Token): string {
  if (token.kind === 'eof') return 'end of query';
  if (token.kind === 'string') return `string ${token.text}`;
  if (token.kind === 'word') return `identifier ${token.text}`;
  return token.text;
}

/** A TraceQL duration literal (Prometheus units y w d h m s ms, or Go's with fractions), in nanoseconds. */
function parseTraceQLDuration(text: string): number | undefined {
  if (/^(?:[0-9]+(?:ms|[ywdhms]))+$/.test(text)) {
    return Number(parseGoDurationNs(text, { prometheusUnits: true }));
  }
  try {
    return Number(parseGoDurationNs(text));
  } catch {
    return undefined;
  }
}

// --- Tempo's legacy `tags` search --------------------------------------------------------

// Tempo's block search reads these from dedicated columns with a (case-sensitive) substring match.
const RESOURCE_SUBSTRING_TAGS = new Set([
  'service.name', 'cluster', 'namespace', 'pod', 'container',
  'k8s.cluster.name', 'k8s.namespace.name', 'k8s.pod.name', 'k8s.container.name',
]);
const SPAN_SUBSTRING_TAGS = new Set(['http.method', 'http.url']);

/**
 * Tempo's `tags` parameter: logfmt `key=value` pairs. Each pair becomes a condition the way
 * Tempo's block search treats it: well-known columns (service.name, name, http.method,
 * http.url, root.name, root.service.name, k8s/cluster ones) match a substring, `http.status_code`
 * an integer, `status.code` the span status, and any other key an exact string value of a
 * resource or span attribute. Throws LOOKOUT_ERR_QUERY_BAD_PARAM with Tempo's "invalid tags" text.
 */
export function parseTempoTags(tags: string): SpanCondition[] {
  const pairs = decodeLogfmt(tags);
  const seen = new Set<string>();
  const out: SpanCondition[] = [];
  for (const [key, value] of pairs) {
    if (seen.has(key)) throw new LookoutError('LOOKOUT_ERR_QUERY_BAD_PARAM', `invalid tags: tag ${key} has been set twice`);
    seen.add(key);
    out.push(tagCondition(key, value));
  }
  return out;
}

function tagCondition(key: string, value: string): SpanCondition {
  const contains = `(?s).*${escapeRegex(value)}.*`;
  if (key === 'name') return { scope: 'intrinsic', key: 'name', op: '=~', value: contains };
  if (key === 'root.name') return { scope: 'intrinsic', key: 'rootName', op: '=~', value: contains };
  if (key === 'root.service.name') return { scope: 'intrinsic', key: 'rootServiceName', op: '=~', value: contains };
  if (RESOURCE_SUBSTRING_TAGS.has(key)) return { scope: 'resource', key, op: '=~', value: contains };
  if (SPAN_SUBSTRING_TAGS.has(key)) return { scope: 'span', key, op: '=~', value: contains };
  if (key === 'http.status_code' && /^[+-]?[0-9]+$/.test(value)) return { scope: 'span', key, op: '=', value: Number(value) };
  // Tempo looks the word up in a map; an unknown word reads as 0, which is unset.
  if (key === 'status.code') return { scope: 'intrinsic', key: 'status', op: '=', value: STATUSES.has(value) ? value : 'unset' };
  return { scope: 'any', key, op: '=', value };
}

/** Escapes RE2 metacharacters so the text matches literally. */
export function escapeRegex(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** go-logfmt's decoder: pairs in order; a key without `=` has the empty value. */
function decodeLogfmt(text: string): [string, string][] {
  const pairs: [string, string][] = [];
  let i = 0;
  let lineStart = 0;
  const fail = (message: string, at: number): never => {
    throw new LookoutError('LOOKOUT_ERR_QUERY_BAD_PARAM', `invalid tags: ${message} at pos ${at - lineStart + 1}`);
  };
  const isSpace = (c: string): boolean => c <= ' ';
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      i++;
      lineStart = i;
      continue;
    }
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === '=' || c === '"') fail(`unexpected '${c}'`, i);
    let end = i;
    while (end < text.length && !isSpace(text[end]!) && text[end] !== '=' && text[end] !== '"') end++;
    const key = text.slice(i, end);
    i = end;
    if (text[i] === '"') fail(`unexpected '"'`, i);
    if (text[i] !== '=') {
      pairs.push([key, '']);
      continue;
    }
    i++;
    if (text[i] === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length || text[j] === '\n') fail('unterminated quoted value', j);
        const q = text[j]!;
        if (q === '"') break;
        if (q === '\\') {
          const e = text[j + 1] ?? '';
          const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
          if (simple[e] !== undefined) {
            value += simple[e];
            j += 2;
          } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(j + 2, j + 6))) {
            value += String.fromCharCode(parseInt(text.slice(j + 2, j + 6), 16));
            j += 6;
          } else {
            fail('invalid quoted value', j);
          }
        } else {
          value += q;
          j++;
        }
      }
      pairs.push([key, value]);
      i = j + 1;
      if (i < text.length && !isSpace(text[i]!)) fail(`unexpected '${text[i]}'`, i);
      continue;
    }
    let vend = i;
    while (vend < text.length && !isSpace(text[vend]!)) {
      if (text[vend] === '=' || text[vend] === '"') fail(`unexpected '${text[vend]}'`, vend);
      vend++;
    }
    pairs.push([key, text.slice(i, vend)]);
    i = vend;
  }
  return pairs;
}
