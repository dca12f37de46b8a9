/**
 * The metric head: recent samples in memory in front of the ClickHouse storage (querier.ts).
 * Only storage/index.ts composes it; it never talks to ClickHouse itself.
 */
export { attachMetricHead, withMetricHead, type HeadedStorage } from './querier.js';
export { MetricHead, type MetricHeadOptions } from './metric-head.js';

/** Defaults: two hours (Prometheus's head block span), at most 10 M samples (~170 MB of columns). */
export const DEFAULT_HEAD_WINDOW_MS = 2 * 3_600_000;
export const DEFAULT_HEAD_MAX_SAMPLES = 10_000_000;
