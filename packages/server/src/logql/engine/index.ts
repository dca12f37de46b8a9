/**
 * The LogQL evaluator. Stream matchers, time range and the line filters that look at the stored
 * line are pushed down to storage (LogQuerier.selectLogEntries); count/bytes range aggregations
 * over such selections are computed in storage per bucket (countLogBuckets). Everything else —
 * parsers, label filters, formatting, unwrap — runs here, one line at a time.
 */
import { expandRe2Template, sortedLabelEntries, type Labels } from '../../model/index.js';
import type { LogLineFilter, LogQuerier, LogStreamSelect } from '../../storage/index.js';
import type { BinaryExpr, Grouping, LogSelector, MetricExpr, RangeAggregation, Stage, VectorAggregation } from '../ast.js';
import { LogqlError, LogqlParseError } from '../errors.js';
import { parseLogql, splitPattern } from '../parser/index.js';
import { compileRe2 } from '../regex.js';
import type { LogEntryResult, LogqlEngine, LogqlEngineOptions, LogqlQuery, LogqlResult, LogqlValue } from '../types.js';
import { ERROR_LABEL, LabelsBuilder } from './labels.js';
import { compilePipeline, compileUnwrap, type LineContext } from './pipeline.js';
import { TemplateError } from './template.js';

const DEFAULT_MAX_SERIES = 500;
const DEFAULT_MAX_ENTRIES = 5000;
/** Most buckets a count pushdown may ask for before the engine counts in Node instead. */
const MAX_BUCKETS = 1_000_000;

interface Stats {
  bytes: number;
  lines: number;
}

interface Run {
  q: LogqlQuery;
  logs: LogQuerier;
  stats: Stats;
  maxSeries: number;
  deadline: number;
  aggregatePushdown: boolean;
  /** Step times in ns, ascending. */
  steps: bigint[];
  stepNs: bigint;
}

/** A metric result: per series, one value (or undefined) per step. */
interface Series {
  labels: Labels;
  values: (number | undefined)[];
}
type Evaluated = { kind: 'vector'; series: Series[] } | { kind: 'scalar'; values: number[] };

export function createLogqlEngine(options: LogqlEngineOptions): LogqlEngine {
  const maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES;
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  return {
    async query(q: LogqlQuery): Promise<LogqlResult> {
      const started = performance.now();
      const expr = parseLogql(q.query);
      const stats: Stats = { bytes: 0, lines: 0 };
      const timeoutMs = options.timeoutMs ?? Infinity;
      let value: LogqlValue;
      if (expr.kind === 'log') {
        if (q.instant) {
          throw new LogqlError('LOOKOUT_ERR_LOGQL_BAD_QUERY', 'log queries are not supported as an instant query type, please change your query to a range query type');
        }
        if (q.limit > maxEntries) throw new LogqlError('LOOKOUT_ERR_LOGQL_LIMIT', `max entries limit per query exceeded, limit > max_entries_limit_per_query (${q.limit} > ${maxEntries})`);
        value = await selectLogs(expr, q, options.logs, stats, started + timeoutMs);
      } else {
        const stepNs = q.instant ? 0n : BigInt(Math.max(1, Math.round(q.stepMs ?? 1000))) * 1_000_000n;
        const steps: bigint[] = [];
        if (q.instant) steps.push(q.endNs);
        else {
          if (q.endNs < q.startNs) throw new LogqlError('LOOKOUT_ERR_LOGQL_BAD_QUERY', 'end timestamp must not be before start time');
          if ((q.endNs - q.startNs) / stepNs > 11000n) {
            throw new LogqlError('LOOKOUT_ERR_LOGQL_BAD_QUERY', 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
          }
          for (let t = q.startNs; t <= q.endNs; t += stepNs) steps.push(t);
        }
        const run: Run = { q, logs: options.logs, stats, maxSeries, deadline: started + timeoutMs, steps, stepNs, aggregatePushdown: options.aggregatePushdown ?? true };
        const result = await evaluate(expr, run);
        value = toValue(result, run, expr);
      }
      return {
        value,
        stats: { bytesProcessed: stats.bytes, linesProcessed: stats.lines, execTimeSeconds: (performance.now() - started) / 1000 },
      };
    },
  };
}

function checkDeadline(q: LogqlQuery, deadline: number): void {
  if (q.signal?.aborted) throw new LogqlError('LOOKOUT_ERR_LOGQL_TIMEOUT', 'context canceled');
  if (performance.now() > deadline) throw new LogqlError('LOOKOUT_ERR_LOGQL_TIMEOUT', 'context deadline exceeded');
}

// --- pushdown planning ---

const LINE_CHANGING = new Set<Stage['kind']>(['line_format', 'decolorize', 'unpack']);

/**
 * Splits a pipeline into the line filters storage can apply (those before any stage that
 * rewrites the line) and the stages left for Node. `|>` is pushed as a LIKE pre-filter and
 * kept in Node, where its exact semantics apply; `ip()` stays in Node.
 */
export function planPushdown(stages: Stage[]): { filters: LogLineFilter[]; rest: Stage[]; exact: boolean } {
  const filters: LogLineFilter[] = [];
  const rest: Stage[] = [];
  let lineChanged = false;
  let errorsPossible = false;
  for (const stage of stages) {
    if (LINE_CHANGING.has(stage.kind)) lineChanged = true;
    // `drop __error__` before any stage that can set an error is a no-op (Grafana's volume query).
    if (stage.kind === 'drop' && !errorsPossible && stage.labels.every((l) => l.name === ERROR_LABEL || l.name === '__error_details__')) continue;
    if (stage.kind !== 'line_filter' && stage.kind !== 'decolorize' && stage.kind !== 'drop' && stage.kind !== 'keep') errorsPossible = true;
    if (stage.kind !== 'line_filter' || lineChanged || stage.values.some((v) => v.kind === 'ip')) {
      rest.push(stage);
      continue;
    }
    const values = stage.values.map((v) => v.value);
    switch (stage.op) {
      case '|=':
      case '!=':
        filters.push({ negate: stage.op === '!=', kind: 'contains', values });
        break;
      case '|~':
      case '!~':
        filters.push({ negate: stage.op === '!~', kind: 'regex', values });
        break;
      case '|>':
        filters.push({ negate: false, kind: 'like', values: values.map(patternToLike) });
        rest.push(stage);
        break;
      default:
        rest.push(stage);
    }
  }
  return { filters, rest, exact: rest.length === 0 };
}

/** A LIKE pattern accepting every line the Loki pattern accepts (a pre-filter, not exact). */
export function patternToLike(pattern: string): string {
  return splitPattern(pattern)
    .map((p) => (p.kind === 'capture' ? '%' : p.text.replace(/[\\%_]/g, (c) => '\\' + c)))
    .join('');
}

function compileStages(stages: Stage[]): (ctx: LineContext) => boolean {
  try {
    return compilePipeline(stages);
  } catch (error) {
    if (error instanceof TemplateError) throw new LogqlParseError(error.message);
    throw error;
  }
}

// --- log queries ---

async function selectLogs(sel: LogSelector, q: LogqlQuery, logs: LogQuerier, stats: Stats, deadline: number): Promise<LogqlValue> {
  const plan = planPushdown(sel.stages);
  const pipeline = compileStages(plan.rest);
  const streams = new Map<string, { stream: Labels; entries: LogEntryResult[] }>();
  let count = 0;
  const select: LogStreamSelect = {
    tenant: q.tenant,
    matchers: sel.matchers,
    lineFilters: plan.filters,
    startNs: q.startNs,
    endNs: q.endNs,
    direction: q.direction,
  };
  // Without Node-side filtering the limit can be applied in storage.
  const filtersInNode = plan.rest.some((s) => s.kind === 'line_filter' || s.kind === 'label_filter');
  if (!filtersInNode && !q.intervalMs) select.limit = q.limit;
  if (q.limit <= 0) return { type: 'streams', streams: [] };
  const lastPerStream = new Map<string, bigint>();
  const intervalNs = q.intervalMs ? BigInt(Math.round(q.intervalMs * 1e6)) : 0n;
  await logs.selectLogEntries(select, (page) => {
    checkDeadline(q, deadline);
    for (const entry of page) {
      stats.lines++;
      stats.bytes += Buffer.byteLength(entry.line);
      const ctx: LineContext = { timestampNs: entry.timestampNs, line: entry.line, labels: new LabelsBuilder(entry.streamLabels, entry.structuredMetadata) };
      if (!pipeline(ctx)) continue;
      const labels = ctx.labels.all();
      const key = labelsKey(labels);
      if (intervalNs > 0n) {
        // Loki's `interval`: at most one entry per stream per interval.
        const last = lastPerStream.get(key);
        if (last !== undefined && (q.direction === 'forward' ? entry.timestampNs - last : last - entry.timestampNs) < intervalNs) continue;
        lastPerStream.set(key, entry.timestampNs);
      }
      let stream = streams.get(key);
      if (!stream) streams.set(key, (stream = { stream: labels, entries: [] }));
      stream.entries.push({
        timestampNs: entry.timestampNs,
        line: ctx.line,
        structuredMetadata: ctx.labels.metadataResult(),
        parsed: ctx.labels.parsedResult(),
      });
      if (++count >= q.limit) return false;
    }
    return true;
  });
  return { type: 'streams', streams: [...streams.values()] };
}

// --- metric queries ---

function labelsKey(labels: Labels): string {
  return JSON.stringify(sortedLabelEntries(labels));
}

async function evaluate(expr: MetricExpr, run: Run): Promise<Evaluated> {
  switch (expr.kind) {
    case 'literal':
      return { kind: 'scalar', values: run.steps.map(() => expr.value) };
    case 'vector':
      return { kind: 'vector', series: [{ labels: {}, values: run.steps.map(() => expr.value) }] };
    case 'range_agg':
      return { kind: 'vector', series: limitSeries(await rangeAggregation(expr, run), run) };
    case 'vector_agg': {
      const pushed = await sumByPushdown(expr, run);
      if (pushed) return pushed;
      const inner = expr.expr;
      if (expr.op === 'sum' && inner.kind === 'range_agg' && BUCKETED.has(inner.op) && !inner.grouping) {
        // A sum of window sums is the window sum of the merged samples: group lines by the
        // summed labels while reading, instead of keeping a series per parsed label set.
        const merged = await rangeAggregation(inner, run, expr.grouping ?? { without: false, labels: [] });
        return vectorAggregation(expr, { kind: 'vector', series: merged }, run);
      }
      return vectorAggregation(expr, await evaluate(expr.expr, run), run);
    }
    case 'binary': {
      const [lhs, rhs] = await Promise.all([evaluate(expr.lhs, run), evaluate(expr.rhs, run)]);
      return binary(expr, lhs, rhs, run);
    }
    case 'label_replace': {
      const inner = await evaluate(expr.expr, run);
      if (inner.kind === 'scalar') return inner;
      const re = compileRe2(expr.regex, { anchored: true });
      const series = inner.series.map((s) => {
        const m = re.exec(s.labels[expr.src] ?? '');
        if (!m) return s;
        const value = expandRe2Template(expr.replacement, m);
        const labels = { ...s.labels };
        if (value === '') delete labels[expr.dst];
        else labels[expr.dst] = value;
        return { labels, values: s.values };
      });
      return { kind: 'vector', series: mergeSeries(series) };
    }
  }
}

function limitSeries(series: Series[], run: Run): Series[] {
  if (series.length > run.maxSeries) {
    throw new LogqlError(
      'LOOKOUT_ERR_LOGQL_LIMIT',
      `maximum number of series (${run.maxSeries}) reached for a single query; consider reducing query cardinality by adding more specific stream selectors, reducing the time range, or aggregating results with functions like sum(), count() or topk()`,
    );
  }
  return series;
}

function mergeSeries(series: Series[]): Series[] {
  const byKey = new Map<string, Series>();
  for (const s of series) {
    const key = labelsKey(s.labels);
    const prev = byKey.get(key);
    if (!prev) byKey.set(key, s);
    else {
      if (s.values.some((v, i) => v !== undefined && prev.values[i] !== undefined)) {
        throw new LogqlError('LOOKOUT_ERR_LOGQL_BAD_QUERY', 'vector cannot contain metrics with the same labelset');
      }
      prev.values = prev.values.map((v, i) => v ?? s.values[i]);
    }
  }
  return [...byKey.values()];
}

function pipelineError(labels: Labels): LogqlError {
  const kind = labels[ERROR_LABEL]!;
  const metric = `{${sortedLabelEntries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`;
  return new LogqlError(
    'LOOKOUT_ERR_LOGQL_BAD_QUERY',
    `pipeline error: '${kind}' for series: '${metric}'.\n` +
      `Use a label filter to intentionally skip this error. (e.g | __error__!="${kind}").\n` +
      `To skip all potential errors you can match empty errors.(e.g __error__="")\n` +
      `The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__="" )\n`,
  );
}

function groupLabels(labels: Labels, grouping: Grouping | undefined): Labels {
  if (!grouping) return labels;
  const out: Labels = {};
  if (grouping.without) {
    for (const [k, v] of Object.entries(labels)) if (!grouping.labels.includes(k)) out[k] = v;
  } else {
    for (const name of grouping.labels) if (labels[name] !== undefined && labels[name] !== '') out[name] = labels[name]!;
  }
  return out;
}

const BUCKETED = new Set(['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate', 'sum_over_time']);

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

async function rangeAggregation(expr: RangeAggregation, run: Run, preGrouping?: Grouping): Promise<Series[]> {
  const rangeNs = BigInt(Math.round(expr.rangeMs * 1e6));
  const offsetNs = BigInt(Math.round(expr.offsetMs * 1e6));
  const first = run.steps[0]!;
  const last = run.steps[run.steps.length - 1]!;
  const origin = first - offsetNs - rangeNs;
  const bucketNs = run.stepNs === 0n ? rangeNs : gcd(run.stepNs, rangeNs);
  const bucketCount = (last - first + rangeNs) / bucketNs;
  const rangeSeconds = expr.rangeMs / 1000;
  const plan = planPushdown(expr.selector.stages);
  const bucketed = BUCKETED.has(expr.op) && (expr.op !== 'sum_over_time' || expr.unwrap !== undefined) && bucketCount <= BigInt(MAX_BUCKETS);
  const bytesOp = expr.op === 'bytes_over_time' || expr.op === 'bytes_rate';
  const select = { tenant: run.q.tenant, matchers: expr.selector.matchers, lineFilters: plan.filters, startNs: origin + 1n, endNs: last - offsetNs + 1n };

  // Per series: sparse bucket sums (bucketed ops) or the raw samples.
  const acc = new Map<string, { labels: Labels; buckets: Map<number, number>; ts: number[]; vals: number[] }>();
  const seriesFor = (labels: Labels) => {
    const key = labelsKey(labels);
    let s = acc.get(key);
    if (!s) {
      acc.set(key, (s = { labels, buckets: new Map(), ts: [], vals: [] }));
      // A memory guard: far more series than a query may return cannot end well.
      if (acc.size > run.maxSeries * 100) limitSeries(new Array(acc.size) as Series[], run);
    }
    return s;
  };

  // Whole aggregation in storage when it can: counts and bytes per stream and bucket.
  const rows =
    run.aggregatePushdown && bucketed && plan.exact && !expr.unwrap && expr.op !== 'sum_over_time'
      ? await run.logs.countLogBuckets({ ...select, originNs: origin, bucketNs, bytes: bytesOp })
      : undefined;
  if (rows) {
    for (const row of rows) {
      const all = { ...row.streamLabels, ...row.structuredMetadata };
      for (const k of Object.keys(all)) if (all[k] === '') delete all[k];
      const s = seriesFor(groupLabels(all, preGrouping));
      for (const b of row.buckets) {
        run.stats.lines += b.count;
        run.stats.bytes += b.bytes;
        s.buckets.set(b.index, (s.buckets.get(b.index) ?? 0) + (bytesOp ? b.bytes : b.count));
      }
    }
  } else {
    const pipeline = compileStages(plan.rest);
    const unwrap = expr.unwrap ? compileUnwrap(expr.unwrap) : undefined;
    let pipelineErr: LogqlError | undefined;
    await run.logs.selectLogEntries({ ...select, direction: 'forward' }, (page) => {
      checkDeadline(run.q, run.deadline);
      for (const entry of page) {
        run.stats.lines++;
        run.stats.bytes += Buffer.byteLength(entry.line);
        const ctx: LineContext = { timestampNs: entry.timestampNs, line: entry.line, labels: new LabelsBuilder(entry.streamLabels, entry.structuredMetadata) };
        if (!pipeline(ctx)) continue;
        let value: number;
        if (unwrap) {
          const v = unwrap(ctx);
          if (v === undefined) continue;
          value = v;
        } else value = bytesOp ? Buffer.byteLength(ctx.line) : 1;
        const all = ctx.labels.all();
        if (all[ERROR_LABEL] !== undefined && all.__preserve_error__ !== 'true') {
          pipelineErr = pipelineError(all);
          return false;
        }
        const labels = groupLabels(all, preGrouping ?? expr.grouping);
        const s = seriesFor(labels);
        const rel = entry.timestampNs - origin;
        if (bucketed) {
          const idx = Number((rel + bucketNs - 1n) / bucketNs);
          s.buckets.set(idx, (s.buckets.get(idx) ?? 0) + value);
        } else {
          s.ts.push(Number(rel));
          s.vals.push(value);
        }
      }
      return true;
    });
    if (pipelineErr) throw pipelineErr;
  }

  const out: Series[] = [];
  const stepOffsets = run.steps.map((t) => t - first);
  if (expr.op === 'absent_over_time') {
    const values = stepOffsets.map((off) => {
      const lo = Number(off);
      const hi = Number(off + rangeNs);
      for (const s of acc.values()) {
        if (bucketed) continue;
        if (s.ts.some((t) => t > lo && t <= hi)) return undefined;
      }
      return 1;
    });
    const labels: Labels = {};
    const seen = new Set<string>();
    for (const m of expr.selector.matchers) {
      if (m.type !== '=') continue;
      if (seen.has(m.name)) delete labels[m.name];
      else labels[m.name] = m.value;
      seen.add(m.name);
    }
    if (values.some((v) => v !== undefined)) out.push({ labels, values });
    return out;
  }

  for (const s of acc.values()) {
    const values: (number | undefined)[] = [];
    if (bucketed) {
      const per = Number(rangeNs / bucketNs);
      const stepBuckets = run.stepNs === 0n ? 0 : Number(run.stepNs / bucketNs);
      for (let k = 0; k < run.steps.length; k++) {
        let sum = 0;
        let any = false;
        const from = k * stepBuckets + 1;
        for (let i = from; i < from + per; i++) {
          const b = s.buckets.get(i);
          if (b !== undefined) {
            sum += b;
            any = true;
          }
        }
        if (!any) values.push(undefined);
        else values.push(expr.op === 'rate' || expr.op === 'bytes_rate' ? sum / rangeSeconds : sum);
      }
    } else {
      let lo = 0;
      let hi = 0;
      for (const off of stepOffsets) {
        const start = Number(off);
        const end = Number(off + rangeNs);
        while (lo < s.ts.length && s.ts[lo]! <= start) lo++;
        if (hi < lo) hi = lo;
        while (hi < s.ts.length && s.ts[hi]! <= end) hi++;
        if (hi === lo) {
          values.push(undefined);
          continue;
        }
        values.push(applyRangeOp(expr, s.vals.slice(lo, hi), s.ts.slice(lo, hi), end, Number(rangeNs)));
      }
    }
    if (values.some((v) => v !== undefined)) out.push({ labels: s.labels, values });
  }
  return out;
}

/**
 * `sum by (l...) (count_over_time|rate|bytes_over_time|bytes_rate({...} <line filters>
 * [| json [| __error__=""]] [range]))`: only the summed-by labels of each line matter, so
 * storage resolves those (metadata, stream label, top-level JSON field) and counts per bucket
 * and group; no line comes to Node and no series per label set is built. Names with `_` could
 * also come from nested JSON objects (a_b from {"a":{"b":..}}) or sanitised keys, so only
 * plain names qualify. Returns undefined when the query does not have this shape, or when a
 * line that is not JSON would make Loki fail the query (the Node path then reports Loki's error),
 * or when storage declines (JSON numbers it cannot give as written).
 */
async function sumByPushdown(expr: VectorAggregation, run: Run): Promise<Evaluated | undefined> {
  const inner = expr.expr;
  if (!run.aggregatePushdown || expr.op !== 'sum' || !expr.grouping || expr.grouping.without || inner.kind !== 'range_agg') return undefined;
  if (!['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate'].includes(inner.op) || inner.unwrap || inner.grouping) return undefined;
  if (!expr.grouping.labels.every((l) => /^[a-zA-Z][a-zA-Z0-9]*$/.test(l))) return undefined;
  // `| drop __error__[, __error_details__]` (Grafana's logs-volume query) removes the error
  // label: with no parser it does nothing, after json it makes non-JSON lines count normally.
  const dropsErrorLabel = (s: Stage) =>
    s.kind === 'drop' && s.labels.every((l) => !l.matcher && (l.name === ERROR_LABEL || l.name === '__error_details__')) && s.labels.some((l) => l.name === ERROR_LABEL);
  const original = inner.selector.stages;
  const jsonAt0 = original.findIndex((s) => s.kind === 'json');
  const dropAt = original.findIndex((s, i) => i > jsonAt0 && jsonAt0 !== -1 && dropsErrorLabel(s));
  const filterAt = original.findIndex((s) => s.kind === 'label_filter');
  // Dropped before any `__error__=""` filter sees it: non-JSON lines stay and count.
  const errorLabelDropped = dropAt !== -1 && (filterAt === -1 || dropAt < filterAt);
  const stages = original.filter((s) => !dropsErrorLabel(s));
  const jsonAt = stages.findIndex((s) => s.kind === 'json');
  if (jsonAt !== -1) {
    const json = stages[jsonAt]!;
    if (json.kind !== 'json' || json.extractions.length > 0) return undefined;
  }
  const before = planPushdown(jsonAt === -1 ? stages : stages.slice(0, jsonAt));
  if (!before.exact) return undefined;
  const after = jsonAt === -1 ? [] : stages.slice(jsonAt + 1);
  const dropsErrors =
    after.length === 1 &&
    after[0]!.kind === 'label_filter' &&
    after[0]!.filter.kind === 'matcher' &&
    after[0]!.filter.matcher.name === ERROR_LABEL &&
    after[0]!.filter.matcher.type === '=' &&
    after[0]!.filter.matcher.value === '';
  if (after.length > 0 && !dropsErrors) return undefined;

  const w = windows(inner, run);
  if (w.bucketCount > BigInt(MAX_BUCKETS)) return undefined;
  const rows = await run.logs.countLogBuckets({
    tenant: run.q.tenant,
    matchers: inner.selector.matchers,
    lineFilters: before.filters,
    startNs: w.origin + 1n,
    endNs: w.lastEnd + 1n,
    originNs: w.origin,
    bucketNs: w.bucketNs,
    bytes: inner.op === 'bytes_over_time' || inner.op === 'bytes_rate',
    groupBy: { labels: expr.grouping.labels, json: jsonAt !== -1 },
  });
  if (!rows) return undefined;
  const bytesOp = inner.op === 'bytes_over_time' || inner.op === 'bytes_rate';
  const groups = new Map<string, { labels: Labels; buckets: Map<number, number> }>();
  for (const row of rows) {
    if (row.jsonInvalid && !errorLabelDropped) {
      if (dropsErrors) continue;
      // Loki fails the query if such a line falls in any window: let the Node path say how.
      if (row.buckets.some((b) => w.bucketInAnyWindow(b.index))) return undefined;
      continue;
    }
    const labels = row.groupLabels ?? {};
    const key = labelsKey(labels);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { labels, buckets: new Map() }));
    for (const b of row.buckets) {
      run.stats.lines += b.count;
      run.stats.bytes += b.bytes;
      g.buckets.set(b.index, (g.buckets.get(b.index) ?? 0) + (bytesOp ? b.bytes : b.count));
    }
  }
  const series: Series[] = [];
  for (const g of groups.values()) {
    const values = w.stepValues(g.buckets, inner.op === 'rate' || inner.op === 'bytes_rate' ? inner.rangeMs / 1000 : 1);
    if (values.some((v) => v !== undefined)) series.push({ labels: g.labels, values });
  }
  return { kind: 'vector', series };
}

/** The bucket grid shared by every window of a range aggregation (see rangeAggregation). */
function windows(expr: RangeAggregation, run: Run) {
  const rangeNs = BigInt(Math.round(expr.rangeMs * 1e6));
  const offsetNs = BigInt(Math.round(expr.offsetMs * 1e6));
  const first = run.steps[0]!;
  const last = run.steps[run.steps.length - 1]!;
  const origin = first - offsetNs - rangeNs;
  const bucketNs = run.stepNs === 0n ? rangeNs : gcd(run.stepNs, rangeNs);
  const per = Number(rangeNs / bucketNs);
  const stepBuckets = run.stepNs === 0n ? 0 : Number(run.stepNs / bucketNs);
  return {
    origin,
    bucketNs,
    lastEnd: last - offsetNs,
    bucketCount: (last - first + rangeNs) / bucketNs,
    bucketInAnyWindow(index: number): boolean {
      if (stepBuckets === 0) return index >= 1 && index <= per;
      const k = Math.floor((index - 1) / stepBuckets);
      for (let step = Math.max(0, k - per); step <= Math.min(run.steps.length - 1, k); step++) {
        const from = step * stepBuckets + 1;
        if (index >= from && index < from + per) return true;
      }
      return false;
    },
    /** Per step: the sum of the window's buckets divided by `divisor`, or undefined when empty. */
    stepValues(buckets: Map<number, number>, divisor: number): (number | undefined)[] {
      const values: (number | undefined)[] = [];
      for (let k = 0; k < run.steps.length; k++) {
        let sum = 0;
        let any = false;
        const from = k * stepBuckets + 1;
        for (let i = from; i < from + per; i++) {
          const b = buckets.get(i);
          if (b !== undefined) {
            sum += b;
            any = true;
          }
        }
        values.push(any ? sum / divisor : undefined);
      }
      return values;
    },
  };
}

function applyRangeOp(expr: RangeAggregation, vals: number[], ts: number[], endRel: number, rangeNs: number): number {
  const n = vals.length;
  switch (expr.op) {
    case 'count_over_time':
      return n;
    case 'rate':
      return (expr.unwrap ? vals.reduce((a, b) => a + b, 0) : n) / (rangeNs / 1e9);
    case 'bytes_over_time':
    case 'sum_over_time':
      return vals.reduce((a, b) => a + b, 0);
    case 'bytes_rate':
      return vals.reduce((a, b) => a + b, 0) / (rangeNs / 1e9);
    case 'avg_over_time': {
      let mean = 0;
      let count = 0;
      for (const v of vals) {
        count++;
        mean += v / count - mean / count;
      }
      return mean;
    }
    case 'min_over_time':
      return vals.reduce((a, b) => (b < a || Number.isNaN(a) ? b : a));
    case 'max_over_time':
      return vals.reduce((a, b) => (b > a || Number.isNaN(a) ? b : a));
    case 'stddev_over_time':
    case 'stdvar_over_time': {
      let count = 0;
      let mean = 0;
      let aux = 0;
      for (const v of vals) {
        count++;
        const delta = v - mean;
        mean += delta / count;
        aux += delta * (v - mean);
      }
      const variance = aux / count;
      return expr.op === 'stddev_over_time' ? Math.sqrt(variance) : variance;
    }
    case 'quantile_over_time':
      return quantile(expr.param!, vals);
    case 'first_over_time':
      return vals[0]!;
    case 'last_over_time':
      return vals[n - 1]!;
    case 'rate_counter':
      return extrapolatedRate(vals, ts, endRel, rangeNs);
    case 'absent_over_time':
      return 1;
  }
}

/** Prometheus' quantile (linear interpolation between closest ranks). */
function quantile(q: number, values: number[]): number {
  if (values.length === 0) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = q * (sorted.length - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(sorted.length - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return sorted[lower]! * (1 - weight) + sorted[upper]! * weight;
}

/** Loki's extrapolatedRate for rate_counter (timestamps in ns relative to a common origin). */
function extrapolatedRate(vals: number[], ts: number[], rangeEnd: number, rangeNs: number): number {
  if (vals.length < 2) return 0;
  const rangeStart = rangeEnd - rangeNs;
  let result = vals[vals.length - 1]! - vals[0]!;
  let lastValue = 0;
  for (const v of vals) {
    if (v < lastValue) result += lastValue;
    lastValue = v;
  }
  let durationToStart = (ts[0]! - rangeStart) / 1e9;
  let durationToEnd = (rangeEnd - ts[ts.length - 1]!) / 1e9;
  const sampledInterval = (ts[ts.length - 1]! - ts[0]!) / 1e9;
  const avg = sampledInterval / (vals.length - 1);
  const threshold = avg * 1.1;
  if (durationToStart >= threshold) durationToStart = avg / 2;
  let durationToZero = durationToStart;
  if (result > 0 && vals[0]! >= 0) durationToZero = sampledInterval * (vals[0]! / result);
  if (durationToZero < durationToStart) durationToStart = durationToZero;
  if (durationToEnd >= threshold) durationToEnd = avg / 2;
  const extrapolateTo = sampledInterval + durationToStart + durationToEnd;
  result = result * (extrapolateTo / sampledInterval);
  return result / (rangeNs / 1e9);
}

function vectorAggregation(expr: VectorAggregation, input: Evaluated, run: Run): Evaluated {
  if (input.kind === 'scalar') throw new LogqlError('LOOKOUT_ERR_LOGQL_BAD_QUERY', `unexpected scalar in ${expr.op}`);
  const series = input.series;
  if (expr.op === 'sort' || expr.op === 'sort_desc') return { kind: 'vector', series };
  if (expr.op === 'topk' || expr.op === 'bottomk') {
    const k = expr.param!;
    const keep = series.map((s) => ({ labels: s.labels, values: s.values.map(() => undefined as number | undefined) }));
    for (let step = 0; step < run.steps.length; step++) {
      const groups = new Map<string, number[]>();
      series.forEach((s, i) => {
        if (s.values[step] === undefined) return;
        const key = labelsKey(groupLabels(s.labels, expr.grouping ?? { without: false, labels: [] }));
        let g = groups.get(key);
        if (!g) groups.set(key, (g = []));
        g.push(i);
      });
      for (const members of groups.values()) {
        members.sort((a, b) => {
          const va = series[a]!.values[step]!;
          const vb = series[b]!.values[step]!;
          const byValue = expr.op === 'topk' ? vb - va : va - vb;
          // Ties broken by labels so the answer does not depend on series order.
          if (byValue !== 0) return byValue;
          const ka = labelsKey(series[a]!.labels);
          const kb = labelsKey(series[b]!.labels);
          return ka < kb ? -1 : ka > kb ? 1 : 0;
        });
        for (const i of members.slice(0, k)) keep[i]!.values[step] = series[i]!.values[step];
      }
    }
    return { kind: 'vector', series: keep.filter((s) => s.values.some((v) => v !== undefined)) };
  }
  const groups = new Map<string, { labels: Labels; members: Series[] }>();
  for (const s of series) {
    const labels = groupLabels(s.labels, expr.grouping ?? { without: false, labels: [] });
    const key = labelsKey(labels);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { labels, members: [] }));
    g.members.push(s);
  }
  const out: Series[] = [];
  for (const g of groups.values()) {
    const values = run.steps.map((_t, step) => {
      const vals = g.members.map((m) => m.values[step]).filter((v): v is number => v !== undefined);
      if (vals.length === 0) return undefined;
      switch (expr.op) {
        case 'sum':
          return vals.reduce((a, b) => a + b, 0);
        case 'avg':
          return vals.reduce((a, b) => a + b, 0) / vals.length;
        case 'min':
          return vals.reduce((a, b) => (b < a || Number.isNaN(a) ? b : a));
        case 'max':
          return vals.reduce((a, b) => (b > a || Number.isNaN(a) ? b : a));
        case 'count':
          return vals.length;
        case 'stddev':
        case 'stdvar': {
          const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
          const variance = vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length;
          return expr.op === 'stddev' ? Math.sqrt(variance) : variance;
        }
        default:
          return undefined;
      }
    });
    if (values.some((v) => v !== undefined)) out.push({ labels: g.labels, values });
  }
  return { kind: 'vector', series: out };
}

function arith(op: string, a: number, b: number): number | undefined {
  switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/': return a / b;
    case '%': return a % b;
    case '^': return a ** b;
    case '==': return a === b ? 1 : 0;
    case '!=': return a !== b ? 1 : 0;
    case '>': return a > b ? 1 : 0;
    case '>=': return a >= b ? 1 : 0;
    case '<': return a < b ? 1 : 0;
    case '<=': return a <= b ? 1 : 0;
    default: return undefined;
  }
}

const COMPARISON = new Set(['==', '!=', '>', '>=', '<', '<=']);

function signature(labels: Labels, matching: BinaryExpr['matching']): string {
  if (!matching) return labelsKey(labels);
  const out: Labels = {};
  for (const [k, v] of Object.entries(labels)) {
    if (matching.on ? matching.labels.includes(k) : !matching.labels.includes(k)) out[k] = v;
  }
  return labelsKey(out);
}

function binary(expr: BinaryExpr, lhs: Evaluated, rhs: Evaluated, run: Run): Evaluated {
  const op = expr.op;
  const comparison = COMPARISON.has(op);
  // Value of a comparison that filters (no bool) is the left side's value.
  const combine = (a: number, b: number, keepLeft: number): number | undefined => {
    const r = arith(op, a, b);
    if (!comparison || expr.returnBool) return r;
    return r === 1 ? keepLeft : undefined;
  };
  if (lhs.kind === 'scalar' && rhs.kind === 'scalar') {
    return { kind: 'scalar', values: lhs.values.map((a, i) => arith(op, a, rhs.values[i]!) ?? NaN) };
  }
  if (lhs.kind === 'scalar' || rhs.kind === 'scalar') {
    const scalarLeft = lhs.kind === 'scalar';
    const scalar = (scalarLeft ? lhs : rhs) as { kind: 'scalar'; values: number[] };
    const vec = (scalarLeft ? rhs : lhs) as { kind: 'vector'; series: Series[] };
    return {
      kind: 'vector',
      series: vec.series
        .map((s) => ({
          labels: s.labels,
          values: s.values.map((v, i) => {
            if (v === undefined) return undefined;
            const a = scalarLeft ? scalar.values[i]! : v;
            const b = scalarLeft ? v : scalar.values[i]!;
            return combine(a, b, v);
          }),
        }))
        .filter((s) => s.values.some((v) => v !== undefined)),
    };
  }
  const left = lhs.series;
  const right = rhs.series;
  const matching = expr.matching;
  if (op === 'and' || op === 'or' || op === 'unless') {
    const out: Series[] = [];
    const rightSigs = run.steps.map((_t, i) => new Set(right.filter((s) => s.values[i] !== undefined).map((s) => signature(s.labels, matching))));
    const leftSigs = run.steps.map((_t, i) => new Set(left.filter((s) => s.values[i] !== undefined).map((s) => signature(s.labels, matching))));
    for (const s of left) {
      const sig = signature(s.labels, matching);
      const values = s.values.map((v, i) => {
        if (v === undefined) return undefined;
        const has = rightSigs[i]!.has(sig);
        if (op === 'and') return has ? v : undefined;
        if (op === 'unless') return has ? undefined : v;
        return v;
      });
      if (values.some((v) => v !== undefined)) out.push({ labels: s.labels, values });
    }
    if (op === 'or') {
      for (const s of right) {
        const sig = signature(s.labels, matching);
        const values = s.values.map((v, i) => (v !== undefined && !leftSigs[i]!.has(sig) ? v : undefined));
        if (values.some((v) => v !== undefined)) out.push({ labels: s.labels, values });
      }
    }
    return { kind: 'vector', series: out };
  }
  const card = matching?.card ?? 'one-to-one';
  const [many, one] = card === 'one-to-many' ? [right, left] : [left, right];
  const out = new Map<string, Series>();
  for (let step = 0; step < run.steps.length; step++) {
    const oneBySig = new Map<string, Series>();
    for (const s of one) {
      if (s.values[step] === undefined) continue;
      const sig = signature(s.labels, matching);
      if (oneBySig.has(sig)) {
        throw new LogqlError('LOOKOUT_ERR_LOGQL_BAD_QUERY', `found duplicate series for the match group ${sig} on the ${card === 'one-to-many' ? 'left' : 'right'} hand-side of the operation; many-to-many matching not allowed: matching labels must be unique on one side`);
      }
      oneBySig.set(sig, s);
    }
    const seen = new Set<string>();
    for (const s of many) {
      const v = s.values[step];
      if (v === undefined) continue;
      const sig = signature(s.labels, matching);
      const other = oneBySig.get(sig);
      if (!other) continue;
      if (card === 'one-to-one') {
        if (seen.has(sig)) throw new LogqlError('LOOKOUT_ERR_LOGQL_BAD_QUERY', 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
        seen.add(sig);
      }
      const [a, b] = card === 'one-to-many' ? [other.values[step]!, v] : [v, other.values[step]!];
      const r = combine(a, b, a);
      if (r === undefined) continue;
      const labels = resultLabels(s.labels, other.labels, expr, card);
      const key = labelsKey(labels);
      let series = out.get(key);
      if (!series) out.set(key, (series = { labels, values: run.steps.map(() => undefined) }));
      series.values[step] = r;
    }
  }
  return { kind: 'vector', series: [...out.values()] };
}

function resultLabels(manyLabels: Labels, oneLabels: Labels, expr: BinaryExpr, card: string): Labels {
  const matching = expr.matching;
  let labels: Labels = { ...manyLabels };
  if (card === 'one-to-one' && matching) {
    labels = {};
    for (const [k, v] of Object.entries(manyLabels)) {
      if (matching.on ? matching.labels.includes(k) : !matching.labels.includes(k)) labels[k] = v;
    }
  }
  if (matching && card !== 'one-to-one') {
    for (const name of matching.include) {
      const v = oneLabels[name];
      if (v !== undefined && v !== '') labels[name] = v;
      else delete labels[name];
    }
  }
  return labels;
}

function toValue(result: Evaluated, run: Run, expr: MetricExpr): LogqlValue {
  const ms = (t: bigint) => Number(t / 1_000_000n);
  if (result.kind === 'scalar') {
    if (run.q.instant) return { type: 'scalar', timestampMs: ms(run.steps[0]!), value: result.values[0]! };
    return { type: 'matrix', series: [{ labels: {}, points: run.steps.map((t, i) => ({ timestampMs: ms(t), value: result.values[i]! })) }] };
  }
  if (run.q.instant) {
    const samples = result.series
      .filter((s) => s.values[0] !== undefined)
      .map((s) => ({ labels: s.labels, timestampMs: ms(run.steps[0]!), value: s.values[0]! }));
    if (expr.kind === 'vector_agg' && (expr.op === 'sort' || expr.op === 'sort_desc')) {
      samples.sort((a, b) => (expr.op === 'sort' ? a.value - b.value : b.value - a.value));
    }
    limitSeries(samples.map((s) => ({ labels: s.labels, values: [] })), run);
    return { type: 'vector', samples };
  }
  const series = result.series
    .map((s) => ({
      labels: s.labels,
      points: s.values.flatMap((v, i) => (v === undefined ? [] : [{ timestampMs: ms(run.steps[i]!), value: v }])),
    }))
    .filter((s) => s.points.length > 0)
    .sort((a, b) => (labelsKey(a.labels) < labelsKey(b.labels) ? -1 : 1));
  limitSeries(series.map((s) => ({ labels: s.labels, values: [] })), run);
  return { type: 'matrix', series };
}
