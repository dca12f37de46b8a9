/**
 * The PromQL evaluator, modelled on Prometheus's promql/engine.go: every node is evaluated over the
 * whole step range at once (one storage read per selector), instant-vector nodes yield a Matrix with
 * one point per step, and range-vector nodes are consumed window by window by their function.
 */
import { expandRe2Template, type Labels } from '../../model/index.js';
import type { SeriesQuerier, StoredSeries } from '../../storage/index.js';
import type { Aggregate, AtModifier, Binary, Call, Expr, LabelMatcher, MatrixSelector, Subquery, VectorMatching, VectorSelector } from '../ast.js';
import { PromqlError } from '../types.js';
import { toJsRegExp } from '../parser/index.js';
import type { Annotations } from './annotations.js';
import {
  absentLabels,
  INDEXED_RANGE_FUNCTIONS,
  KEEPS_NAME,
  type RangeFnContext,
  type RangeFunction,
  lessByReverseValue,
  lessByValue,
  RANGE_FUNCTIONS,
  unwrapParen,
  VECTOR_FUNCTIONS,
} from './functions.js';
import { quantile } from './quantile.js';
import {
  compareStrings,
  dropMetadata,
  DUPLICATE_LABELSET,
  executionError,
  formatFloatG,
  formatFloatPlain,
  formatLabels,
  kahanInc,
  labelsKey,
  METRIC_NAME,
  sortByLabels,
  type FPoint,
  type Matrix,
  type Sample,
  type Series,
  type Vector,
} from './values.js';

export interface EvalLimits {
  maxSamples: number;
  deadlineMs: number;
  signal?: AbortSignal;
  timeoutMs: number;
}

export interface EvalContext {
  querier: Pick<SeriesQuerier, 'select' | 'selectColumns'>;
  tenant: string;
  lookbackDeltaMs: number;
  /** The step of subqueries written without one (`[5m:]`), given the subquery range. */
  noStepSubqueryIntervalMs: (rangeMs: number) => number;
  limits: EvalLimits;
  annos: Annotations;
  /** The query's own start and end, which `@ start()` / `@ end()` refer to. */
  queryStartMs: number;
  queryEndMs: number;
  /** Nodes Prometheus would wrap in StepInvariantExpr (evaluated once, then repeated per step). */
  stepInvariant: WeakSet<Expr>;
}

export const TOO_MANY_SAMPLES = 'query processing would load too many samples into memory in query execution';

/** A storage series as columns for fast windowing; read-only (a query's identical selectors share one). */
interface LoadedSeries {
  metric: Labels;
  t: Float64Array;
  f: Float64Array;
  /** 1 at staleness markers; absent when there are none. */
  stale: Uint8Array | undefined;
}

/** Per query: storage reads by selector and range, so repeated selectors (`a / sum(a)`) read once. */
const loadCaches = new WeakMap<EvalContext, Map<string, Promise<LoadedSeries[]>>>();

export class Evaluator {
  private currentSamples = 0;
  private checkCounter = 0;

  constructor(
    private readonly ctx: EvalContext,
    readonly startMs: number,
    readonly endMs: number,
    readonly intervalMs: number,
  ) {}

  private get numSteps(): number {
    return Math.floor((this.endMs - this.startMs) / this.intervalMs) + 1;
  }

  private child(startMs: number, endMs: number, intervalMs: number): Evaluator {
    const ev = new Evaluator(this.ctx, startMs, endMs, intervalMs);
    ev.currentSamples = this.currentSamples;
    return ev;
  }

  /** Throws timeout/cancel errors; cheap enough to call inside loops. */
  checkDone(force = false): void {
    if (!force && ++this.checkCounter % 256 !== 0) return;
    const { signal, deadlineMs, timeoutMs } = this.ctx.limits;
    if (signal?.aborted) throw new PromqlError('canceled', 'query was canceled in expression evaluation');
    if (Date.now() > deadlineMs) throw new PromqlError('timeout', `query timed out in expression evaluation (timeout ${timeoutMs}ms)`);
  }

  /** Waits for a storage read, but no longer than the query's deadline or its cancellation. */
  private withinLimits<T>(read: Promise<T>): Promise<T> {
    const { signal, deadlineMs, timeoutMs } = this.ctx.limits;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new PromqlError('timeout', `query timed out in expression evaluation (timeout ${timeoutMs}ms)`)),
        Math.max(0, deadlineMs - Date.now()),
      );
      const onAbort = (): void => reject(new PromqlError('canceled', 'query was canceled in expression evaluation'));
      signal?.addEventListener('abort', onAbort, { once: true });
      read.then(resolve, reject).finally(() => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      });
    });
  }

  private addSamples(n: number): void {
    this.currentSamples += n;
    if (this.currentSamples > this.ctx.limits.maxSamples) throw executionError(TOO_MANY_SAMPLES);
  }

  private atTime(at: AtModifier | undefined): number | undefined {
    if (!at) return undefined;
    if (at.kind === 'timestamp') return at.ms;
    return at.kind === 'start' ? this.ctx.queryStartMs : this.ctx.queryEndMs;
  }

  async eval(expr: Expr): Promise<Matrix | string> {
    this.checkDone(true);
    if (this.endMs < this.startMs) return [];
    if (this.ctx.stepInvariant.has(expr) && this.startMs !== this.endMs) return this.evalStepInvariant(expr);
    return this.evalNode(expr);
  }

  async evalMatrix(expr: Expr): Promise<Matrix> {
    const v = await this.eval(expr);
    if (typeof v === 'string') throw new PromqlError('internal', 'unexpected string value');
    return v;
  }

  private async evalStepInvariant(expr: Expr): Promise<Matrix> {
    const once = this.child(this.startMs, this.startMs, this.intervalMs);
    const res = await once.evalNode(expr);
    this.currentSamples = once.currentSamples;
    if (typeof res === 'string') throw new PromqlError('internal', 'unexpected string value');
    const inner = unwrapParen(expr);
    if (inner.kind === 'MatrixSelector' || inner.kind === 'Subquery') return res;
    for (const s of res) {
      const first = s.floats[0];
      if (!first) continue;
      for (let ts = this.startMs + this.intervalMs; ts <= this.endMs; ts += this.intervalMs) {
        s.floats.push({ t: ts, f: first.f });
      }
      this.addSamples(this.numSteps - 1);
    }
    return res;
  }

  private async evalNode(expr: Expr): Promise<Matrix | string> {
    switch (expr.kind) {
      case 'NumberLiteral':
        return this.rangeEval([], () => [{ metric: {}, t: 0, f: expr.value, dropName: false }]);
      case 'StringLiteral':
        return expr.value;
      case 'Paren':
        return this.eval(expr.expr);
      case 'Unary': {
        const mat = await this.evalMatrix(expr.expr);
        if (expr.op === '-') {
          for (const s of mat) {
            s.dropName = true;
            for (const p of s.floats) p.f = -p.f;
          }
        }
        return mat;
      }
      case 'VectorSelector':
        return this.evalVectorSelector(expr, false);
      case 'MatrixSelector':
        if (this.startMs !== this.endMs) throw new PromqlError('internal', 'cannot do range evaluation of matrix selector');
        return this.evalMatrixSelector(expr);
      case 'Subquery':
        return this.evalSubquery(expr);
      case 'Binary':
        return this.evalBinary(expr);
      case 'Aggregate':
        return this.evalAggregate(expr);
      case 'Call':
        return this.evalCall(expr);
    }
  }

  // --- storage ---------------------------------------------------------------------------------

  private async load(vs: VectorSelector, startMs: number, endMs: number): Promise<LoadedSeries[]> {
    this.checkDone(true);
    let cache = loadCaches.get(this.ctx);
    if (!cache) loadCaches.set(this.ctx, (cache = new Map()));
    const key = JSON.stringify([vs.matchers.map((m) => [m.type, m.name, m.value]), startMs, endMs]);
    let loading = cache.get(key);
    if (!loading) {
      loading = this.read(vs, startMs, endMs);
      cache.set(key, loading);
    }
    const out = await this.withinLimits(loading);
    this.checkDone(true);
    return out;
  }

  private async read(vs: VectorSelector, startMs: number, endMs: number): Promise<LoadedSeries[]> {
    const { querier, tenant } = this.ctx;
    const query = { tenant, matchers: vs.matchers, startMs, endMs };
    let out: LoadedSeries[];
    try {
      if (querier.selectColumns) {
        const stored = await querier.selectColumns(query);
        out = stored.map((s) => ({ metric: s.labels, t: s.timestampsMs, f: s.values, stale: s.stale }));
      } else {
        out = (await querier.select(query)).map(fromStoredSeries);
      }
    } catch (error) {
      if (error instanceof PromqlError) throw error;
      throw new PromqlError('execution', `expanding series: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    return sortByLabels(out, (s) => s.metric);
  }

  private async evalVectorSelector(vs: VectorSelector, timestampValue: boolean): Promise<Matrix> {
    const at = this.atTime(vs.at);
    const lookback = this.ctx.lookbackDeltaMs;
    const firstRef = (at ?? this.startMs) - vs.offsetMs;
    const lastRef = (at ?? this.endMs) - vs.offsetMs;
    const series = await this.load(vs, firstRef - lookback + 1, lastRef);
    const mat: Matrix = [];
    for (const s of series) {
      this.checkDone();
      const floats: FPoint[] = [];
      const { t, f, stale } = s;
      const n = t.length;
      let i = 0;
      for (let ts = this.startMs; ts <= this.endMs; ts += this.intervalMs) {
        const ref = (at ?? ts) - vs.offsetMs;
        if (at !== undefined) i = 0;
        while (i < n && t[i]! <= ref) i++;
        const j = i - 1;
        if (j < 0 || t[j]! <= ref - lookback || (stale !== undefined && stale[j] === 1)) continue;
        floats.push({ t: ts, f: timestampValue ? t[j]! / 1000 : f[j]! });
      }
      if (floats.length > 0) {
        this.addSamples(floats.length);
        mat.push({ metric: s.metric, floats, dropName: timestampValue });
      }
    }
    return mat;
  }

  /** An instant query's range vector (`foo[5m]` at top level): raw samples in (t-range, t]. */
  private async evalMatrixSelector(ms: MatrixSelector): Promise<Matrix> {
    const vs = ms.vectorSelector;
    const end = (this.atTime(vs.at) ?? this.startMs) - vs.offsetMs;
    const start = end - ms.rangeMs;
    const series = await this.load(vs, start + 1, end);
    const mat: Matrix = [];
    for (const s of series) {
      const floats: FPoint[] = [];
      for (let i = 0; i < s.t.length; i++) {
        if (s.t[i]! > start && s.t[i]! <= end && s.stale?.[i] !== 1) floats.push({ t: s.t[i]!, f: s.f[i]! });
      }
      if (floats.length > 0) {
        this.addSamples(floats.length);
        mat.push({ metric: s.metric, floats, dropName: false });
      }
    }
    return mat;
  }

  private subqueryTimeRange(sq: Subquery): { start: number; end: number; interval: number } {
    const at = this.atTime(sq.at);
    const parentStart = at ?? this.startMs;
    let parentEnd = at ?? this.startMs + Math.floor((this.endMs - this.startMs) / this.intervalMs) * this.intervalMs;
    if (at === undefined && this.intervalMs <= 0) parentEnd = this.endMs;
    const end = parentEnd - sq.offsetMs;
    const interval = sq.stepMs !== 0 ? sq.stepMs : this.ctx.noStepSubqueryIntervalMs(sq.rangeMs);
    const lowest = parentStart - sq.offsetMs - sq.rangeMs;
    // Go's integer division truncates toward zero.
    let start = interval * Math.trunc(lowest / interval);
    if (start <= lowest) start += interval;
    return { start, end, interval };
  }

  private async runSubquery(sq: Subquery): Promise<Matrix> {
    const { start, end, interval } = this.subqueryTimeRange(sq);
    const ev = this.child(start, end, interval);
    const res = await ev.evalMatrix(sq.expr);
    this.currentSamples = ev.currentSamples;
    return res;
  }

  /** A subquery at top level of an instant query: its points as a range vector. */
  private async evalSubquery(sq: Subquery): Promise<Matrix> {
    const mat = await this.runSubquery(sq);
    // The points returned are those inside (t - offset - range, t - offset].
    const at = this.atTime(sq.at);
    const end = (at ?? this.startMs) - sq.offsetMs;
    const start = end - sq.rangeMs;
    const out: Matrix = [];
    for (const s of mat) {
      const floats = s.floats.filter((p) => p.t > start && p.t <= end);
      if (floats.length > 0) out.push({ metric: s.metric, floats, dropName: s.dropName });
    }
    return out;
  }

  // --- step-wise evaluation ----------------------------------------------------------------------

  /**
   * Evaluates args to matrices, then calls fn with one vector per argument for every step;
   * output samples become series keyed by labels (Prometheus's rangeEval).
   */
  private async rangeEval(args: (Expr | undefined)[], fn: (vectors: Vector[], ts: number) => Vector): Promise<Matrix> {
    const before = this.currentSamples;
    const matrices: (Matrix | undefined)[] = [];
    for (const a of args) {
      if (a === undefined || a.type === 'string') {
        matrices.push(undefined);
        continue;
      }
      matrices.push(await this.evalMatrix(a));
    }
    const afterArgs = this.currentSamples;
    const cursors = matrices.map((m) => (m ? new Array<number>(m.length).fill(0) : []));
    const instant = this.startMs === this.endMs;
    const bySeries = new Map<string, { series: Series; lastTs: number }>();
    const instantOut: Matrix = [];
    let outSamples = 0;
    for (let ts = this.startMs; ts <= this.endMs; ts += this.intervalMs) {
      this.checkDone();
      const vectors: Vector[] = matrices.map((m, ai) => {
        const vec: Vector = [];
        if (!m) return vec;
        const cur = cursors[ai]!;
        for (let si = 0; si < m.length; si++) {
          const s = m[si]!;
          let k = cur[si]!;
          while (k < s.floats.length && s.floats[k]!.t < ts) k++;
          cur[si] = k;
          const p = s.floats[k];
          if (p && p.t === ts) vec.push({ metric: s.metric, t: ts, f: p.f, dropName: s.dropName });
        }
        return vec;
      });
      const result = fn(vectors, ts);
      outSamples += result.length;
      if (afterArgs + outSamples > this.ctx.limits.maxSamples) throw executionError(TOO_MANY_SAMPLES);
      if (instant) {
        for (const s of result) instantOut.push({ metric: s.metric, floats: [{ t: ts, f: s.f }], dropName: s.dropName });
        break;
      }
      for (const s of result) {
        const key = labelsKey(s.metric);
        const entry = bySeries.get(key);
        if (entry) {
          if (entry.lastTs === ts) throw executionError(DUPLICATE_LABELSET);
          entry.lastTs = ts;
          entry.series.floats.push({ t: ts, f: s.f });
        } else {
          bySeries.set(key, { series: { metric: s.metric, floats: [{ t: ts, f: s.f }], dropName: s.dropName }, lastTs: ts });
        }
      }
    }
    this.currentSamples = before + outSamples;
    return instant ? instantOut : [...bySeries.values()].map((e) => e.series);
  }

  // --- binary operators --------------------------------------------------------------------------

  private async evalBinary(e: Binary): Promise<Matrix> {
    const lt = e.lhs.type;
    const rt = e.rhs.type;
    if (lt === 'scalar' && rt === 'scalar') {
      return this.rangeEval([e.lhs, e.rhs], (v, ts) => [
        { metric: {}, t: ts, f: scalarBinop(e.op, v[0]![0]!.f, v[1]![0]!.f), dropName: false },
      ]);
    }
    if (lt === 'vector' && rt === 'vector') {
      const matching: VectorMatching = e.matching ?? { card: isSetOp(e.op) ? 'many-to-many' : 'one-to-one', on: false, labels: [], include: [] };
      const sig = signatureFn(matching);
      switch (e.op) {
        case 'and':
          return this.rangeEval([e.lhs, e.rhs], (v) => vectorAnd(v[0]!, v[1]!, sig));
        case 'or':
          return this.rangeEval([e.lhs, e.rhs], (v) => vectorOr(v[0]!, v[1]!, sig));
        case 'unless':
          return this.rangeEval([e.lhs, e.rhs], (v) => vectorUnless(v[0]!, v[1]!, sig));
        default:
          return this.rangeEval([e.lhs, e.rhs], (v) => vectorBinop(e.op, v[0]!, v[1]!, matching, e.returnBool, sig));
      }
    }
    if (lt === 'vector' && rt === 'scalar') {
      return this.rangeEval([e.lhs, e.rhs], (v) => vectorScalarBinop(e.op, v[0]!, v[1]![0]!.f, false, e.returnBool));
    }
    return this.rangeEval([e.lhs, e.rhs], (v) => vectorScalarBinop(e.op, v[1]!, v[0]![0]!.f, true, e.returnBool));
  }

  // --- aggregations ------------------------------------------------------------------------------

  private async scalarParam(param: Expr | undefined): Promise<number[]> {
    if (!param) return [];
    const mat = await this.evalMatrix(param);
    const values: number[] = [];
    const s = mat[0];
    let k = 0;
    for (let ts = this.startMs; ts <= this.endMs; ts += this.intervalMs) {
      while (s && k < s.floats.length && s.floats[k]!.t < ts) k++;
      const p = s?.floats[k];
      values.push(p && p.t === ts ? p.f : NaN);
    }
    return values;
  }

  private async evalAggregate(e: Aggregate): Promise<Matrix> {
    const grouping = [...e.grouping].sort(compareStrings);
    if (e.op === 'count_values') {
      const param = unwrapParen(e.param!);
      const valueLabel = param.kind === 'StringLiteral' ? param.value : '';
      if (!isValidLabelName(valueLabel)) throw executionError(`invalid label name ${JSON.stringify(valueLabel)}`);
      const g = e.without ? grouping : [...grouping, valueLabel].sort(compareStrings);
      return this.rangeEval([e.expr], (v, ts) => countValues(v[0]!, g, e.without, valueLabel, ts));
    }
    const before = this.currentSamples;
    const params = await this.scalarParam(e.param);
    const inner = unwrapParen(e.expr);
    let input: StepColumns[];
    if (inner.kind === 'VectorSelector' && this.endMs >= this.startMs && !this.ctx.stepInvariant.has(e.expr) && !this.ctx.stepInvariant.has(inner)) {
      // Dashboards aggregate plain selectors most: read them straight into step columns.
      this.checkDone(true);
      input = await this.vectorSelectorSteps(inner);
    } else {
      input = this.toStepColumns(await this.evalMatrix(e.expr));
    }
    const result = this.aggregate(e, grouping, input, params);
    this.currentSamples = before + result.reduce((n, s) => n + s.floats.length, 0);
    return result;
  }

  /** A Matrix as step columns (points off the step grid are ignored, as the per-step lookup did). */
  private toStepColumns(mat: Matrix): StepColumns[] {
    const steps = this.numSteps;
    const out: StepColumns[] = new Array(mat.length);
    for (let si = 0; si < mat.length; si++) {
      const s = mat[si]!;
      const values = new Float64Array(steps);
      const present = new Uint8Array(steps);
      for (const p of s.floats) {
        const step = (p.t - this.startMs) / this.intervalMs;
        if (step >= 0 && step < steps && Number.isInteger(step) && present[step] === 0) {
          values[step] = p.f;
          present[step] = 1;
        }
      }
      out[si] = { metric: s.metric, dropName: s.dropName, values, present };
    }
    return out;
  }

  /** evalVectorSelector's samples written into step columns instead of points. */
  private async vectorSelectorSteps(vs: VectorSelector): Promise<StepColumns[]> {
    const at = this.atTime(vs.at);
    const lookback = this.ctx.lookbackDeltaMs;
    const firstRef = (at ?? this.startMs) - vs.offsetMs;
    const lastRef = (at ?? this.endMs) - vs.offsetMs;
    const series = await this.load(vs, firstRef - lookback + 1, lastRef);
    const steps = this.numSteps;
    const out: StepColumns[] = [];
    for (const s of series) {
      this.checkDone();
      const { t, f, stale } = s;
      const n = t.length;
      const values = new Float64Array(steps);
      const present = new Uint8Array(steps);
      let count = 0;
      let i = 0;
      let step = 0;
      for (let ts = this.startMs; ts <= this.endMs; ts += this.intervalMs, step++) {
        const ref = (at ?? ts) - vs.offsetMs;
        if (at !== undefined) i = 0;
        while (i < n && t[i]! <= ref) i++;
        const j = i - 1;
        if (j < 0 || t[j]! <= ref - lookback || (stale !== undefined && stale[j] === 1)) continue;
        values[step] = f[j]!;
        present[step] = 1;
        count++;
      }
      if (count > 0) {
        this.addSamples(count);
        out.push({ metric: s.metric, dropName: false, values, present });
      }
    }
    return out;
  }

  private aggregate(e: Aggregate, grouping: string[], input: StepColumns[], params: number[]): Matrix {
    const op = e.op;
    const isK = op === 'topk' || op === 'bottomk' || op === 'limitk' || op === 'limit_ratio';
    const groupIndex = new Map<string, number>();
    const seriesToGroup: number[] = [];
    const outputs: Series[] = [];
    for (const s of input) {
      const key = groupingKey(s.metric, grouping, e.without);
      let idx = groupIndex.get(key);
      if (idx === undefined) {
        idx = groupIndex.size;
        groupIndex.set(key, idx);
        if (!isK) outputs.push({ metric: groupingLabels(s.metric, grouping, e.without), floats: [], dropName: false });
      }
      seriesToGroup.push(idx);
    }
    const groupCount = groupIndex.size;
    const annos = this.ctx.annos;
    const paramPos = e.param?.pos ?? e.pos;
    if (op === 'topk' || op === 'bottomk' || op === 'limitk') {
      if (Math.max(...params) < 1) return [];
      if (params.some(Number.isNaN)) throw executionError('Parameter value is NaN');
      const min = Math.min(...params);
      const max = Math.max(...params);
      if (min <= -(2 ** 63)) throw executionError(`Scalar value ${formatFloatG(min)} underflows int64`);
      if (max >= 2 ** 63) throw executionError(`Scalar value ${formatFloatG(max)} overflows int64`);
    } else if (op === 'limit_ratio') {
      if (Math.max(...params) === 0 && Math.min(...params) === 0) return [];
      if (params.some(Number.isNaN)) throw executionError('Ratio value is NaN');
      const max = Math.max(...params);
      const min = Math.min(...params);
      if (max > 1) annos.warn(`ratio value should be between -1 and 1, got ${formatFloatG(max)}, capping to 1`, paramPos);
      if (min < -1) annos.warn(`ratio value should be between -1 and 1, got ${formatFloatG(min)}, capping to -1`, paramPos);
    } else if (op === 'quantile') {
      if (params.some(Number.isNaN)) annos.warn('quantile value should be between 0 and 1, got NaN', paramPos);
      const max = Math.max(...params);
      const min = Math.min(...params);
      if (max > 1) annos.warn(`quantile value should be between 0 and 1, got ${formatFloatG(max)}`, paramPos);
      if (min < 0) annos.warn(`quantile value should be between 0 and 1, got ${formatFloatG(min)}`, paramPos);
    }

    const kOut = new Map<string, Series>();
    const instantK: Matrix = [];
    const states: GroupState[] = Array.from({ length: isK ? 0 : groupCount }, () => ({
      value: 0,
      mean: 0,
      kahanC: 0,
      count: 0,
      incrementalMean: false,
      values: [],
      dropName: false,
    }));
    const active = new Uint8Array(groupCount);
    let step = 0;
    for (let ts = this.startMs; ts <= this.endMs; ts += this.intervalMs, step++) {
      this.checkDone();
      const param = params[step] ?? NaN;
      if (isK) {
        const groups = aggregateK(op, param, input, step, seriesToGroup, groupCount);
        for (const group of groups) {
          for (const si of group) {
            const s = input[si]!;
            const f = s.values[step]!;
            if (this.startMs === this.endMs) {
              instantK.push({ metric: s.metric, floats: [{ t: ts, f }], dropName: s.dropName });
              continue;
            }
            const key = labelsKey(s.metric);
            let out = kOut.get(key);
            if (!out) {
              out = { metric: s.metric, floats: [], dropName: s.dropName };
              kOut.set(key, out);
            }
            out.floats.push({ t: ts, f });
          }
        }
        continue;
      }
      // Group states are reused across steps; `active` marks the groups seen at this step.
      active.fill(0);
      for (let si = 0; si < input.length; si++) {
        const s = input[si]!;
        if (s.present[step] === 0) continue;
        const f = s.values[step]!;
        const gi = seriesToGroup[si]!;
        const g = states[gi]!;
        const dropName = s.dropName;
        if (active[gi] === 0) {
          active[gi] = 1;
          g.value = f;
          g.mean = f;
          g.kahanC = 0;
          g.count = 1;
          g.incrementalMean = false;
          g.values.length = 0;
          g.dropName = dropName;
          if (op === 'stddev' || op === 'stdvar') g.value = Number.isNaN(f) || !Number.isFinite(f) ? NaN : 0;
          if (op === 'quantile') g.values.push(f);
          if (op === 'group') g.value = 1;
          continue;
        }
        if (dropName) g.dropName = true;
        switch (op) {
          case 'sum': {
            // kahanInc inlined: this runs once per input sample.
            const sum = g.value;
            const t = sum + f;
            if (!Number.isFinite(t) && !Number.isNaN(t)) {
              g.value = t;
              g.kahanC = 0;
            } else {
              g.kahanC += Math.abs(sum) >= Math.abs(f) ? sum - t + f : f - t + sum;
              g.value = t;
            }
            break;
          }
          case 'avg':
            g.count++;
            if (!g.incrementalMean) {
              const [nv, nc] = kahanInc(f, g.value, g.kahanC);
              if (nv !== Infinity && nv !== -Infinity) {
                g.value = nv;
                g.kahanC = nc;
                break;
              }
              g.incrementalMean = true;
              g.mean = g.value / (g.count - 1);
              g.kahanC /= g.count - 1;
            }
            {
              const q = (g.count - 1) / g.count;
              [g.mean, g.kahanC] = kahanInc(f / g.count, q * g.mean, q * g.kahanC);
            }
            break;
          case 'group':
            break;
          case 'max':
            if (g.value < f || Number.isNaN(g.value)) g.value = f;
            break;
          case 'min':
            if (g.value > f || Number.isNaN(g.value)) g.value = f;
            break;
          case 'count':
            g.count++;
            break;
          case 'stddev':
          case 'stdvar': {
            g.count++;
            const delta = f - g.mean;
            g.mean += delta / g.count;
            g.value += delta * (f - g.mean);
            break;
          }
          case 'quantile':
            g.values.push(f);
            break;
          default:
            throw new PromqlError('internal', `unexpected aggregation ${op}`);
        }
      }
      for (let gi = 0; gi < groupCount; gi++) {
        if (active[gi] === 0) continue;
        const g = states[gi]!;
        let value: number;
        switch (op) {
          case 'avg':
            value = g.incrementalMean ? g.mean + g.kahanC : g.value / g.count + g.kahanC / g.count;
            break;
          case 'count':
            value = g.count;
            break;
          case 'stdvar':
            value = g.value / g.count;
            break;
          case 'stddev':
            value = Math.sqrt(g.value / g.count);
            break;
          case 'quantile':
            value = quantile(param, g.values);
            break;
          case 'sum':
            value = g.value === Infinity || g.value === -Infinity ? g.value : g.value + g.kahanC;
            break;
          default:
            value = g.value;
        }
        const out = outputs[gi]!;
        out.floats.push({ t: ts, f: value });
        out.dropName = g.dropName;
      }
      this.addSamples(0);
    }
    if (isK) return this.startMs === this.endMs ? instantK : [...kOut.values()];
    return outputs.filter((s) => s.floats.length > 0);
  }

  // --- function calls ----------------------------------------------------------------------------

  private async evalCall(e: Call): Promise<Matrix> {
    const name = e.func;
    const args = e.args.map(unwrapParen);
    if (name === 'timestamp' && args[0]?.kind === 'VectorSelector') {
      return this.evalVectorSelector(args[0], true);
    }
    if (name === 'label_replace') return this.evalLabelReplace(e);
    if (name === 'info') return this.evalInfo(e);
    if (name === 'label_join') return this.evalLabelJoin(e);
    const matrixIndex = args.findIndex((a) => a.kind === 'MatrixSelector' || a.kind === 'Subquery');
    if (matrixIndex < 0) {
      if ((name === 'sort' || name === 'sort_desc' || name === 'sort_by_label' || name === 'sort_by_label_desc') && this.startMs !== this.endMs) {
        this.ctx.annos.warn('sort is ineffective for range queries since results are always ordered by labels', e.pos);
      }
      if (name === 'absent') {
        const labels = absentLabels(args[0]!);
        return this.rangeEval(args, (v, ts) => ((v[0] ?? []).length > 0 ? [] : [{ metric: labels, t: ts, f: 1, dropName: false }]));
      }
      const fn = VECTOR_FUNCTIONS[name];
      if (!fn) throw new PromqlError('bad_data', `function "${name}" is not supported`);
      return this.rangeEval(args, (vectors, ts) => fn(vectors, { ts, annos: this.ctx.annos, call: e }));
    }
    const fn = RANGE_FUNCTIONS[name];
    if (!fn) throw new PromqlError('bad_data', `function "${name}" is not supported`);
    return this.evalRangeFunction(e, args, matrixIndex, fn);
  }

  private async evalRangeFunction(
    e: Call,
    args: Expr[],
    matrixIndex: number,
    fn: RangeFunction,
  ): Promise<Matrix> {
    const name = e.func;
    // Scalar arguments first (they have a value at every step).
    const scalarValues: number[][] = [];
    for (let i = 0; i < args.length; i++) {
      if (i === matrixIndex) continue;
      scalarValues.push(await this.scalarParam(args[i]));
    }
    const arg = args[matrixIndex]!;
    let rangeMs: number;
    let offsetMs: number;
    let at: number | undefined;
    let source: LoadedSeries[];
    let inputDropName: boolean[];
    if (arg.kind === 'MatrixSelector') {
      const vs = arg.vectorSelector;
      rangeMs = arg.rangeMs;
      offsetMs = vs.offsetMs;
      at = this.atTime(vs.at);
      const first = (at ?? this.startMs) - offsetMs;
      const last = (at ?? this.endMs) - offsetMs;
      source = await this.load(vs, first - rangeMs + 1, last);
      inputDropName = source.map(() => false);
    } else {
      const sq = arg as Subquery;
      rangeMs = sq.rangeMs;
      offsetMs = sq.offsetMs;
      at = this.atTime(sq.at);
      const mat = await this.runSubquery(sq);
      source = mat.map((s) => ({
        metric: s.metric,
        t: Float64Array.from(s.floats, (p) => p.t),
        f: Float64Array.from(s.floats, (p) => p.f),
        stale: undefined,
      }));
      inputDropName = mat.map((s) => s.dropName);
    }
    const dropName = !KEEPS_NAME.has(name);
    const mat: Matrix = [];
    const isRateLike = name === 'rate' || name === 'increase';
    const indexed = INDEXED_RANGE_FUNCTIONS[name];
    // One context object, updated per step: the hot loop allocates nothing but output points.
    const fnCtx: RangeFnContext = { ts: 0, rangeStart: 0, rangeEnd: 0, rangeMs, metric: {}, scalars: scalarValues.map(() => NaN), annos: this.ctx.annos, call: e };
    for (let si = 0; si < source.length; si++) {
      const s = source[si]!;
      this.checkDone(true);
      // Non-stale points of the series as typed arrays, so windows are zero-copy views.
      let ts64 = s.t;
      let fs64 = s.f;
      let count = ts64.length;
      const stale = s.stale;
      if (stale !== undefined) {
        count = 0;
        for (let i = 0; i < stale.length; i++) if (stale[i] !== 1) count++;
        ts64 = new Float64Array(count);
        fs64 = new Float64Array(count);
        for (let i = 0, k = 0; i < stale.length; i++) {
          if (stale[i] === 1) continue;
          ts64[k] = s.t[i]!;
          fs64[k] = s.f[i]!;
          k++;
        }
      }
      fnCtx.metric = s.metric;
      const floats: FPoint[] = [];
      let lo = 0;
      let hi = 0;
      let step = 0;
      for (let ts = this.startMs; ts <= this.endMs; ts += this.intervalMs, step++) {
        const rangeEnd = (at ?? ts) - offsetMs;
        const rangeStart = rangeEnd - rangeMs;
        if (at !== undefined) {
          lo = 0;
          hi = 0;
        }
        while (lo < count && ts64[lo]! <= rangeStart) lo++;
        if (hi < lo) hi = lo;
        while (hi < count && ts64[hi]! <= rangeEnd) hi++;
        if (hi <= lo) continue;
        if (this.currentSamples + (hi - lo) > this.ctx.limits.maxSamples) throw executionError(TOO_MANY_SAMPLES);
        for (let k = 0; k < scalarValues.length; k++) fnCtx.scalars[k] = scalarValues[k]![step] ?? NaN;
        fnCtx.ts = ts;
        fnCtx.rangeStart = rangeStart;
        fnCtx.rangeEnd = rangeEnd;
        const value = indexed ? indexed(ts64, fs64, lo, hi, fnCtx) : fn({ t: ts64.subarray(lo, hi), f: fs64.subarray(lo, hi) }, fnCtx);
        if (value !== undefined) floats.push({ t: ts, f: value });
      }
      if (floats.length > 0) {
        this.addSamples(floats.length);
        mat.push({ metric: s.metric, floats, dropName: dropName || inputDropName[si]! });
        if (isRateLike) {
          const metricName = s.metric[METRIC_NAME] ?? '';
          if (metricName !== '' && !/_(total|sum|count|bucket)$/.test(metricName)) {
            this.ctx.annos.info(
              `metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${JSON.stringify(metricName)}`,
              args[0]!.pos,
            );
          }
        }
      }
    }
    if (name === 'absent_over_time') {
      const steps = this.numSteps;
      const found = new Set<number>();
      for (const s of mat) for (const p of s.floats) found.add(p.t);
      if (found.size === steps) return [];
      const floats: FPoint[] = [];
      for (let ts = this.startMs; ts <= this.endMs; ts += this.intervalMs) if (!found.has(ts)) floats.push({ t: ts, f: 1 });
      return [{ metric: absentLabels(args[0]!), floats, dropName: true }];
    }
    return mat;
  }

  /** info(v [, data-label selector]) (experimental): adds the data labels of matching *_info series (Prometheus's info.go). */
  private async evalInfo(e: Call): Promise<Matrix> {
    const base = unwrapParen(e.args[0]!);
    const { at, offsetMs } = infoTimestampAndOffset(base);
    const atMs = this.atTime(at);
    const mat = await this.evalMatrix(e.args[0]!);
    const dataMatchers = new Map<string, LabelMatcher[]>();
    let infoNameMatchers: LabelMatcher[] = [];
    const selector = e.args[1] === undefined ? undefined : unwrapParen(e.args[1]);
    if (selector?.kind === 'VectorSelector') {
      for (const m of selector.matchers) {
        dataMatchers.set(m.name, [...(dataMatchers.get(m.name) ?? []), m]);
        if (m.name === METRIC_NAME) infoNameMatchers.push(m);
      }
    } else {
      infoNameMatchers = [{ type: '=', name: METRIC_NAME, value: 'target_info' }];
    }
    const effectiveName = effectiveInfoNameMatchers(infoNameMatchers);
    const ignore = new Set<string>();
    for (const s of mat) {
      const name = s.metric[METRIC_NAME] ?? '';
      if (effectiveName.every((m) => matcherMatches(m, name))) ignore.add(labelsKey(s.metric));
    }
    // Identifying label values of the base series become regex matchers on the info series.
    const idValues = new Map<string, Set<string>>();
    for (const s of mat) {
      if (ignore.has(labelsKey(s.metric))) continue;
      for (const l of INFO_IDENTIFYING_LABELS) {
        const v = s.metric[l];
        if (!v) continue;
        if (!idValues.has(l)) idValues.set(l, new Set());
        idValues.get(l)!.add(v);
      }
    }
    const nameMatchers: LabelMatcher[] = [];
    const infoMatchers: LabelMatcher[] = [];
    for (const [, ms] of dataMatchers) for (const m of ms) (m.name === METRIC_NAME ? nameMatchers : infoMatchers).push(m);
    dataMatchers.delete(METRIC_NAME);
    const infoMat: Matrix = [];
    if (idValues.size > 0) {
      for (const [name, vals] of idValues) infoMatchers.push({ type: '=~', name, value: [...vals].map(quoteRegex).join('|') });
      infoMatchers.push(...effectiveInfoNameMatchers(nameMatchers));
      const lookback = this.ctx.lookbackDeltaMs;
      const series = await this.load(
        { kind: 'VectorSelector', type: 'vector', matchers: infoMatchers, offsetMs, pos: e.pos },
        (atMs ?? this.startMs) - offsetMs - lookback + 1,
        (atMs ?? this.endMs) - offsetMs,
      );
      for (const s of series) {
        const floats: FPoint[] = [];
        let i = 0;
        for (let ts = this.startMs; ts <= this.endMs; ts += this.intervalMs) {
          const ref = (atMs ?? ts) - offsetMs;
          if (atMs !== undefined) i = 0;
          while (i < s.t.length && s.t[i]! <= ref) i++;
          const j = i - 1;
          if (j < 0 || s.t[j]! <= ref - lookback || s.stale?.[j] === 1) continue;
          // The sample's own timestamp: the newest info series wins a conflict.
          floats.push({ t: ts, f: s.t[j]! });
        }
        if (floats.length > 0) infoMat.push({ metric: s.metric, floats, dropName: false });
      }
    }
    const infoNames = new Set(infoMat.map((s) => s.metric[METRIC_NAME] ?? ''));
    const sig = (name: string, labels: Labels): string => {
      let out = `${name}\u0001`;
      for (const l of INFO_IDENTIFYING_LABELS) if (labels[l]) out += `${l}\u0000${labels[l]}\u0001`;
      return out;
    };
    const dataMatcherList = [...dataMatchers.values()].flat();
    const allMatchEmpty = dataMatcherList.every((m) => matcherMatches(m, ''));
    return this.rangeEval([e.args[0], undefined], (vectors, ts) => {
      const baseVec = vectors[0] ?? [];
      if (baseVec.length === 0) return [];
      const infoBySig = new Map<string, { metric: Labels; origT: number }>();
      for (const s of infoMat) {
        const p = s.floats.find((q) => q.t === ts);
        if (!p) continue;
        const key = sig(s.metric[METRIC_NAME] ?? '', s.metric);
        const existing = infoBySig.get(key);
        if (!existing || existing.origT < p.f) infoBySig.set(key, { metric: s.metric, origT: p.f });
        else if (existing.origT === p.f) {
          throw executionError(
            `found duplicate series for info metric: existing ${formatLabels(existing.metric)} @ ${existing.origT}, new ${formatLabels(s.metric)} @ ${p.f}`,
          );
        }
      }
      const out: Vector = [];
      for (const bs of baseVec) {
        if (ignore.has(labelsKey(bs.metric))) {
          out.push(bs);
          continue;
        }
        const added: Labels = {};
        let seen = 0;
        for (const name of infoNames) {
          const is = infoBySig.get(sig(name, bs.metric));
          if (!is) continue;
          seen++;
          for (const [k, v] of Object.entries(is.metric)) {
            if (k === METRIC_NAME) continue;
            if (dataMatchers.size > 0 && !dataMatchers.has(k)) continue;
            if (added[k] !== undefined && added[k] !== v) throw executionError(`conflicting label: ${k}`);
            if (k in bs.metric) continue;
            added[k] = v;
          }
        }
        if (seen === 0 && !allMatchEmpty) continue;
        out.push({ ...bs, metric: { ...bs.metric, ...added } });
      }
      return out;
    });
  }

  private async evalLabelReplace(e: Call): Promise<Matrix> {
    const str = (i: number): string => {
      const a = unwrapParen(e.args[i]!);
      return a.kind === 'StringLiteral' ? a.value : '';
    };
    const dst = str(1);
    const repl = str(2);
    const src = str(3);
    const regexText = str(4);
    let regex: RegExp;
    try {
      regex = toJsRegExp(regexText);
    } catch {
      throw executionError(`invalid regular expression in label_replace(): ${regexText}`);
    }
    if (!isValidLabelName(dst)) throw executionError(`invalid destination label name in label_replace(): ${dst}`);
    const mat = await this.evalMatrix(e.args[0]!);
    for (const s of mat) {
      const srcVal = s.metric[src] ?? '';
      const m = regex.exec(srcVal);
      if (!m) continue;
      const value = expandRe2Template(repl, m);
      const metric = { ...s.metric };
      if (value === '') delete metric[dst];
      else metric[dst] = value;
      s.metric = metric;
      if (dst === METRIC_NAME) s.dropName = false;
    }
    return mergeSeriesWithSameLabelset(mat);
  }

  private async evalLabelJoin(e: Call): Promise<Matrix> {
    const str = (i: number): string => {
      const a = unwrapParen(e.args[i]!);
      return a.kind === 'StringLiteral' ? a.value : '';
    };
    const dst = str(1);
    const sep = str(2);
    const srcs: string[] = [];
    for (let i = 3; i < e.args.length; i++) {
      const src = str(i);
      if (!isValidLabelName(src)) throw executionError(`invalid source label name in label_join(): ${src}`);
      srcs.push(src);
    }
    if (!isValidLabelName(dst)) throw executionError(`invalid destination label name in label_join(): ${dst}`);
    const mat = await this.evalMatrix(e.args[0]!);
    for (const s of mat) {
      const value = srcs.map((n) => s.metric[n] ?? '').join(sep);
      const metric = { ...s.metric };
      if (value === '') delete metric[dst];
      else metric[dst] = value;
      s.metric = metric;
      if (dst === METRIC_NAME) s.dropName = false;
    }
    return mergeSeriesWithSameLabelset(mat);
  }
}

// --- helpers -------------------------------------------------------------------------------------

function fromStoredSeries(s: StoredSeries): LoadedSeries {
  const n = s.samples.length;
  const t = new Float64Array(n);
  const f = new Float64Array(n);
  let stale: Uint8Array | undefined;
  for (let i = 0; i < n; i++) {
    const p = s.samples[i]!;
    t[i] = p.timestampMs;
    f[i] = p.value;
    if (p.stale) (stale ??= new Uint8Array(n))[i] = 1;
  }
  return { metric: s.labels, t, f, stale };
}

const INFO_IDENTIFYING_LABELS = ['instance', 'job'];

function effectiveInfoNameMatchers(matchers: LabelMatcher[]): LabelMatcher[] {
  if (matchers.some((m) => m.type === '=' || m.type === '=~')) return matchers;
  if (matchers.length > 0) return [{ type: '=~', name: METRIC_NAME, value: '.+_info' }, ...matchers];
  return [{ type: '=', name: METRIC_NAME, value: 'target_info' }];
}

function matcherMatches(m: LabelMatcher, value: string): boolean {
  switch (m.type) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return toJsRegExp(m.value).test(value);
    case '!~':
      return !toJsRegExp(m.value).test(value);
  }
}

function quoteRegex(v: string): string {
  return v.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** The @/offset of the first vector selector of info's first argument (adding enclosing subqueries' offsets). */
function infoTimestampAndOffset(expr: Expr): { at: AtModifier | undefined; offsetMs: number } {
  const visit = (e: Expr, subqueries: Subquery[]): { at: AtModifier | undefined; offsetMs: number } | undefined => {
    switch (e.kind) {
      case 'VectorSelector': {
        let at = e.at;
        let offsetMs = e.offsetMs;
        for (let i = subqueries.length - 1; at === undefined && i >= 0; i--) {
          offsetMs += subqueries[i]!.offsetMs;
          at = subqueries[i]!.at;
        }
        return { at, offsetMs };
      }
      case 'MatrixSelector':
        return visit(e.vectorSelector, subqueries);
      case 'Subquery':
        return visit(e.expr, [...subqueries, e]);
      case 'Paren':
      case 'Unary':
        return visit(e.expr, subqueries);
      case 'Aggregate':
        return (e.param && visit(e.param, subqueries)) ?? visit(e.expr, subqueries);
      case 'Binary':
        return visit(e.lhs, subqueries) ?? visit(e.rhs, subqueries);
      case 'Call':
        for (const a of e.args) {
          const r = visit(a, subqueries);
          if (r) return r;
        }
        return undefined;
      default:
        return undefined;
    }
  };
  return visit(expr, []) ?? { at: undefined, offsetMs: 0 };
}

/** An aggregation input series as one value per step, `present` marking the steps it has. */
interface StepColumns {
  metric: Labels;
  dropName: boolean;
  values: Float64Array;
  present: Uint8Array;
}

interface GroupState {
  value: number;
  mean: number;
  kahanC: number;
  count: number;
  incrementalMean: boolean;
  values: number[];
  dropName: boolean;
}

export function isValidLabelName(name: string): boolean {
  // Prometheus 3 accepts any non-empty UTF-8 label name.
  // U+FFFD stands for invalid UTF-8 bytes decoded from a Go string escape such as \xff.
  return name.length > 0 && isWellFormed(name) && !name.includes('\uFFFD');
}

function isWellFormed(s: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

export function mergeSeriesWithSameLabelset(mat: Matrix): Matrix {
  if (mat.length <= 1) return mat;
  const byKey = new Map<string, Series>();
  let merged = false;
  for (const s of mat) {
    const key = labelsKey(s.metric);
    const base = byKey.get(key);
    if (!base) {
      byKey.set(key, s);
      continue;
    }
    merged = true;
    base.floats = [...base.floats, ...s.floats].sort((a, b) => a.t - b.t);
    for (let i = 1; i < base.floats.length; i++) {
      if (base.floats[i]!.t === base.floats[i - 1]!.t) throw executionError(DUPLICATE_LABELSET);
    }
  }
  return merged ? [...byKey.values()] : mat;
}

function isSetOp(op: string): boolean {
  return op === 'and' || op === 'or' || op === 'unless';
}

function goPow(x: number, y: number): number {
  if (y === 0) return 1;
  if (x === 1) return 1;
  if ((x === -1) && (y === Infinity || y === -Infinity)) return 1;
  return x ** y;
}

export function scalarBinop(op: string, l: number, r: number): number {
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return l / r;
    case '^':
      return goPow(l, r);
    case '%':
      return l % r;
    case '==':
      return l === r ? 1 : 0;
    case '!=':
      return l !== r ? 1 : 0;
    case '>':
      return l > r ? 1 : 0;
    case '<':
      return l < r ? 1 : 0;
    case '>=':
      return l >= r ? 1 : 0;
    case '<=':
      return l <= r ? 1 : 0;
    case 'atan2':
      return Math.atan2(l, r);
  }
  throw executionError(`operator "${op}" not allowed for Scalar operations`);
}

/** vectorElemBinop for floats: [value, keep]. */
function elemBinop(op: string, l: number, r: number): [number, boolean] {
  switch (op) {
    case '==':
      return [l, l === r];
    case '!=':
      return [l, l !== r];
    case '>':
      return [l, l > r];
    case '<':
      return [l, l < r];
    case '>=':
      return [l, l >= r];
    case '<=':
      return [l, l <= r];
    default:
      return [scalarBinop(op, l, r), true];
  }
}

function changesMetricSchema(op: string): boolean {
  return op === '+' || op === '-' || op === '*' || op === '/' || op === '^' || op === '%' || op === 'atan2';
}

function isComparison(op: string): boolean {
  return op === '==' || op === '!=' || op === '>' || op === '<' || op === '>=' || op === '<=';
}

function vectorScalarBinop(op: string, lhs: Vector, scalar: number, swap: boolean, returnBool: boolean): Vector {
  const out: Vector = [];
  for (const s of lhs) {
    let l = s.f;
    let r = scalar;
    if (swap) [l, r] = [r, l];
    let [value, keep] = elemBinop(op, l, r);
    if (isComparison(op) && swap) value = r;
    if (returnBool) {
      value = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    out.push({ metric: s.metric, t: s.t, f: value, dropName: s.dropName || changesMetricSchema(op) || returnBool });
  }
  return out;
}

type SignatureFn = (labels: Labels) => string;

function signatureFn(matching: VectorMatching): SignatureFn {
  const cache = new WeakMap<Labels, string>();
  const names = [...matching.labels].sort(compareStrings);
  return (labels) => {
    let sig = cache.get(labels);
    if (sig !== undefined) return sig;
    sig = '';
    if (matching.on) {
      for (const n of names) {
        const v = labels[n];
        if (v !== undefined && v !== '') sig += `${n}\u0000${v}\u0001`;
      }
    } else {
      for (const n of Object.keys(labels).sort(compareStrings)) {
        if (n === METRIC_NAME || names.includes(n)) continue;
        sig += `${n}\u0000${labels[n]}\u0001`;
      }
    }
    cache.set(labels, sig);
    return sig;
  };
}

function vectorAnd(lhs: Vector, rhs: Vector, sig: SignatureFn): Vector {
  if (lhs.length === 0 || rhs.length === 0) return [];
  const right = new Set(rhs.map((s) => sig(s.metric)));
  return lhs.filter((s) => right.has(sig(s.metric)));
}

function vectorOr(lhs: Vector, rhs: Vector, sig: SignatureFn): Vector {
  if (lhs.length === 0) return [...rhs];
  if (rhs.length === 0) return [...lhs];
  const left = new Set(lhs.map((s) => sig(s.metric)));
  return [...lhs, ...rhs.filter((s) => !left.has(sig(s.metric)))];
}

function vectorUnless(lhs: Vector, rhs: Vector, sig: SignatureFn): Vector {
  if (lhs.length === 0 || rhs.length === 0) return [...lhs];
  const right = new Set(rhs.map((s) => sig(s.metric)));
  return lhs.filter((s) => !right.has(sig(s.metric)));
}

function matchLabels(labels: Labels, on: boolean, names: string[]): Labels {
  const out: Labels = {};
  for (const [k, v] of Object.entries(labels)) {
    if (on ? names.includes(k) : k !== METRIC_NAME && !names.includes(k)) out[k] = v;
  }
  return out;
}

function vectorBinop(op: string, lhsIn: Vector, rhsIn: Vector, matching: VectorMatching, returnBool: boolean, sig: SignatureFn): Vector {
  if (matching.card === 'many-to-many') throw new PromqlError('internal', 'many-to-many only allowed for set operators');
  if (lhsIn.length === 0 || rhsIn.length === 0) return [];
  let lhs = lhsIn;
  let rhs = rhsIn;
  if (matching.card === 'one-to-many') [lhs, rhs] = [rhs, lhs];
  const rightSigs = new Map<string, Sample>();
  for (const rs of rhs) {
    const s = sig(rs.metric);
    const dupl = rightSigs.get(s);
    if (dupl) {
      const oneSide = matching.card === 'one-to-many' ? 'left' : 'right';
      const matched = formatLabels(matchLabels(rs.metric, matching.on, matching.labels));
      let d1 = formatLabels(rs.metric);
      let d2 = formatLabels(dupl.metric);
      if (d1 > d2) [d1, d2] = [d2, d1];
      throw executionError(
        `found duplicate series for the match group ${matched} on the ${oneSide} hand-side of the operation: [${d1}, ${d2}]` +
          ';many-to-many matching not allowed: matching labels must be unique on one side',
      );
    }
    rightSigs.set(s, rs);
  }
  const matchedOneToOne = new Set<string>();
  const matchedSigs = new Map<string, Set<string>>();
  const out: Vector = [];
  const resultCache = new Map<string, Labels>();
  for (const ls of lhs) {
    const s = sig(ls.metric);
    const rs = rightSigs.get(s);
    if (!rs) continue;
    let fl = ls.f;
    let fr = rs.f;
    if (matching.card === 'one-to-many') [fl, fr] = [fr, fl];
    const [computed, keep] = elemBinop(op, fl, fr);
    const value = returnBool ? (keep ? 1 : 0) : computed;
    const metric = resultMetric(ls.metric, rs.metric, op, matching, resultCache);
    if (matching.card === 'one-to-one') {
      if (matchedOneToOne.has(s)) throw executionError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
      matchedOneToOne.add(s);
    } else {
      const insertSig = labelsKey(metric);
      let set = matchedSigs.get(s);
      if (!set) {
        set = new Set();
        matchedSigs.set(s, set);
      }
      if (set.has(insertSig)) throw executionError('multiple matches for labels: grouping labels must ensure unique matches');
      set.add(insertSig);
    }
    if (!keep && !returnBool) continue;
    out.push({ metric, t: ls.t, f: value, dropName: returnBool });
  }
  return out;
}

function resultMetric(lhs: Labels, rhs: Labels, op: string, matching: VectorMatching, cache: Map<string, Labels>): Labels {
  const key = `${labelsKey(lhs)}\u0002${labelsKey(rhs)}`;
  const cached = cache.get(key);
  if (cached) return cached;
  let out: Labels = { ...lhs };
  if (changesMetricSchema(op)) out = dropMetadata(out);
  if (matching.card === 'one-to-one') {
    if (matching.on) {
      const kept: Labels = {};
      for (const n of matching.labels) if (out[n] !== undefined) kept[n] = out[n]!;
      out = kept;
    } else {
      for (const n of matching.labels) delete out[n];
    }
  }
  for (const n of matching.include) {
    const v = rhs[n];
    if (v !== undefined && v !== '') out[n] = v;
    else delete out[n];
  }
  cache.set(key, out);
  return out;
}

function groupingKey(labels: Labels, grouping: string[], without: boolean): string {
  let key = '';
  if (without) {
    for (const n of Object.keys(labels).sort(compareStrings)) {
      if (n === METRIC_NAME || grouping.includes(n)) continue;
      key += `${n}\u0000${labels[n]}\u0001`;
    }
    return key;
  }
  for (const n of grouping) {
    const v = labels[n];
    if (v !== undefined && v !== '') key += `${n}\u0000${v}\u0001`;
  }
  return key;
}

function groupingLabels(labels: Labels, grouping: string[], without: boolean): Labels {
  const out: Labels = {};
  if (without) {
    for (const [k, v] of Object.entries(labels)) if (k !== METRIC_NAME && !grouping.includes(k)) out[k] = v;
    return out;
  }
  for (const n of grouping) {
    const v = labels[n];
    if (v !== undefined && v !== '') out[n] = v;
  }
  return out;
}

function countValues(vec: Vector, grouping: string[], without: boolean, valueLabel: string, ts: number): Vector {
  const groups = new Map<string, { labels: Labels; count: number }>();
  for (const s of vec) {
    const metric = { ...s.metric, [valueLabel]: formatFloatPlain(s.f) };
    const key = groupingKey(metric, grouping, without);
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { labels: groupingLabels(metric, grouping, without), count: 1 });
  }
  return [...groups.values()].map((g) => ({ metric: g.labels, t: ts, f: g.count, dropName: false }));
}

/** A binary heap with Go's container/heap algorithms, so ties resolve as in Prometheus. */
class GoHeap {
  readonly items: { f: number; si: number }[] = [];
  constructor(private readonly less: (a: number, b: number) => boolean) {}

  private lessAt(i: number, j: number): boolean {
    return this.less(this.items[i]!.f, this.items[j]!.f);
  }

  private swap(i: number, j: number): void {
    const t = this.items[i]!;
    this.items[i] = this.items[j]!;
    this.items[j] = t;
  }

  private up(j: number): void {
    while (j > 0) {
      const i = Math.floor((j - 1) / 2);
      if (i === j || !this.lessAt(j, i)) break;
      this.swap(i, j);
      j = i;
    }
  }

  private down(i0: number, n: number): boolean {
    let i = i0;
    for (;;) {
      const j1 = 2 * i + 1;
      if (j1 >= n || j1 < 0) break;
      let j = j1;
      const j2 = j1 + 1;
      if (j2 < n && this.lessAt(j2, j1)) j = j2;
      if (!this.lessAt(j, i)) break;
      this.swap(i, j);
      i = j;
    }
    return i > i0;
  }

  push(item: { f: number; si: number }): void {
    this.items.push(item);
    this.up(this.items.length - 1);
  }

  fix(i: number): void {
    if (!this.down(i, this.items.length)) this.up(i);
  }
}

/** topk/bottomk/limitk/limit_ratio for one step: per group, the chosen input series indexes in output order. */
function aggregateK(op: string, param: number, input: StepColumns[], step: number, seriesToGroup: number[], groupCount: number): number[][] {
  const k = Math.min(Math.trunc(param), input.length);
  if ((op === 'topk' || op === 'bottomk' || op === 'limitk') && !(k >= 1)) return [];
  let r = param;
  if (op === 'limit_ratio') {
    if (param === 0) return [];
    r = Math.max(-1, Math.min(1, param));
  }
  const heaps: (GoHeap | undefined)[] = new Array(groupCount);
  const chosen: number[][] = Array.from({ length: groupCount }, () => []);
  for (let si = 0; si < input.length; si++) {
    const s = input[si]!;
    if (s.present[step] === 0) continue;
    const f = s.values[step]!;
    const gi = seriesToGroup[si]!;
    if (op === 'limitk') {
      if (chosen[gi]!.length < k) chosen[gi]!.push(si);
      continue;
    }
    if (op === 'limit_ratio') {
      if (addRatioSample(r, input[si]!.metric)) chosen[gi]!.push(si);
      continue;
    }
    let heap = heaps[gi];
    if (!heap) {
      heap = new GoHeap(op === 'topk' ? lessByValue : lessByReverseValue);
      heaps[gi] = heap;
    }
    const item = { f, si };
    const top = heap.items[0];
    if (heap.items.length < k) heap.push(item);
    else if (top && (op === 'topk' ? top.f < f || (Number.isNaN(top.f) && !Number.isNaN(f)) : top.f > f || (Number.isNaN(top.f) && !Number.isNaN(f)))) {
      heap.items[0] = item;
      if (k > 1) heap.fix(0);
    }
  }
  if (op === 'topk' || op === 'bottomk') {
    const less = op === 'topk' ? lessByValue : lessByReverseValue;
    for (let gi = 0; gi < groupCount; gi++) {
      const heap = heaps[gi];
      if (!heap) continue;
      // sort.Sort(sort.Reverse(heap)): descending by the heap's order.
      const items = [...heap.items].sort((a, b) => (less(b.f, a.f) ? -1 : less(a.f, b.f) ? 1 : 0));
      chosen[gi] = items.map((i) => i.si);
    }
  }
  return chosen;
}

/** Prometheus's HashRatioSampler: a series is kept when its label hash falls inside the ratio. */
function addRatioSample(ratio: number, labels: Labels): boolean {
  const offset = labelsHashFraction(labels);
  if (ratio >= 0) return offset < ratio;
  return offset >= 1 + ratio;
}

/** The series' label hash (xxhash64 of Prometheus's label bytes) as a fraction of 2^64. */
function labelsHashFraction(labels: Labels): number {
  const names = Object.keys(labels).sort(compareStrings);
  const parts: number[] = [];
  const enc = new TextEncoder();
  for (const n of names) {
    for (const b of enc.encode(n)) parts.push(b);
    parts.push(0xff);
    for (const b of enc.encode(labels[n]!)) parts.push(b);
    parts.push(0xff);
  }
  const h = xxhash64(Uint8Array.from(parts));
  return Number(h) / 2 ** 64;
}

const P1 = 11400714785074694791n;
const P2 = 14029467366897019727n;
const P3 = 1609587929392839161n;
const P4 = 9650029242287828579n;
const P5 = 2870177450012600261n;
const M64 = (1n << 64n) - 1n;

function rotl(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & M64;
}

function round64(acc: bigint, input: bigint): bigint {
  acc = (acc + input * P2) & M64;
  acc = rotl(acc, 31n);
  return (acc * P1) & M64;
}

function mergeRound(acc: bigint, val: bigint): bigint {
  val = round64(0n, val);
  acc ^= val;
  return (acc * P1 + P4) & M64;
}

function readU64(b: Uint8Array, i: number): bigint {
  let v = 0n;
  for (let k = 7; k >= 0; k--) v = (v << 8n) | BigInt(b[i + k]!);
  return v;
}

function readU32(b: Uint8Array, i: number): bigint {
  return BigInt((b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0);
}

/** xxHash64 with seed 0 (cespare/xxhash, as Prometheus's labels.Hash uses). */
export function xxhash64(b: Uint8Array): bigint {
  const n = b.length;
  let i = 0;
  let h: bigint;
  if (n >= 32) {
    let v1 = (P1 + P2) & M64;
    let v2 = P2;
    let v3 = 0n;
    let v4 = (-P1) & M64;
    for (; i + 32 <= n; i += 32) {
      v1 = round64(v1, readU64(b, i));
      v2 = round64(v2, readU64(b, i + 8));
      v3 = round64(v3, readU64(b, i + 16));
      v4 = round64(v4, readU64(b, i + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M64;
    h = mergeRound(h, v1);
    h = mergeRound(h, v2);
    h = mergeRound(h, v3);
    h = mergeRound(h, v4);
  } else {
    h = P5;
  }
  h = (h + BigInt(n)) & M64;
  for (; i + 8 <= n; i += 8) {
    const k1 = round64(0n, readU64(b, i));
    h ^= k1;
    h = (rotl(h, 27n) * P1 + P4) & M64;
  }
  if (i + 4 <= n) {
    h ^= (readU32(b, i) * P1) & M64;
    h = (rotl(h, 23n) * P2 + P3) & M64;
    i += 4;
  }
  for (; i < n; i++) {
    h ^= (BigInt(b[i]!) * P5) & M64;
    h = (rotl(h, 11n) * P1) & M64;
  }
  h ^= h >> 33n;
  h = (h * P2) & M64;
  h ^= h >> 29n;
  h = (h * P3) & M64;
  h ^= h >> 32n;
  return h;
}
