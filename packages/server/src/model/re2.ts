/**
 * Go RE2 (regexp/syntax) patterns as JavaScript RegExps: the one translation behind every place
 * a user writes RE2 (PromQL and LogQL matchers, relabel_configs, Promtail stages), so a pattern
 * means the same everywhere. It reports invalid patterns with Go's error text (what Prometheus
 * and Loki answer), rewrites the spellings that differ (`(?P<name>`, leading flag groups, `\A`
 * `\z`, POSIX classes, `\Q…\E`, `\x{…}`, the U flag), refuses what JavaScript cannot express
 * so a pattern fails loudly instead of matching differently, and expands Go's Regexp.Expand
 * templates (`$1`, `${1}`, `$name`, `$$`).
 */

/** An RE2 pattern that is invalid (Go's message) or that JavaScript cannot express. */
export class Re2Error extends Error {
  override name = 'Re2Error';
}

export interface Re2Options {
  /** Match the whole input, as Prometheus compiles matchers and relabel regexes (`^(?s:…)$`). */
  anchored?: boolean;
  /** `.` matches `\n`: Prometheus wraps its patterns in `(?s:…)`; Go's own default is off. */
  dotAll?: boolean;
  /** Further JavaScript flags, e.g. `g`. */
  flags?: string;
}

const goError = (code: string, expr: string): string => `error parsing regexp: ${code}: \`${expr}\``;

/**
 * Go's regexp/syntax error for `source` ("error parsing regexp: missing closing ): `(`"), or
 * undefined when it is valid RE2 as far as checked: the errors users actually hit.
 */
export function re2SyntaxError(source: string): string | undefined {
  let depth = 0;
  // Whether the previous item can take a repetition operator, and whether it already is one.
  let canRepeat = false;
  let lastWasRepeat = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      if (i + 1 >= source.length) return goError('trailing backslash at end of expression', '');
      const e = source[i + 1]!;
      if (e >= '1' && e <= '9') return goError('invalid escape sequence', `\\${e}`);
      if (e === 'Q') {
        const end = source.indexOf('\\E', i + 2);
        i = end < 0 ? source.length : end + 1;
      } else if (e === 'p' || e === 'P') {
        i += source[i + 2] === '{' ? Math.max(2, source.indexOf('}', i) - i) : 2;
      } else if (e === 'x' && source[i + 2] === '{') {
        i = Math.max(i + 1, source.indexOf('}', i));
      } else {
        i += 1;
      }
      canRepeat = true;
      lastWasRepeat = false;
      continue;
    }
    if (c === '[') {
      const start = i;
      i++;
      if (source[i] === '^') i++;
      if (source[i] === ']') i++;
      let closed = false;
      for (; i < source.length; i++) {
        const d = source[i]!;
        if (d === '\\') {
          i++;
          continue;
        }
        if (d === '[' && source[i + 1] === ':') {
          const end = source.indexOf(':]', i + 2);
          if (end > 0) {
            i = end + 1;
            continue;
          }
        }
        if (d === ']') {
          closed = true;
          break;
        }
      }
      if (!closed) return goError('missing closing ]', source.slice(start));
      canRepeat = true;
      lastWasRepeat = false;
      continue;
    }
    if (c === '(') {
      if (source[i + 1] === '?') {
        const next = source[i + 2];
        if (next === '=' || next === '!') return goError('invalid or unsupported Perl syntax', source.slice(i, i + 3));
        if (next === '<' && (source[i + 3] === '=' || source[i + 3] === '!')) return goError('invalid or unsupported Perl syntax', source.slice(i, i + 3));
        if (next === '<' || (next === 'P' && source[i + 3] === '<')) {
          // Named group: (?P<name>...) or (?<name>...).
          const close = source.indexOf('>', i);
          if (close < 0) return goError('invalid named capture', source.slice(i));
          i = close;
        } else {
          // Flags: (?i) sets them for the rest, (?i:...) opens a group.
          let j = i + 2;
          while (j < source.length && /[a-zA-Z-]/.test(source[j]!)) j++;
          if (source[j] === ')') {
            i = j;
            canRepeat = false;
            lastWasRepeat = false;
            continue;
          }
          if (source[j] !== ':') return goError('invalid or unsupported Perl syntax', source.slice(i, j + 1));
          i = j;
        }
      }
      depth++;
      canRepeat = false;
      lastWasRepeat = false;
      continue;
    }
    if (c === ')') {
      if (depth === 0) return goError('unexpected )', source);
      depth--;
      canRepeat = true;
      lastWasRepeat = false;
      continue;
    }
    if (c === '|') {
      canRepeat = false;
      lastWasRepeat = false;
      continue;
    }
    if (c === '*' || c === '+' || c === '?') {
      if (lastWasRepeat) {
        // `a*?` is a lazy repetition; `a**` is an error.
        if (c === '?' && source[i - 1] !== '?') {
          lastWasRepeat = false;
          canRepeat = false;
          continue;
        }
        return goError('invalid nested repetition operator', source.slice(i - 1, i + 1));
      }
      if (!canRepeat) return goError('missing argument to repetition operator', c);
      lastWasRepeat = true;
      continue;
    }
    if (c === '{') {
      const m = REPEAT.exec(source.slice(i));
      if (m !== null) {
        if (!canRepeat) return goError('missing argument to repetition operator', m[0]);
        const min = Number(m[1]);
        const max = m[3] === undefined || m[3] === '' ? min : Number(m[3]);
        if (min > 1000 || max > 1000 || (m[3] !== undefined && m[3] !== '' && max < min)) return goError('invalid repeat count', m[0]);
        i += m[0].length - 1;
        lastWasRepeat = true;
        continue;
      }
    }
    canRepeat = true;
    lastWasRepeat = false;
  }
  if (depth > 0) return goError('missing closing )', source);
  return undefined;
}

const REPEAT = /^\{(\d+)(,(\d*))?\}/;

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

// Text boundaries that stay text boundaries under the `m` flag (unlike ^ and $).
const TEXT_START = '(?<![\\s\\S])';
const TEXT_END = '(?![\\s\\S])';

/** `text` as a literal in a unicode-mode pattern, which accepts only these escapes (and `\-` in a class). */
function escapeLiteral(text: string, inClass: boolean): string {
  return text.replace(inClass ? /[\\^$.*+?()[\]{}|/-]/g : /[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

const RE2_SPACE = '\\t\\n\\f\\r ';
/** Its complement as class items, for \S inside a class (a negated class can't nest in one). */
const RE2_NON_SPACE = '\\x00-\\x08\\x0B\\x0E-\\x1F!-\\u{10FFFF}';

/** Characters a unicode-mode pattern lets a backslash escape (`-` only inside a class). */
const SYNTAX_CHARACTERS = new Set('^$\\.*+?()[]{}|/');

function posixClass(name: string): string {
  const cls = POSIX_CLASSES[name];
  if (cls === undefined) throw new Re2Error(`unknown POSIX class [:${name}:]`);
  return cls;
}

function unicodeEscape(hex: string): string {
  const code = Number.parseInt(hex, 16);
  if (!(code <= 0x10ffff)) throw new Re2Error(goError('invalid escape sequence', `\\x{${hex}}`));
  return `\\u{${code.toString(16)}}`;
}

/** RE2 syntax → JavaScript syntax (and flags). Throws Re2Error for what JavaScript cannot express. */
function translate(source: string, options: Re2Options): { body: string; flags: string } {
  const flags = new Set((options.flags ?? '').split('').filter(Boolean));
  if (options.dotAll) flags.add('s');
  let ungreedy = false;
  let body = source;
  let out = '';
  // A flag group at the start (or right after a leading ^ or \A, as in Promtail's documented
  // examples) applies to the whole pattern: map it onto RegExp flags.
  const leading = /^(\^|\\A)?\(\?([imsU]*)(?:-([imsU]*))?\)/.exec(body);
  if (leading && (leading[2] || leading[3])) {
    for (const f of leading[2]!) {
      if (f === 'U') ungreedy = true;
      else flags.add(f);
    }
    for (const f of leading[3] ?? '') {
      if (f === 'U') ungreedy = false;
      else flags.delete(f);
    }
    if (leading[1] === '\\A' || (leading[1] === '^' && flags.has('m'))) out = TEXT_START;
    else if (leading[1] === '^') out = '^';
    body = body.slice(leading[0].length);
  }
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') {
      const next = body[i + 1];
      if (next === undefined) throw new Re2Error(goError('trailing backslash at end of expression', ''));
      if (next === 'Q') {
        const end = body.indexOf('\\E', i + 2);
        out += escapeLiteral(end < 0 ? body.slice(i + 2) : body.slice(i + 2, end), inClass);
        i = end < 0 ? body.length : end + 1;
        continue;
      }
      if (next === 'x' && body[i + 2] === '{') {
        const m = /^\{([0-9A-Fa-f]{1,8})\}/.exec(body.slice(i + 2));
        if (!m) throw new Re2Error(goError('invalid escape sequence', body.slice(i, body.indexOf('}', i) + 1 || undefined)));
        out += unicodeEscape(m[1]!);
        i += 1 + m[0].length;
        continue;
      }
      if (!inClass && next === 'A') {
        out += TEXT_START;
        i++;
        continue;
      }
      if (!inClass && next === 'z') {
        out += TEXT_END;
        i++;
        continue;
      }
      if (next === 'p' || next === 'P') {
        // Unicode classes: \pL, \p{Greek}, \p{^L}, \PL. JavaScript knows them only in its
        // unicode mode (without it \p is a literal p), with scripts spelled Script=Name.
        const m = /^(?:\{(\^?)([A-Za-z_]+)\}|([A-Za-z]))/.exec(body.slice(i + 2));
        if (!m) throw new Re2Error(goError('invalid character class range', body.slice(i, i + 3)));
        const negated = (m[1] === '^') !== (next === 'P');
        const name = m[2] ?? m[3]!;
        const property = name === 'Any' || name.length <= 2 ? name : `Script=${name}`;
        out += `\\${negated ? 'P' : 'p'}{${property}}`;
        i += 1 + m[0].length;
        continue;
      }
      if (next === 'C') throw new Re2Error('\\C is not supported');
      if (next === '0') {
        // Go's octal escape: \0, \01, \012.
        const m = /^0[0-7]{0,2}/.exec(body.slice(i + 1))!;
        out += unicodeEscape(Number.parseInt(m[0], 8).toString(16));
        i += m[0].length;
        continue;
      }
      i++;
      if (next === 'a') out += '\\x07';
      // RE2's \s is ASCII whitespace; JavaScript's also takes Unicode spaces (and \v).
      else if (next === 's') out += inClass ? RE2_SPACE : `[${RE2_SPACE}]`;
      else if (next === 'S') out += inClass ? RE2_NON_SPACE : `[^${RE2_SPACE}]`;
      else if (/[0-9A-Za-z]/.test(next) || SYNTAX_CHARACTERS.has(next) || (inClass && next === '-')) out += c + next;
      // RE2 lets a backslash quote any punctuation; unicode mode only its own syntax characters.
      else out += next;
      continue;
    }
    if (inClass) {
      if (c === '[' && body[i + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(body.slice(i));
        if (m) {
          if (m[1]) throw new Re2Error(`negated POSIX class [:^${m[2]}:] is supported only as the whole class`);
          out += posixClass(m[2]!);
          i += m[0].length - 1;
          continue;
        }
      }
      if (c === '[') {
        out += '\\[';
        continue;
      }
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      // [[:^alpha:]] and [^[:alpha:]]: one POSIX class is the whole class, so negation is expressible.
      const whole = /^\[(\^?)\[:(\^?)([a-z]+):\]\]/.exec(body.slice(i));
      if (whole) {
        out += `[${whole[1] === whole[2] ? '' : '^'}${posixClass(whole[3]!)}]`;
        i += whole[0].length - 1;
        continue;
      }
      inClass = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal in RE2.
      if (body[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (body[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && body[i + 1] === '?') {
      if (body[i + 2] === 'P' && body[i + 3] === '<') {
        out += '(?<';
        i += 3;
        continue;
      }
      if (body[i + 2] === '<' || body[i + 2] === ':') {
        out += '(?' + body[i + 2];
        i += 2;
        continue;
      }
      throw new Re2Error(`inline flag groups such as "${body.slice(i, i + 6)}" are supported only at the start of the expression`);
    }
    if (ungreedy && (c === '*' || c === '+' || c === '?' || (c === '{' && REPEAT.test(body.slice(i))))) {
      // (?U) swaps greedy and lazy: `a*` is lazy, `a*?` greedy.
      const op = c === '{' ? REPEAT.exec(body.slice(i))![0] : c;
      i += op.length - 1;
      if (body[i + 1] === '?') {
        out += op;
        i++;
      } else {
        out += op + '?';
      }
      continue;
    }
    if (c === '{') {
      // A repetition as written; otherwise (as `{`, `a{,2}`) RE2 reads a literal brace.
      const m = REPEAT.exec(body.slice(i));
      if (m) {
        out += m[0];
        i += m[0].length - 1;
      } else {
        out += '\\{';
      }
      continue;
    }
    if (c === '}' || c === ']') {
      out += `\\${c}`;
      continue;
    }
    out += c;
  }
  if (options.anchored) out = flags.has('m') ? `${TEXT_START}(?:${out})${TEXT_END}` : `^(?:${out})$`;
  // Unicode mode always: RE2 matches code points, so `.` or `[^a]` takes an astral character
  // (an emoji) whole, and \p classes need it.
  flags.add('u');
  return { body: out, flags: [...flags].join('') };
}

/** Go's regexp/syntax wording for what JavaScript rejects and the syntax check let through. */
function goMessageForJsError(js: string, pattern: string): string {
  if (/Unterminated group/.test(js)) return goError('missing closing )', pattern);
  if (/Unmatched '\)'/.test(js)) return goError('unexpected )', pattern);
  if (/Unterminated character class/.test(js)) return goError('missing closing ]', pattern.slice(pattern.lastIndexOf('[')));
  if (/Nothing to repeat/.test(js)) return goError('missing argument to repetition operator', /[*+?{]/.exec(pattern)?.[0] ?? '*');
  return `error parsing regexp: ${js.replace(/^Invalid regular expression: \/.*\/[a-z]*: /, '').toLowerCase()}`;
}

const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 1000;

/**
 * Compiles an RE2 pattern to an equivalent JavaScript RegExp. Throws Re2Error with Go's message
 * for an invalid pattern, or naming what is not supported. Compiled patterns are cached (a
 * RegExp without the g/y flags keeps no state between uses).
 */
export function compileRe2(source: string, options: Re2Options = {}): RegExp {
  const stateless = !/[gy]/.test(options.flags ?? '');
  const key = `${options.anchored ? 'a' : ''}${options.dotAll ? 's' : ''}/${options.flags ?? ''}/${source}`;
  const hit = stateless ? cache.get(key) : undefined;
  if (hit !== undefined) return hit;
  const problem = re2SyntaxError(source);
  if (problem !== undefined) throw new Re2Error(problem);
  const { body, flags } = translate(source, options);
  let re: RegExp;
  try {
    re = new RegExp(body, flags);
  } catch (error) {
    throw new Re2Error(goMessageForJsError((error as Error).message, source));
  }
  if (stateless) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, re);
  }
  return re;
}

/** Names of a compiled pattern's named capture groups, in order. */
export function re2GroupNames(re: RegExp): string[] {
  const names: string[] = [];
  const src = re.source;
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') {
      const m = /^\(\?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(src.slice(i));
      if (m) names.push(m[1]!);
    }
  }
  return names;
}

/**
 * Go's Regexp.Expand: `$1`, `${1}`, `$name`, `${name}`, `$$`. A name is the longest run of word
 * characters (`$1x` names group "1x"); a missing group expands to ""; a malformed reference is
 * copied literally.
 */
export function expandRe2Template(template: string, match: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '$' || i + 1 >= template.length) {
      out += c;
      continue;
    }
    const next = template[i + 1]!;
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string;
    let end: number;
    if (next === '{') {
      const close = template.indexOf('}', i + 2);
      const inner = close < 0 ? '' : template.slice(i + 2, close);
      if (close < 0 || !/^\w+$/.test(inner)) {
        out += c;
        continue;
      }
      name = inner;
      end = close + 1;
    } else {
      const m = /^\w+/.exec(template.slice(i + 1));
      if (!m) {
        out += c;
        continue;
      }
      name = m[0];
      end = i + 1 + name.length;
    }
    if (/^\d+$/.test(name)) {
      const index = Number(name);
      out += index < match.length ? (match[index] ?? '') : '';
    } else {
      out += match.groups?.[name] ?? '';
    }
    i = end - 1;
  }
  return out;
}
