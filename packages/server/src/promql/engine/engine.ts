/**
 * The PromQL engine: parses, preprocesses (step invariants, `@ start()/end()`), evaluates through the
 * Evaluator with Prometheus's limits, and shapes the result as Prometheus's API does.
 */
import type { SeriesQuerier } from '../../storage/index.js';
import type { Expr } from '../ast.js';
import { PromqlError, type InstantQuery, type PromqlEngine, type PromqlResult, type PromqlValue, type RangeQuery } from '../types.js';
import { parsePromql } from '../parser/index.js';
import { Annotations } from './annotations.js';
import { Evaluator } from './evaluator.js';
import { unwrapParen } from './functions.js';
import { compareLabels, dropMetadata, DUPLICATE_LABELSET, labelsKey, type Matrix } from './values.js';
import { mergeSeriesWithSameLabelset } from './evaluator.js';

export interface PromqlEngineOptions {
  /** The engine reads samples only through `selectColumns` when the storage has it, else `select`. */
  querier: Pick<SeriesQuerier, 'select' | 'selectColumns'>;
  /** Parses a query into Lookout's AST (default: parsePromql); syntax errors become bad_data. */
  parse?: (query: string) => Expr;
  /** Prometheus's --enable-feature=promql-experimental-functions (default off, as Prometheus). */
  enableExperimentalFunctions?: boolean;
  /** Prometheus's --query.max-samples (default 50,000,000). */
  maxSamples?: number;
  /** Prometheus's --query.timeout (default 2m). */
  timeoutMs?: number;
  /** Prometheus's --query.lookback-delta (default 5m). */
  lookbackDeltaMs?: number;
  /** The step of subqueries without one; Prometheus uses the global evaluation interval (default 1m). */
  defaultSubqueryStepMs?: number;
  /** The most points a range query may return per series (Prometheus: 11,000). */
  maxPointsPerSeries?: number;
}

/** A query already parsed (the conformance runner rewrites ASTs, like Prometheus's harness). */
export interface ParsedInstantQuery extends Omit<InstantQuery, 'query'> {
  expr: Expr;
  query?: string;
}
export interface ParsedRangeQuery extends Omit<RangeQuery, 'query'> {
  expr: Expr;
  query?: string;
}

export interface PromqlEngineWithAst extends PromqlEngine {
  instantQueryAst(q: ParsedInstantQuery): Promise<PromqlResult>;
  rangeQueryAst(q: ParsedRangeQuery): Promise<PromqlResult>;
}

const AT_MODIFIER_UNSAFE = new Set([
  'days_in_month',
  'day_of_month',
  'day_of_week',
  'day_of_year',
  'end',
  'hour',
  'minute',
  'month',
  'year',
  'predict_linear',
  'range',
  'start',
  'step',
  'time',
  'timestamp',
]);

/** Marks the nodes Prometheus's PreprocessExpr wraps in StepInvariantExpr. */
export function findStepInvariants(expr: Expr): WeakSet<Expr> {
  const wrap = new WeakSet<Expr>();
  const helper = (e: Expr): [boolean, boolean] => {
    switch (e.kind) {
      case 'VectorSelector':
        return [e.at !== undefined, e.at !== undefined];
      case 'Aggregate':
        return helper(e.expr);
      case 'Binary': {
        const [i1, w1] = helper(e.lhs);
        const [i2, w2] = helper(e.rhs);
        if (i1 && i2) return [true, w1 || w2];
        if (i1 && w1) wrap.add(e.lhs);
        if (i2 && w2) wrap.add(e.rhs);
        return [false, false];
      }
      case 'Call': {
        let invariant = !AT_MODIFIER_UNSAFE.has(e.func);
        let timestampSafe = e.func === 'timestamp';
        const shouldWrap: boolean[] = [];
        const args = e.args.map(unwrapParen);
        for (const a of args) {
          const [ai, aw] = helper(a);
          shouldWrap.push(aw);
          invariant = invariant && ai;
          if (!ai || a.kind !== 'VectorSelector') timestampSafe = false;
        }
        if (invariant || timestampSafe) return [true, shouldWrap.includes(true)];
        args.forEach((a, i) => {
          if (shouldWrap[i]) wrap.add(a);
        });
        return [false, false];
      }
      case 'MatrixSelector':
        return helper(e.vectorSelector);
      case 'Subquery': {
        const [inner] = helper(e.expr);
        if (inner) wrap.add(e.expr);
        return [e.at !== undefined, e.at !== undefined];
      }
      case 'Paren':
      case 'Unary':
        return helper(e.expr);
      case 'StringLiteral':
      case 'NumberLiteral':
        return [true, false];
    }
  };
  const [invariant, shouldWrap] = helper(expr);
  if (invariant && shouldWrap) wrap.add(expr);
  return wrap;
}

/** Prometheus folds start()/end()/range()/step() (experimental) into numbers before evaluation. */
function hasQueryContextCall(expr: Expr): boolean {
  switch (expr.kind) {
    case 'Call':
      return ['start', 'end', 'range', 'step'].includes(expr.func) || expr.args.some(hasQueryContextCall);
    case 'Binary':
      return hasQueryContextCall(expr.lhs) || hasQueryContextCall(expr.rhs);
    case 'Aggregate':
      return hasQueryContextCall(expr.expr) || (expr.param !== undefined && hasQueryContextCall(expr.param));
    case 'Unary':
    case 'Paren':
    case 'Subquery':
      return hasQueryContextCall(expr.expr);
    default:
      return false;
  }
}

function foldQueryContext(expr: Expr, startMs: number, endMs: number, stepMs: number): Expr {
  const fold = (e: Expr): Expr => {
    if (e.kind === 'Call') {
      const num = (value: number): Expr => ({ kind: 'NumberLiteral', type: 'scalar', value, pos: e.pos });
      switch (e.func) {
        case 'start':
          return num(startMs / 1000);
        case 'end':
          return num(endMs / 1000);
        case 'range':
          return num((endMs - startMs) / 1000);
        case 'step':
          return num(startMs === endMs ? 0 : stepMs / 1000);
      }
      return { ...e, args: e.args.map(fold) };
    }
    switch (e.kind) {
      case 'Binary':
        return { ...e, lhs: fold(e.lhs), rhs: fold(e.rhs) };
      case 'Aggregate':
        return { ...e, expr: fold(e.expr), param: e.param === undefined ? undefined : fold(e.param) };
      case 'Unary':
      case 'Paren':
      case 'Subquery':
        return { ...e, expr: fold(e.expr) } as Expr;
      default:
        return e;
    }
  };
  return fold(expr);
}

export function createEngine(options: PromqlEngineOptions): PromqlEngineWithAst {
  const maxSamples = options.maxSamples ?? 50_000_000;
  const defaultTimeoutMs = options.timeoutMs ?? 120_000;
  const defaultLookback = options.lookbackDeltaMs ?? 300_000;
  const subqueryStep = options.defaultSubqueryStepMs ?? 60_000;
  const maxPoints = options.maxPointsPerSeries ?? 11_000;

  const parse = (query: string): Expr => {
    try {
      if (options.parse) return options.parse(query);
      return parsePromql(query, { enableExperimentalFunctions: options.enableExperimentalFunctions ?? false });
    } catch (error) {
      if (error instanceof PromqlError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new PromqlError('bad_data', message, { cause: error });
    }
  };

  async function run(
    exprIn: Expr,
    query: string,
    tenant: string,
    startMs: number,
    endMs: number,
    stepMs: number,
    opts: { timeoutMs?: number; lookbackDeltaMs?: number; signal?: AbortSignal },
  ): Promise<PromqlResult> {
    const isInstant = startMs === endMs && stepMs === 0;
    const interval = isInstant ? 1 : stepMs;
    const expr = hasQueryContextCall(exprIn) ? foldQueryContext(exprIn, startMs, endMs, stepMs) : exprIn;
    if (!isInstant && expr.type !== 'scalar' && expr.type !== 'vector') {
      const name = expr.type === 'matrix' ? 'range vector' : expr.type;
      throw new PromqlError('bad_data', `invalid expression type "${name}" for range query, must be Scalar or instant Vector`);
    }
    const timeoutMs = opts.timeoutMs ?? defaultTimeoutMs;
    const annos = new Annotations();
    const ev = new Evaluator(
      {
        querier: options.querier,
        tenant,
        lookbackDeltaMs: opts.lookbackDeltaMs ?? defaultLookback,
        noStepSubqueryIntervalMs: () => subqueryStep,
        limits: { maxSamples, deadlineMs: Date.now() + timeoutMs, timeoutMs, signal: opts.signal },
        annos,
        queryStartMs: startMs,
        queryEndMs: endMs,
        stepInvariant: findStepInvariants(expr),
      },
      startMs,
      endMs,
      interval,
    );
    let value: PromqlValue;
    try {
      const res = await ev.eval(expr);
      value = shape(res, expr, isInstant, startMs);
    } catch (error) {
      if (error instanceof PromqlError) throw error;
      // Anything else is a bug or a runtime limit (e.g. stack depth): Prometheus reports it the same way.
      throw new PromqlError('internal', `unexpected error: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const rendered = annos.render(query);
    return { value, warnings: rendered.warnings, infos: rendered.infos };
  }

  /** Delayed __name__ removal, then Prometheus's result types. */
  function shape(res: Matrix | string, expr: Expr, isInstant: boolean, timeMs: number): PromqlValue {
    if (typeof res === 'string') return { type: 'string', timestampMs: timeMs, value: res };
    for (const s of res) if (s.dropName) s.metric = dropMetadata(s.metric);
    if (expr.type === 'scalar') {
      const s = res[0];
      if (isInstant) return { type: 'scalar', timestampMs: timeMs, value: s?.floats[0]?.f ?? NaN };
      return { type: 'matrix', series: s ? [{ labels: {}, points: s.floats.map((p) => ({ timestampMs: p.t, value: p.f })) }] : [] };
    }
    if (isInstant && expr.type === 'vector') {
      const seen = new Set<string>();
      for (const s of res) {
        const key = labelsKey(s.metric);
        if (seen.has(key)) throw new PromqlError('execution', DUPLICATE_LABELSET);
        seen.add(key);
      }
      return { type: 'vector', samples: res.map((s) => ({ labels: s.metric, timestampMs: timeMs, value: s.floats[0]?.f ?? NaN })) };
    }
    const merged = mergeSeriesWithSameLabelset(res);
    merged.sort((a, b) => compareLabels(a.metric, b.metric));
    return {
      type: 'matrix',
      series: merged.map((s) => ({ labels: s.metric, points: s.floats.map((p) => ({ timestampMs: p.t, value: p.f })) })),
    };
  }

  function checkRange(q: { startMs: number; endMs: number; stepMs: number }): void {
    if (!(q.stepMs > 0)) throw new PromqlError('bad_data', 'zero or negative query resolution step widths are not accepted. Try a positive integer');
    if (q.endMs < q.startMs) throw new PromqlError('bad_data', 'end timestamp must not be before start time');
    if ((q.endMs - q.startMs) / q.stepMs > maxPoints) {
      throw new PromqlError('bad_data', `exceeded maximum resolution of ${maxPoints.toLocaleString('en-US')} points per timeseries. Try decreasing the query resolution (?step=XX)`);
    }
  }

  return {
    async instantQuery(q) {
      return run(parse(q.query), q.query, q.tenant, q.timeMs, q.timeMs, 0, q);
    },
    async rangeQuery(q) {
      checkRange(q);
      return run(parse(q.query), q.query, q.tenant, q.startMs, q.endMs, q.stepMs, q);
    },
    async instantQueryAst(q) {
      return run(q.expr, q.query ?? '', q.tenant, q.timeMs, q.timeMs, 0, q);
    },
    async rangeQueryAst(q) {
      checkRange(q);
      return run(q.expr, q.query ?? '', q.tenant, q.startMs, q.endMs, q.stepMs, q);
    },
  };
}
