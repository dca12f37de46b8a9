import type { Labels, LogRecord, MetricMetadata, Sample, Span, UnixNanos } from '../model/index.js';

/** Writes. Each call resolves once the rows are durably stored. */
export interface Appender {
  appendLogs(records: readonly LogRecord[]): Promise<void>;
  appendSpans(spans: readonly Span[]): Promise<void>;
  /** Samples of one tenant; series rows are written as needed. */
  appendSamples(tenant: string, samples: readonly Sample[]): Promise<void>;
  appendMetadata(tenant: string, metadata: readonly MetricMetadata[]): Promise<void>;
}

export interface TimeRange {
  start: UnixNanos;
  end: UnixNanos;
}

/** One condition of a trace search. `scope` says where the attribute lives. */
export interface SpanCondition {
  scope: 'resource' | 'span' | 'any' | 'intrinsic';
  /**
   * Attribute key, or for intrinsics: name, status, kind, duration, statusMessage, rootServiceName,
   * rootName, traceDuration. Status values are TraceQL's words (error, ok, unset), kinds too
   * (unspecified, internal, server, client, producer, consumer).
   */
  key: string;
  op: '=' | '!=' | '>' | '>=' | '<' | '<=' | '=~' | '!~';
  /**
   * Durations are nanoseconds. `null` is TraceQL's `nil`: `= nil` means the attribute is absent,
   * `!= nil` that it is present. An array (only with `=`) matches any of its values: Grafana's
   * multi-value filter sends `(a = x || a = y)`.
   */
  value: SpanConditionValue | SpanConditionValue[] | null;
}

export type SpanConditionValue = string | number | boolean;

export interface TraceSearchQuery {
  tenant: string;
  range?: TimeRange;
  /** Every condition must hold on one and the same span (TraceQL `{ a && b }`). */
  conditions: SpanCondition[];
  /** Nanoseconds; bounds of the trace's duration. */
  minDurationNs?: bigint;
  maxDurationNs?: bigint;
  limit: number;
  /** Matching spans returned per trace (Tempo's spss). */
  spansPerTrace: number;
}

export interface TraceSummary {
  traceId: string;
  rootServiceName: string;
  rootTraceName: string;
  startTime: UnixNanos;
  durationNs: bigint;
  /** The spans that matched the conditions, at most spansPerTrace. */
  matchedSpans: Span[];
  matchedCount: number;
}

export interface SpanQuerier {
  /** Every span of a trace, or [] when unknown. */
  getTrace(tenant: string, traceId: string, range?: TimeRange): Promise<Span[]>;
  searchTraces(query: TraceSearchQuery): Promise<TraceSummary[]>;
  /** Attribute keys seen, by scope. */
  tagNames(tenant: string, range?: TimeRange): Promise<{ resource: string[]; span: string[] }>;
  tagValues(
    tenant: string,
    scope: 'resource' | 'span' | 'any' | 'intrinsic',
    key: string,
    range?: TimeRange,
    limit?: number,
    /** Only values seen on spans matching all of these (Tempo's `q` on tag-value requests). */
    conditions?: SpanCondition[],
  ): Promise<{ type: string; value: string }[]>;
}

export interface LogQuery {
  tenant: string;
  range: TimeRange;
  serviceName?: string;
  traceId?: string;
  limit: number;
}

export interface LogQuerier {
  /** Newest first. */
  queryLogs(query: LogQuery): Promise<LogRecord[]>;
  countLogs(tenant: string): Promise<number>;
}

export interface SeriesQuery {
  tenant: string;
  /** Exact label equality matchers (richer matchers arrive with PromQL). */
  equals: Labels;
  startMs: number;
  endMs: number;
}

export interface StoredSeries {
  labels: Labels;
  samples: { timestampMs: number; value: number; stale: boolean }[];
}

/** A Prometheus label matcher. Regular expressions are RE2, fully anchored (as Prometheus). */
export interface LabelMatcher {
  type: '=' | '!=' | '=~' | '!~';
  name: string;
  value: string;
}

export interface SeriesSelect {
  tenant: string;
  /** Every matcher must hold; `__name__` is the metric name. */
  matchers: readonly LabelMatcher[];
  /** Inclusive bounds of the samples returned. */
  startMs: number;
  endMs: number;
}

export interface SeriesQuerier {
  /**
   * Series matching all matchers that have at least one sample (stale markers included) in
   * [startMs, endMs], with those samples in ascending time order.
   */
  select(query: SeriesSelect): Promise<StoredSeries[]>;
  selectSeries(query: SeriesQuery): Promise<StoredSeries[]>;
  metricMetadata(tenant: string): Promise<MetricMetadata[]>;
}

export interface RetentionDays {
  logs: number;
  traces: number;
  metrics: number;
}

export interface StorageOptions {
  /** Embedded engine data directory (used when clickhouseUrl is absent). */
  dataDir: string;
  /** A ClickHouse server, e.g. http://user:pass@host:8123/db. */
  clickhouseUrl?: string;
  retention: RetentionDays;
  /** Connections for reads (the embedded engine runs one query per connection at a time). */
  readPoolSize?: number;
}

export interface Storage {
  readonly appender: Appender;
  readonly spans: SpanQuerier;
  readonly logs: LogQuerier;
  readonly series: SeriesQuerier;
  readonly kind: 'embedded' | 'server';
  /** Storage reachable and migrations applied. */
  ready(): Promise<boolean>;
  /** Bytes on disk and rows per table, for benchmarks and /metrics. */
  tableStats(): Promise<{ table: string; rows: number; bytesOnDisk: number }[]>;
  close(): Promise<void>;
}
