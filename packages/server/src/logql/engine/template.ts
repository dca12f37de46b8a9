/**
 * The Go text/template subset line_format and label_format use, with the functions Loki
 * documents (its own plus the sprig ones it registers). Data is the line's labels; `.x` reads
 * label x ("" when absent, as Go does for map[string]string).
 */
import { compileRe2, expandRe2Template } from '../../model/index.js';
import { unquote } from '../parser/values.js';
import type { LineContext } from './labels.js';

type Value = string | number | boolean | null | Value[] | { [k: string]: Value } | Date;

type Node =
  | { t: 'text'; text: string }
  | { t: 'action'; pipe: Pipe }
  | { t: 'if' | 'with'; pipe: Pipe; then: Node[]; else: Node[] }
  | { t: 'range'; pipe: Pipe; body: Node[]; else: Node[] };

type Operand =
  | { t: 'field'; path: string[] }
  | { t: 'var'; name: string; path: string[] }
  | { t: 'lit'; value: Value }
  | { t: 'ident'; name: string }
  | { t: 'sub'; pipe: Pipe };

type Command = Operand[];
interface Pipe {
  decl?: string;
  cmds: Command[];
}

export class TemplateError extends Error {}

function tokenize(src: string): Node[] {
  const out: { kind: 'text' | 'action'; text: string }[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open === -1) {
      out.push({ kind: 'text', text: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    let start = open + 2;
    if (src.startsWith('- ', start) || src.startsWith('-\t', start) || src.startsWith('-\n', start)) {
      text = text.replace(/\s+$/, '');
      start += 1;
    }
    out.push({ kind: 'text', text });
    // Find the closing braces outside string literals.
    let j = start;
    let quote = '';
    for (; j < src.length; j++) {
      const c = src[j]!;
      if (quote) {
        if (c === '\\' && quote === '"') j++;
        else if (c === quote) quote = '';
      } else if (c === '"' || c === '`' || c === "'") quote = c;
      else if (src.startsWith('}}', j)) break;
    }
    if (j >= src.length) throw new TemplateError('template: unclosed action');
    let action = src.slice(start, j);
    i = j + 2;
    if (/\s-$/.test(action)) {
      action = action.slice(0, -1);
      const m = /^\s*/.exec(src.slice(i))!;
      i += m[0].length;
    }
    if (/^\s*\/\*[\s\S]*\*\/\s*$/.test(action)) continue;
    out.push({ kind: 'action', text: action.trim() });
  }
  let pos = 0;
  const parseList = (stopAt: string[]): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = [];
    while (pos < out.length) {
      const tok = out[pos++]!;
      if (tok.kind === 'text') {
        if (tok.text) nodes.push({ t: 'text', text: tok.text });
        continue;
      }
      const word = /^(\w+)/.exec(tok.text)?.[1];
      if (word === 'end' || word === 'else') {
        if (!stopAt.includes(word)) throw new TemplateError(`template: unexpected {{${word}}}`);
        return { nodes, stop: tok.text };
      }
      if (word === 'if' || word === 'with' || word === 'range') {
        nodes.push(parseBlock(word, tok.text.slice(word.length)));
        continue;
      }
      nodes.push({ t: 'action', pipe: parsePipe(tok.text) });
    }
    if (stopAt.length > 0) throw new TemplateError('template: unexpected EOF');
    return { nodes, stop: '' };
  };
  // {{if}}/{{with}}/{{range}} up to its {{end}}; `{{else if ...}}` nests an if that shares the end.
  function parseBlock(word: 'if' | 'with' | 'range', pipeText: string): Node {
    const pipe = parsePipe(pipeText);
    const body = parseList(['end', 'else']);
    let elseNodes: Node[] = [];
    if (body.stop.startsWith('else')) {
      const rest = body.stop.slice(4).trim();
      if (rest.startsWith('if ') || rest.startsWith('with ')) {
        const inner = rest.startsWith('if ') ? 'if' : 'with';
        elseNodes = [parseBlock(inner, rest.slice(inner.length))];
      } else elseNodes = parseList(['end']).nodes;
    }
    if (word === 'range') return { t: 'range', pipe, body: body.nodes, else: elseNodes };
    return { t: word, pipe, then: body.nodes, else: elseNodes };
  }
  return parseList([]).nodes;
}

function parsePipe(text: string): Pipe {
  const toks = lexAction(text);
  let p = 0;
  const pipe = (): Pipe => {
    const result: Pipe = { cmds: [] };
    if (toks[p]?.startsWith('$') && (toks[p + 1] === ':=' || toks[p + 1] === '=')) {
      result.decl = toks[p]!;
      p += 2;
    }
    let cmd: Command = [];
    while (p < toks.length && toks[p] !== ')') {
      const tok = toks[p++]!;
      if (tok === '|') {
        result.cmds.push(cmd);
        cmd = [];
        continue;
      }
      if (tok === '(') {
        const inner = pipe();
        if (toks[p++] !== ')') throw new TemplateError('template: unclosed left paren');
        cmd.push({ t: 'sub', pipe: inner });
        continue;
      }
      cmd.push(operand(tok));
    }
    if (cmd.length > 0) result.cmds.push(cmd);
    if (result.cmds.length === 0) throw new TemplateError('template: missing value for command');
    return result;
  };
  const r = pipe();
  if (p < toks.length) throw new TemplateError(`template: unexpected "${toks[p]}" in operand`);
  return r;
}

function operand(tok: string): Operand {
  if (tok === '.') return { t: 'field', path: [] };
  if (tok.startsWith('.')) return { t: 'field', path: tok.slice(1).split('.') };
  if (tok.startsWith('$')) {
    const [name, ...path] = tok.split('.');
    return { t: 'var', name: name!, path };
  }
  if (tok.startsWith('"')) {
    const value = unquote(tok);
    if (value === undefined) throw new TemplateError(`template: invalid string ${tok}`);
    return { t: 'lit', value };
  }
  if (tok.startsWith('`')) return { t: 'lit', value: tok.slice(1, -1) };
  if (tok.startsWith("'")) return { t: 'lit', value: tok.slice(1, -1).codePointAt(0) ?? 0 };
  if (tok === 'true' || tok === 'false') return { t: 'lit', value: tok === 'true' };
  if (tok === 'nil') return { t: 'lit', value: null };
  if (/^[-+]?(\d|\.\d)/.test(tok)) return { t: 'lit', value: Number(tok) };
  if (/^[a-zA-Z_]\w*$/.test(tok)) return { t: 'ident', name: tok };
  throw new TemplateError(`template: bad token ${tok}`);
}

function lexAction(text: string): string[] {
  const toks: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|'(?:[^'\\]|\\.)*'|:=|[|()=]|[^\s|()]+)/y;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) {
      if (/^\s*$/.test(text.slice(pos))) break;
      throw new TemplateError(`template: unexpected character in action: ${text.slice(pos)}`);
    }
    toks.push(m[1]!);
    pos = re.lastIndex;
  }
  return toks;
}

// --- evaluation ---

function truthy(v: Value | undefined): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object' && !(v instanceof Date)) return Object.keys(v).length > 0;
  return true;
}

export function formatValue(v: Value | undefined): string {
  if (v === undefined || v === null) return '<no value>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goFloatString(v);
  if (typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return `[${v.map(formatValue).join(' ')}]`;
  return `map[${Object.keys(v).sort().map((k) => `${k}:${formatValue(v[k])}`).join(' ')}]`;
}

function goFloatString(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';
  const s = String(n);
  return s.includes('e') ? s.replace(/e([+-])(\d)$/, 'e$10$2') : s;
}

const toNum = (v: Value | undefined): number => {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const n = Number(v.trim());
    return Number.isNaN(n) ? 0 : n;
  }
  return 0;
};
const toInt = (v: Value | undefined): number => Math.trunc(toNum(v));
const str = (v: Value | undefined): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : formatValue(v));

/** Go's fmt verbs used in templates: %s %d %v %f %.Nf %q %x %%. */
function sprintf(format: string, args: Value[]): string {
  let i = 0;
  return format.replace(/%([-+ 0#]*)(\d+)?(?:\.(\d+))?([sdvfqxXtegbo%])/g, (whole, flags: string, width: string | undefined, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    if (i >= args.length) return `%!${verb}(MISSING)`;
    const a = args[i++];
    let out: string;
    switch (verb) {
      case 'd': out = String(toInt(a)); break;
      case 'f': case 'e': case 'g': out = verb === 'f' ? toNum(a).toFixed(prec !== undefined ? Number(prec) : 6) : String(toNum(a)); break;
      case 'q': out = JSON.stringify(str(a)); break;
      case 'x': out = typeof a === 'number' ? Math.trunc(a).toString(16) : Buffer.from(str(a)).toString('hex'); break;
      case 'X': out = (typeof a === 'number' ? Math.trunc(a).toString(16) : Buffer.from(str(a)).toString('hex')).toUpperCase(); break;
      case 't': out = String(truthy(a)); break;
      default: out = prec !== undefined && verb === 's' ? str(a).slice(0, Number(prec)) : formatValue(a);
    }
    if (width !== undefined && out.length < Number(width)) {
      out = flags.includes('-') ? out.padEnd(Number(width)) : out.padStart(Number(width), flags.includes('0') && verb !== 's' ? '0' : ' ');
    }
    void whole;
    return out;
  });
}

function goDateFormat(layout: string, d: Date): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
  const days = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
  const tokens: [string, () => string][] = [
    ['2006', () => String(d.getUTCFullYear())],
    ['January', () => months[d.getUTCMonth()]!],
    ['Jan', () => months[d.getUTCMonth()]!.slice(0, 3)],
    ['Monday', () => days[d.getUTCDay()]!],
    ['Mon', () => days[d.getUTCDay()]!.slice(0, 3)],
    ['MST', () => 'UTC'],
    ['01', () => pad(d.getUTCMonth() + 1)],
    ['02', () => pad(d.getUTCDate())],
    ['_2', () => String(d.getUTCDate()).padStart(2, ' ')],
    ['15', () => pad(d.getUTCHours())],
    ['03', () => pad(d.getUTCHours() % 12 || 12)],
    ['04', () => pad(d.getUTCMinutes())],
    ['05', () => pad(d.getUTCSeconds())],
    ['06', () => pad(d.getUTCFullYear() % 100)],
    ['.000000000', () => '.' + pad(d.getUTCMilliseconds(), 3) + '000000'],
    ['.000000', () => '.' + pad(d.getUTCMilliseconds(), 3) + '000'],
    ['.000', () => '.' + pad(d.getUTCMilliseconds(), 3)],
    ['Z07:00', () => 'Z'],
    ['-07:00', () => '+00:00'],
    ['-0700', () => '+0000'],
    ['PM', () => (d.getUTCHours() >= 12 ? 'PM' : 'AM')],
    ['1', () => String(d.getUTCMonth() + 1)],
    ['2', () => String(d.getUTCDate())],
    ['3', () => String(d.getUTCHours() % 12 || 12)],
  ];
  let out = '';
  let i = 0;
  outer: while (i < layout.length) {
    for (const [tok, fn] of tokens) {
      if (layout.startsWith(tok, i)) {
        out += fn();
        i += tok.length;
        continue outer;
      }
    }
    out += layout[i++];
  }
  return out;
}

function toDate(v: Value | undefined): Date {
  if (v instanceof Date) return v;
  if (typeof v === 'number') return new Date(v * 1000);
  const d = new Date(str(v));
  return Number.isNaN(d.getTime()) ? new Date(0) : d;
}

type Fn = (args: Value[], ctx: LineContext) => Value;

const FUNCTIONS: Record<string, Fn> = {
  __line__: (_a, ctx) => ctx.line,
  __timestamp__: (_a, ctx) => new Date(Number(ctx.timestampNs / 1_000_000n)),
  ToLower: ([s]) => str(s).toLowerCase(),
  ToUpper: ([s]) => str(s).toUpperCase(),
  lower: ([s]) => str(s).toLowerCase(),
  upper: ([s]) => str(s).toUpperCase(),
  title: ([s]) => str(s).replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_m, pre: string, c: string) => pre + c.toUpperCase()),
  Title: ([s]) => str(s).replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_m, pre: string, c: string) => pre + c.toUpperCase()),
  Replace: ([s, o, n, count]) => {
    const c = toInt(count);
    if (c < 0) return str(s).split(str(o)).join(str(n));
    let out = str(s);
    let from = 0;
    for (let k = 0; k < c; k++) {
      const at = out.indexOf(str(o), from);
      if (at === -1) break;
      out = out.slice(0, at) + str(n) + out.slice(at + str(o).length);
      from = at + str(n).length;
    }
    return out;
  },
  replace: ([o, n, s]) => str(s).split(str(o)).join(str(n)),
  Trim: ([s, cut]) => trimSet(str(s), str(cut), true, true),
  TrimLeft: ([s, cut]) => trimSet(str(s), str(cut), true, false),
  TrimRight: ([s, cut]) => trimSet(str(s), str(cut), false, true),
  TrimPrefix: ([s, p]) => (str(s).startsWith(str(p)) ? str(s).slice(str(p).length) : str(s)),
  TrimSuffix: ([s, p]) => (str(p) !== '' && str(s).endsWith(str(p)) ? str(s).slice(0, -str(p).length) : str(s)),
  TrimSpace: ([s]) => str(s).trim(),
  trim: ([s]) => str(s).trim(),
  trimAll: ([cut, s]) => trimSet(str(s), str(cut), true, true),
  trimPrefix: ([p, s]) => (str(s).startsWith(str(p)) ? str(s).slice(str(p).length) : str(s)),
  trimSuffix: ([p, s]) => (str(p) !== '' && str(s).endsWith(str(p)) ? str(s).slice(0, -str(p).length) : str(s)),
  trunc: ([n, s]) => {
    const c = toInt(n);
    const t = str(s);
    return c >= 0 ? t.slice(0, c) : t.slice(Math.max(0, t.length + c));
  },
  substr: ([a, b, s]) => {
    const t = str(s);
    const start = toInt(a);
    const end = toInt(b);
    if (start < 0) return t.slice(0, end);
    if (end < 0 || end > t.length) return t.slice(start);
    return t.slice(start, end);
  },
  contains: ([sub, s]) => str(s).includes(str(sub)),
  hasPrefix: ([p, s]) => str(s).startsWith(str(p)),
  hasSuffix: ([p, s]) => str(s).endsWith(str(p)),
  indent: ([n, s]) => str(s).split('\n').map((l) => ' '.repeat(toInt(n)) + l).join('\n'),
  nindent: ([n, s]) => '\n' + str(s).split('\n').map((l) => ' '.repeat(toInt(n)) + l).join('\n'),
  repeat: ([n, s]) => str(s).repeat(Math.max(0, toInt(n))),
  printf: ([f, ...rest]) => sprintf(str(f), rest),
  print: (args) => args.map((a, i) => (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string' ? ' ' : '') + formatValue(a)).join(''),
  println: (args) => args.map(formatValue).join(' ') + '\n',
  default: ([d, v]) => (truthy(v) ? v! : d!),
  count: ([sub, s]) => (str(sub) === '' ? [...str(s)].length + 1 : str(s).split(str(sub)).length - 1),
  regexReplaceAll: ([re, s, repl]) => replaceAllRe2(str(re), str(s), (m) => expandRe2Template(str(repl), m)),
  regexReplaceAllLiteral: ([re, s, repl]) => replaceAllRe2(str(re), str(s), () => str(repl)),
  urlencode: ([s]) => encodeURIComponent(str(s)).replace(/%20/g, '+'),
  urldecode: ([s]) => decodeURIComponent(str(s).replace(/\+/g, ' ')),
  b64enc: ([s]) => Buffer.from(str(s)).toString('base64'),
  b64dec: ([s]) => Buffer.from(str(s), 'base64').toString(),
  bytes: ([s]) => {
    const m = /^\s*([0-9.]+)\s*([a-zA-Z]*)\s*$/.exec(str(s));
    const units: Record<string, number> = { '': 1, b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3, tb: 1e12, tib: 1024 ** 4 };
    return m && units[m[2]!.toLowerCase()] !== undefined ? Number(m[1]) * units[m[2]!.toLowerCase()]! : 0;
  },
  duration: ([s]) => durationSeconds(str(s)),
  duration_seconds: ([s]) => durationSeconds(str(s)),
  date: ([layout, d]) => goDateFormat(str(layout), toDate(d)),
  toDate: ([, s]) => toDate(s),
  toDateInZone: ([, , s]) => toDate(s),
  now: () => new Date(),
  unixEpoch: ([d]) => Math.floor(toDate(d).getTime() / 1000),
  unixEpochMillis: ([d]) => toDate(d).getTime(),
  unixEpochNanos: ([d]) => toDate(d).getTime() * 1e6,
  unixToTime: ([s]) => {
    const t = str(s);
    const n = Number(t);
    if (t.length <= 10) return new Date(n * 1000);
    if (t.length <= 13) return new Date(n);
    if (t.length <= 16) return new Date(n / 1000);
    return new Date(n / 1e6);
  },
  alignLeft: ([n, s]) => {
    const c = toInt(n);
    const t = str(s);
    return t.length > c ? t.slice(0, c) : t.padEnd(c);
  },
  alignRight: ([n, s]) => {
    const c = toInt(n);
    const t = str(s);
    return t.length > c ? t.slice(t.length - c) : t.padStart(c);
  },
  fromJson: ([s]) => {
    try {
      return JSON.parse(str(s)) as Value;
    } catch {
      return '';
    }
  },
  add: (args) => args.reduce<number>((a, b) => a + toInt(b), 0),
  add1: ([a]) => toInt(a) + 1,
  sub: ([a, b]) => toInt(a) - toInt(b),
  mul: (args) => args.reduce<number>((a, b) => a * toInt(b), 1),
  div: ([a, b]) => Math.trunc(toInt(a) / toInt(b)),
  mod: ([a, b]) => toInt(a) % toInt(b),
  addf: (args) => args.reduce<number>((a, b) => a + toNum(b), 0),
  subf: ([a, ...rest]) => rest.reduce<number>((x, b) => x - toNum(b), toNum(a)),
  mulf: (args) => args.reduce<number>((a, b) => a * toNum(b), 1),
  divf: ([a, ...rest]) => rest.reduce<number>((x, b) => x / toNum(b), toNum(a)),
  max: (args) => Math.max(...args.map(toInt)),
  min: (args) => Math.min(...args.map(toInt)),
  maxf: (args) => Math.max(...args.map(toNum)),
  minf: (args) => Math.min(...args.map(toNum)),
  ceil: ([a]) => Math.ceil(toNum(a)),
  floor: ([a]) => Math.floor(toNum(a)),
  round: ([a, p]) => {
    const f = 10 ** toInt(p);
    return Math.round(toNum(a) * f) / f;
  },
  int: ([a]) => toInt(a),
  int64: ([a]) => toInt(a),
  float64: ([a]) => toNum(a),
  len: ([a]) => (typeof a === 'string' ? Buffer.byteLength(a) : Array.isArray(a) ? a.length : a && typeof a === 'object' ? Object.keys(a).length : 0),
  index: ([a, ...keys]) => {
    let cur: Value | undefined = a;
    for (const k of keys) {
      if (Array.isArray(cur)) cur = cur[toInt(k)];
      else if (cur && typeof cur === 'object' && !(cur instanceof Date)) cur = cur[str(k)];
      else cur = undefined;
    }
    return cur ?? '';
  },
  eq: ([a, ...rest]) => rest.some((b) => a === b || (typeof a !== typeof b && str(a) === str(b))),
  ne: ([a, b]) => a !== b,
  lt: ([a, b]) => (typeof a === 'string' && typeof b === 'string' ? a < b : toNum(a) < toNum(b)),
  le: ([a, b]) => (typeof a === 'string' && typeof b === 'string' ? a <= b : toNum(a) <= toNum(b)),
  gt: ([a, b]) => (typeof a === 'string' && typeof b === 'string' ? a > b : toNum(a) > toNum(b)),
  ge: ([a, b]) => (typeof a === 'string' && typeof b === 'string' ? a >= b : toNum(a) >= toNum(b)),
  not: ([a]) => !truthy(a),
  and: (args) => {
    for (const a of args) if (!truthy(a)) return a!;
    return args[args.length - 1]!;
  },
  or: (args) => {
    for (const a of args) if (truthy(a)) return a!;
    return args[args.length - 1]!;
  },
};

/** Go's Regexp.ReplaceAllString over an RE2 pattern. */
function replaceAllRe2(pattern: string, input: string, replacement: (m: RegExpExecArray) => string): string {
  let re: RegExp;
  try {
    re = compileRe2(pattern, { flags: 'g' });
  } catch (error) {
    throw new TemplateError((error as Error).message);
  }
  let out = '';
  let last = 0;
  re.lastIndex = 0;
  for (let m = re.exec(input); m; m = re.exec(input)) {
    out += input.slice(last, m.index) + replacement(m);
    last = m.index + m[0].length;
    if (m[0].length === 0) re.lastIndex++;
  }
  return out + input.slice(last);
}

function durationSeconds(s: string): number {
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let pos = 0;
  let total = 0;
  let sign = 1;
  let t = s.trim();
  if (t.startsWith('-')) {
    sign = -1;
    t = t.slice(1);
  }
  const units: Record<string, number> = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  while (pos < t.length) {
    re.lastIndex = pos;
    const m = re.exec(t);
    if (!m) throw new TemplateError(`time: invalid duration "${s}"`);
    total += Number(m[1]) * units[m[2]!]!;
    pos = re.lastIndex;
  }
  return sign * total;
}

function trimSet(s: string, cut: string, left: boolean, right: boolean): string {
  let a = 0;
  let b = s.length;
  if (left) while (a < b && cut.includes(s[a]!)) a++;
  if (right) while (b > a && cut.includes(s[b - 1]!)) b--;
  return s.slice(a, b);
}

interface Scope {
  dot: Value;
  vars: Map<string, Value>;
  ctx: LineContext;
}

function evalPipe(pipe: Pipe, scope: Scope): Value {
  let prev: Value | undefined;
  let first = true;
  for (const cmd of pipe.cmds) {
    prev = evalCommand(cmd, scope, first ? undefined : prev, !first);
    first = false;
  }
  if (pipe.decl) scope.vars.set(pipe.decl, prev ?? '');
  return prev ?? '';
}

function lookup(base: Value | undefined, path: string[]): Value | undefined {
  let cur = base;
  for (const key of path) {
    if (cur && typeof cur === 'object' && !Array.isArray(cur) && !(cur instanceof Date)) cur = (cur as Record<string, Value>)[key] ?? '';
    else return '';
  }
  return cur;
}

function evalOperand(op: Operand, scope: Scope): Value {
  switch (op.t) {
    case 'field':
      return lookup(scope.dot, op.path) ?? '';
    case 'var': {
      if (!scope.vars.has(op.name)) throw new TemplateError(`template: undefined variable "${op.name}"`);
      return lookup(scope.vars.get(op.name)!, op.path) ?? '';
    }
    case 'lit':
      return op.value;
    case 'sub':
      return evalPipe(op.pipe, scope);
    case 'ident': {
      const fn = FUNCTIONS[op.name];
      if (!fn) throw new TemplateError(`template: function "${op.name}" not defined`);
      return fn([], scope.ctx);
    }
  }
}

function evalCommand(cmd: Command, scope: Scope, piped: Value | undefined, hasPiped: boolean): Value {
  const head = cmd[0]!;
  if (head.t === 'ident') {
    const fn = FUNCTIONS[head.name];
    if (!fn) throw new TemplateError(`template: function "${head.name}" not defined`);
    const args = cmd.slice(1).map((o) => evalOperand(o, scope));
    if (hasPiped) args.push(piped!);
    return fn(args, scope.ctx);
  }
  if (cmd.length > 1 || hasPiped) throw new TemplateError("template: can't give argument to non-function");
  return evalOperand(head, scope);
}

function render(nodes: Node[], scope: Scope): string {
  let out = '';
  for (const n of nodes) {
    switch (n.t) {
      case 'text':
        out += n.text;
        break;
      case 'action': {
        const v = evalPipe(n.pipe, scope);
        if (!n.pipe.decl) out += formatValue(v);
        break;
      }
      case 'if': {
        const v = evalPipe(n.pipe, scope);
        out += render(truthy(v) ? n.then : n.else, scope);
        break;
      }
      case 'with': {
        const v = evalPipe(n.pipe, scope);
        out += truthy(v) ? render(n.then, { ...scope, dot: v }) : render(n.else, scope);
        break;
      }
      case 'range': {
        const v = evalPipe(n.pipe, scope);
        const items: Value[] = Array.isArray(v) ? v : v && typeof v === 'object' && !(v instanceof Date) ? Object.keys(v).sort().map((k) => (v as Record<string, Value>)[k]!) : [];
        if (items.length === 0) out += render(n.else, scope);
        for (const item of items) out += render(n.body, { ...scope, dot: item });
        break;
      }
    }
  }
  return out;
}

/** Go's parse-time checks: syntax and that every function exists. Returns Go's message or undefined. */
export function checkTemplate(source: string): string | undefined {
  let nodes: Node[];
  try {
    nodes = tokenize(source);
  } catch (error) {
    return (error as Error).message;
  }
  const missing: string[] = [];
  const visitPipe = (pipe: Pipe): void => {
    for (const cmd of pipe.cmds) for (const op of cmd) visitOperand(op);
  };
  const visitOperand = (op: Operand): void => {
    if (op.t === 'ident' && !FUNCTIONS[op.name] && !['true', 'false', 'nil'].includes(op.name)) missing.push(op.name);
    if (op.t === 'sub') visitPipe(op.pipe);
  };
  const visit = (list: Node[]): void => {
    for (const n of list) {
      if (n.t === 'action') visitPipe(n.pipe);
      else if (n.t === 'if' || n.t === 'with') {
        visitPipe(n.pipe);
        visit(n.then);
        visit(n.else);
      } else if (n.t === 'range') {
        visitPipe(n.pipe);
        visit(n.body);
        visit(n.else);
      }
    }
  };
  visit(nodes);
  return missing.length > 0 ? `template: line:1: function "${missing[0]}" not defined` : undefined;
}

/** Compiles once; throws TemplateError for templates Go would reject at parse time. */
export function compileTemplate(source: string): (ctx: LineContext) => string {
  const nodes = tokenize(source);
  return (ctx) => {
    const dot = ctx.labels.all() as Value;
    return render(nodes, { dot, vars: new Map([['$', dot]]), ctx });
  };
}
