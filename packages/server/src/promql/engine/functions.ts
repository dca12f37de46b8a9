/**
 * PromQL functions over float samples, following Prometheus's promql/functions.go: range-vector
 * functions (one window of one series → one value) and instant-vector functions (vectors → vector).
 */
import type { Labels } from '../../model/index.js';
import type { Call, Expr, PositionRange } from '../ast.js';
import type { Annotations } from './annotations.js';
import { bucketFraction, bucketQuantile, quantile, type Bucket } from './quantile.js';
import { goCivil, goDaysInMonth, goInt64, type GoCivil } from './go-time.js';
import {
  compareLabels,
  executionError,
  formatFloatG,
  kahanInc,
  labelsKey,
  METRIC_NAME,
  type Sample,
  type Vector,
} from './values.js';

export interface RangeFnContext {
  /** Evaluation timestamp of the step. */
  ts: number;
  /** Exclusive start and inclusive end of the window (after offset/@). */
  rangeStart: number;
  rangeEnd: number;
  rangeMs: number;
  metric: Labels;
  /** Values of the scalar arguments at this step, in argument order (the matrix argument left out). */
  scalars: number[];
  annos: Annotations;
  call: Call;
}

/** The samples of one series inside one window: timestamps and values, as views (no copying). */
export interface Window {
  t: Float64Array;
  f: Float64Array;
}

/** One window of one series → a value, or undefined for no output sample. */
export type RangeFunction = (w: Window, ctx: RangeFnContext) => number | undefined;

export interface VectorFnContext {
  ts: number;
  annos: Annotations;
  call: Call;
}

export type VectorFunction = (vectors: Vector[], ctx: VectorFnContext) => Vector;

function pos(call: Call, arg = 0): PositionRange {
  return call.args[arg]?.pos ?? call.pos;
}

// --- rate, increase, delta -----------------------------------------------------------------------

/** rate/increase/delta over the samples [lo, hi) of t and f. */
function extrapolatedRate(t: Float64Array, f: Float64Array, lo: number, hi: number, ctx: RangeFnContext, isCounter: boolean, isRate: boolean): number | undefined {
  const n = hi - lo;
  if (n < 2) return undefined;
  const firstT = t[lo]!;
  const firstF = f[lo]!;
  const lastT = t[hi - 1]!;
  let result = f[hi - 1]! - firstF;
  if (isCounter) {
    let prev = firstF;
    for (let i = lo + 1; i < hi; i++) {
      const cur = f[i]!;
      if (cur < prev) result += prev;
      prev = cur;
    }
  }
  let durationToStart = (firstT - ctx.rangeStart) / 1000;
  let durationToEnd = (ctx.rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (n - 1);
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  if (durationToStart >= extrapolationThreshold) durationToStart = averageDurationBetweenSamples / 2;
  if (isCounter) {
    let durationToZero = durationToStart;
    if (result > 0 && firstF >= 0) durationToZero = sampledInterval * (firstF / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= extrapolationThreshold) durationToEnd = averageDurationBetweenSamples / 2;
  let factor = 1;
  if (sampledInterval !== 0) factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= ctx.rangeMs / 1000;
  return result * factor;
}

/** irate/idelta over the samples [lo, hi) of t and f. */
function instantValue(t: Float64Array, f: Float64Array, lo: number, hi: number, isRate: boolean): number | undefined {
  if (hi - lo < 2) return undefined;
  const prevF = f[hi - 2]!;
  const lastF = f[hi - 1]!;
  const sampledInterval = t[hi - 1]! - t[hi - 2]!;
  if (sampledInterval === 0) return undefined;
  let result = lastF;
  if (!isRate || !(lastF < prevF)) result = lastF - prevF;
  if (isRate) result /= sampledInterval / 1000;
  return result;
}

// --- *_over_time ---------------------------------------------------------------------------------

function avgOverTime(w: Window): number {
  const n = w.f.length;
  let sum = w.f[0]!;
  let count = 1;
  let mean = 0;
  let c = 0;
  let incrementalMean = false;
  for (let i = 1; i < n; i++) {
    const f = w.f[i]!;
    count = i + 1;
    if (!incrementalMean) {
      const [newSum, newC] = kahanInc(f, sum, c);
      if (!(newSum === Infinity || newSum === -Infinity)) {
        sum = newSum;
        c = newC;
        continue;
      }
      incrementalMean = true;
      mean = sum / (count - 1);
      c /= count - 1;
    }
    const q = (count - 1) / count;
    [mean, c] = kahanInc(f / count, q * mean, q * c);
  }
  if (incrementalMean) return mean + c;
  return sum / count + c / count;
}

function sumOverTime(w: Window): number {
  let sum = 0;
  let c = 0;
  for (let i = 0; i < w.f.length; i++) [sum, c] = kahanInc(w.f[i]!, sum, c);
  if (sum === Infinity || sum === -Infinity) return sum;
  return sum + c;
}

function varianceOverTime(w: Window): number {
  let count = 0;
  let mean = 0;
  let cMean = 0;
  let aux = 0;
  let cAux = 0;
  for (let i = 0; i < w.f.length; i++) {
    const f = w.f[i]!;
    count++;
    const delta = f - (mean + cMean);
    [mean, cMean] = kahanInc(delta / count, mean, cMean);
    [aux, cAux] = kahanInc(delta * (f - (mean + cMean)), aux, cAux);
  }
  return (aux + cAux) / count;
}

function compareOverTime(w: Window, better: (cur: number, best: number) => boolean, returnTimestamp: boolean): number {
  let best = w.f[0]!;
  let bestT = w.t[0]!;
  for (let i = 0; i < w.f.length; i++) {
    if (better(w.f[i]!, best)) {
      best = w.f[i]!;
      bestT = w.t[i]!;
    }
  }
  return returnTimestamp ? bestT / 1000 : best;
}

function linearRegression(w: Window, interceptTime: number): [number, number] {
  let n = 0;
  let sumX = 0;
  let cX = 0;
  let sumY = 0;
  let cY = 0;
  let sumXY = 0;
  let cXY = 0;
  let sumX2 = 0;
  let cX2 = 0;
  const initY = w.f[0]!;
  let constY = true;
  for (let i = 0; i < w.f.length; i++) {
    const f = w.f[i]!;
    if (constY && i > 0 && f !== initY) constY = false;
    n += 1;
    const x = (w.t[i]! - interceptTime) / 1e3;
    [sumX, cX] = kahanInc(x, sumX, cX);
    [sumY, cY] = kahanInc(f, sumY, cY);
    [sumXY, cXY] = kahanInc(x * f, sumXY, cXY);
    [sumX2, cX2] = kahanInc(x * x, sumX2, cX2);
  }
  if (constY) {
    if (initY === Infinity || initY === -Infinity) return [NaN, NaN];
    return [0, initY];
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  const intercept = sumY / n - (slope * sumX) / n;
  return [slope, intercept];
}

function doubleExponentialSmoothing(w: Window, ctx: RangeFnContext): number | undefined {
  const sf = ctx.scalars[0] as number;
  const tf = ctx.scalars[1] as number;
  if (!(sf > 0 && sf < 1)) throw executionError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${goFixed6(sf)}`);
  if (!(tf > 0 && tf < 1)) throw executionError(`invalid trend factor. Expected: 0 < tf < 1, got: ${goFixed6(tf)}`);
  const l = w.f.length;
  if (l < 2) return undefined;
  let s0 = 0;
  let s1 = w.f[0]!;
  let b = w.f[1]! - w.f[0]!;
  for (let i = 1; i < l; i++) {
    const x = sf * w.f[i]!;
    b = i - 1 === 0 ? b : tf * (s1 - s0) + (1 - tf) * b;
    const y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return s1;
}

/** Go's `%f`. */
function goFixed6(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : '-Inf';
  return f.toFixed(6);
}

function quantileOverTime(w: Window, ctx: RangeFnContext): number | undefined {
  const q = ctx.scalars[0] as number;
  if (Number.isNaN(q) || q < 0 || q > 1) ctx.annos.warn(`quantile value should be between 0 and 1, got ${formatFloatG(q)}`, pos(ctx.call, 0));
  return quantile(q, Array.from(w.f));
}

function madOverTime(w: Window): number {
  const values: number[] = [];
  for (let i = 0; i < w.f.length; i++) {
    if (Number.isNaN(w.f[i]!)) return NaN;
    values.push(w.f[i]!);
  }
  const median = quantile(0.5, values);
  return quantile(
    0.5,
    values.map((v) => Math.abs(v - median)),
  );
}

export const RANGE_FUNCTIONS: Record<string, RangeFunction> = {
  rate: (w, c) => extrapolatedRate(w.t, w.f, 0, w.t.length, c, true, true),
  increase: (w, c) => extrapolatedRate(w.t, w.f, 0, w.t.length, c, true, false),
  delta: (w, c) => extrapolatedRate(w.t, w.f, 0, w.t.length, c, false, false),
  irate: (w) => instantValue(w.t, w.f, 0, w.t.length, true),
  idelta: (w) => instantValue(w.t, w.f, 0, w.t.length, false),
  avg_over_time: (w) => avgOverTime(w),
  sum_over_time: (w) => sumOverTime(w),
  count_over_time: (w) => w.f.length,
  min_over_time: (w) => compareOverTime(w, (cur, best) => cur < best || Number.isNaN(best), false),
  max_over_time: (w) => compareOverTime(w, (cur, best) => cur > best || Number.isNaN(best), false),
  ts_of_min_over_time: (w) => compareOverTime(w, (cur, best) => cur <= best || Number.isNaN(best), true),
  ts_of_max_over_time: (w) => compareOverTime(w, (cur, best) => cur >= best || Number.isNaN(best), true),
  ts_of_first_over_time: (w) => w.t[0]! / 1000,
  ts_of_last_over_time: (w) => w.t[w.t.length - 1]! / 1000,
  first_over_time: (w) => w.f[0]!,
  last_over_time: (w) => w.f[w.f.length - 1]!,
  stddev_over_time: (w) => Math.sqrt(varianceOverTime(w)),
  stdvar_over_time: (w) => varianceOverTime(w),
  quantile_over_time: quantileOverTime,
  mad_over_time: (w) => madOverTime(w),
  present_over_time: () => 1,
  absent_over_time: () => 1,
  changes: (w) => {
    let changes = 0;
    for (let i = 1; i < w.f.length; i++) {
      const prev = w.f[i - 1]!;
      const cur = w.f[i]!;
      if (cur !== prev && !(Number.isNaN(cur) && Number.isNaN(prev))) changes++;
    }
    return changes;
  },
  resets: (w) => {
    let resets = 0;
    for (let i = 1; i < w.f.length; i++) if (w.f[i]! < w.f[i - 1]!) resets++;
    return resets;
  },
  deriv: (w) => (w.f.length < 2 ? undefined : linearRegression(w, w.t[0]!)[0]),
  predict_linear: (w, c) => {
    if (w.f.length < 2) return undefined;
    const [slope, intercept] = linearRegression(w, c.ts);
    return slope * (c.scalars[0] as number) + intercept;
  },
  double_exponential_smoothing: doubleExponentialSmoothing,
};

/**
 * The rate family over sample index ranges of whole-series arrays: the same computations as
 * in RANGE_FUNCTIONS without a pair of typed-array views per window (dashboards' commonest
 * functions; the views cost as much as the arithmetic over 5 m windows).
 */
export type IndexedRangeFunction = (t: Float64Array, f: Float64Array, lo: number, hi: number, ctx: RangeFnContext) => number | undefined;

export const INDEXED_RANGE_FUNCTIONS: Record<string, IndexedRangeFunction> = {
  rate: (t, f, lo, hi, c) => extrapolatedRate(t, f, lo, hi, c, true, true),
  increase: (t, f, lo, hi, c) => extrapolatedRate(t, f, lo, hi, c, true, false),
  delta: (t, f, lo, hi, c) => extrapolatedRate(t, f, lo, hi, c, false, false),
  irate: (t, f, lo, hi) => instantValue(t, f, lo, hi, true),
  idelta: (t, f, lo, hi) => instantValue(t, f, lo, hi, false),
};

/** Range functions whose output keeps the metric name (Prometheus: first/last_over_time). */
export const KEEPS_NAME = new Set(['last_over_time', 'first_over_time']);

// --- instant-vector functions --------------------------------------------------------------------

function simple(f: (v: number) => number): VectorFunction {
  return (vectors) => (vectors[0] ?? []).map((s) => ({ metric: s.metric, t: s.t, f: f(s.f), dropName: true }));
}

function goRoundHalfUp(v: number, toNearest: number): number {
  const inverse = 1 / toNearest;
  return Math.floor(v * inverse + 0.5) / inverse;
}

function clampVector(vec: Vector, min: number, max: number): Vector {
  if (max < min) return [];
  return vec.map((s) => ({ metric: s.metric, t: s.t, f: goMax(min, goMin(max, s.f)), dropName: true }));
}

/** Go's math.Max: +Inf wins over NaN, then NaN wins, and +0 > -0. */
function goMax(a: number, b: number): number {
  if (a === Infinity || b === Infinity) return Infinity;
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return Math.max(a, b);
}

/** Go's math.Min: -Inf wins over NaN, then NaN wins, and -0 < +0. */
function goMin(a: number, b: number): number {
  if (a === -Infinity || b === -Infinity) return -Infinity;
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return Math.min(a, b);
}

/**
 * Seconds where a JS Date answers as Go does: from year 100 (Date.UTC reads years 0–99 as
 * 1900–1999) to near the end of its range (8.64e15 ms; a month's end must fit too).
 * Elsewhere go-time.ts reproduces Go in BigInt.
 */
const DATE_MIN_SECONDS = -59_011_459_200;
const DATE_MAX_SECONDS = 8.6e12;

function dateFunction(f: (d: Date) => number, go: (c: GoCivil) => number): VectorFunction {
  // Prometheus: time.Unix(int64(v), 0).UTC(), with Go's int64 conversion (see go-time.ts).
  const of = (v: number) => {
    const seconds = Math.trunc(v);
    return Number.isFinite(v) && seconds >= DATE_MIN_SECONDS && seconds <= DATE_MAX_SECONDS ? f(new Date(seconds * 1000)) : go(goCivil(goInt64(v)));
  };
  return (vectors, ctx) => {
    if (vectors.length === 0) return [{ metric: {}, t: ctx.ts, f: of(Math.trunc(ctx.ts / 1000)), dropName: false }];
    const out: Vector = [];
    for (const s of vectors[0] ?? []) out.push({ metric: s.metric, t: s.t, f: of(s.f), dropName: true });
    return out;
  };
}

function naturalLess(a: string, b: string): boolean {
  // Prometheus's natsort: digit runs compare numerically, the rest bytewise.
  const chunk = /(\d+|\D+)/g;
  const ca = a.match(chunk) ?? [];
  const cb = b.match(chunk) ?? [];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const x = ca[i] as string;
    const y = cb[i] as string;
    if (x === y) continue;
    const xd = /^\d/.test(x);
    const yd = /^\d/.test(y);
    if (xd && yd) {
      const xn = x.replace(/^0+/, '');
      const yn = y.replace(/^0+/, '');
      if (xn.length !== yn.length) return xn.length < yn.length;
      if (xn !== yn) return xn < yn;
      return x.length < y.length;
    }
    return x < y;
  }
  return ca.length < cb.length;
}

function stringArg(call: Call, i: number): string {
  const arg = unwrapParen(call.args[i] as Expr);
  if (arg.kind !== 'StringLiteral') throw executionError(`expected string argument ${i} of ${call.func}`);
  return arg.value;
}

export function unwrapParen(e: Expr): Expr {
  while (e.kind === 'Paren') e = e.expr;
  return e;
}

function sortByLabel(desc: boolean): VectorFunction {
  return (vectors, ctx) => {
    const names: string[] = [];
    for (let i = 1; i < ctx.call.args.length; i++) names.push(stringArg(ctx.call, i));
    const vec = [...(vectors[0] ?? [])];
    vec.sort((a, b) => {
      for (const n of names) {
        const x = a.metric[n] ?? '';
        const y = b.metric[n] ?? '';
        if (x === y) continue;
        const less = naturalLess(x, y);
        return desc ? (less ? 1 : -1) : less ? -1 : 1;
      }
      const c = compareLabels(a.metric, b.metric);
      return desc ? -c : c;
    });
    return vec;
  };
}

function compareNaNLast(a: number, b: number, swapped = false): number {
  const an = Number.isNaN(swapped ? b : a);
  const bn = Number.isNaN(swapped ? a : b);
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** vectorByValueHeap.Less: NaN sorts first, then ascending. */
export function lessByValue(a: number, b: number): boolean {
  if (Number.isNaN(a) && !Number.isNaN(b)) return true;
  return a < b;
}

/** vectorByReverseValueHeap.Less: NaN sorts first, then descending. */
export function lessByReverseValue(a: number, b: number): boolean {
  if (Number.isNaN(a) && !Number.isNaN(b)) return true;
  return a > b;
}

/** Classic histogram buckets grouped by their labels without `le` (Prometheus's resetHistograms). */
function classicBuckets(vec: Vector, ctx: VectorFnContext, argIndex: number): { metric: Labels; buckets: Bucket[] }[] {
  const groups = new Map<string, { metric: Labels; buckets: Bucket[] }>();
  for (const s of vec) {
    const le = s.metric.le;
    const upper = le === undefined ? NaN : parseGoFloat(le);
    if (Number.isNaN(upper)) {
      const name = s.metric[METRIC_NAME];
      const base = `bucket label "le" is missing or has a malformed value of ${JSON.stringify(le ?? '')}`;
      ctx.annos.warn(name ? `${base} for metric name ${JSON.stringify(name)}` : base, pos(ctx.call, argIndex));
      continue;
    }
    const { le: _le, ...rest } = s.metric;
    void _le;
    const key = labelsKey(rest);
    let g = groups.get(key);
    if (!g) {
      g = { metric: rest, buckets: [] };
      groups.set(key, g);
    }
    g.buckets.push({ upperBound: upper, count: s.f });
  }
  return [...groups.values()].filter((g) => g.buckets.length > 0);
}

function warnInvalidQuantile(q: number, ctx: VectorFnContext, argIndex: number): void {
  if (Number.isNaN(q) || q < 0 || q > 1) ctx.annos.warn(`quantile value should be between 0 and 1, got ${formatFloatG(q)}`, pos(ctx.call, argIndex));
}

function noteForcedMonotonicity(metric: Labels, ctx: VectorFnContext, argIndex: number): void {
  const name = metric[METRIC_NAME];
  const base =
    'input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)';
  ctx.annos.info(name ? `${base} for metric name ${JSON.stringify(name)}` : base, pos(ctx.call, argIndex));
}

function histogramQuantile(vectors: Vector[], ctx: VectorFnContext): Vector {
  const qVec = vectors[0] ?? [];
  if (qVec.length === 0) return [];
  const q = (qVec[0] as Sample).f;
  warnInvalidQuantile(q, ctx, 0);
  const out: Vector = [];
  for (const g of classicBuckets(vectors[1] ?? [], ctx, 1)) {
    const r = bucketQuantile(q, g.buckets);
    if (r.forcedMonotonic) noteForcedMonotonicity(g.metric, ctx, 1);
    out.push({ metric: g.metric, t: ctx.ts, f: r.quantile, dropName: true });
  }
  return out;
}

/** histogram_quantiles(v, "label", q1, q2, ...) (experimental): one output series per quantile. */
function histogramQuantiles(vectors: Vector[], ctx: VectorFnContext): Vector {
  const label = stringArg(ctx.call, 1);
  const qs: number[] = [];
  for (let i = 2; i < vectors.length; i++) {
    const q = ((vectors[i] as Vector)[0] as Sample).f;
    warnInvalidQuantile(q, ctx, i);
    qs.push(q);
  }
  const groups = classicBuckets(vectors[0] ?? [], ctx, 0);
  const out: Vector = [];
  for (const q of qs) {
    for (const g of groups) {
      const r = bucketQuantile(q, g.buckets);
      if (r.forcedMonotonic) noteForcedMonotonicity(g.metric, ctx, 0);
      out.push({ metric: { ...g.metric, [label]: formatOpenMetricsFloat(q) }, t: ctx.ts, f: r.quantile, dropName: true });
    }
  }
  return out;
}

/** Prometheus's labels.FormatOpenMetricsFloat. */
function formatOpenMetricsFloat(f: number): string {
  if (f === 1) return '1.0';
  if (f === 0) return '0.0';
  if (f === -1) return '-1.0';
  const s = formatFloatG(f);
  if (Number.isNaN(f) || !Number.isFinite(f)) return s;
  return /[e.]/.test(s) ? s : `${s}.0`;
}

function histogramFraction(vectors: Vector[], ctx: VectorFnContext): Vector {
  const lowerVec = vectors[0] ?? [];
  const upperVec = vectors[1] ?? [];
  if (lowerVec.length === 0 || upperVec.length === 0) return [];
  const lower = (lowerVec[0] as Sample).f;
  const upper = (upperVec[0] as Sample).f;
  return classicBuckets(vectors[2] ?? [], ctx, 2).map((g) => ({ metric: g.metric, t: ctx.ts, f: bucketFraction(lower, upper, g.buckets), dropName: true }));
}

/** Go's strconv.ParseFloat for label values such as `le` ("+Inf", "Inf", "1e3", "0x1p-2", "NaN"). */
export function parseGoFloat(text: string): number {
  const t = text.trim();
  if (t !== text || t === '') return NaN;
  const lower = t.toLowerCase();
  const sign = lower.startsWith('-') ? -1 : 1;
  const body = lower.replace(/^[+-]/, '');
  if (body === 'inf' || body === 'infinity') return sign * Infinity;
  if (body === 'nan') return NaN;
  if (/^0x/.test(body)) {
    const m = /^0x([0-9a-f_]*)(?:\.([0-9a-f]*))?(?:p([+-]?\d+))?$/.exec(body);
    if (!m) return NaN;
    const intPart = parseInt(m[1] || '0', 16);
    const frac = m[2] ? parseInt(m[2], 16) / 16 ** m[2].length : 0;
    return sign * (intPart + frac) * 2 ** Number(m[3] ?? 0);
  }
  if (!/^(\d[\d_]*\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(body)) return NaN;
  return sign * Number(body.replace(/_/g, ''));
}

export const VECTOR_FUNCTIONS: Record<string, VectorFunction> = {
  abs: simple(Math.abs),
  ceil: simple(Math.ceil),
  floor: simple(Math.floor),
  exp: simple(Math.exp),
  sqrt: simple(Math.sqrt),
  ln: simple(Math.log),
  log2: simple(Math.log2),
  log10: simple(Math.log10),
  sin: simple(Math.sin),
  cos: simple(Math.cos),
  tan: simple(Math.tan),
  asin: simple(Math.asin),
  acos: simple(Math.acos),
  atan: simple(Math.atan),
  sinh: simple(Math.sinh),
  cosh: simple(Math.cosh),
  tanh: simple(Math.tanh),
  asinh: simple(Math.asinh),
  acosh: simple(Math.acosh),
  atanh: simple(Math.atanh),
  rad: simple((v) => (v * Math.PI) / 180),
  deg: simple((v) => (v * 180) / Math.PI),
  sgn: simple((v) => (v < 0 ? -1 : v > 0 ? 1 : v)),
  round: (vectors) => {
    const toNearest = vectors.length >= 2 ? ((vectors[1] as Vector)[0] as Sample).f : 1;
    return simple((v) => goRoundHalfUp(v, toNearest))(vectors, undefined as never);
  },
  clamp: (v) => clampVector(v[0] ?? [], (v[1]?.[0] as Sample).f, (v[2]?.[0] as Sample).f),
  clamp_min: (v) => clampVector(v[0] ?? [], (v[1]?.[0] as Sample).f, Infinity),
  clamp_max: (v) => clampVector(v[0] ?? [], -Infinity, (v[1]?.[0] as Sample).f),
  timestamp: (v) => (v[0] ?? []).map((s) => ({ metric: s.metric, t: s.t, f: s.t / 1000, dropName: true })),
  time: (_v, ctx) => [{ metric: {}, t: ctx.ts, f: ctx.ts / 1000, dropName: false }],
  pi: (_v, ctx) => [{ metric: {}, t: ctx.ts, f: Math.PI, dropName: false }],
  vector: (v, ctx) => [{ metric: {}, t: ctx.ts, f: (v[0]?.[0] as Sample).f, dropName: false }],
  scalar: (v, ctx) => {
    const vec = v[0] ?? [];
    return [{ metric: {}, t: ctx.ts, f: vec.length === 1 ? (vec[0] as Sample).f : NaN, dropName: false }];
  },
  max_of: (v, ctx) => [{ metric: {}, t: ctx.ts, f: goMax((v[0]?.[0] as Sample).f, (v[1]?.[0] as Sample).f), dropName: false }],
  min_of: (v, ctx) => [{ metric: {}, t: ctx.ts, f: goMin((v[0]?.[0] as Sample).f, (v[1]?.[0] as Sample).f), dropName: false }],
  // sort: ascending, NaN last; sort_desc: descending, NaN last (sort.Reverse over Prometheus's heaps).
  sort: (v) => [...(v[0] ?? [])].sort((a, b) => compareNaNLast(a.f, b.f)),
  sort_desc: (v) => [...(v[0] ?? [])].sort((a, b) => compareNaNLast(b.f, a.f, true)),
  sort_by_label: sortByLabel(false),
  sort_by_label_desc: sortByLabel(true),
  histogram_quantile: histogramQuantile,
  // Native-histogram functions: float samples are skipped, so over floats the result is empty.
  histogram_count: () => [],
  histogram_sum: () => [],
  histogram_avg: () => [],
  histogram_stddev: () => [],
  histogram_stdvar: () => [],
  histogram_quantiles: histogramQuantiles,
  histogram_fraction: histogramFraction,
  days_in_month: dateFunction((d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate(), goDaysInMonth),
  day_of_month: dateFunction((d) => d.getUTCDate(), (c) => c.day),
  day_of_week: dateFunction((d) => d.getUTCDay(), (c) => c.weekday),
  day_of_year: dateFunction((d) => {
    const start = Date.UTC(d.getUTCFullYear(), 0, 1);
    return Math.floor((d.getTime() - start) / 86_400_000) + 1;
  }, (c) => c.yearDay),
  hour: dateFunction((d) => d.getUTCHours(), (c) => c.hour),
  minute: dateFunction((d) => d.getUTCMinutes(), (c) => c.minute),
  month: dateFunction((d) => d.getUTCMonth() + 1, (c) => c.month),
  year: dateFunction((d) => d.getUTCFullYear(), (c) => c.year),
};

/** `absent()` / `absent_over_time()` output labels: the selector's equality matchers (Prometheus rules). */
export function absentLabels(arg: Expr): Labels {
  const e = unwrapParen(arg);
  const vs = e.kind === 'VectorSelector' ? e : e.kind === 'MatrixSelector' ? e.vectorSelector : undefined;
  if (!vs) return {};
  const out: Labels = {};
  const has = new Set<string>();
  for (const m of vs.matchers) {
    if (m.name === METRIC_NAME) continue;
    if (m.type === '=' && !has.has(m.name)) {
      if (m.value === '') delete out[m.name];
      else out[m.name] = m.value;
      has.add(m.name);
    } else {
      delete out[m.name];
    }
  }
  return out;
}

