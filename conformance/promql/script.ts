/**
 * A parser for Prometheus's PromQL test-script language (promql/promqltest, see FORMAT.md beside the
 * scripts): `load`, `clear`, `eval instant|range` with expected series and `expect` lines.
 */

export type Labels = Record<string, string>;

/** One value of a series description: a number, `stale`, an omitted step (`_`), or a native histogram. */
export type SeqValue = { kind: 'value'; value: number } | { kind: 'stale' } | { kind: 'omitted' } | { kind: 'histogram' };

export interface SeriesDesc {
  labels: Labels;
  values: SeqValue[];
}

export interface LoadCommand {
  kind: 'load';
  line: number;
  intervalMs: number;
  withNhcb: boolean;
  series: SeriesDesc[];
}

export interface ExpectLine {
  type: 'fail' | 'warn' | 'info' | 'no_warn' | 'no_info' | 'ordered';
  message?: string;
  regex?: RegExp;
}

export interface EvalCommand {
  kind: 'eval';
  line: number;
  query: string;
  instant: boolean;
  /** Instant: evaluation time; range: start/end/step. */
  timeMs: number;
  startMs: number;
  endMs: number;
  stepMs: number;
  expects: ExpectLine[];
  /** Deprecated forms: eval_fail / eval_warn / eval_info / eval_ordered. */
  legacy: { fail: boolean; warn: boolean; info: boolean; ordered: boolean };
  expectedFailMessage?: string;
  expectedFailRegexp?: RegExp;
  expectScalar?: number;
  expectString?: string;
  expected: { labels: Labels; values: SeqValue[]; pos: number }[];
  /** `expect range vector from A to B step S` on an instant query. */
  rangeVector: boolean;
  excludeFromRangeQuery: boolean;
}

export type Command = LoadCommand | EvalCommand | { kind: 'clear'; line: number };

const DURATION_UNITS: Record<string, number> = { y: 365 * 86_400_000, w: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Prometheus's model.ParseDuration (`1h30m`, `10s53ms`, `0`). */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  const re = /(\d+)(ms|y|w|d|h|m|s)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos !== text.length || text.length === 0) throw new Error(`invalid duration ${JSON.stringify(text)}`);
  return total;
}

/** Go's strconv.ParseInt(s, 0, 64) then ParseFloat, as the harness's parseNumber. */
export function parseNumber(text: string): number {
  const s = text.trim();
  if (/^[+-]?(0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]+|0[bB][01_]+|[1-9][0-9_]*|0)$/.test(s)) {
    const neg = s.startsWith('-');
    const body = s.replace(/^[+-]/, '').replace(/_/g, '');
    let v: number;
    if (/^0[xX]/.test(body)) v = parseInt(body.slice(2), 16);
    else if (/^0[bB]/.test(body)) v = parseInt(body.slice(2), 2);
    else if (/^0[oO]/.test(body)) v = parseInt(body.slice(2), 8);
    else if (/^0[0-7]+$/.test(body)) v = parseInt(body.slice(1), 8);
    else v = Number(body);
    return neg ? -v : v;
  }
  const f = parseFloatStrict(s);
  if (Number.isNaN(f) && !/^[+-]?nan$/i.test(s)) throw new Error(`error parsing number: ${s}`);
  return f;
}

function parseFloatStrict(s: string): number {
  const lower = s.toLowerCase();
  const sign = lower.startsWith('-') ? -1 : 1;
  const body = lower.replace(/^[+-]/, '');
  if (body === 'inf' || body === 'infinity') return sign * Infinity;
  if (body === 'nan') return NaN;
  if (/^0x[0-9a-f]*\.?[0-9a-f]*p[+-]?\d+$/.test(body)) {
    const [mant, exp] = body.slice(2).split('p') as [string, string];
    const [i, f = ''] = mant.split('.') as [string, string?];
    return sign * (parseInt(i || '0', 16) + (f ? parseInt(f, 16) / 16 ** f.length : 0)) * 2 ** Number(exp);
  }
  if (!/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(body)) return NaN;
  return sign * Number(body);
}

/** Reads a Go-syntax quoted string starting at s[i]; returns the value and the index after it. */
function readQuoted(s: string, i: number): [string, number] {
  const q = s[i];
  if (q === '`') {
    const end = s.indexOf('`', i + 1);
    if (end < 0) throw new Error('unterminated raw string');
    return [s.slice(i + 1, end), end + 1];
  }
  let out = '';
  let j = i + 1;
  while (j < s.length && s[j] !== q) {
    if (s[j] === '\\') {
      const c = s[j + 1];
      j += 2;
      switch (c) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '\\':
          out += '\\';
          break;
        case '"':
          out += '"';
          break;
        case "'":
          out += "'";
          break;
        case 'a':
          out += '\x07';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case 'x':
          out += String.fromCharCode(parseInt(s.slice(j, j + 2), 16));
          j += 2;
          break;
        case 'u':
          out += String.fromCodePoint(parseInt(s.slice(j, j + 4), 16));
          j += 4;
          break;
        case 'U':
          out += String.fromCodePoint(parseInt(s.slice(j, j + 8), 16));
          j += 8;
          break;
        default:
          if (c !== undefined && /[0-7]/.test(c)) {
            out += String.fromCharCode(parseInt(s.slice(j - 1, j + 2), 8));
            j += 2;
          } else out += c ?? '';
      }
      continue;
    }
    out += s[j];
    j++;
  }
  if (j >= s.length) throw new Error('unterminated string');
  return [out, j + 1];
}

/** Parses `name{a="b"} v1 v2 ...` (series description) into labels and the rest of the line. */
export function parseSeriesLine(line: string): { labels: Labels; rest: string } {
  let i = 0;
  const labels: Labels = {};
  const skipWs = (): void => {
    while (i < line.length && /\s/.test(line[i]!)) i++;
  };
  skipWs();
  const ident = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line.slice(i));
  if (ident) {
    labels.__name__ = ident[0];
    i += ident[0].length;
  }
  if (line[i] === '{') {
    i++;
    for (;;) {
      skipWs();
      if (line[i] === '}') {
        i++;
        break;
      }
      let name: string;
      if (line[i] === '"' || line[i] === "'" || line[i] === '`') {
        [name, i] = readQuoted(line, i);
        skipWs();
        if (line[i] === ',' || line[i] === '}') {
          labels.__name__ = name;
          if (line[i] === ',') i++;
          continue;
        }
      } else {
        const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
        if (!m) throw new Error(`bad label name in ${JSON.stringify(line)}`);
        name = m[0];
        i += name.length;
      }
      skipWs();
      if (line[i] !== '=') throw new Error(`expected = in ${JSON.stringify(line)}`);
      i++;
      skipWs();
      let value: string;
      [value, i] = readQuoted(line, i);
      labels[name] = value;
      skipWs();
      if (line[i] === ',') i++;
    }
  }
  if (!ident && Object.keys(labels).length === 0 && line.slice(0, i).trim() !== '{}') throw new Error(`bad series ${JSON.stringify(line)}`);
  return { labels, rest: line.slice(i) };
}

/** Expands promtool's sequence notation (`1+2x3 _ stale _x2 -1-1x2 {{...}}`). */
export function parseSequence(text: string): SeqValue[] {
  const out: SeqValue[] = [];
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i]!)) {
      i++;
      continue;
    }
    if (text.startsWith('{{', i)) {
      const end = text.indexOf('}}', i);
      let j = end + 2;
      // A histogram may be followed by x<n> or +/-{{...}}x<n>.
      while (j < text.length && !/\s/.test(text[j]!)) {
        if (text.startsWith('{{', j)) j = text.indexOf('}}', j) + 2;
        else j++;
      }
      tokens.push(text.slice(i, j));
      i = j;
      continue;
    }
    let j = i;
    while (j < text.length && !/\s/.test(text[j]!)) j++;
    tokens.push(text.slice(i, j));
    i = j;
  }
  for (const tok of tokens) {
    if (tok.startsWith('{{')) {
      const times = /x(\d+)$/.exec(tok);
      const n = times ? Number(times[1]) + 1 : 1;
      for (let k = 0; k < n; k++) out.push({ kind: 'histogram' });
      continue;
    }
    if (tok === '_') {
      out.push({ kind: 'omitted' });
      continue;
    }
    let m = /^_x(\d+)$/.exec(tok);
    if (m) {
      for (let k = 0; k < Number(m[1]); k++) out.push({ kind: 'omitted' });
      continue;
    }
    if (tok === 'stale') {
      out.push({ kind: 'stale' });
      continue;
    }
    m = /^(stale)x(\d+)$/.exec(tok);
    if (m) {
      for (let k = 0; k <= Number(m[2]); k++) out.push({ kind: 'stale' });
      continue;
    }
    // value [signed increment] x times
    m = /^([+-]?(?:Inf|NaN|\d+\.?\d*(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?))(?:([+-](?:Inf|NaN|\d+\.?\d*(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?)))?(?:x(\d+))?$/i.exec(tok);
    if (!m) throw new Error(`bad sequence item ${JSON.stringify(tok)}`);
    let value = parseNumber(m[1]!);
    if (m[3] === undefined) {
      out.push({ kind: 'value', value });
      continue;
    }
    const times = Number(m[3]);
    if (m[2] === undefined) {
      for (let k = 0; k <= times; k++) out.push({ kind: 'value', value });
      continue;
    }
    const inc = parseNumber(m[2]);
    out.push({ kind: 'value', value });
    for (let k = 1; k <= times; k++) {
      value += inc;
      out.push({ kind: 'value', value });
    }
  }
  return out;
}

const PAT_LOAD = /^load(?:_(with_nhcb))?\s+(.+?)\s*$/;
const PAT_EVAL_INSTANT = /^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$/;
const PAT_EVAL_RANGE = /^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$/;
const PAT_EXPECT = /^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$/;
const PAT_EXPECT_RANGE = /^expect range vector from (.+) to (.+) step (.+)$/;

/** Go regexp → JavaScript (the scripts' regexes are simple). */
function goRegex(src: string): RegExp {
  return new RegExp(src.replace(/\(\?P</g, '(?<'));
}

export function parseScript(input: string): Command[] {
  const lines = input.split('\n').map((l) => {
    const t = l.trim();
    return t.startsWith('#') ? '' : t;
  });
  const cmds: Command[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === '') continue;
    const word = l.split(/\s+/, 1)[0]!.toLowerCase();
    if (word === 'clear') {
      cmds.push({ kind: 'clear', line: i + 1 });
      continue;
    }
    if (word.startsWith('load')) {
      const m = PAT_LOAD.exec(l);
      if (!m) throw new Error(`line ${i + 1}: invalid load command`);
      const cmd: LoadCommand = { kind: 'load', line: i + 1, intervalMs: parseDuration(m[2]!), withNhcb: m[1] !== undefined, series: [] };
      while (i + 1 < lines.length && lines[i + 1] !== '') {
        i++;
        // `metric@st <offsets>` lines give start timestamps (experimental); Lookout stores none.
        if (/^[^\s{]*(\{[^}]*\})?@st\s/.test(lines[i]!)) continue;
        const { labels, rest } = parseSeriesLine(lines[i]!);
        cmd.series.push({ labels, values: parseSequence(rest) });
      }
      cmds.push(cmd);
      continue;
    }
    if (word.startsWith('eval')) {
      cmds.push(parseEval(lines, i));
      // Skip the body.
      while (i + 1 < lines.length && lines[i + 1] !== '') i++;
      continue;
    }
    throw new Error(`line ${i + 1}: invalid command ${JSON.stringify(l)}`);
  }
  return cmds;
}

function parseEval(lines: string[], i: number): EvalCommand {
  const l = lines[i]!;
  const inst = PAT_EVAL_INSTANT.exec(l);
  const rng = inst ? null : PAT_EVAL_RANGE.exec(l);
  if (!inst && !rng) throw new Error(`line ${i + 1}: invalid eval command`);
  const mod = (inst ? inst[1] : rng![1]) ?? '';
  const cmd: EvalCommand = {
    kind: 'eval',
    line: i + 1,
    query: inst ? inst[3]! : rng![5]!,
    instant: inst !== null,
    timeMs: inst ? parseDuration(inst[2] ?? '0') : 0,
    startMs: rng ? parseDuration(rng[2]!) : 0,
    endMs: rng ? parseDuration(rng[3]!) : 0,
    stepMs: rng ? parseDuration(rng[4]!) : 0,
    expects: [],
    legacy: { fail: mod === 'fail', warn: mod === 'warn', info: mod === 'info', ordered: mod === 'ordered' },
    expected: [],
    rangeVector: false,
    excludeFromRangeQuery: false,
  };
  let pos = 0;
  while (i + 1 < lines.length && lines[i + 1] !== '') {
    i++;
    const def = lines[i]!;
    if (cmd.legacy.fail && def.startsWith('expected_fail_message')) {
      cmd.expectedFailMessage = def.slice('expected_fail_message'.length).trim();
      continue;
    }
    if (cmd.legacy.fail && def.startsWith('expected_fail_regexp')) {
      cmd.expectedFailRegexp = goRegex(def.slice('expected_fail_regexp'.length).trim());
      continue;
    }
    const rv = PAT_EXPECT_RANGE.exec(def);
    if (rv) {
      cmd.rangeVector = true;
      cmd.startMs = parseDuration(rv[1]!);
      cmd.endMs = parseDuration(rv[2]!);
      cmd.stepMs = parseDuration(rv[3]!);
      cmd.timeMs = cmd.endMs;
      cmd.excludeFromRangeQuery = true;
      continue;
    }
    if (def.startsWith('expect string')) {
      const text = def.slice('expect string'.length).trim();
      cmd.expectString = text.startsWith('`') ? text.slice(1, -1) : (JSON.parse(text) as string);
      cmd.excludeFromRangeQuery = true;
      continue;
    }
    if (def.split(' ')[0] === 'expect') {
      const m = PAT_EXPECT.exec(def.trim());
      if (!m) throw new Error(`line ${i + 1}: invalid expect line`);
      const e: ExpectLine = { type: m[1] as ExpectLine['type'] };
      if (m[2] === 'msg') e.message = m[3]!.trim();
      else if (m[2] === 'regex') e.regex = goRegex(m[3]!.trim());
      cmd.expects.push(e);
      continue;
    }
    try {
      cmd.expectScalar = parseNumber(def);
      break;
    } catch {
      // not a number: a series line
    }
    pos++;
    const { labels, rest } = parseSeriesLine(def);
    cmd.expected.push({ labels, values: parseSequence(rest), pos });
  }
  return cmd;
}
