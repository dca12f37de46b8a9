/**
 * Pipeline stages evaluated on one line at a time, with Loki's semantics (pkg/logql/log):
 * parsers add labels (renamed `<name>_extracted` on conflict with stream labels or structured
 * metadata), failures set `__error__`/`__error_details__` and keep the line, numeric label
 * filters keep lines they cannot convert (flagged LabelFilterErr) and drop lines without the label.
 */
import type { LabelFilterExpr, LabelMatcher, LineFilterValue, Stage, Unwrap } from '../ast.js';
import { splitPattern, type PatternPart } from '../parser/index.js';
import { parseBytes, parseDurationNs, parseGoFloat } from '../parser/values.js';
import { compileRe2 } from '../regex.js';
import { JsonScanner, JsonSyntaxError, scalarText } from './json.js';
import { ERROR_DETAILS_LABEL, ERROR_LABEL, type LabelsBuilder, type LineContext } from './labels.js';
import { compileTemplate } from './template.js';

export type { LineContext };

/** Returns false to drop the line. */
export type StageFn = (ctx: LineContext) => boolean;

export function compileMatcher(m: LabelMatcher): (value: string) => boolean {
  switch (m.type) {
    case '=':
      return (v) => v === m.value;
    case '!=':
      return (v) => v !== m.value;
    case '=~': {
      const re = compileRe2(m.value, { anchored: true });
      return (v) => re.test(v);
    }
    case '!~': {
      const re = compileRe2(m.value, { anchored: true });
      return (v) => !re.test(v);
    }
  }
}

export function compileLineFilter(op: string, values: LineFilterValue[]): (line: string) => boolean {
  const tests = values.map((v): ((line: string) => boolean) => {
    if (v.kind === 'ip') {
      const m = compileIpMatcher(v.value);
      return (line) => findIps(line).some(m);
    }
    if (op === '|~' || op === '!~') {
      const re = compileRe2(v.value, { anchored: false });
      return (line) => re.test(line);
    }
    if (op === '|>' || op === '!>') {
      const parts = splitPattern(v.value);
      return (line) => patternTest(parts, line);
    }
    const needle = v.value;
    return (line) => line.includes(needle);
  });
  const any = tests.length === 1 ? tests[0]! : (line: string) => tests.some((t) => t(line));
  const negate = op.startsWith('!');
  return negate ? (line) => !any(line) : any;
}

/** Loki's pattern line filter (pattern.Matcher.Test). */
export function patternTest(parts: PatternPart[], line: string): boolean {
  if (line.length === 0 || parts.length === 0) return line.length === 0 && parts.length === 0;
  let off = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.kind !== 'literal') continue;
    const j = line.indexOf(p.text, off);
    if (j === -1) return false;
    if (i !== 0 && j === off) return false;
    if (i === 0 && j !== 0) {
      // A leading literal must start the line; bytes.Index finds the first occurrence.
      return false;
    }
    off = j + p.text.length;
  }
  const endsOnCapture = parts[parts.length - 1]!.kind === 'capture';
  return endsOnCapture === (off !== line.length);
}

/** Loki's pattern parser (pattern.Matcher.Matches): captures by name. */
export function patternMatch(parts: PatternPart[], input: string): [string, string][] {
  const out: [string, string][] = [];
  if (input.length === 0 || parts.length === 0) return out;
  let rest = input;
  let i = 0;
  if (parts[0]!.kind === 'literal') {
    if (!rest.startsWith(parts[0]!.text)) return out;
    rest = rest.slice(parts[0]!.text.length);
    i = 1;
  }
  while (i < parts.length) {
    const capture = parts[i] as { kind: 'capture'; name: string };
    if (i === parts.length - 1) {
      if (capture.name !== '_') out.push([capture.name, rest]);
      return out;
    }
    const lit = (parts[i + 1] as { kind: 'literal'; text: string }).text;
    i += 2;
    const at = rest.indexOf(lit);
    if (at === -1) {
      if (capture.name !== '_') out.push([capture.name, rest]);
      return out;
    }
    if (capture.name !== '_') out.push([capture.name, rest.slice(0, at)]);
    rest = rest.slice(at + lit.length);
  }
  return out;
}

// --- IP matching (Loki's ip() for line and label filters) ---

function parseIp(text: string): bigint | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    const parts = text.split('.').map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    return (0xffffn << 32n) | parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n);
  }
  if (!text.includes(':')) return undefined;
  let t = text;
  let v4tail: bigint | undefined;
  const v4 = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(t);
  if (v4) {
    v4tail = parseIp(v4[1]!);
    if (v4tail === undefined) return undefined;
    t = t.slice(0, -v4[1]!.length) + '0:0';
  }
  const halves = t.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let value = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    value = (value << 16n) | BigInt(parseInt(g, 16));
  }
  if (v4tail !== undefined) value = (value & ~0xffffffffn) | (v4tail & 0xffffffffn);
  return value;
}

export function compileIpMatcher(pattern: string): (ip: string) => boolean {
  const p = pattern.trim();
  const range = /^(.+?)\s*-\s*(.+)$/.exec(p);
  if (range && !p.includes('/')) {
    const lo = parseIp(range[1]!);
    const hi = parseIp(range[2]!);
    return (ip) => {
      const v = parseIp(ip);
      return v !== undefined && lo !== undefined && hi !== undefined && v >= lo && v <= hi;
    };
  }
  const cidr = /^(.+)\/(\d{1,3})$/.exec(p);
  if (cidr) {
    const base = parseIp(cidr[1]!);
    const isV4 = !cidr[1]!.includes(':');
    const bits = Number(cidr[2]) + (isV4 ? 96 : 0);
    const mask = bits >= 128 ? (1n << 128n) - 1n : ((1n << BigInt(bits)) - 1n) << BigInt(128 - bits);
    return (ip) => {
      const v = parseIp(ip);
      return v !== undefined && base !== undefined && (v & mask) === (base & mask);
    };
  }
  const single = parseIp(p);
  return (ip) => single !== undefined && parseIp(ip) === single;
}

function findIps(line: string): string[] {
  return line.match(/[0-9a-fA-F:]*:[0-9a-fA-F:.]+|\d{1,3}(?:\.\d{1,3}){3}/g) ?? [];
}

// --- parsers ---

/** Loki's sanitizeLabelKey: invalid characters become `_`, a leading digit gets a `_` prefix. */
export function sanitizeLabelKey(key: string, isPrefix: boolean): string {
  let k = key.trim();
  if (k.length === 0) return k;
  if (isPrefix && k[0]! >= '0' && k[0]! <= '9') k = '_' + k;
  return k.replace(/[^a-zA-Z0-9_]/g, '_');
}

function setParsed(lbs: LabelsBuilder, name: string, value: string): void {
  lbs.set(lbs.baseHas(name) ? name + '_extracted' : name, value);
}

function jsonStage(): StageFn {
  return ({ line, labels }) => {
    const s = new JsonScanner(line);
    const walk = (prefix: string): void => {
      s.object((key) => {
        const v = s.value();
        const name = prefix === '' ? sanitizeLabelKey(key, true) : `${prefix}_${sanitizeLabelKey(key, false)}`;
        if (v.kind === 'object') {
          if (name === '') return;
          const inner = new JsonScanner(line);
          inner.pos = v.start;
          const save = s.pos;
          // Re-scan the nested object with the longer prefix.
          const sub = (p: string, sc: JsonScanner): void => {
            sc.object((k) => {
              const vv = sc.value();
              const n = `${p}_${sanitizeLabelKey(k, false)}`;
              if (vv.kind === 'object') {
                const sc2 = new JsonScanner(line);
                sc2.pos = vv.start;
                sub(n, sc2);
              } else if (vv.kind === 'string' || vv.kind === 'number' || vv.kind === 'boolean') {
                setParsedPath(labels, n, scalarText(sc, vv));
              }
            });
          };
          sub(name, inner);
          s.pos = save;
        } else if (v.kind === 'string' || v.kind === 'number' || v.kind === 'boolean') {
          if (name === '') return;
          setParsed(labels, name, scalarText(s, v));
        }
      });
    };
    try {
      s.ws();
      walk('');
    } catch (error) {
      if (!(error instanceof JsonSyntaxError)) throw error;
      labels.setErr('JSONParserErr', error.message);
    }
    return true;
  };
}

function setParsedPath(lbs: LabelsBuilder, name: string, value: string): void {
  setParsed(lbs, name, value);
}

type JsonPathStep = string | number;

/** Loki's json expression paths: `a.b`, `a[0]`, `["a b"]`, `a.b[1].c`. */
export function parseJsonPath(expr: string): JsonPathStep[] | undefined {
  const steps: JsonPathStep[] = [];
  const re = /\s*(?:\.?([a-zA-Z_][a-zA-Z0-9_-]*)|\[\s*(\d+)\s*\]|\[\s*"((?:[^"\\]|\\.)*)"\s*\])/y;
  let pos = 0;
  while (pos < expr.length) {
    re.lastIndex = pos;
    const m = re.exec(expr);
    if (!m || re.lastIndex === pos) return undefined;
    if (m[1] !== undefined) steps.push(m[1]);
    else if (m[2] !== undefined) steps.push(Number(m[2]));
    else steps.push(m[3]!.replace(/\\(.)/g, '$1'));
    pos = re.lastIndex;
  }
  return steps.length > 0 ? steps : undefined;
}

function jsonPathValue(line: string, path: JsonPathStep[]): string {
  const s = new JsonScanner(line);
  let found: string | undefined;
  const visit = (depth: number): void => {
    const step = path[depth]!;
    s.ws();
    const c = line[s.pos];
    if (typeof step === 'number' && c === '[') {
      s.array((i) => {
        if (i === step && found === undefined) descend(depth);
        else s.value();
      });
    } else if (typeof step === 'string' && c === '{') {
      s.object((key) => {
        if (key === step && found === undefined) descend(depth);
        else s.value();
      });
    } else s.value();
  };
  const descend = (depth: number): void => {
    if (depth === path.length - 1) {
      const v = s.value();
      found = v.kind === 'object' || v.kind === 'array' ? line.slice(v.start, v.end) : scalarText(s, v);
    } else visit(depth + 1);
  };
  visit(0);
  return found ?? '';
}

function jsonExpressionStage(extractions: { label: string; expression: string }[]): StageFn {
  const paths = extractions.map((e) => ({ label: e.label, path: parseJsonPath(e.expression) }));
  return ({ line, labels }) => {
    try {
      new JsonScanner(line).value();
    } catch (error) {
      if (!(error instanceof JsonSyntaxError)) throw error;
      labels.setErr('JSONParserErr', error.message);
      return true;
    }
    for (const { label, path } of paths) {
      const value = path ? jsonPathValue(line, path) : '';
      setParsed(labels, label, value);
    }
    return true;
  };
}

/** go-logfmt decoding as Loki uses it: key=value pairs, quoted values with Go escapes. */
export function decodeLogfmt(line: string, strict: boolean): { pairs: [string, string | undefined][]; error?: string } {
  const pairs: [string, string | undefined][] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && line.charCodeAt(i) <= 32) i++;
    if (i >= n) break;
    const keyStart = i;
    while (i < n && line[i] !== '=' && line.charCodeAt(i) > 32 && line[i] !== '"') i++;
    const key = line.slice(keyStart, i);
    if (key === '') {
      if (strict) return { pairs, error: `logfmt syntax error at pos ${i + 1} : unexpected '${line[i]}'` };
      // Skip the offending token.
      while (i < n && line.charCodeAt(i) > 32) i++;
      continue;
    }
    if (line[i] !== '=') {
      if (line[i] === '"') {
        if (strict) return { pairs, error: `logfmt syntax error at pos ${i + 1} : unexpected '"'` };
        while (i < n && line.charCodeAt(i) > 32) i++;
        continue;
      }
      pairs.push([key, undefined]);
      continue;
    }
    i++;
    if (line[i] === '"') {
      let j = i + 1;
      let value = '';
      let closed = false;
      while (j < n) {
        const c = line[j]!;
        if (c === '\\' && j + 1 < n) {
          const e = line[j + 1]!;
          const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f' };
          if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(line.slice(j + 2, j + 6))) {
            value += String.fromCharCode(parseInt(line.slice(j + 2, j + 6), 16));
            j += 6;
            continue;
          }
          value += map[e] ?? e;
          j += 2;
          continue;
        }
        if (c === '"') {
          closed = true;
          break;
        }
        value += c;
        j++;
      }
      if (!closed) {
        if (strict) return { pairs, error: `logfmt syntax error at pos ${n + 1} : unterminated quoted value` };
        break;
      }
      pairs.push([key, value]);
      i = j + 1;
    } else {
      const vs = i;
      while (i < n && line.charCodeAt(i) > 32) {
        if (line[i] === '"' || line[i] === '=') {
          if (strict) return { pairs, error: `logfmt syntax error at pos ${i + 1} : unexpected '${line[i]}'` };
        }
        i++;
      }
      pairs.push([key, line.slice(vs, i)]);
    }
  }
  return { pairs };
}

function logfmtStage(extractions: { label: string; expression: string }[], strict: boolean, keepEmpty: boolean): StageFn {
  const wanted = extractions.length > 0 ? new Map(extractions.map((e) => [e.expression, e.label])) : undefined;
  return ({ line, labels }) => {
    const { pairs, error } = decodeLogfmt(line, strict);
    for (const [key, value] of pairs) {
      if (value === undefined && !keepEmpty) continue;
      if (wanted) {
        const label = wanted.get(key);
        if (label !== undefined) setParsed(labels, label, value ?? '');
        continue;
      }
      const name = sanitizeLabelKey(key, true);
      if (name === '') continue;
      setParsed(labels, name, value ?? '');
    }
    if (error !== undefined) labels.setErr('LogfmtParserErr', error);
    return true;
  };
}

function regexpStage(pattern: string): StageFn {
  const re = compileRe2(pattern, { anchored: false });
  return ({ line, labels }) => {
    const m = re.exec(line);
    if (m?.groups) {
      for (const [name, value] of Object.entries(m.groups)) {
        const key = sanitizeLabelKey(name, true);
        setParsed(labels, key, value ?? '');
      }
    }
    return true;
  };
}

function patternStage(pattern: string): StageFn {
  const parts = splitPattern(pattern);
  return ({ line, labels }) => {
    for (const [name, value] of patternMatch(parts, line)) setParsed(labels, name, value);
    return true;
  };
}

function unpackStage(): StageFn {
  return (ctx) => {
    const s = new JsonScanner(ctx.line);
    let entry: string | undefined;
    try {
      s.ws();
      if (ctx.line[s.pos] !== '{') s.fail('expecting json object');
      s.object((key) => {
        const v = s.value();
        if (v.kind !== 'string') return;
        const text = scalarText(s, v);
        if (key === '_entry') entry = text;
        else setParsed(ctx.labels, sanitizeLabelKey(key, true), text);
      });
    } catch (error) {
      if (!(error instanceof JsonSyntaxError)) throw error;
      ctx.labels.setErr('JSONParserErr', error.message);
      return true;
    }
    if (entry !== undefined) ctx.line = entry;
    return true;
  };
}

// --- label filters ---

function compare(op: string, a: number, b: number): boolean {
  switch (op) {
    case '==': return a === b;
    case '!=': return a !== b;
    case '>': return a > b;
    case '>=': return a >= b;
    case '<': return a < b;
    default: return a <= b;
  }
}

export function compileLabelFilter(f: LabelFilterExpr): StageFn {
  switch (f.kind) {
    case 'and': {
      const l = compileLabelFilter(f.left);
      const r = compileLabelFilter(f.right);
      return (ctx) => l(ctx) && r(ctx);
    }
    case 'or': {
      const l = compileLabelFilter(f.left);
      const r = compileLabelFilter(f.right);
      return (ctx) => l(ctx) || r(ctx);
    }
    case 'matcher': {
      const test = compileMatcher(f.matcher);
      const name = f.matcher.name;
      return ({ labels }) => test(labels.get(name) ?? '');
    }
    case 'ip': {
      const m = compileIpMatcher(f.cidr);
      return ({ labels }) => {
        const v = labels.get(f.name);
        if (v === undefined) return false;
        const ok = m(v.trim());
        return f.op === '=' ? ok : !ok;
      };
    }
    default: {
      const convert =
        f.kind === 'number'
          ? (v: string) => parseGoFloat(v)
          : f.kind === 'duration'
            ? (v: string) => parseDurationNs(v)
            : (v: string) => parseBytes(v);
      return ({ labels }) => {
        const v = labels.get(f.name);
        if (v === undefined) return false;
        const value = convert(v);
        if (value === undefined) {
          if (!labels.hasErr()) {
            labels.setErr('LabelFilterErr', f.kind === 'duration' ? `time: invalid duration ${JSON.stringify(v)}` : `strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
          }
          return true;
        }
        return compare(f.op, value, f.value);
      };
    }
  }
}

// --- formatting stages ---

// eslint-disable-next-line no-control-regex
const ANSI = /[\u001B\u009B][[\]()#;?]*(?:(?:(?:[a-zA-Z\d]*(?:;[a-zA-Z\d]*)*)?\u0007)|(?:(?:\d{1,4}(?:;\d{0,4})*)?[\dA-PRZcf-ntqry=><~]))/g;

export function compileStage(stage: Stage): StageFn {
  switch (stage.kind) {
    case 'line_filter': {
      const test = compileLineFilter(stage.op, stage.values);
      return (ctx) => test(ctx.line);
    }
    case 'json':
      return stage.extractions.length > 0 ? jsonExpressionStage(stage.extractions) : jsonStage();
    case 'logfmt':
      return logfmtStage(stage.extractions, stage.strict, stage.keepEmpty);
    case 'regexp':
      return regexpStage(stage.pattern);
    case 'pattern':
      return patternStage(stage.pattern);
    case 'unpack':
      return unpackStage();
    case 'label_filter':
      return compileLabelFilter(stage.filter);
    case 'line_format': {
      const tpl = compileTemplate(stage.template);
      return (ctx) => {
        try {
          ctx.line = tpl(ctx);
        } catch (error) {
          ctx.labels.setErr('TemplateFormatErr', (error as Error).message);
        }
        return true;
      };
    }
    case 'label_format': {
      const items = stage.items.map((item) => ({ ...item, tpl: item.template !== undefined ? compileTemplate(item.template) : undefined }));
      return (ctx) => {
        const updates: [string, string][] = [];
        const renames: string[] = [];
        for (const item of items) {
          if (item.tpl) {
            try {
              updates.push([item.dst, item.tpl(ctx)]);
            } catch (error) {
              ctx.labels.setErr('TemplateFormatErr', (error as Error).message);
            }
          } else if (item.rename !== undefined) {
            const v = ctx.labels.get(item.rename);
            if (v !== undefined) {
              updates.push([item.dst, v]);
              if (item.rename !== item.dst) renames.push(item.rename);
            }
          }
        }
        for (const name of renames) ctx.labels.delete(name);
        for (const [name, value] of updates) ctx.labels.set(name, value);
        return true;
      };
    }
    case 'decolorize':
      return (ctx) => {
        ctx.line = ctx.line.replace(ANSI, '');
        return true;
      };
    case 'drop': {
      const rules = stage.labels.map((l) => ({ name: l.name, test: l.matcher ? compileMatcher(l.matcher) : undefined }));
      return ({ labels }) => {
        for (const r of rules) {
          const v = labels.get(r.name);
          if (v === undefined) continue;
          // `drop __error__` leaves __error_details__ (Loki resets them separately).
          if (!r.test || r.test(v)) labels.delete(r.name);
        }
        return true;
      };
    }
    case 'keep': {
      const rules = stage.labels.map((l) => ({ name: l.name, test: l.matcher ? compileMatcher(l.matcher) : undefined }));
      return ({ labels }) => {
        for (const [name, value] of Object.entries(labels.all())) {
          if (name === ERROR_LABEL || name === ERROR_DETAILS_LABEL) continue;
          const keep = rules.some((r) => r.name === name && (!r.test || r.test(value)));
          if (!keep) labels.delete(name);
        }
        return true;
      };
    }
  }
}

export function compilePipeline(stages: Stage[]): (ctx: LineContext) => boolean {
  const fns = stages.map(compileStage);
  return (ctx) => {
    for (const fn of fns) if (!fn(ctx)) return false;
    return true;
  };
}

/** The unwrap stage: the sample value of a line, or an error set on its labels. */
export function compileUnwrap(unwrap: Unwrap): (ctx: LineContext) => number | undefined {
  const post = unwrap.postFilters.map(compileLabelFilter);
  return (ctx) => {
    const raw = ctx.labels.get(unwrap.label) ?? '';
    // A line without the label is skipped, not an error (Loki issue 6713).
    if (raw === '') return undefined;
    let value: number | undefined;
    let details = '';
    const text = raw.trim();
    if (unwrap.conversion === 'duration' || unwrap.conversion === 'duration_seconds') {
      const ns = parseDurationNs(text);
      if (ns === undefined) details = `time: invalid duration ${JSON.stringify(raw)}`;
      else value = ns / 1e9;
    } else if (unwrap.conversion === 'bytes') {
      value = parseBytes(text);
      if (value === undefined) details = `strconv.ParseFloat: parsing ${JSON.stringify(raw)}: invalid syntax`;
    } else {
      value = parseGoFloat(text);
      if (value === undefined) details = `strconv.ParseFloat: parsing ${JSON.stringify(raw)}: invalid syntax`;
    }
    if (value === undefined && !ctx.labels.hasErr()) ctx.labels.setErr('SampleExtractionErr', details);
    for (const f of post) if (!f(ctx)) return undefined;
    // The unwrapped label is not part of the series.
    ctx.labels.delete(unwrap.label);
    return value ?? 0;
  };
}

export { ERROR_LABEL, ERROR_DETAILS_LABEL };
