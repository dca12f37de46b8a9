/**
 * Stream label sets and stream selectors in Prometheus/LogQL label syntax: `{app="api", env=~"prod|dev"}`.
 * Loki's push protobuf carries each stream's labels as this text (Loki parses it with its LogQL
 * lexer); its query API takes selectors in `match[]`/`query`. Strings are Go-quoted ("…" with Go
 * escapes) or raw (`…`), as in Loki.
 */
import type { Labels } from '../../model/index.js';

export type MatcherType = '=' | '!=' | '=~' | '!~';

export interface SelectorMatcher {
  type: MatcherType;
  name: string;
  value: string;
}

export class SelectorSyntaxError extends Error {
  constructor(message: string, readonly column: number) {
    super(`parse error at line 1, col ${column}: ${message}`);
    this.name = 'SelectorSyntaxError';
  }
}

const NAME_START = /[a-zA-Z_]/;
const NAME_PART = /[a-zA-Z0-9_]/;
const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };

/** Parses `{name op "value", …}` into its matchers, in source order. */
export function parseSelector(text: string): SelectorMatcher[] {
  let i = 0;
  const n = text.length;
  const fail = (message: string): never => {
    throw new SelectorSyntaxError(message, i + 1);
  };
  const skipSpace = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const found = () => (i >= n ? '$end' : JSON.stringify(text[i]));

  skipSpace();
  if (text[i] !== '{') fail(`syntax error: unexpected ${found()}, expecting {`);
  i++;
  const matchers: SelectorMatcher[] = [];
  for (;;) {
    skipSpace();
    // A trailing comma may close the list; an empty selector `{}` is a syntax error, as in Loki.
    if (text[i] === '}' && matchers.length > 0) {
      i++;
      break;
    }
    if (i >= n || !NAME_START.test(text[i]!)) fail(`syntax error: unexpected ${found()}, expecting IDENTIFIER`);
    const start = i;
    while (i < n && NAME_PART.test(text[i]!)) i++;
    const name = text.slice(start, i);
    skipSpace();
    let type: MatcherType;
    if (text.startsWith('=~', i)) type = '=~';
    else if (text.startsWith('!~', i)) type = '!~';
    else if (text.startsWith('!=', i)) type = '!=';
    else if (text[i] === '=') type = '=';
    else return fail(`syntax error: unexpected ${found()}, expecting = or != or =~ or !~`);
    i += type.length;
    skipSpace();
    const value = readString();
    matchers.push({ type, name, value });
    skipSpace();
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === '}') {
      i++;
      break;
    }
    fail(`syntax error: unexpected ${found()}, expecting , or }`);
  }
  skipSpace();
  if (i < n) fail(`syntax error: unexpected ${found()}`);
  return matchers;

  function readString(): string {
    const quote = text[i];
    if (quote === '`') {
      const end = text.indexOf('`', i + 1);
      if (end < 0) fail('literal not terminated');
      const raw = text.slice(i + 1, end);
      i = end + 1;
      return raw;
    }
    if (quote !== '"') return fail(`syntax error: unexpected ${found()}, expecting STRING`);
    i++;
    let out = '';
    let run = i;
    for (;;) {
      if (i >= n) fail('literal not terminated');
      const c = text[i]!;
      if (c === '"') {
        out += text.slice(run, i);
        i++;
        return out;
      }
      if (c === '\n') fail('literal not terminated');
      if (c !== '\\') {
        i++;
        continue;
      }
      out += text.slice(run, i);
      const e = text[i + 1];
      if (e === undefined) fail('literal not terminated');
      if (e! in SIMPLE_ESCAPES) {
        out += SIMPLE_ESCAPES[e!];
        i += 2;
      } else if (e === 'x' || e === 'u' || e === 'U') {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = text.slice(i + 2, i + 2 + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) fail('invalid syntax: bad escape in string');
        const code = parseInt(hex, 16);
        if (code > 0x10ffff || (code >= 0xd800 && code < 0xe000 && e !== 'x')) fail('invalid syntax: escape is an invalid Unicode code point');
        // \x is a byte in Go; bytes ≥ 0x80 alone are not valid UTF-8 text, keep them as the code point.
        out += String.fromCodePoint(code);
        i += 2 + len;
      } else if (e! >= '0' && e! <= '7') {
        const oct = text.slice(i + 1, i + 4);
        if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255) fail('invalid syntax: bad escape in string');
        out += String.fromCharCode(parseInt(oct, 8));
        i += 4;
      } else {
        fail('invalid syntax: unknown escape sequence in string');
      }
      run = i;
    }
  }
}

/**
 * A stream's label set from its text (Loki's syntax.ParseLabels): only `=` matchers. Duplicate
 * names are reported, not merged, because Loki rejects such a stream.
 */
export function parseLabelSet(text: string): { labels: Labels; duplicate?: string } {
  const labels: Labels = {};
  let duplicate: string | undefined;
  for (const m of parseSelector(text)) {
    if (m.type !== '=') throw new SelectorSyntaxError(`syntax error: unexpected ${m.type}, expecting =`, 1);
    if (Object.hasOwn(labels, m.name)) duplicate ??= m.name;
    labels[m.name] = m.value;
  }
  return duplicate === undefined ? { labels } : { labels, duplicate };
}

/** Go's strconv.Quote for label values as Prometheus prints them (`{a="b"}`). */
export function quoteLabelValue(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += '\\x' + code.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

/** Labels as Prometheus's labels.String(): sorted by name, `{a="1", b="2"}`. */
export function formatLabels(labels: Labels): string {
  const names = Object.keys(labels).sort();
  return '{' + names.map((name) => `${name}=${quoteLabelValue(labels[name]!)}`).join(', ') + '}';
}
