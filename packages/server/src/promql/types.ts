import { LookoutError, type ErrorCode } from '../errors.js';
import type { Labels } from '../model/index.js';

export type PromqlValue =
  | { type: 'vector'; samples: { labels: Labels; timestampMs: number; value: number }[] }
  | { type: 'matrix'; series: { labels: Labels; points: { timestampMs: number; value: number }[] }[] }
  | { type: 'scalar'; timestampMs: number; value: number }
  | { type: 'string'; timestampMs: number; value: string };

export interface PromqlResult {
  value: PromqlValue;
  warnings: string[];
  infos: string[];
}

/** Prometheus API error types: bad_data → 400, execution → 422, timeout/canceled → 503, internal → 500. */
export type PromqlErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal';

export interface InstantQuery {
  tenant: string;
  query: string;
  timeMs: number;
  timeoutMs?: number;
  lookbackDeltaMs?: number;
  signal?: AbortSignal;
}

export interface RangeQuery {
  tenant: string;
  query: string;
  startMs: number;
  endMs: number;
  stepMs: number;
  timeoutMs?: number;
  lookbackDeltaMs?: number;
  signal?: AbortSignal;
}

export interface PromqlEngine {
  instantQuery(q: InstantQuery): Promise<PromqlResult>;
  rangeQuery(q: RangeQuery): Promise<PromqlResult>;
}

const ERROR_CODE_OF_TYPE: Record<PromqlErrorType, ErrorCode> = {
  bad_data: 'LOOKOUT_ERR_QUERY_PARSE',
  execution: 'LOOKOUT_ERR_PROMQL_EXECUTION',
  timeout: 'LOOKOUT_ERR_PROMQL_TIMEOUT',
  canceled: 'LOOKOUT_ERR_PROMQL_CANCELED',
  internal: 'LOOKOUT_ERR_INTERNAL',
};

/** A failed PromQL query; `errorType` is the Prometheus API's `errorType`. */
export class PromqlError extends LookoutError {
  readonly errorType: PromqlErrorType;

  constructor(errorType: PromqlErrorType, message: string, options: { cause?: unknown } = {}) {
    super(ERROR_CODE_OF_TYPE[errorType], message, options);
    this.name = 'PromqlError';
    this.errorType = errorType;
  }
}
