/** The LogQL engine's public contract (used by the Loki HTTP API and the tail subsystem). */
import type { Labels } from '../model/index.js';
import type { LogQuerier } from '../storage/index.js';

export interface LogqlQuery {
  tenant: string;
  query: string;
  /** Inclusive start, exclusive end for log queries; the evaluation range for metric queries. */
  startNs: bigint;
  endNs: bigint;
  /** Maximum entries returned by a log query. */
  limit: number;
  direction: 'forward' | 'backward';
  /** Range-query resolution; absent with `instant`. */
  stepMs?: number;
  /** Loki's `interval` for log queries (entries at most this often per stream). */
  intervalMs?: number;
  /** Evaluate a metric query once, at endNs. */
  instant?: boolean;
  signal?: AbortSignal;
}

export interface LogEntryResult {
  timestampNs: bigint;
  line: string;
  structuredMetadata: Labels;
  /** Labels added by parser stages (Loki's "parsed" category). */
  parsed: Labels;
}

export type LogqlValue =
  /** `stream` holds the labels after the pipeline (labels added/removed by stages applied). */
  | { type: 'streams'; streams: { stream: Labels; entries: LogEntryResult[] }[] }
  | { type: 'vector'; samples: { labels: Labels; timestampMs: number; value: number }[] }
  | { type: 'matrix'; series: { labels: Labels; points: { timestampMs: number; value: number }[] }[] }
  | { type: 'scalar'; timestampMs: number; value: number };

export interface LogqlResult {
  value: LogqlValue;
  stats: { bytesProcessed: number; linesProcessed: number; execTimeSeconds: number };
}

export interface LogqlEngine {
  query(q: LogqlQuery): Promise<LogqlResult>;
}

export interface LogqlEngineOptions {
  logs: LogQuerier;
  /** Largest number of series a metric query may produce (Loki's max_query_series, 500). */
  maxSeries?: number;
  /** Largest `limit` of a log query (Loki's max_entries_limit_per_query, 5000). */
  maxEntries?: number;
  timeoutMs?: number;
  /**
   * Let storage compute count/bytes aggregations (default true). Off, every line is read and
   * counted in Node: the reference the pushdown is tested and measured against.
   */
  aggregatePushdown?: boolean;
}
