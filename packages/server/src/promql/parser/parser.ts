/**
 * parsePromql: the Lezer PromQL grammar (@prometheus-io/lezer-promql) gives the structure, this
 * adapter turns it into Lookout's typed AST with Prometheus's semantics and error messages:
 * - Tokens come from a Prometheus-faithful lexer (lexer.ts); the text handed to Lezer has every
 *   number, duration and string replaced by a same-length placeholder, so that Lezer and
 *   Prometheus agree on token boundaries (e.g. `5.`, `1_000`, `0x1F`, escapes) and positions hold.
 * - Where the Lezer grammar associates differently from Prometheus's yacc grammar, the adapter
 *   re-associates: postfix modifiers (`offset`, `@`, `[range]`, `[range:step]`) bind to the
 *   nearest operand (`a / b offset 1d` is `a / (b offset 1d)`), and a signed number literal before
 *   `^` is a unary minus over the power (`-1 ^ 2` is `-(1 ^ 2)`).
 * - Checks and messages follow promql/parser/parse.go (actions first, then the type check).
 */
import { parser as lezerParser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import { re2SyntaxError } from '../../model/index.js';
import type {
  AggregateOp,
  AtModifier,
  BinaryOp,
  Expr,
  LabelMatcher,
  NumberLiteral,
  PositionRange,
  ValueType,
  VectorMatching,
  VectorSelector,
} from '../ast.js';
import { PromqlParseError } from './errors.js';
import { PROMQL_FUNCTIONS } from './functions.js';
import { describeToken, goQuote, lexPromql, unquoteString, type Token } from './lexer.js';
import { toJsRegExp } from './regexp.js';

export interface ParseOptions {
  /** Allow Prometheus's experimental functions and `limitk`/`limit_ratio` (Prometheus: --enable-feature=promql-experimental-functions). Default false, as Prometheus. */
  enableExperimentalFunctions?: boolean;
}

const BINARY_OPS: Record<string, BinaryOp> = {
  Pow: '^',
  Mul: '*',
  Div: '/',
  Mod: '%',
  Atan2: 'atan2',
  Add: '+',
  Sub: '-',
  Eql: '==',
  Neq: '!=',
  Gte: '>=',
  Gtr: '>',
  Lte: '<=',
  Lss: '<',
  And: 'and',
  Or: 'or',
  Unless: 'unless',
  TrimUpper: '</',
  TrimLower: '>/',
};
const COMPARISON_OPS = new Set<BinaryOp>(['==', '!=', '>=', '>', '<=', '<']);
const SET_OPS = new Set<BinaryOp>(['and', 'or', 'unless']);
const PARAM_AGGREGATORS = new Set<AggregateOp>(['topk', 'bottomk', 'count_values', 'quantile', 'limitk', 'limit_ratio']);
const MATCH_OPS: Record<string, LabelMatcher['type']> = { EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~' };
const MAX_DURATION_SECONDS = 2 ** 63 / 1e9;
const GROUPING_WORDS = ['by', 'without', 'on', 'ignoring', 'group_left', 'group_right'];
const BINARY_OPERATOR_TOKENS = new Set<string>(['ADD', 'SUB', 'MUL', 'DIV', 'MOD', 'POW', 'EQLC', 'NEQ', 'LTE', 'LSS', 'GTE', 'GTR', 'LAND', 'LOR', 'LUNLESS', 'ATAN2']);
/** Tokens an expression can start with (keywords count: they may be metric names). */
const EXPRESSION_START_TOKENS = new Set<string>([
  'IDENTIFIER',
  'METRIC_IDENTIFIER',
  'NUMBER',
  'DURATION',
  'STRING',
  'LEFT_PAREN',
  'LEFT_BRACE',
  'ADD',
  'SUB',
  'AGGREGATOR',
  'KEYWORD',
  'PREPROCESSOR',
  'LAND',
  'LOR',
  'LUNLESS',
  'ATAN2',
]);

/** Lezer node names that are whole expressions. */
const EXPRESSION_NODES = new Set([
  'AggregateExpr',
  'BinaryExpr',
  'FunctionCall',
  'MatrixSelector',
  'NumberDurationLiteral',
  'OffsetExpr',
  'ParenExpr',
  'StringLiteral',
  'SubqueryExpr',
  'UnaryExpr',
  'VectorSelector',
  'StepInvariantExpr',
]);

/** Tokens that are words: a digit right after one would merge with it in Lezer's tokenizer. */
const WORD_TOKENS = new Set<string>(['IDENTIFIER', 'METRIC_IDENTIFIER', 'KEYWORD', 'AGGREGATOR', 'PREPROCESSOR', 'LAND', 'LOR', 'LUNLESS', 'ATAN2']);

function isGroupingWord(t: Token | undefined, words: readonly string[]): boolean {
  return t?.kind === 'KEYWORD' && words.includes(t.text.toLowerCase());
}

/** Prometheus's DocumentedType: how value types are named in messages. */
export function documentedType(t: ValueType | 'none'): string {
  switch (t) {
    case 'vector':
      return 'instant vector';
    case 'matrix':
      return 'range vector';
    default:
      return t;
  }
}

/**
 * Parses and type-checks a query. Successful parses are cached (rules re-run the same queries);
 * every call returns a fresh tree, so callers may annotate or rewrite it.
 */
export function parsePromql(query: string, options: ParseOptions = {}): Expr {
  const key = (options.enableExperimentalFunctions === true ? 'x' : '-') + query;
  const cached = parseCache.get(key);
  if (cached !== undefined) {
    parseCache.delete(key);
    parseCache.set(key, cached);
    return cloneExpr(cached);
  }
  let expr: Expr;
  try {
    expr = new Parse(query, options).run();
  } catch (error) {
    // Thousands of nesting levels exhaust the JavaScript stack; Go's grows.
    if (error instanceof RangeError) throw new PromqlParseError(query, { start: 0, end: query.length }, 'expression nested too deeply');
    throw error;
  }
  if (query.length <= MAX_CACHED_QUERY_LENGTH) {
    parseCache.set(key, cloneExpr(expr));
    if (parseCache.size > PARSE_CACHE_SIZE) parseCache.delete(parseCache.keys().next().value!);
  }
  return expr;
}

/**
 * Prometheus's ParseMetricSelector (the `match[]` parameters of the series, labels and federation
 * APIs): the input must be exactly one vector selector; its matchers are returned, the
 * `__name__` matcher last when written as a name. Messages are Prometheus's.
 */
export function parsePromqlSelector(input: string): LabelMatcher[] {
  const { tokens, error } = lexPromql(input);
  const fail = (start: number, end: number, detail: string): never => {
    throw new PromqlParseError(input, { start, end }, detail);
  };
  const lexFail = (): never => fail(error!.start, input.length, error!.message);
  // The selector's tokens: a metric name and/or `{...}`.
  let i = 0;
  const first = tokens[0];
  if (first !== undefined && METRIC_NAME_TOKENS.has(first.kind) && (first.kind !== 'KEYWORD' || METRIC_NAME_KEYWORDS.has(first.text.toLowerCase()))) i = 1;
  if (tokens[i]?.kind === 'LEFT_BRACE') {
    const close = tokens.findIndex((t, k) => k > i && t.kind === 'RIGHT_BRACE');
    i = close < 0 ? tokens.length : close + 1;
  }
  const next = tokens[i];
  if (next === undefined) {
    // The lexer stopped at or inside the selector: the expression parser reports it the same way.
    new Parse(input, {}).run(false);
    return lexFail();
  }
  if (error !== undefined && error.orderPos <= next.start) lexFail();
  if (i === 0) return fail(next.start, next.end, `unexpected ${describeToken(next)}`);
  const selectorText = input.slice(0, tokens[i - 1]!.end);
  const expr = new Parse(selectorText, {}).run(false);
  if (next.kind !== 'EOF') fail(next.start, next.end, `unexpected ${describeToken(next)}`);
  if (expr.kind !== 'VectorSelector') return fail(0, input.length, `unexpected ${describeToken(next)}`);
  return expr.matchers;
}

const METRIC_NAME_TOKENS = new Set<string>(['IDENTIFIER', 'METRIC_IDENTIFIER', 'AGGREGATOR', 'KEYWORD', 'PREPROCESSOR', 'LAND', 'LOR', 'LUNLESS']);
/** Keywords Prometheus's metric_identifier rule accepts. */
const METRIC_NAME_KEYWORDS = new Set(['by', 'without', 'offset', 'anchored', 'smoothed', 'fill', 'fill_left', 'fill_right']);

const PARSE_CACHE_SIZE = 1000;
const MAX_CACHED_QUERY_LENGTH = 4096;
const parseCache = new Map<string, Expr>();

/** A deep copy of a tree (cheaper than structuredClone for these small plain objects). */
export function cloneExpr(e: Expr): Expr {
  const pos = { start: e.pos.start, end: e.pos.end };
  switch (e.kind) {
    case 'NumberLiteral':
    case 'StringLiteral':
      return { ...e, pos };
    case 'VectorSelector':
      return cloneSelector(e);
    case 'MatrixSelector':
      return { ...e, pos, vectorSelector: cloneSelector(e.vectorSelector) };
    case 'Subquery':
      return { ...e, pos, expr: cloneExpr(e.expr), ...(e.at === undefined ? {} : { at: { ...e.at } }) };
    case 'Call':
      return { ...e, pos, args: e.args.map(cloneExpr) };
    case 'Aggregate':
      return { ...e, pos, expr: cloneExpr(e.expr), grouping: [...e.grouping], ...(e.param === undefined ? {} : { param: cloneExpr(e.param) }) };
    case 'Binary':
      return {
        ...e,
        pos,
        lhs: cloneExpr(e.lhs),
        rhs: cloneExpr(e.rhs),
        ...(e.matching === undefined ? {} : { matching: { ...e.matching, labels: [...e.matching.labels], include: [...e.matching.include] } }),
      };
    case 'Unary':
    case 'Paren':
      return { ...e, pos, expr: cloneExpr(e.expr) };
  }
}

function cloneSelector(vs: VectorSelector): VectorSelector {
  const copy: VectorSelector = { ...vs, pos: { ...vs.pos }, matchers: vs.matchers.map((m) => ({ ...m })) };
  if (vs.at !== undefined) copy.at = { ...vs.at };
  return copy;
}

class Parse {
  private readonly tokens: Token[];
  private readonly lexError: { start: number; orderPos: number; message: string } | undefined;
  /** Token index by start offset (-1 where no token starts). */
  private readonly tokenAt: Int32Array;

  constructor(
    private readonly query: string,
    private readonly options: ParseOptions,
  ) {
    const lexed = lexPromql(query);
    this.tokens = lexed.tokens;
    this.lexError = lexed.error;
    this.tokenAt = new Int32Array(query.length + 1).fill(-1);
    this.tokens.forEach((t, i) => {
      this.tokenAt[t.start] = i;
    });
  }

  private fail(range: PositionRange, detail: string): never {
    throw new PromqlParseError(this.query, range, detail);
  }

  /** `checked: false` skips the type check (Prometheus's ParseMetricSelector runs only the grammar actions). */
  run(checked = true): Expr {
    const tokens = this.tokens;
    const lexError = this.lexError;
    if (lexError === undefined && tokens.length === 1 && tokens[0]!.kind === 'EOF') {
      this.fail({ start: 0, end: 0 }, 'no expression found in input');
    }

    // Prometheus reports the first problem in reading order: a lexical error replaces the token it
    // occurs at; literal and function-name errors arise when the literal or the call is reduced.
    let best: { pos: number; report: () => never } | undefined;
    const consider = (pos: number, report: () => never): void => {
      if (best === undefined || pos < best.pos) best = { pos, report };
    };
    let lexProblem: typeof best;
    if (lexError !== undefined) {
      consider(lexError.orderPos, () => this.fail({ start: lexError.start, end: this.query.length }, lexError.message));
      lexProblem = best;
    }
    this.literalProblems(consider);
    this.functionProblems(consider);

    const tree = lezerParser.parse(this.lezerText());
    let syntaxErrorPos = -1;
    tree.iterate({
      enter: (node) => {
        if (syntaxErrorPos >= 0) return false;
        if (node.type.isError) {
          syntaxErrorPos = this.errorPos(node.from);
          return false;
        }
        return undefined;
      },
    });
    if (syntaxErrorPos >= 0 && !this.isUnknownFunctionParen(syntaxErrorPos)) {
      const pos = syntaxErrorPos;
      // Prometheus has already reduced (and run the actions of) what is complete before the error.
      const top = tree.topNode.firstChild;
      if (top !== null) this.actionsBefore(top, pos, consider);
      // At the same token, a lexical error wins (it replaces the token); otherwise the syntax error.
      if (best === undefined || pos < best.pos || (pos === best.pos && best !== lexProblem)) best = { pos, report: () => this.reportSyntaxError(pos) };
    }
    if (best !== undefined) best.report();

    const top = tree.topNode.firstChild;
    if (top === null) this.fail({ start: 0, end: 0 }, 'no expression found in input');
    const expr = this.expr(top);
    if (checked) this.check(expr);
    return expr;
  }

  /** Runs the conversion (Prometheus's grammar actions) on complete subtrees that end before `pos`. */
  private hasError(node: SyntaxNode): boolean {
    if (node.type.isError) return true;
    for (let c = node.firstChild; c !== null; c = c.nextSibling) if (this.hasError(c)) return true;
    return false;
  }

  private actionsBefore(node: SyntaxNode, pos: number, consider: (pos: number, report: () => never) => void): void {
    const hasError = this.hasError(node);
    if (!hasError && this.end(node) <= pos && EXPRESSION_NODES.has(node.name)) {
      try {
        this.expr(node);
      } catch (e) {
        if (e instanceof PromqlParseError) {
          consider(e.positionRange.start < pos ? e.positionRange.start : pos - 1, () => {
            throw e;
          });
        }
      }
      return;
    }
    if (node.name === 'AggregateExpr') {
      // `sum () (x)`: the aggregation `sum ()` was reduced before the error; its argument checks ran.
      const body = this.children(node).find((c) => c.name === 'FunctionCallBody');
      if (body !== undefined && this.end(body) <= pos && !this.hasError(body)) {
        try {
          this.aggregate(node);
        } catch (e) {
          if (e instanceof PromqlParseError && /^(no arguments|wrong number of arguments) for aggregate/.test(e.detail)) {
            consider(e.positionRange.start, () => {
              throw new PromqlParseError(this.query, { start: e.positionRange.start, end: this.end(body) }, e.detail);
            });
          }
        }
      }
    }
    for (const child of this.children(node)) {
      if (child.from >= pos) break;
      this.actionsBefore(child, pos, consider);
    }
  }

  /** Values of NUMBER/DURATION tokens by token index (NaN also for invalid ones; see literalProblems). */
  private readonly literalValues = new Map<number, number>();

  private literalProblems(consider: (pos: number, report: () => never) => void): void {
    const tokens = this.tokens;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t.kind !== 'NUMBER' && t.kind !== 'DURATION') continue;
      try {
        this.literalValues.set(i, this.numberValue(t));
      } catch (e) {
        consider(t.start, () => {
          throw e;
        });
        return;
      }
    }
  }

  /** Token index of the `)` closing the `(` at index `open`, or -1. */
  private matchingParen(open: number): number {
    let depth = 0;
    for (let i = open; i < this.tokens.length; i++) {
      const k = this.tokens[i]!.kind;
      if (k === 'LEFT_PAREN') depth++;
      else if (k === 'RIGHT_PAREN' && --depth === 0) return i;
    }
    return -1;
  }

  /** Unknown or disabled functions, reported (as Prometheus does) once the call's `)` is read. */
  private functionProblems(consider: (pos: number, report: () => never) => void): void {
    const tokens = this.tokens;
    for (let i = 0; i + 1 < tokens.length; i++) {
      const t = tokens[i]!;
      if (tokens[i + 1]!.kind !== 'LEFT_PAREN') continue;
      if (t.kind !== 'IDENTIFIER' && !(t.kind === 'PREPROCESSOR' && (t.text === 'max_of' || t.text === 'min_of'))) continue;
      if (t.kind === 'PREPROCESSOR' && (tokens[i - 1]?.kind === 'AT' || this.insideBrackets(i) || this.afterOffset(i))) continue;
      const close = this.matchingParen(i + 1);
      const range = { start: t.start, end: t.end };
      const fn = PROMQL_FUNCTIONS.get(t.text);
      // Calls Lezer's grammar cannot read: unknown names, and min_of/max_of (not in its function list).
      if (fn === undefined || t.kind === 'PREPROCESSOR') this.unknownFunctionParens.add(tokens[i + 1]!.start);
      if (close < 0) continue;
      if (fn === undefined) {
        consider(tokens[close]!.start, () => this.fail(range, `unknown function with name ${goQuote(t.text)}`));
      } else if (fn.experimental && this.options.enableExperimentalFunctions !== true) {
        consider(tokens[close]!.start, () => this.fail(range, `function ${goQuote(t.text)} is not enabled`));
      }
    }
  }

  /** `(` positions of calls to unknown functions (Lezer cannot parse those calls). */
  private readonly unknownFunctionParens = new Set<number>();

  /**
   * A Lezer error at the `(` of a one-letter unknown function (no same-length placeholder exists
   * for those): not a syntax error in Prometheus, which reports the unknown name instead.
   */
  private isUnknownFunctionParen(pos: number): boolean {
    if (!this.unknownFunctionParens.has(pos)) return false;
    const index = this.tokenAt[pos]! - 1;
    const name = this.tokens[index];
    return name !== undefined && name.kind === 'IDENTIFIER' && name.end - name.start === 1 && !this.insideGroupingOrBraces(index);
  }

  /** The query with literals replaced by same-length placeholders Lezer reads as the same token class. */
  private lezerText(): string {
    let out = '';
    let last = 0;
    const tokens = this.tokens;
    const query = this.query;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      let replacement: string;
      const len = t.end - t.start;
      if (t.kind === 'STRING') replacement = `"${' '.repeat(len - 2)}"`;
      else if (t.kind === 'NUMBER' || t.kind === 'DURATION') {
        // `foo.5` must stay two tokens: a digit placeholder would merge into the identifier.
        const prev = tokens[i - 1];
        const glued = prev !== undefined && prev.end === t.start && WORD_TOKENS.has(prev.kind);
        replacement = glued && len >= 2 ? `"${' '.repeat(len - 2)}"` : `0${' '.repeat(len - 1)}`;
      } else if ((t.kind === 'KEYWORD' || t.kind === 'PREPROCESSOR') && this.keywordIsMetricName(i)) replacement = 'x'.repeat(len);
      else if ((t.kind === 'IDENTIFIER' || t.kind === 'PREPROCESSOR') && len >= 2 && this.unknownFunctionParens.has(tokens[i + 1]?.start ?? -1)) {
        // A function Lezer does not know: a known one of the same shape keeps Lezer parsing the call.
        replacement = len === 2 ? 'ln' : `abs${' '.repeat(len - 3)}`;
      } else continue;
      out += query.slice(last, t.start);
      out += replacement;
      last = t.end;
    }
    return last === 0 ? query : out + query.slice(last);
  }

  /**
   * Where a Lezer error node starts, in terms of real tokens: inside a literal placeholder's
   * padding means after the literal; inside a token Lezer split differently means that token.
   */
  private errorPos(pos: number): number {
    const tokens = this.tokens;
    let lo = 0;
    let hi = tokens.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (tokens[mid]!.start <= pos) lo = mid;
      else hi = mid - 1;
    }
    const t = tokens[lo];
    if (t === undefined || !(t.start < pos && pos < t.end)) return pos;
    return t.kind === 'NUMBER' || t.kind === 'DURATION' || t.kind === 'STRING' ? t.end : t.start;
  }

  /**
   * Prometheus accepts keywords as metric names where an expression starts (`offset{a="b"}`);
   * Lezer always reads these words as keywords, so they are handed to it as identifiers.
   */
  private keywordIsMetricName(i: number): boolean {
    const t = this.tokens[i]!;
    const word = t.text.toLowerCase();
    // Of the words Lezer always reads as keywords, Prometheus's metric_identifier allows these.
    if (t.kind === 'KEYWORD' ? word !== 'offset' : !['start', 'end', 'step', 'range', 'max_of', 'min_of'].includes(word)) return false;
    if (this.tokens[i + 1]?.kind === 'LEFT_PAREN') return false;
    const prev = this.tokens[i - 1];
    return prev === undefined || prev.kind === 'LEFT_PAREN' || prev.kind === 'COMMA' || BINARY_OPERATOR_TOKENS.has(prev.kind);
  }

  private insideGroupingOrBraces(index: number): boolean {
    let depth = 0;
    for (let i = index - 1; i >= 0; i--) {
      const k = this.tokens[i]!.kind;
      if (k === 'RIGHT_BRACE') return false;
      if (k === 'LEFT_BRACE') return true;
      if (k === 'RIGHT_PAREN') depth++;
      else if (k === 'LEFT_PAREN') {
        if (depth === 0) return isGroupingWord(this.tokens[i - 1], GROUPING_WORDS);
        depth--;
      }
    }
    return false;
  }

  private insideBrackets(index: number): boolean {
    for (let i = index - 1; i >= 0; i--) {
      const k = this.tokens[i]!.kind;
      if (k === 'RIGHT_BRACKET') return false;
      if (k === 'LEFT_BRACKET') return true;
    }
    return false;
  }

  private afterOffset(index: number): boolean {
    const prev = this.tokens[index - 1];
    const prev2 = this.tokens[index - 2];
    return (
      (prev?.kind === 'KEYWORD' && prev.text.toLowerCase() === 'offset') ||
      ((prev?.kind === 'ADD' || prev?.kind === 'SUB') && prev2?.kind === 'KEYWORD' && prev2.text.toLowerCase() === 'offset')
    );
  }

  /**
   * "unexpected <token>[ in <context>][, expected <what>]" for the token at a Lezer error. The
   * context is the one Prometheus's yacc error recovery lands in: the innermost open construct
   * with an error rule (label matchers, grouping labels, range/subquery brackets, an aggregation),
   * or the state right after `offset`, `@` or a grouping keyword.
   */
  private reportSyntaxError(pos: number): never {
    const tokens = this.tokens;
    let idx = tokens.findIndex((t) => t.end > pos || t.kind === 'EOF');
    if (idx < 0) idx = tokens.length - 1;
    const tok = tokens[idx]!;
    const prev = tokens[idx - 1];
    const range = { start: tok.start, end: tok.end };
    const unexpected = (context = '', expected = ''): never =>
      this.fail(range, `unexpected ${describeToken(tok)}${context ? ` in ${context}` : ''}${expected ? `, expected ${expected}` : ''}`);
    if (prev === undefined) return unexpected();

    // Open constructs before the offending token, innermost last.
    type Frame = { kind: 'aggr' | 'aggr-body' | 'paren' | 'grouping' | 'braces' | 'bracket'; at: number };
    const frames: Frame[] = [];
    let aggrPending = false; // an aggregator whose body has not opened yet
    for (let i = 0; i < idx; i++) {
      const t = tokens[i]!;
      const top = frames[frames.length - 1];
      switch (t.kind) {
        case 'AGGREGATOR':
          if (tokens[i + 1]?.kind === 'LEFT_PAREN' || isGroupingWord(tokens[i + 1], ['by', 'without'])) {
            frames.push({ kind: 'aggr', at: i });
            aggrPending = true;
          }
          break;
        case 'LEFT_PAREN':
          if (isGroupingWord(tokens[i - 1], GROUPING_WORDS)) frames.push({ kind: 'grouping', at: i });
          else if (aggrPending && top?.kind === 'aggr') {
            frames.push({ kind: 'aggr-body', at: i });
            aggrPending = false;
          } else frames.push({ kind: 'paren', at: i });
          break;
        case 'RIGHT_PAREN': {
          const closed = frames.pop();
          if (closed?.kind === 'aggr-body') frames.pop();
          break;
        }
        case 'LEFT_BRACE':
          frames.push({ kind: 'braces', at: i });
          break;
        case 'RIGHT_BRACE':
          if (top?.kind === 'braces') frames.pop();
          break;
        case 'LEFT_BRACKET':
          frames.push({ kind: 'bracket', at: i });
          break;
        case 'RIGHT_BRACKET':
          if (top?.kind === 'bracket') frames.pop();
          break;
      }
    }
    const inner = frames[frames.length - 1];

    if (inner?.kind === 'braces') {
      if (prev.kind === 'LEFT_BRACE' || prev.kind === 'COMMA') return unexpected('label matching', 'identifier or "}"');
      if (prev.kind === 'IDENTIFIER') return unexpected('label matching', 'label matching operator');
      if (prev.kind === 'EQL' || prev.kind === 'NEQ' || prev.kind === 'EQL_REGEX' || prev.kind === 'NEQ_REGEX') {
        return unexpected('label matching', 'string');
      }
      return unexpected('label matching', '"," or "}"');
    }
    if (inner?.kind === 'grouping') {
      if (prev.kind === 'LEFT_PAREN' || prev.kind === 'COMMA') return unexpected('grouping opts', 'label');
      return unexpected('grouping opts', '"," or ")"');
    }
    if (inner?.kind === 'bracket') {
      const inside = tokens.slice(inner.at + 1, idx);
      const colon = inside.findIndex((t) => t.kind === 'COLON');
      const hasDuration = (ts: Token[]): boolean => ts.some((t) => t.kind === 'NUMBER' || t.kind === 'DURATION');
      if (colon < 0) {
        if (!hasDuration(inside)) return unexpected('subquery or range selector', 'number, duration, step(), or range()');
        return unexpected('subquery or range', '":" or "]"');
      }
      if (!hasDuration(inside.slice(colon + 1))) return unexpected('subquery selector', 'number, duration, step(), range(), or "]"');
      return unexpected('subquery selector', '"]"');
    }
    const before = tokens[idx - 2];
    const groupingOpens =
      (isGroupingWord(prev, ['by', 'without']) && (before?.kind === 'AGGREGATOR' || before?.kind === 'RIGHT_PAREN')) ||
      (isGroupingWord(prev, ['on', 'ignoring']) && before !== undefined && (BINARY_OPERATOR_TOKENS.has(before.kind) || isGroupingWord(before, ['bool']))) ||
      (isGroupingWord(prev, ['group_left', 'group_right']) && before?.kind === 'RIGHT_PAREN');
    if (groupingOpens) return unexpected('grouping opts', '"("');
    // Right after `offset` / `@` (a sign may follow them).
    const modifier = prev.kind === 'ADD' || prev.kind === 'SUB' ? before : prev;
    if (modifier?.kind === 'KEYWORD' && modifier.text.toLowerCase() === 'offset' && !this.keywordIsMetricName(tokens.indexOf(modifier))) {
      return unexpected('offset', 'number, duration, step(), or range()');
    }
    if (modifier?.kind === 'AT') return unexpected('@', 'timestamp');
    const startsExpression =
      EXPRESSION_START_TOKENS.has(tok.kind) && !isGroupingWord(tok, ['bool', 'on', 'ignoring', 'group_left', 'group_right']);
    if (prev.kind === 'COMMA' && (inner?.kind === 'paren' || inner?.kind === 'aggr-body') && !startsExpression) {
      // Prometheus reduces `args ,` before seeing that no argument follows.
      this.fail({ start: prev.start, end: prev.end }, 'trailing commas not allowed in function call args');
    }
    if (frames.some((f) => f.kind === 'aggr')) return unexpected('aggregation');
    return unexpected();
  }

  // ---- Lezer tree → AST --------------------------------------------------------------------

  private children(node: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = node.firstChild; c !== null; c = c.nextSibling) if (c.name !== 'LineComment') out.push(c);
    return out;
  }

  private token(pos: number): Token {
    const i = this.tokenAt[pos]!;
    if (i < 0) this.fail({ start: pos, end: pos }, 'unexpected input');
    return this.tokens[i]!;
  }

  /**
   * The real end of a node: Lezer saw literals as a short placeholder plus spaces, so a node
   * ending in a literal ends where the literal's token really ends.
   */
  private end(node: SyntaxNode): number {
    return this.realPos(node.to);
  }

  /** A position inside a placeholder's padding moves to the end of its token. */
  private realPos(pos: number): number {
    const tokens = this.tokens;
    let lo = 0;
    let hi = tokens.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (tokens[mid]!.start < pos) lo = mid;
      else hi = mid - 1;
    }
    const t = tokens[lo];
    return t !== undefined && t.start < pos && pos < t.end ? t.end : pos;
  }

  private tokenIndex(pos: number): number {
    return this.tokenAt[pos]!;
  }

  private expr(node: SyntaxNode): Expr {
    switch (node.name) {
      case 'NumberDurationLiteral':
        return this.numberLiteral(node);
      case 'StringLiteral': {
        const t = this.token(node.from);
        return { kind: 'StringLiteral', type: 'string', value: unquoteString(t.text), pos: { start: t.start, end: t.end } };
      }
      case 'VectorSelector':
        return this.vectorSelector(node);
      case 'ParenExpr': {
        const inner = this.expr(this.children(node)[0]!);
        return { kind: 'Paren', type: inner.type, expr: inner, pos: { start: node.from, end: this.end(node) } };
      }
      case 'UnaryExpr': {
        const [opNode, operand] = this.children(node);
        const op = this.query[opNode!.from] === '-' ? '-' : '+';
        return this.unary(op, opNode!.from, this.expr(operand!));
      }
      case 'BinaryExpr':
        return this.binary(node);
      case 'FunctionCall':
        return this.call(node);
      case 'AggregateExpr':
        return this.aggregate(node);
      case 'MatrixSelector':
      case 'SubqueryExpr':
        return this.rangeOrSubquery(node);
      case 'OffsetExpr':
        return this.offset(node);
      case 'StepInvariantExpr':
        return this.at(node);
      case 'AnchoredExpr':
      case 'SmoothedExpr': {
        const inner = this.expr(this.children(node)[0]!);
        const word = node.name === 'AnchoredExpr' ? 'anchored' : 'smoothed';
        return this.fail(inner.pos, `${word} modifier is experimental and not enabled`);
      }
      default:
        return this.fail({ start: node.from, end: node.to }, `unexpected ${node.name}`);
    }
  }

  /** A number as Prometheus reads it: integer (decimal, octal, hex) or float; Inf/NaN. */
  private numberValue(t: Token): number {
    if (t.kind === 'DURATION') return this.durationMs(t) / 1000;
    const text = t.text.replace(/_/g, '');
    const lower = text.toLowerCase();
    if (lower === 'inf') return Infinity;
    if (lower === 'nan') return NaN;
    if (/^0[xX][0-9a-fA-F]+$/.test(text)) {
      const v = Number.parseInt(text.slice(2), 16);
      if (v < 2 ** 63) return v;
      this.fail({ start: t.start, end: t.end }, `error parsing number: strconv.ParseFloat: parsing ${goQuote(t.text)}: invalid syntax`);
    }
    if (/^0[0-7]+$/.test(text)) return Number.parseInt(text, 8);
    const v = Number(text);
    if (Number.isNaN(v)) this.fail({ start: t.start, end: t.end }, `error parsing number: strconv.ParseFloat: parsing ${goQuote(t.text)}: invalid syntax`);
    if (!Number.isFinite(v)) this.fail({ start: t.start, end: t.end }, `error parsing number: strconv.ParseFloat: parsing ${goQuote(t.text)}: value out of range`);
    return v;
  }

  /** model.ParseDuration: units y w d h m s ms, each at most once, largest first. */
  private durationMs(t: Token): number {
    const s = t.text;
    const range = { start: t.start, end: t.end };
    if (s === '0') return 0;
    const units: Record<string, [number, number]> = {
      y: [1, 365 * 24 * 3600 * 1000],
      w: [2, 7 * 24 * 3600 * 1000],
      d: [3, 24 * 3600 * 1000],
      h: [4, 3600 * 1000],
      m: [5, 60 * 1000],
      s: [6, 1000],
      ms: [7, 1],
    };
    let total = 0n;
    let lastUnit = 0;
    const re = /(\d+)(\D*)/y;
    let m: RegExpExecArray | null;
    let at = 0;
    while (at < s.length) {
      re.lastIndex = at;
      m = re.exec(s);
      if (m === null || m[2] === '') this.fail(range, `not a valid duration string: ${goQuote(s)}`);
      const unit = units[m[2]!];
      if (unit === undefined) this.fail(range, `unknown unit ${goQuote(m[2]!)} in duration ${goQuote(s)}`);
      if (unit[0] <= lastUnit) this.fail(range, `not a valid duration string: ${goQuote(s)}`);
      lastUnit = unit[0];
      const v = BigInt(m[1]!);
      total += v * BigInt(unit[1]);
      if (total * 1_000_000n > 2n ** 63n - 1n) this.fail(range, 'duration out of range');
      at = re.lastIndex;
    }
    return Number(total);
  }

  private numberLiteral(node: SyntaxNode): NumberLiteral {
    const first = this.token(node.from);
    const signed = first.kind === 'ADD' || first.kind === 'SUB';
    const index = signed ? this.tokenIndex(node.from) + 1 : this.tokenIndex(node.from);
    const t = this.tokens[index]!;
    let value = this.literalValues.get(index) ?? this.numberValue(t);
    if (first.kind === 'SUB') value = -value;
    const lit: NumberLiteral = { kind: 'NumberLiteral', type: 'scalar', value, pos: { start: node.from, end: t.end } };
    if (t.kind === 'DURATION') lit.duration = true;
    return lit;
  }

  /** Prometheus folds a sign into a number literal; otherwise it is a unary expression. */
  private unary(op: '-' | '+', start: number, operand: Expr): Expr {
    if (operand.kind === 'NumberLiteral') {
      const lit: NumberLiteral = { ...operand, value: op === '-' ? -operand.value : operand.value, pos: { start, end: operand.pos.end } };
      return lit;
    }
    return { kind: 'Unary', type: operand.type, op, expr: operand, pos: { start, end: operand.pos.end } };
  }

  private labelName(node: SyntaxNode): string {
    if (node.name === 'QuotedLabelName') return unquoteString(this.token(node.from).text);
    return this.query.slice(node.from, node.to);
  }

  private vectorSelector(node: SyntaxNode): VectorSelector {
    let name: string | undefined;
    const matchers: LabelMatcher[] = [];
    for (const child of this.children(node)) {
      if (child.name === 'Identifier') {
        name = this.query.slice(child.from, child.to);
        continue;
      }
      for (const m of this.children(child)) {
        if (m.name === 'QuotedLabelName') {
          // `{"metric.name"}`: a quoted metric name.
          matchers.push({ type: '=', name: '__name__', value: unquoteString(this.token(m.from).text) });
          continue;
        }
        const [labelNode, opNode, valueNode] = this.children(m);
        const labelName = this.labelName(labelNode!);
        const type = MATCH_OPS[this.children(opNode!)[0]!.name]!;
        const value = unquoteString(this.token(valueNode!.from).text);
        if (type === '=~' || type === '!~') {
          const problem = re2SyntaxError(value);
          if (problem !== undefined) this.fail({ start: labelNode!.from, end: valueNode!.to }, problem);
        }
        matchers.push({ type, name: labelName, value });
      }
    }
    if (name !== undefined) matchers.push({ type: '=', name: '__name__', value: name });
    const vs: VectorSelector = { kind: 'VectorSelector', type: 'vector', matchers, offsetMs: 0, pos: { start: node.from, end: this.end(node) } };
    if (name !== undefined) vs.name = name;
    return vs;
  }

  private groupingLabels(node: SyntaxNode): string[] {
    const labels: string[] = [];
    for (const c of this.children(node)) {
      const label = this.labelName(c);
      if (label === '' || [...label].length === 0) this.fail({ start: c.from, end: c.to }, `invalid label name for grouping: ${goQuote(label)}`);
      labels.push(label);
    }
    return labels;
  }

  private binary(node: SyntaxNode): Expr {
    const parts = this.children(node);
    const lhsNode = parts[0]!;
    const opNode = parts[1]!;
    const rhsNode = parts[parts.length - 1]!;
    const op = BINARY_OPS[opNode.name];
    if (op === undefined) {
      return this.fail({ start: opNode.from, end: opNode.to }, `binary expression does not support operator ${goQuote(this.query.slice(opNode.from, opNode.to))}`);
    }
    let returnBool = false;
    const matching: VectorMatching = { card: 'one-to-one', on: false, labels: [], include: [] };
    for (const mod of parts.slice(2, -1)) {
      if (mod.name === 'BoolModifier') returnBool = true;
      else if (mod.name === 'MatchingModifierClause') {
        for (const c of this.children(mod)) {
          if (c.name === 'On') matching.on = true;
          else if (c.name === 'GroupLeft') matching.card = 'many-to-one';
          else if (c.name === 'GroupRight') matching.card = 'one-to-many';
          else if (c.name === 'GroupingLabels') {
            if (matching.card === 'one-to-one') matching.labels = this.groupingLabels(c);
            else matching.include = this.groupingLabels(c);
          }
        }
      } else if (mod.name === 'FillModifier') {
        this.fail({ start: lhsNode.from, end: rhsNode.to }, 'binop fill modifiers are experimental and not enabled');
      }
    }
    // Lezer reads `-1 ^ 2` as `(-1) ^ 2`; Prometheus's unary minus binds looser than `^`.
    if (op === '^' && lhsNode.name === 'NumberDurationLiteral') {
      const first = this.token(lhsNode.from);
      if (first.kind === 'ADD' || first.kind === 'SUB') {
        const unsigned = this.numberLiteral(lhsNode);
        const abs: NumberLiteral = {
          ...unsigned,
          value: first.kind === 'SUB' ? -unsigned.value : unsigned.value,
          pos: { start: this.tokens[this.tokenIndex(lhsNode.from) + 1]!.start, end: unsigned.pos.end },
        };
        const pow = this.makeBinary(op, abs, this.expr(rhsNode), returnBool, matching);
        return this.unary(first.kind === 'SUB' ? '-' : '+', lhsNode.from, pow);
      }
    }
    return this.makeBinary(op, this.expr(lhsNode), this.expr(rhsNode), returnBool, matching);
  }

  private makeBinary(op: BinaryOp, lhs: Expr, rhs: Expr, returnBool: boolean, matching: VectorMatching): Expr {
    const type: ValueType = lhs.type === 'scalar' && rhs.type === 'scalar' ? 'scalar' : 'vector';
    const node: Expr = { kind: 'Binary', type, op, lhs, rhs, returnBool, matching, pos: { start: lhs.pos.start, end: rhs.pos.end } };
    return node;
  }

  private call(node: SyntaxNode): Expr {
    const [idNode, bodyNode] = this.children(node);
    const nameToken = this.token(idNode!.from);
    const name = nameToken.text;
    const idRange = { start: nameToken.start, end: nameToken.end };
    // Arguments first: Prometheus checks the name when the whole call is reduced.
    const args = this.children(bodyNode!).map((c) => this.expr(c));
    const fn = PROMQL_FUNCTIONS.get(name);
    if (fn === undefined) return this.fail(idRange, `unknown function with name ${goQuote(name)}`);
    if (fn.experimental && this.options.enableExperimentalFunctions !== true) this.fail(idRange, `function ${goQuote(name)} is not enabled`);
    return { kind: 'Call', type: fn.returnType, func: name, args, pos: { start: node.from, end: this.end(node) } };
  }

  private aggregate(node: SyntaxNode): Expr {
    let op: AggregateOp | undefined;
    let grouping: string[] = [];
    let without = false;
    let args: Expr[] = [];
    let opRange: PositionRange = { start: node.from, end: node.from };
    for (const c of this.children(node)) {
      if (c.name === 'AggregateOp') {
        op = this.query.slice(c.from, c.to).toLowerCase() as AggregateOp;
        opRange = { start: c.from, end: c.to };
      } else if (c.name === 'AggregateModifier') {
        for (const m of this.children(c)) {
          if (m.name === 'Without') without = true;
          else if (m.name === 'GroupingLabels') grouping = this.groupingLabels(m);
        }
      } else if (c.name === 'FunctionCallBody') {
        args = this.children(c).map((a) => this.expr(a));
      }
    }
    const pos = { start: opRange.start, end: this.end(node) };
    if (op === undefined) return this.fail(pos, 'aggregation operator expected');
    if (args.length === 0) this.fail(pos, 'no arguments for aggregate expression provided');
    let desired = 1;
    if (PARAM_AGGREGATORS.has(op)) {
      if ((op === 'limitk' || op === 'limit_ratio') && this.options.enableExperimentalFunctions !== true) {
        this.fail(pos, `${op}() is experimental and must be enabled with --enable-feature=promql-experimental-functions`);
      }
      desired = 2;
    }
    if (args.length !== desired) {
      this.fail(pos, `wrong number of arguments for aggregate expression provided, expected ${desired}, got ${args.length}`);
    }
    const agg: Expr = { kind: 'Aggregate', type: 'vector', op, expr: args[desired - 1]!, grouping, without, pos };
    if (desired === 2) agg.param = args[0]!;
    return agg;
  }

  /** A literal duration in `[...]` or after `offset`, in seconds; non-literal duration expressions are experimental. */
  private durationLiteral(node: SyntaxNode, positive: boolean): number {
    let sign = 1;
    let n = node;
    let start = node.from;
    // OffsetDurationExpr / DurationExpr: (UnaryOp X) | literal | other (experimental)
    for (;;) {
      const kids = this.children(n);
      if (n.name === 'NumberDurationLiteralInDurationContext') break;
      if (kids.length === 1 && kids[0]!.name === 'NumberDurationLiteralInDurationContext') {
        n = kids[0]!;
        break;
      }
      if (kids.length === 2 && kids[0]!.name === 'UnaryOp' && (kids[1]!.name === 'OffsetDurationExpr' || kids[1]!.name === 'DurationExpr')) {
        const inner = this.children(kids[1]!);
        if (inner.length === 1 && inner[0]!.name === 'NumberDurationLiteralInDurationContext') {
          if (this.query[kids[0]!.from] === '-') sign = -sign;
          start = kids[0]!.from;
          n = inner[0]!;
          break;
        }
      }
      return this.fail({ start: node.from, end: node.to }, 'experimental duration expression is not enabled');
    }
    const t = this.token(n.from);
    const value = sign * (this.literalValues.get(this.tokenIndex(n.from)) ?? this.numberValue(t));
    const range = { start, end: t.end };
    if (value > MAX_DURATION_SECONDS || value < -MAX_DURATION_SECONDS) this.fail(range, 'duration out of range');
    if (positive && !(value > 0)) this.fail(range, 'duration must be greater than 0');
    return value;
  }

  /** Go: time.Duration(math.Round(s * 1e9)).Milliseconds(). */
  private secondsToMs(seconds: number): number {
    return Math.trunc(goRound(seconds * 1e9) / 1e6);
  }

  /**
   * Postfix modifiers bind to the nearest operand in Prometheus: descend through binary
   * right-hand sides and unary operands to the expression the modifier belongs to.
   */
  private applyPostfix(target: Expr, apply: (operand: Expr) => Expr): Expr {
    if (target.kind === 'Binary') {
      const rhs = this.applyPostfix(target.rhs, apply);
      return this.makeBinary(target.op, target.lhs, rhs, target.returnBool, target.matching!);
    }
    if (target.kind === 'Unary') return this.unary(target.op, target.pos.start, this.applyPostfix(target.expr, apply));
    return apply(target);
  }

  private rangeOrSubquery(node: SyntaxNode): Expr {
    const kids = this.children(node);
    const inner = this.expr(kids[0]!);
    const durations = kids.slice(1);
    const openIdx = this.tokenIndex(durations[0]!.from) - 1;
    const open = this.tokens[openIdx]!;
    const bracketRange = { start: open.start, end: this.end(node) };
    const rangeSeconds = this.durationLiteral(durations[0]!, true);
    if (node.name === 'MatrixSelector') {
      return this.applyPostfix(inner, (operand) => {
        if (operand.kind !== 'VectorSelector') this.fail(bracketRange, 'ranges only allowed for vector selectors');
        if (operand.offsetMs !== 0) this.fail(bracketRange, 'no offset modifiers allowed before range');
        if (operand.at !== undefined) this.fail(bracketRange, 'no @ modifiers allowed before range');
        return {
          kind: 'MatrixSelector',
          type: 'matrix',
          vectorSelector: operand,
          rangeMs: this.secondsToMs(rangeSeconds),
          pos: { start: operand.pos.start, end: this.end(node) },
        };
      });
    }
    const stepSeconds = durations.length > 1 ? this.durationLiteral(durations[1]!, true) : 0;
    return this.applyPostfix(inner, (operand) => ({
      kind: 'Subquery',
      type: 'matrix',
      expr: operand,
      rangeMs: this.secondsToMs(rangeSeconds),
      stepMs: this.secondsToMs(stepSeconds),
      offsetMs: 0,
      pos: { start: operand.pos.start, end: this.end(node) },
    }));
  }

  private offset(node: SyntaxNode): Expr {
    const kids = this.children(node);
    const inner = this.expr(kids[0]!);
    const seconds = this.durationLiteral(kids[kids.length - 1]!, false);
    const offsetMs = this.secondsToMs(seconds);
    return this.applyPostfix(inner, (operand) => {
      const end = this.end(node);
      switch (operand.kind) {
        case 'VectorSelector':
          if (operand.offsetMs !== 0) this.fail(operand.pos, 'offset may not be set multiple times');
          return { ...operand, offsetMs, pos: { start: operand.pos.start, end } };
        case 'MatrixSelector':
          if (operand.vectorSelector.offsetMs !== 0) this.fail(operand.pos, 'offset may not be set multiple times');
          return { ...operand, vectorSelector: { ...operand.vectorSelector, offsetMs }, pos: { start: operand.pos.start, end } };
        case 'Subquery':
          if (operand.offsetMs !== 0) this.fail(operand.pos, 'offset may not be set multiple times');
          return { ...operand, offsetMs, pos: { start: operand.pos.start, end } };
        default:
          return this.fail(operand.pos, 'offset modifier must be preceded by an instant vector selector or range vector selector or a subquery');
      }
    });
  }

  private at(node: SyntaxNode): Expr {
    const kids = this.children(node);
    const inner = this.expr(kids[0]!);
    const last = kids[kids.length - 1]!;
    let at: AtModifier;
    let tsProblem: string | undefined;
    if (last.name === 'AtModifierPreprocessors') {
      at = this.query.slice(last.from, last.to).toLowerCase() === 'start' ? { kind: 'start' } : { kind: 'end' };
    } else {
      const lit = this.numberLiteral(last);
      const ts = lit.value;
      if (!Number.isFinite(ts) || ts >= 2 ** 63 || ts <= -(2 ** 63)) {
        tsProblem = `timestamp out of bounds for @ modifier: ${formatGoFloatF(ts)}`;
      }
      at = { kind: 'timestamp', ms: goRound(ts * 1000) };
    }
    return this.applyPostfix(inner, (operand) => {
      if (tsProblem !== undefined) this.fail(operand.pos, tsProblem);
      const end = this.end(node);
      switch (operand.kind) {
        case 'VectorSelector':
          if (operand.at !== undefined) this.fail(operand.pos, '@ <timestamp> may not be set multiple times');
          return { ...operand, at, pos: { start: operand.pos.start, end } };
        case 'MatrixSelector':
          if (operand.vectorSelector.at !== undefined) this.fail(operand.pos, '@ <timestamp> may not be set multiple times');
          return { ...operand, vectorSelector: { ...operand.vectorSelector, at }, pos: { start: operand.pos.start, end } };
        case 'Subquery':
          if (operand.at !== undefined) this.fail(operand.pos, '@ <timestamp> may not be set multiple times');
          return { ...operand, at, pos: { start: operand.pos.start, end } };
        default:
          return this.fail(operand.pos, '@ modifier must be preceded by an instant vector selector or range vector selector or a subquery');
      }
    });
  }

  // ---- type check (parse.go checkAST) -------------------------------------------------------

  private expectType(node: Expr, want: ValueType, context: string): void {
    this.check(node);
    if (node.type !== want) this.fail(node.pos, `expected type ${documentedType(want)} in ${context}, got ${documentedType(node.type)}`);
  }

  /** The operator's own range: from after the left operand to before the right one, trimmed. */
  private opRange(lhs: Expr, rhs: Expr): PositionRange {
    let start = lhs.pos.end;
    while (start < this.query.length && ' \t\n\r'.includes(this.query[start]!)) start++;
    let end = rhs.pos.start - 1;
    while (end > start && ' \t\n\r'.includes(this.query[end]!)) end--;
    return { start, end };
  }

  private check(node: Expr): void {
    switch (node.kind) {
      case 'Aggregate':
        this.expectType(node.expr, 'vector', 'aggregation expression');
        if (node.param !== undefined) {
          this.expectType(node.param, node.op === 'count_values' ? 'string' : 'scalar', 'aggregation parameter');
        }
        return;
      case 'Binary': {
        this.check(node.lhs);
        this.check(node.rhs);
        const lt = node.lhs.type;
        const rt = node.rhs.type;
        const isComparison = COMPARISON_OPS.has(node.op);
        const isSet = SET_OPS.has(node.op);
        if (node.returnBool && !isComparison) this.fail(this.opRange(node.lhs, node.rhs), 'bool modifier can only be used on comparison operators');
        if (isComparison && !node.returnBool && lt === 'scalar' && rt === 'scalar') {
          this.fail(this.opRange(node.lhs, node.rhs), 'comparisons between scalars must use BOOL modifier');
        }
        const m = node.matching!;
        if (isSet && m.card === 'one-to-one') m.card = 'many-to-many';
        if (m.on) {
          for (const l of m.labels) {
            if (m.include.includes(l)) this.fail(this.opRange(node.lhs, node.rhs), `label ${goQuote(l)} must not occur in ON and GROUP clause at once`);
          }
        }
        if (lt !== 'scalar' && lt !== 'vector') this.fail(node.lhs.pos, 'binary expression must contain only scalar and instant vector types');
        if (rt !== 'scalar' && rt !== 'vector') this.fail(node.rhs.pos, 'binary expression must contain only scalar and instant vector types');
        if (lt !== 'vector' || rt !== 'vector') {
          if (m.labels.length > 0 || m.on) this.fail(node.pos, 'vector matching only allowed between instant vectors');
          delete node.matching;
        } else if (isSet) {
          if (m.card === 'one-to-many' || m.card === 'many-to-one') this.fail(node.pos, `no grouping allowed for ${goQuote(node.op)} operation`);
        }
        if ((lt === 'scalar' || rt === 'scalar') && isSet) this.fail(node.pos, `set operator ${goQuote(node.op)} not allowed in binary scalar expression`);
        return;
      }
      case 'Call': {
        const fn = PROMQL_FUNCTIONS.get(node.func)!;
        const nargs = fn.argTypes.length;
        if (fn.variadic === 0) {
          if (nargs !== node.args.length) this.fail(node.pos, `expected ${nargs} argument(s) in call to ${goQuote(fn.name)}, got ${node.args.length}`);
        } else {
          const min = nargs - 1;
          if (min > node.args.length) this.fail(node.pos, `expected at least ${min} argument(s) in call to ${goQuote(fn.name)}, got ${node.args.length}`);
          else if (fn.variadic > 0 && min + fn.variadic < node.args.length) {
            this.fail(node.pos, `expected at most ${min + fn.variadic} argument(s) in call to ${goQuote(fn.name)}, got ${node.args.length}`);
          }
        }
        if (fn.name === 'info' && node.args.length > 1) {
          const arg = node.args[1]!;
          if (arg.type !== 'vector') this.fail(node.pos, `expected type instant vector in call to function "info", got ${documentedType(arg.type)}`);
          if (arg.kind === 'VectorSelector' && arg.name !== undefined) this.fail(arg.pos, 'expected label selectors only, got vector selector instead');
          if (arg.kind !== 'VectorSelector') this.fail(arg.pos, 'expected label selectors only');
        }
        node.args.forEach((arg, i) => {
          const want = fn.argTypes[Math.min(i, nargs - 1)]!;
          if (i >= nargs && fn.variadic === 0) return;
          if (fn.name === 'info' && i === 1 && arg.kind === 'VectorSelector') {
            // info()'s second argument is a label selector that may match empty values.
          } else {
            this.check(arg);
          }
          if (arg.type !== want) this.fail(arg.pos, `expected type ${documentedType(want)} in call to function ${goQuote(fn.name)}, got ${documentedType(arg.type)}`);
        });
        return;
      }
      case 'Paren':
        this.check(node.expr);
        return;
      case 'Unary':
        this.check(node.expr);
        if (node.expr.type !== 'scalar' && node.expr.type !== 'vector') {
          this.fail(node.pos, `unary expression only allowed on expressions of type scalar or instant vector, got ${goQuote(documentedType(node.expr.type))}`);
        }
        return;
      case 'Subquery':
        this.check(node.expr);
        if (node.expr.type !== 'vector') this.fail(node.pos, `subquery is only allowed on instant vector, got ${node.expr.type} instead`);
        return;
      case 'MatrixSelector':
        this.check(node.vectorSelector);
        return;
      case 'VectorSelector': {
        if (node.name !== undefined) {
          for (const m of node.matchers.slice(0, -1)) {
            if (m.name === '__name__') this.fail(node.pos, `metric name must not be set twice: ${goQuote(node.name)} or ${goQuote(m.value)}`);
          }
          return;
        }
        if (!node.matchers.some((m) => !matchesEmpty(m))) this.fail(node.pos, 'vector selector must contain at least one non-empty matcher');
        return;
      }
      case 'NumberLiteral':
      case 'StringLiteral':
        return;
    }
  }
}

/** Whether a matcher accepts the empty string (Prometheus: selectors need one that does not). */
function matchesEmpty(m: LabelMatcher): boolean {
  switch (m.type) {
    case '=':
      return m.value === '';
    case '!=':
      return m.value !== '';
    case '=~':
    case '!~': {
      let re: RegExp | undefined;
      try {
        re = toJsRegExp(m.value);
      } catch {
        return false;
      }
      const matched = re.test('');
      return m.type === '=~' ? matched : !matched;
    }
  }
}


/** Go's math.Round: half away from zero. */
function goRound(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/** Go's %f formatting of a float (used in the @ bounds message). */
function formatGoFloatF(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return v.toFixed(6);
}
