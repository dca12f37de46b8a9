/**
 * PromQL conformance runner: executes Prometheus's PromQL test scripts (read in place from
 * ../shared/conformance/promql/) against Lookout's real storage and engine, the way Prometheus's
 * promqltest harness does (tolerance, NaN = NaN, unordered unless ordered, every instant eval
 * re-checked as a range query and with `@` variants, 5m lookback, 1m subquery step).
 *
 *   npm run conformance:promql -- [files...] [--verbose] [--check] [--record]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStorage, type Storage } from '../../packages/server/src/storage/index.js';
import { createPromqlEngineWithAst, type PromqlEngineWithAst, type PromqlResult, type PromqlValue } from '../../packages/server/src/promql/index.js';
import type { Expr } from '../../packages/server/src/promql/ast.js';
import { parsePromql } from '../../packages/server/src/promql/index.js';
import { parseScript, type Command, type EvalCommand, type Labels, type LoadCommand, type SeqValue } from './script.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const SHARED = resolve(ROOT, '../shared/conformance/promql');
const COUNTS_FILE = join(HERE, 'counts.json');

/** The README's required files; the rest are reported separately (native histograms, experimental). */
export const REQUIRED = [
  'aggregators.test',
  'at_modifier.test',
  'functions.test',
  'histograms.test',
  'literals.test',
  'limit.test',
  'name_label_dropping.test',
  'operators.test',
  'range_queries.test',
  'selectors.test',
];

const EPSILON = 0.000001;
const MIN_NORMAL = 2.2250738585072014e-308;

function almostEqual(a: number, b: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < EPSILON * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < EPSILON;
}

function labelsKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}\u0000${labels[k]}`)
    .join('\u0001');
}

function fmtLabels(labels: Labels): string {
  return `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(', ')}}`;
}

export interface CaseResult {
  line: number;
  query: string;
  passed: boolean;
  /** The case needs native histograms (data or expected output); counted separately. */
  nativeHistogram: boolean;
  error?: string;
}

export interface FileResult {
  file: string;
  cases: CaseResult[];
}

/** Functions whose result varies with the evaluation time even over step-invariant input (Prometheus's AtModifierUnsafeFunctions). */
const AT_UNSAFE = new Set(['days_in_month', 'day_of_month', 'day_of_week', 'day_of_year', 'end', 'hour', 'minute', 'month', 'year', 'predict_linear', 'range', 'start', 'step', 'time', 'timestamp']);

function callsAtUnsafe(e: Expr): boolean {
  switch (e.kind) {
    case 'Call':
      return AT_UNSAFE.has(e.func) || e.args.some(callsAtUnsafe);
    case 'Binary':
      return callsAtUnsafe(e.lhs) || callsAtUnsafe(e.rhs);
    case 'Aggregate':
      return callsAtUnsafe(e.expr) || (e.param !== undefined && callsAtUnsafe(e.param));
    case 'Subquery':
    case 'Paren':
    case 'Unary':
      return callsAtUnsafe(e.expr);
    default:
      return false;
  }
}
const QUERY_CONTEXT_FUNCS = /(start|end|range|step)\(\)/;

class ScriptRunner {
  private tenantCounter = 0;
  private tenant = '';
  /** Metric names holding native histograms in the current data (cases touching them are reported apart). */
  private histogramNames = new Set<string>();

  constructor(
    private readonly storage: Storage,
    private readonly engine: PromqlEngineWithAst,
    private readonly file: string,
  ) {
    this.clear();
  }

  private clear(): void {
    this.tenant = `conformance-${this.file.replace(/\W/g, '_')}-${++this.tenantCounter}-${process.pid}`;
    this.histogramNames = new Set();
  }

  async run(commands: Command[]): Promise<CaseResult[]> {
    const results: CaseResult[] = [];
    for (const cmd of commands) {
      if (cmd.kind === 'clear') this.clear();
      else if (cmd.kind === 'load') await this.load(cmd);
      else results.push(await this.evalCase(cmd));
    }
    return results;
  }

  private async load(cmd: LoadCommand): Promise<void> {
    const samples: { labels: Labels; timestampMs: number; value: number; stale?: boolean }[] = [];
    // A series defined twice in one load keeps its last definition (the harness stores them by hash).
    const byKey = new Map(cmd.series.map((s) => [labelsKey(s.labels), s]));
    for (const s of byKey.values()) {
      let t = 0;
      const name = s.labels.__name__ ?? '';
      if (cmd.withNhcb && name.endsWith('_bucket')) this.histogramNames.add(name.slice(0, -'_bucket'.length));
      for (const v of s.values) {
        if (v.kind === 'value') samples.push({ labels: s.labels, timestampMs: t, value: v.value });
        else if (v.kind === 'stale') samples.push({ labels: s.labels, timestampMs: t, value: NaN, stale: true });
        else if (v.kind === 'histogram') this.histogramNames.add(name);
        t += cmd.intervalMs;
      }
    }
    if (samples.length > 0) await this.storage.appender.appendSamples(this.tenant, samples);
  }

  private touchesHistograms(cmd: EvalCommand): boolean {
    if (cmd.expected.some((e) => e.values.some((v) => v.kind === 'histogram'))) return true;
    if (this.histogramNames.size === 0) return false;
    for (const word of cmd.query.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []) if (this.histogramNames.has(word)) return true;
    // A selector without a metric name may pick up the histogram series too.
    return /__name__\s*=~/.test(cmd.query) || /(^|[^\w:"'`])\{/.test(cmd.query);
  }

  private async evalCase(cmd: EvalCommand): Promise<CaseResult> {
    const result: CaseResult = { line: cmd.line, query: cmd.query, passed: false, nativeHistogram: this.touchesHistograms(cmd) };
    try {
      if (cmd.instant) await this.execInstant(cmd);
      else await this.execRange(cmd);
      result.passed = true;
    } catch (error) {
      result.error = error instanceof Error ? error.message : String(error);
    }
    return result;
  }

  private isFail(cmd: EvalCommand): boolean {
    return cmd.legacy.fail || cmd.expects.some((e) => e.type === 'fail');
  }

  private isOrdered(cmd: EvalCommand): boolean {
    return cmd.legacy.ordered || cmd.expects.some((e) => e.type === 'ordered');
  }

  private checkFailure(cmd: EvalCommand, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (cmd.expectedFailMessage !== undefined && cmd.expectedFailMessage !== message) {
      throw new Error(`expected error ${JSON.stringify(cmd.expectedFailMessage)}, got ${JSON.stringify(message)}`);
    }
    if (cmd.expectedFailRegexp && !cmd.expectedFailRegexp.test(message)) {
      throw new Error(`expected error matching ${cmd.expectedFailRegexp}, got ${JSON.stringify(message)}`);
    }
    const fail = cmd.expects.find((e) => e.type === 'fail');
    if (fail) {
      const ok = fail.message !== undefined ? fail.message === message : fail.regex ? fail.regex.test(message) : true;
      if (!ok) throw new Error(`expected error matching ${JSON.stringify(fail.message ?? String(fail.regex))}, got ${JSON.stringify(message)}`);
    }
  }

  private checkAnnotations(cmd: EvalCommand, res: PromqlResult): void {
    const strip = (s: string): string => s.replace(/ \(\d+:\d+\)$/, '');
    const warnings = res.warnings.map(strip);
    const infos = res.infos.map(strip);
    if (cmd.legacy.warn && warnings.length === 0) throw new Error('expected warnings but got none');
    if (cmd.legacy.info && infos.length === 0) throw new Error('expected info annotations but got none');
    const matches = (e: { message?: string; regex?: RegExp }, s: string): boolean =>
      e.message !== undefined ? e.message === s : e.regex ? e.regex.test(s) : true;
    for (const [type, actual] of [
      ['warn', warnings],
      ['info', infos],
    ] as const) {
      const expected = cmd.expects.filter((e) => e.type === type);
      if (expected.length === 0) continue;
      if (actual.length === 0) throw new Error(`expected ${type} annotations but none were found`);
      for (const e of expected) {
        if (!actual.some((a) => matches(e, a))) throw new Error(`expected ${type} annotation ${e.message ?? String(e.regex)}, found ${JSON.stringify(actual)}`);
      }
      for (const a of actual) {
        if (!expected.some((e) => matches(e, a))) throw new Error(`unexpected ${type} annotation ${JSON.stringify(a)}`);
      }
    }
    if (cmd.expects.some((e) => e.type === 'no_warn') && warnings.length > 0) throw new Error(`unexpected warnings ${JSON.stringify(warnings)}`);
    if (cmd.expects.some((e) => e.type === 'no_info') && infos.length > 0) throw new Error(`unexpected infos ${JSON.stringify(infos)}`);
  }

  private async execRange(cmd: EvalCommand): Promise<void> {
    let res: PromqlResult;
    try {
      res = await this.engine.rangeQuery({ tenant: this.tenant, query: cmd.query, startMs: cmd.startMs, endMs: cmd.endMs, stepMs: cmd.stepMs });
    } catch (error) {
      if (this.isFail(cmd)) return this.checkFailure(cmd, error);
      throw error;
    }
    if (this.isFail(cmd)) throw new Error('expected error but got none');
    this.checkAnnotations(cmd, res);
    this.compare(cmd, res.value, cmd.startMs, cmd.stepMs, cmd.endMs);
  }

  private async execInstant(cmd: EvalCommand): Promise<void> {
    const variants: { expr: Expr | undefined; timeMs: number; text: string }[] = [{ expr: undefined, timeMs: cmd.timeMs, text: cmd.query }];
    let parsed: Expr | undefined;
    try {
      parsed = parsePromql(cmd.query, { enableExperimentalFunctions: true });
    } catch {
      parsed = undefined;
    }
    {
      if (parsed && !callsAtUnsafe(parsed)) {
        const withAt = setAtModifiers(structuredClone(parsed), cmd.timeMs);
        const ts = cmd.timeMs;
        const times = ts === 0 ? [-1000, 0, 1000] : [-10 * ts, 0, Math.trunc(ts / 5), ts, 10 * ts];
        for (const t of times) variants.push({ expr: withAt, timeMs: t, text: `${cmd.query} (with @ ${ts / 1000}, evaluated at ${t / 1000}s)` });
      }
    }
    for (const v of variants) await this.runInstant(cmd, v);
  }

  private async runInstant(cmd: EvalCommand, v: { expr: Expr | undefined; timeMs: number; text: string }): Promise<void> {
    let res: PromqlResult;
    try {
      res = v.expr
        ? await this.engine.instantQueryAst({ tenant: this.tenant, expr: structuredClone(v.expr), timeMs: v.timeMs, query: cmd.query })
        : await this.engine.instantQuery({ tenant: this.tenant, query: cmd.query, timeMs: v.timeMs });
    } catch (error) {
      if (this.isFail(cmd)) return this.checkFailure(cmd, error);
      throw new Error(`${v.text}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (this.isFail(cmd)) throw new Error(`${v.text}: expected error but got none`);
    this.checkAnnotations(cmd, res);
    try {
      this.compare(cmd, res.value, cmd.startMs, cmd.stepMs, cmd.endMs);
    } catch (error) {
      throw new Error(`${v.text}: ${(error as Error).message}`);
    }
    if (cmd.excludeFromRangeQuery || QUERY_CONTEXT_FUNCS.test(cmd.query)) return;
    const range = v.expr
      ? await this.engine.rangeQueryAst({ tenant: this.tenant, expr: structuredClone(v.expr), startMs: v.timeMs - 60_000, endMs: v.timeMs + 60_000, stepMs: 60_000 })
      : await this.engine.rangeQuery({ tenant: this.tenant, query: cmd.query, startMs: v.timeMs - 60_000, endMs: v.timeMs + 60_000, stepMs: 60_000 });
    if (this.isOrdered(cmd)) return;
    if (range.value.type !== 'matrix') throw new Error(`${v.text} range mode: expected a matrix`);
    const samples: { labels: Labels; timestampMs: number; value: number }[] = [];
    for (const s of range.value.series) {
      const p = s.points.find((q) => q.timestampMs === v.timeMs);
      if (p) samples.push({ labels: s.labels, timestampMs: p.timestampMs, value: p.value });
    }
    try {
      if (res.value.type === 'scalar') this.compare(cmd, { type: 'scalar', timestampMs: v.timeMs, value: samples[0]?.value ?? NaN }, 0, 0, 0);
      else this.compare(cmd, { type: 'vector', samples }, 0, 0, 0);
    } catch (error) {
      throw new Error(`${v.text} range mode: ${(error as Error).message}`);
    }
  }

  private compare(cmd: EvalCommand, value: PromqlValue, startMs: number, stepMs: number, endMs: number): void {
    const ordered = this.isOrdered(cmd);
    const expectedByKey = new Map(cmd.expected.map((e) => [labelsKey(e.labels), e]));
    switch (value.type) {
      case 'string':
        if (cmd.expectString === undefined || cmd.expectString !== value.value) throw new Error(`expected string ${JSON.stringify(cmd.expectString)}, got ${JSON.stringify(value.value)}`);
        return;
      case 'scalar': {
        if (cmd.expectScalar === undefined) throw new Error(`expected vector or matrix result, but got scalar ${value.value}`);
        if (!almostEqual(cmd.expectScalar, value.value)) throw new Error(`expected scalar ${cmd.expectScalar} but got ${value.value}`);
        return;
      }
      case 'vector': {
        if (cmd.expectScalar !== undefined) throw new Error(`expected scalar result, but got vector`);
        const seen = new Set<string>();
        value.samples.forEach((s, i) => {
          const key = labelsKey(s.labels);
          const exp = expectedByKey.get(key);
          if (!exp) throw new Error(`unexpected metric ${fmtLabels(s.labels)} in result, has value ${s.value}; result: ${value.samples.map((x) => `${fmtLabels(x.labels)} ${x.value}`).join(", ")}`);
          if (ordered && exp.pos !== i + 1) throw new Error(`expected metric ${fmtLabels(s.labels)} at position ${exp.pos} but was at ${i + 1}`);
          const e0 = exp.values[0];
          if (!e0 || e0.kind !== 'value') throw new Error(`expected ${e0?.kind ?? 'nothing'} for ${fmtLabels(s.labels)}`);
          if (!almostEqual(e0.value, s.value)) throw new Error(`expected ${e0.value} for ${fmtLabels(s.labels)} but got ${s.value}`);
          seen.add(key);
        });
        for (const [key, e] of expectedByKey) if (!seen.has(key)) throw new Error(`expected metric ${fmtLabels(e.labels)} not found`);
        return;
      }
      case 'matrix': {
        if (ordered) throw new Error('expected ordered result, but query returned a matrix');
        if (cmd.expectScalar !== undefined) throw new Error('expected scalar result, but got matrix');
        const seen = new Set<string>();
        for (const s of value.series) {
          const key = labelsKey(s.labels);
          const exp = expectedByKey.get(key);
          if (!exp) throw new Error(`unexpected metric ${fmtLabels(s.labels)} in result, has ${s.points.map((p) => `${p.value} @${p.timestampMs}`).join(' ')}`);
          seen.add(key);
          const want: { t: number; v: SeqValue }[] = [];
          exp.values.forEach((v, i) => {
            const t = startMs + i * stepMs;
            if (t > endMs) throw new Error(`expected ${exp.values.length} points for ${fmtLabels(s.labels)}, but query time range cannot return this many points`);
            if (v.kind !== 'omitted') want.push({ t, v });
          });
          if (want.length !== s.points.length) {
            throw new Error(`expected ${want.length} points for ${fmtLabels(s.labels)}, got ${s.points.map((p) => `${p.value} @${p.timestampMs}`).join(' ')}`);
          }
          want.forEach((w, i) => {
            const p = s.points[i]!;
            if (w.v.kind !== 'value') throw new Error(`expected ${w.v.kind} at ${w.t} for ${fmtLabels(s.labels)}`);
            if (p.timestampMs !== w.t) throw new Error(`expected point ${i} of ${fmtLabels(s.labels)} at ${w.t}, got ${p.timestampMs}`);
            if (!almostEqual(w.v.value, p.value)) throw new Error(`expected ${w.v.value} at t=${w.t} for ${fmtLabels(s.labels)}, got ${p.value}`);
          });
        }
        for (const [key, e] of expectedByKey) if (!seen.has(key)) throw new Error(`expected metric ${fmtLabels(e.labels)} not found`);
        return;
      }
    }
  }
}

/** Sets `@ <eval time>` on every selector and subquery not under a subquery that has one (harness's atModifierTestCases). */
function setAtModifiers(expr: Expr, timeMs: number): Expr {
  const visit = (e: Expr, underAtSubquery: boolean): void => {
    switch (e.kind) {
      case 'VectorSelector':
        if (!underAtSubquery && !e.at) e.at = { kind: 'timestamp', ms: timeMs };
        return;
      case 'MatrixSelector':
        if (!underAtSubquery && !e.vectorSelector.at) e.vectorSelector.at = { kind: 'timestamp', ms: timeMs };
        return;
      case 'Subquery': {
        const had = e.at !== undefined;
        if (!underAtSubquery && !e.at) e.at = { kind: 'timestamp', ms: timeMs };
        visit(e.expr, underAtSubquery || had);
        return;
      }
      case 'Aggregate':
        visit(e.expr, underAtSubquery);
        if (e.param) visit(e.param, underAtSubquery);
        return;
      case 'Binary':
        visit(e.lhs, underAtSubquery);
        visit(e.rhs, underAtSubquery);
        return;
      case 'Call':
        for (const a of e.args) visit(a, underAtSubquery);
        return;
      case 'Unary':
      case 'Paren':
        visit(e.expr, underAtSubquery);
        return;
      default:
        return;
    }
  };
  visit(expr, false);
  return expr;
}

function resolveFiles(args: string[]): string[] {
  const dirs = readdirSync(SHARED).filter((d) => d.startsWith('prometheus-v'));
  const dir = join(SHARED, dirs.sort().at(-1) ?? '');
  if (args.length === 0) return readdirSync(dir).filter((f) => f.endsWith('.test')).sort().map((f) => join(dir, f));
  return args.map((a) => (existsSync(a) ? resolve(a) : join(dir, a.endsWith('.test') ? a : `${a}.test`)));
}

export async function runFiles(files: string[], onFile?: (r: FileResult) => void): Promise<FileResult[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lookout-promql-conformance-'));
  // Long enough for samples near 1970, short enough that the DateTime TTL arithmetic does not overflow 2106.
  // The metric head's window spans the whole retention, so every read goes through the head.
  const storage = await openStorage({ dataDir, retention: { logs: 1, traces: 1, metrics: 40_000 }, head: { windowMs: 40_000 * 86_400_000, maxSamples: 50_000_000 } });
  const engine = createPromqlEngineWithAst({
    querier: storage.series,
    enableExperimentalFunctions: true,
    lookbackDeltaMs: 5 * 60_000,
    defaultSubqueryStepMs: 60_000,
    timeoutMs: 100_000,
    maxSamples: 50_000_000,
  });
  const results: FileResult[] = [];
  try {
    for (const path of files) {
      const file = basename(path);
      let cases: CaseResult[];
      try {
        const commands = parseScript(readFileSync(path, 'utf8'));
        cases = await new ScriptRunner(storage, engine, file).run(commands);
      } catch (error) {
        cases = [{ line: 0, query: '(script)', passed: false, nativeHistogram: false, error: `script error: ${(error as Error).message}` }];
      }
      const r = { file, cases };
      results.push(r);
      onFile?.(r);
    }
  } finally {
    await storage.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return results;
}

function floatCounts(r: FileResult): { passed: number; total: number; histPassed: number; histTotal: number } {
  const floats = r.cases.filter((c) => !c.nativeHistogram);
  const hist = r.cases.filter((c) => c.nativeHistogram);
  return {
    passed: floats.filter((c) => c.passed).length,
    total: floats.length,
    histPassed: hist.filter((c) => c.passed).length,
    histTotal: hist.length,
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  const check = argv.includes('--check');
  const record = argv.includes('--record');
  const named = argv.filter((a) => !a.startsWith('-'));
  // --check without files runs just the required files (what CI gates on).
  const files = resolveFiles(named.length === 0 && check ? REQUIRED : named);
  let passed = 0;
  let total = 0;
  const counts: Record<string, number> = {};
  const results = await runFiles(files, (r) => {
    const c = floatCounts(r);
    passed += c.passed;
    total += c.total;
    counts[r.file] = c.passed;
    const required = REQUIRED.includes(r.file) ? '' : ' (later: native histograms / experimental)';
    const hist = c.histTotal > 0 ? `; native-histogram cases ${c.histPassed}/${c.histTotal}` : '';
    console.log(`${r.file}: ${c.passed}/${c.total}${hist}${required}`);
    if (verbose) {
      for (const k of r.cases.filter((x) => !x.passed)) console.log(`  line ${k.line}${k.nativeHistogram ? ' [native histogram]' : ''}: ${k.query}\n    ${k.error}`);
    }
  });
  console.log(`total: ${passed}/${total}`);
  if (record) {
    const recorded = Object.fromEntries(REQUIRED.filter((f) => f in counts).map((f) => [f, counts[f]]));
    const previous = existsSync(COUNTS_FILE) ? (JSON.parse(readFileSync(COUNTS_FILE, 'utf8')) as Record<string, number>) : {};
    writeFileSync(COUNTS_FILE, `${JSON.stringify({ ...previous, ...recorded }, null, 2)}\n`);
  }
  if (check) {
    const recorded = JSON.parse(readFileSync(COUNTS_FILE, 'utf8')) as Record<string, number>;
    let regressed = false;
    for (const r of results) {
      const want = recorded[r.file];
      if (want === undefined) continue;
      const got = floatCounts(r).passed;
      if (got < want) {
        console.error(`REGRESSION ${r.file}: ${got} passed, recorded ${want}`);
        regressed = true;
      }
    }
    if (regressed) process.exitCode = 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
