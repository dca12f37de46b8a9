/**
 * A PromQL lexer with Prometheus's token rules (promql/parser/lex.go semantics, written anew).
 * The Lezer grammar decides structure; this lexer is the authority for token values (numbers,
 * durations, strings), for lexical errors and for naming the offending token in syntax errors,
 * so that messages match Prometheus's text.
 */

export type TokenKind =
  | 'EOF'
  | 'IDENTIFIER'
  | 'METRIC_IDENTIFIER'
  | 'NUMBER'
  | 'DURATION'
  | 'STRING'
  | 'COMMENT'
  | 'LEFT_PAREN'
  | 'RIGHT_PAREN'
  | 'LEFT_BRACE'
  | 'RIGHT_BRACE'
  | 'LEFT_BRACKET'
  | 'RIGHT_BRACKET'
  | 'COMMA'
  | 'COLON'
  | 'EQL'
  // operators
  | 'ADD'
  | 'SUB'
  | 'MUL'
  | 'DIV'
  | 'MOD'
  | 'POW'
  | 'EQLC'
  | 'NEQ'
  | 'LTE'
  | 'LSS'
  | 'GTE'
  | 'GTR'
  | 'TRIM_UPPER'
  | 'TRIM_LOWER'
  | 'EQL_REGEX'
  | 'NEQ_REGEX'
  | 'AT'
  | 'LAND'
  | 'LOR'
  | 'LUNLESS'
  | 'ATAN2'
  // aggregators, keywords and preprocessors use their upper-cased word as kind
  | 'AGGREGATOR'
  | 'KEYWORD'
  | 'PREPROCESSOR';

export interface Token {
  kind: TokenKind;
  /** Offsets into the query (UTF-16, end-exclusive). */
  start: number;
  end: number;
  /** The token's source text. */
  text: string;
}

export interface LexResult {
  tokens: Token[];
  /** The first lexical error; tokens stop before it. */
  /**
   * The first lexical error; tokens stop before it. `start` is where Prometheus reports it,
   * `orderPos` where the failing item began (what a syntax error is ordered against).
   */
  error?: { start: number; orderPos: number; message: string };
}

const OPERATOR_WORDS: Record<string, TokenKind> = { and: 'LAND', or: 'LOR', unless: 'LUNLESS', atan2: 'ATAN2' };
export const AGGREGATOR_WORDS = new Set([
  'sum',
  'avg',
  'count',
  'min',
  'max',
  'group',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'count_values',
  'quantile',
  'limitk',
  'limit_ratio',
]);
const KEYWORD_WORDS = new Set([
  'offset',
  'smoothed',
  'anchored',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'fill',
  'fill_left',
  'fill_right',
  'bool',
]);
const SINGLE_CHAR_TOKENS: Record<string, TokenKind> = { '(': 'LEFT_PAREN', ')': 'RIGHT_PAREN', ',': 'COMMA', '+': 'ADD', '-': 'SUB', '*': 'MUL', '/': 'DIV', '%': 'MOD', '^': 'POW' };

const PREPROCESSOR_WORDS = new Set(['start', 'end', 'step', 'range', 'max_of', 'min_of']);
const DURATION_KEYWORDS = new Set(['step', 'range', 'max_of', 'min_of']);

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isAlpha = (c: string): boolean => c === '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const isAlphaNumeric = (c: string): boolean => isAlpha(c) || isDigit(c);

/** Go's %q for a single rune. */
export function goQuoteRune(ch: string): string {
  if (ch === "'") return "'\\''";
  if (ch === '\\') return "'\\\\'";
  return `'${escapeChar(ch, "'")}'`;
}

function escapeChar(ch: string, quote: string): string {
  switch (ch) {
    case '\x07':
      return '\\a';
    case '\b':
      return '\\b';
    case '\f':
      return '\\f';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    case '\v':
      return '\\v';
    case '\\':
      return '\\\\';
    case quote:
      return `\\${quote}`;
  }
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp >= 0x80 && cp < 0xa0) return `\\u${cp.toString(16).padStart(4, '0')}`;
  if (cp === 0xfffd && ch !== '\ufffd') return '\\ufffd';
  return ch;
}

/** Go's strconv.Quote (printable non-ASCII kept as is). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) out += escapeChar(ch, '"');
  return out + '"';
}

/** Go's %#U: `U+0071 'q'`. */
function goUnicodeVerbose(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  return cp >= 0x20 && cp !== 0x7f ? `U+${hex} '${ch}'` : `U+${hex}`;
}

class Lexer {
  private pos = 0;
  private start = 0;
  private parenDepth = 0;
  private braceOpen = false;
  private bracketOpen = false;
  private gotColon = false;
  private gotDuration = false;
  private inDurationExpr = false;
  readonly tokens: Token[] = [];
  error: { start: number; orderPos: number; message: string } | undefined;

  constructor(private readonly input: string) {}

  private peek(): string {
    if (this.pos >= this.input.length) return '';
    const cp = this.input.codePointAt(this.pos) ?? 0;
    return String.fromCodePoint(cp);
  }

  private next(): string {
    const c = this.peek();
    this.pos += c.length;
    return c;
  }

  private backup(c: string): void {
    this.pos -= c.length;
  }

  private accept(valid: string): boolean {
    const c = this.peek();
    if (c !== '' && valid.includes(c)) {
      this.pos += c.length;
      return true;
    }
    return false;
  }

  private emit(kind: TokenKind): void {
    this.tokens.push({ kind, start: this.start, end: this.pos, text: this.input.slice(this.start, this.pos) });
    this.start = this.pos;
  }

  private fail(message: string, orderPos = this.start): false {
    this.error = { start: this.start, orderPos, message };
    return false;
  }

  /** lex.go emits some items and then overwrites them with an error: drop the item, keep its position for ordering. */
  private failAfterEmit(message: string): false {
    const dropped = this.tokens.pop()!;
    return this.fail(message, dropped.start);
  }

  run(): void {
    while (this.error === undefined) {
      if (!this.step()) return;
    }
  }

  /** One lexing step; false when finished (EOF emitted or error). */
  private step(): boolean {
    if (this.braceOpen) return this.insideBraces();
    if (this.inDurationExpr) return this.durationExpr();
    if (this.input.startsWith('#', this.pos)) return this.lineComment();
    const r = this.next();
    if (r === '') {
      if (this.parenDepth !== 0) return this.fail('unclosed left parenthesis');
      if (this.bracketOpen) return this.fail('unclosed left bracket');
      this.emit('EOF');
      return false;
    }
    const common = this.parenOrOperator(r);
    if (common !== undefined) return common;
    switch (r) {
      case '=': {
        const t = this.peek();
        if (t === '=') {
          this.next();
          this.emit('EQLC');
        } else if (t === '~') {
          return this.fail(`unexpected character after '=': ${goQuoteRune(t)}`);
        } else {
          this.emit('EQL');
        }
        return true;
      }
      case '!': {
        const t = this.next();
        if (t !== '=') return this.fail(`unexpected character after '!': ${t === '' ? "'\\x00'" : goQuoteRune(t)}`);
        this.emit('NEQ');
        return true;
      }
      case '<':
        if (this.accept('=')) this.emit('LTE');
        else if (this.accept('/')) this.emit('TRIM_UPPER');
        else this.emit('LSS');
        return true;
      case '>':
        if (this.accept('=')) this.emit('GTE');
        else if (this.accept('/')) this.emit('TRIM_LOWER');
        else this.emit('GTR');
        return true;
      case '"':
      case "'":
        return this.string(r);
      case '`':
        return this.rawString();
      case '{':
        this.emit('LEFT_BRACE');
        this.braceOpen = true;
        return true;
      case '[':
        if (this.bracketOpen) return this.fail(`unexpected left bracket '['`);
        this.gotColon = false;
        this.gotDuration = false;
        this.emit('LEFT_BRACKET');
        this.skipSpaces();
        this.bracketOpen = true;
        this.inDurationExpr = true;
        return true;
      case ']':
        if (!this.bracketOpen) return this.fail(`unexpected right bracket ']'`);
        this.emit('RIGHT_BRACKET');
        this.bracketOpen = false;
        return true;
      case '@':
        this.emit('AT');
        return true;
    }
    if (isSpace(r)) {
      this.skipSpaces();
      return true;
    }
    if (isDigit(r) || (r === '.' && isDigit(this.peek()))) {
      this.backup(r);
      return this.numberOrDuration();
    }
    if (isAlpha(r) || r === ':') {
      if (!this.bracketOpen) {
        this.backup(r);
        return this.keywordOrIdentifier();
      }
      if (r === ':') {
        if (this.gotColon) return this.fail(`unexpected colon ':'`);
        this.emit('COLON');
        this.gotColon = true;
        return true;
      }
      if (this.scanDurationKeyword()) return true;
      return this.fail(`unexpected character: ${goQuoteRune(r)}, expected ':'`);
    }
    return this.fail(`unexpected character: ${goQuoteRune(r)}`);
  }

  private skipSpaces(): void {
    while (isSpace(this.peek())) this.next();
    this.start = this.pos;
  }

  private lineComment(): boolean {
    this.pos += 1;
    while (this.pos < this.input.length && this.input[this.pos] !== '\n' && this.input[this.pos] !== '\r') this.pos++;
    // Comments are dropped: the grammar never sees them.
    this.start = this.pos;
    return true;
  }

  private insideBraces(): boolean {
    if (this.input.startsWith('#', this.pos)) return this.lineComment();
    const r = this.next();
    if (r === '') return this.fail('unexpected end of input inside braces');
    if (isSpace(r)) {
      this.skipSpaces();
      return true;
    }
    if (isAlpha(r)) {
      while (isAlphaNumeric(this.peek())) this.next();
      this.emit('IDENTIFIER');
      return true;
    }
    switch (r) {
      case ',':
        this.emit('COMMA');
        return true;
      case '"':
      case "'":
        return this.string(r);
      case '`':
        return this.rawString();
      case '=':
        if (this.accept('~')) this.emit('EQL_REGEX');
        else this.emit('EQL');
        return true;
      case '!': {
        const nr = this.next();
        if (nr === '~') this.emit('NEQ_REGEX');
        else if (nr === '=') this.emit('NEQ');
        else return this.fail(`unexpected character after '!' inside braces: ${nr === '' ? "'\\x00'" : goQuoteRune(nr)}`);
        return true;
      }
      case '{':
        return this.fail(`unexpected left brace '{'`);
      case '}':
        this.emit('RIGHT_BRACE');
        this.braceOpen = false;
        return true;
    }
    return this.fail(`unexpected character inside braces: ${goQuoteRune(r)}`);
  }

  /**
   * Parentheses, `,` and the arithmetic operators read the same at the top level and in
   * duration expressions. Undefined when `r` is none of them.
   */
  private parenOrOperator(r: string): boolean | undefined {
    const kind = Object.hasOwn(SINGLE_CHAR_TOKENS, r) ? SINGLE_CHAR_TOKENS[r]! : undefined;
    if (kind === undefined) return undefined;
    this.emit(kind);
    if (kind === 'LEFT_PAREN') this.parenDepth++;
    if (kind === 'RIGHT_PAREN' && --this.parenDepth < 0) return this.failAfterEmit(`unexpected right parenthesis ')'`);
    return true;
  }

  private durationExpr(): boolean {
    const r = this.next();
    if (r === '') return this.fail('unexpected end of input in duration expression');
    const common = this.parenOrOperator(r);
    if (common !== undefined) return common;
    switch (r) {
      case ']':
        this.emit('RIGHT_BRACKET');
        this.bracketOpen = false;
        this.gotColon = false;
        this.inDurationExpr = false;
        return true;
      case ':':
        this.emit('COLON');
        if (!this.gotDuration) return this.failAfterEmit('unexpected colon before duration in duration expression');
        if (this.gotColon) return this.failAfterEmit('unexpected repeated colon in duration expression');
        this.gotColon = true;
        return true;
    }
    if (isSpace(r)) {
      this.skipSpaces();
      return true;
    }
    if ('srmSRM'.includes(r)) {
      if (this.scanDurationKeyword()) return true;
      return this.fail(`unexpected character in duration expression: ${goQuoteRune(r)}`);
    }
    if (isDigit(r) || (r === '.' && isDigit(this.peek()))) {
      this.backup(r);
      this.gotDuration = true;
      // After a number the top-level state continues (as lex.go does) until ']' or ':'.
      this.inDurationExpr = false;
      return this.numberOrDuration();
    }
    return this.fail(`unexpected character in duration expression: ${goQuoteRune(r)}`);
  }

  private scanDurationKeyword(): boolean {
    while (isAlpha(this.peek())) this.next();
    const word = this.input.slice(this.start, this.pos).toLowerCase();
    if (DURATION_KEYWORDS.has(word)) {
      this.emit('PREPROCESSOR');
      return true;
    }
    return false;
  }

  private keywordOrIdentifier(): boolean {
    for (;;) {
      const r = this.peek();
      if (r !== '' && (isAlphaNumeric(r) || r === ':')) this.next();
      else break;
    }
    const word = this.input.slice(this.start, this.pos);
    const lower = word.toLowerCase();
    if (lower === 'inf' || lower === 'nan') this.emit('NUMBER');
    else if (OPERATOR_WORDS[lower] !== undefined) this.emit(OPERATOR_WORDS[lower]);
    else if (AGGREGATOR_WORDS.has(lower)) this.emit('AGGREGATOR');
    else if (KEYWORD_WORDS.has(lower)) {
      // fill/fill_left/fill_right are keywords only before '(' so they stay usable as metric names.
      if (lower.startsWith('fill') && !this.followedByLeftParen()) this.emit('IDENTIFIER');
      else this.emit('KEYWORD');
    } else if (PREPROCESSOR_WORDS.has(lower)) this.emit('PREPROCESSOR');
    else if (!word.includes(':')) this.emit('IDENTIFIER');
    else this.emit('METRIC_IDENTIFIER');
    return true;
  }

  private followedByLeftParen(): boolean {
    for (let i = this.pos; i < this.input.length; i++) {
      const c = this.input[i]!;
      if (!isSpace(c)) return c === '(';
    }
    return false;
  }

  private numberOrDuration(): boolean {
    if (this.scanNumber()) {
      this.emit('NUMBER');
      return true;
    }
    if (this.acceptRemainingDuration()) {
      this.backupOne();
      this.emit('DURATION');
      return true;
    }
    return this.fail(`bad number or duration syntax: ${goQuote(this.input.slice(this.start, this.pos))}`);
  }

  /** Undo the single lookahead rune read by acceptRemainingDuration (none at end of input). */
  private lastLookahead = '';
  private backupOne(): void {
    this.pos -= this.lastLookahead.length;
  }

  private acceptRemainingDuration(): boolean {
    if (!this.accept('smhdwy')) return false;
    this.accept('s');
    while (this.accept('0123456789')) {
      while (this.accept('0123456789'));
      if (!this.accept('smhdw')) return false;
      this.accept('s');
    }
    const r = this.next();
    this.lastLookahead = r;
    return !(r !== '' && isAlphaNumeric(r));
  }

  private scanNumber(): boolean {
    const initial = this.pos;
    let digits = '0123456789';
    if (this.accept('0')) {
      if (this.accept('xX')) {
        this.accept('_');
        digits = '0123456789abcdefABCDEF';
      }
    }
    this.accept('.');
    this.accept(digits);
    let dot = false;
    let exp = false;
    const isIn = (set: string): boolean => {
      const c = this.peek();
      return c !== '' && set.includes(c);
    };
    // Mirrors lex.go exactly, including that 'e'/'E' after a hex digit run is taken as an exponent.
    while (isIn(digits + '._eE')) {
      if (isIn('.') && dot) {
        this.accept('.');
        return false;
      }
      if (isIn('eE') && exp) {
        this.accept('eE');
        return false;
      }
      if (this.accept('.')) {
        dot = true;
        if (this.accept('_.')) return false;
        if (digits.length > 10) return false;
        continue;
      }
      if (this.accept('eE')) {
        exp = true;
        this.accept('+-');
        if (this.accept('._eE') || this.peek() === '') return false;
        continue;
      }
      if (this.accept('_')) {
        if (this.accept('._eE') || this.peek() === '') return false;
        continue;
      }
      while (this.accept(digits));
    }
    if (this.pos === initial) return false;
    const r = this.peek();
    return r === '' || !isAlphaNumeric(r);
  }

  private string(quote: string): boolean {
    for (;;) {
      const c = this.next();
      if (c === '\\') {
        if (!this.escape(quote)) return false;
        continue;
      }
      if (c === '' || c === '\n') return this.fail('unterminated quoted string');
      if (c === quote) break;
    }
    this.emit('STRING');
    return true;
  }

  private escape(quote: string): boolean {
    let ch = this.next();
    let n: number;
    let base: number;
    let max: number;
    switch (ch) {
      case 'a':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
      case 'v':
      case '\\':
      case quote:
        return true;
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7':
        [n, base, max] = [3, 8, 255];
        break;
      case 'x':
        ch = this.next();
        [n, base, max] = [2, 16, 255];
        break;
      case 'u':
        ch = this.next();
        [n, base, max] = [4, 16, 0x10ffff];
        break;
      case 'U':
        ch = this.next();
        [n, base, max] = [8, 16, 0x10ffff];
        break;
      case '':
        return this.fail('escape sequence not terminated');
      default:
        return this.fail(`unknown escape sequence ${goUnicodeVerbose(ch)}`);
    }
    let x = 0;
    while (n > 0) {
      const d = ch === '' ? 16 : parseInt(ch, 16);
      const digit = Number.isNaN(d) || ch.length !== 1 ? 16 : d;
      if (digit >= base) {
        if (ch === '') return this.fail('escape sequence not terminated');
        return this.fail(`illegal character ${goUnicodeVerbose(ch)} in escape sequence`);
      }
      x = x * base + digit;
      n--;
      if (n > 0) ch = this.next();
    }
    if (x > max || (x >= 0xd800 && x < 0xe000)) return this.fail('escape sequence is an invalid Unicode code point');
    return true;
  }

  private rawString(): boolean {
    for (;;) {
      const c = this.next();
      if (c === '') return this.fail('unterminated raw string');
      if (c === '`') break;
    }
    this.emit('STRING');
    return true;
  }
}

/** Tokenizes a query (comments dropped); stops at the first lexical error. */
export function lexPromql(input: string): LexResult {
  const lexer = new Lexer(input);
  lexer.run();
  return lexer.error === undefined ? { tokens: lexer.tokens } : { tokens: lexer.tokens, error: lexer.error };
}

/**
 * How Prometheus names a token in "unexpected ..." messages (Item.desc()).
 */
export function describeToken(token: Token): string {
  const t = token.text;
  switch (token.kind) {
    case 'EOF':
      return 'end of input';
    case 'IDENTIFIER':
      return `identifier ${goQuote(t)}`;
    case 'METRIC_IDENTIFIER':
      return `metric identifier ${goQuote(t)}`;
    case 'NUMBER':
      return `number ${goQuoteTruncated(t)}`;
    case 'DURATION':
      return `duration ${goQuoteTruncated(t)}`;
    case 'STRING':
      return `string ${goQuoteTruncated(t)}`;
    case 'KEYWORD':
      return `<${t}>`;
    case 'AGGREGATOR':
      return `<aggr:${t}>`;
    case 'PREPROCESSOR':
    case 'LEFT_PAREN':
    case 'RIGHT_PAREN':
    case 'LEFT_BRACE':
    case 'RIGHT_BRACE':
    case 'LEFT_BRACKET':
    case 'RIGHT_BRACKET':
    case 'COMMA':
    case 'COLON':
    case 'EQL':
      return goQuoteTruncated(t);
    default:
      return `<op:${t}>`;
  }
}

/** Go's `%.10q...` for long values, `%q` otherwise. */
function goQuoteTruncated(s: string): string {
  const chars = [...s];
  return chars.length > 10 ? `${goQuote(chars.slice(0, 10).join(''))}...` : goQuote(s);
}

/** Go's one-letter escapes for control characters. */
const CONTROL_ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };

/** Unquotes a STRING token's text with Go semantics (the lexer has already validated escapes). */
export function unquoteString(text: string): string {
  const quote = text[0];
  const body = text.slice(1, -1);
  if (quote === '`') return body;
  if (!body.includes('\\')) return body;
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  const pushChar = (s: string): void => {
    for (const b of encoder.encode(s)) bytes.push(b);
  };
  for (let i = 0; i < body.length; ) {
    const c = body[i]!;
    if (c !== '\\') {
      const cp = body.codePointAt(i) ?? 0;
      const ch = String.fromCodePoint(cp);
      pushChar(ch);
      i += ch.length;
      continue;
    }
    const e = body[i + 1]!;
    i += 2;
    const control = CONTROL_ESCAPES[e];
    if (control !== undefined) {
      bytes.push(control);
      continue;
    }
    switch (e) {
      case 'x':
        bytes.push(parseInt(body.slice(i, i + 2), 16));
        i += 2;
        break;
      case 'u':
        pushChar(String.fromCodePoint(parseInt(body.slice(i, i + 4), 16)));
        i += 4;
        break;
      case 'U':
        pushChar(String.fromCodePoint(parseInt(body.slice(i, i + 8), 16)));
        i += 8;
        break;
      default:
        if (e >= '0' && e <= '7') {
          bytes.push(parseInt(body.slice(i - 1, i + 2), 8));
          i += 2;
        } else {
          pushChar(e);
        }
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
