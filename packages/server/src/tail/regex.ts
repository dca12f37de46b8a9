/**
 * Promtail configurations carry Go RE2 expressions. Most of RE2 is valid JavaScript; this
 * translates the parts that differ in spelling (named groups, leading flag groups, \A \z,
 * POSIX classes, \Q…\E) and refuses what JavaScript cannot express, so a configuration fails
 * at load instead of matching differently.
 */

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

function escapeLiteral(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/** Go RE2 syntax → a JavaScript RegExp. Throws an Error naming what is not supported. */
export function compileGoRegex(source: string, extraFlags = ''): RegExp {
  const flags = new Set(extraFlags.split('').filter(Boolean));
  let body = source;
  // A leading (?flags) applies to the whole expression: map it onto RegExp flags.
  // A (?flags) group at the start (or right after a leading ^, as in Promtail's documented
  // examples) applies to the whole expression: map it onto RegExp flags.
  const leading = /^(\^|\\A)?\(\?([imsU]+)\)/.exec(body);
  if (leading) {
    for (const f of leading[2]!) {
      if (f === 'U') throw new Error('the (?U) ungreedy flag is not supported');
      if (f === 'm' && leading[1]) throw new Error('(?m) after a leading anchor is not supported');
      flags.add(f);
    }
    body = (leading[1] ?? '') + body.slice(leading[0].length);
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') {
      const next = body[i + 1];
      if (next === undefined) throw new Error('trailing backslash');
      if (next === 'Q') {
        const end = body.indexOf('\\E', i + 2);
        const literal = end < 0 ? body.slice(i + 2) : body.slice(i + 2, end);
        out += escapeLiteral(literal);
        i = end < 0 ? body.length : end + 1;
        continue;
      }
      if (!inClass && next === 'A') {
        out += '(?<![\\s\\S])';
        i++;
        continue;
      }
      if (!inClass && next === 'z') {
        out += '(?![\\s\\S])';
        i++;
        continue;
      }
      if (next === 'C') throw new Error('\\C is not supported');
      out += c + next;
      i++;
      continue;
    }
    if (inClass) {
      if (c === '[' && body[i + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(body.slice(i));
        if (m) {
          const cls = POSIX_CLASSES[m[2]!];
          if (cls === undefined) throw new Error(`unknown POSIX class [:${m[2]}:]`);
          if (m[1]) throw new Error(`negated POSIX class [:^${m[2]}:] is not supported`);
          out += cls;
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
      throw new Error(`inline flag groups such as "${body.slice(i, i + 6)}" are supported only at the start of the expression`);
    }
    out += c;
  }
  return new RegExp(out, [...flags].join(''));
}

/** Names of the named capture groups, in order. */
export function groupNames(re: RegExp): string[] {
  const names: string[] = [];
  for (const m of re.source.matchAll(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g)) names.push(m[1]!);
  return names;
}
