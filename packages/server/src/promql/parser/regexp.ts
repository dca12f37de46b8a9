/**
 * RE2 checks for label-matcher regular expressions. Prometheus compiles them with Go's
 * regexp/syntax (Perl flags, `.` matches newline, fully anchored); this reports the syntax
 * errors users actually hit with Go's message text, and translates the common RE2 forms to a
 * JavaScript RegExp for checks that need matching (e.g. "matches the empty string").
 */

const err = (code: string, expr: string): string => `error parsing regexp: ${code}: \`${expr}\``;

/** Go's regexp/syntax error for `source`, or undefined when it is valid RE2 (as far as checked). */
export function checkRegexp(source: string): string | undefined {
  let depth = 0;
  // Whether the previous item can take a repetition operator, and whether it already is one.
  let canRepeat = false;
  let lastWasRepeat = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      if (i + 1 >= source.length) return err('trailing backslash at end of expression', '');
      const e = source[i + 1]!;
      if (e >= '1' && e <= '9') return err('invalid escape sequence', `\\${e}`);
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
      if (!closed) return err('missing closing ]', source.slice(start));
      canRepeat = true;
      lastWasRepeat = false;
      continue;
    }
    if (c === '(') {
      if (source[i + 1] === '?') {
        const next = source[i + 2];
        if (next === '=' || next === '!') return err('invalid or unsupported Perl syntax', source.slice(i, i + 3));
        if (next === '<' && (source[i + 3] === '=' || source[i + 3] === '!')) return err('invalid or unsupported Perl syntax', source.slice(i, i + 3));
        if (next === '<' || (next === 'P' && source[i + 3] === '<')) {
          // Named group: (?P<name>...) or (?<name>...).
          const close = source.indexOf('>', i);
          if (close < 0) return err('invalid named capture', source.slice(i));
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
          if (source[j] !== ':') return err('invalid or unsupported Perl syntax', source.slice(i, j + 1));
          i = j;
        }
      }
      depth++;
      canRepeat = false;
      lastWasRepeat = false;
      continue;
    }
    if (c === ')') {
      if (depth === 0) return err('unexpected )', source);
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
        return err('invalid nested repetition operator', source.slice(i - 1, i + 1));
      }
      if (!canRepeat) return err('missing argument to repetition operator', c);
      lastWasRepeat = true;
      continue;
    }
    if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i));
      if (m !== null) {
        if (!canRepeat) return err('missing argument to repetition operator', m[0]);
        const min = Number(m[1]);
        const max = m[3] === undefined || m[3] === '' ? min : Number(m[3]);
        if (min > 1000 || max > 1000 || (m[3] !== undefined && m[3] !== '' && max < min)) return err('invalid repeat count', m[0]);
        i += m[0].length - 1;
        lastWasRepeat = true;
        continue;
      }
    }
    canRepeat = true;
    lastWasRepeat = false;
  }
  if (depth > 0) return err('missing closing )', source);
  return undefined;
}

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
  punct: '!-\\/:-@[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/**
 * A JavaScript RegExp equivalent to Prometheus's anchored RE2 matcher for common patterns
 * (leading `(?i)`/`(?s)` flags, `(?P<name>`, POSIX classes, `\z`, `\Q...\E`). Throws when the
 * pattern uses something JavaScript cannot express.
 */
export function toJsRegExp(source: string): RegExp {
  let flags = 's';
  let body = source;
  const leading = /^\(\?([imsU]+)\)/.exec(body);
  if (leading !== null) {
    if (leading[1]!.includes('i')) flags += 'i';
    if (leading[1]!.includes('m')) flags += 'm';
    body = body.slice(leading[0].length);
  }
  body = body
    .replace(/\(\?P</g, '(?<')
    .replace(/\\Q(.*?)(\\E|$)/g, (_m, lit: string) => lit.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'))
    .replace(/\\z/g, '$')
    .replace(/\\A/g, '^')
    .replace(/\[:(\^?)([a-z]+):\]/g, (m, neg: string, name: string) => {
      const cls = POSIX_CLASSES[name];
      if (cls === undefined) return m;
      return neg === '' ? cls : `^${cls}`;
    });
  return new RegExp(`^(?:${body})$`, flags);
}
