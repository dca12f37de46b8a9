import type { Labels, LogRecord, MetricMetadata, Sample, Span, UnixNanos } from '../model/index.js';

/** Writes. Each call resolves once the rows are durably stored. */
export interface Appender {
  appendLogs(records: readonly LogRecord[]): Promise<void>;
  appendSpans(spans: readonly Span[]): Promise<void>;
  /** Samples of one tenant; series rows are written as needed. */
  appendSamples(tenant: string, samples: readonly Sample[]): Promise<void>;
  appendMetadata(tenant: string, metadata: readonly MetricMetadata[]): Promise<void>;
  /** Exemplars of one tenant (remote-write); stored beside the samples, not through them. */
  appendExemplars(tenant: string, exemplars: readonly MetricExemplar[]): Promise<void>;
}

/** A Prometheus exemplar: a sample of a series carrying its own labels (e.g. trace_id). */
export interface MetricExemplar {
  seriesLabels: Labels;
  labels: Labels;
  value: number;
  timestampMs: number;
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

/**
 * A line filter pushed down to storage: a line passes a positive filter when it matches any of
 * `values`, a negative one when it matches none. `contains` is a substring test, `regex` an
 * unanchored RE2 match, `like` a SQL LIKE pattern (Loki's `|>` patterns).
 */
export interface LogLineFilter {
  negate: boolean;
  kind: 'contains' | 'regex' | 'like';
  values: string[];
}

/** Log entries of the streams matching `matchers` (on Loki stream labels) whose line passes every filter. */
export interface LogStreamSelect {
  tenant: string;
  matchers: readonly LabelMatcher[];
  lineFilters: readonly LogLineFilter[];
  /** Inclusive start, exclusive end. */
  startNs: bigint;
  endNs: bigint;
  direction: 'forward' | 'backward';
  /** At most this many entries (all when absent). */
  limit?: number;
}

export interface LogStreamEntry {
  timestampNs: bigint;
  line: string;
  streamLabels: Labels;
  /**
   * Loki 3's structured metadata: log attributes, resource attributes not promoted to stream
   * labels, trace_id/span_id/severity_text when set; names with characters outside
   * [a-zA-Z0-9_] turned into `_`.
   */
  structuredMetadata: Labels;
}

/**
 * Count and byte totals per stream and time bucket, computed in storage. Bucket `i` holds the
 * entries with originNs + (i-1)·bucketNs < t <= originNs + i·bucketNs (Loki's left-open windows).
 */
export interface LogBucketSelect extends Omit<LogStreamSelect, 'direction' | 'limit'> {
  originNs: bigint;
  bucketNs: bigint;
  /** Sum line bytes per bucket too (bytes_over_time); otherwise `bytes` is 0 and Body unread. */
  bytes?: boolean;
  /**
   * Group by these labels' values only, instead of by whole label sets (for `sum by (...)`).
   * Plain names ([a-zA-Z][a-zA-Z0-9]*), resolved as a LogQL pipeline would: structured metadata,
   * else the stream label, else — with `json` — the top-level JSON field of the line as Loki's
   * json parser labels it. With `json`, rows are also grouped by whether the line is a JSON object.
   */
  groupBy?: { labels: readonly string[]; json: boolean };
}

export interface LogBucketSeries {
  /** Without groupBy: the series' stream labels and structured metadata. */
  streamLabels: Labels;
  structuredMetadata: Labels;
  /** With groupBy: the group's label values (empty ones absent). */
  groupLabels?: Labels;
  /** With groupBy.json: the lines are not JSON objects (Loki: JSONParserErr). */
  jsonInvalid?: boolean;
  buckets: { index: number; count: number; bytes: number }[];
}

export interface LogQuerier {
  /** Newest first. */
  queryLogs(query: LogQuery): Promise<LogRecord[]>;
  countLogs(tenant: string): Promise<number>;
  /**
   * Entries in time order (ascending for forward, descending for backward), delivered in pages
   * to `onPage`; resolves when all are delivered or onPage returns false.
   */
  selectLogEntries(query: LogStreamSelect, onPage: (entries: LogStreamEntry[]) => boolean | void): Promise<void>;
  /**
   * Undefined when storage cannot give the answer a line-by-line evaluation would (with
   * groupBy.json: a JSON number it would print differently than written, or a number beyond
   * its parser's range); the caller then reads the lines.
   */
  countLogBuckets(query: LogBucketSelect): Promise<LogBucketSeries[] | undefined>;
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

/** A StoredSeries as columns (SeriesQuerier.selectColumns): no object per sample. */
export interface StoredSeriesColumns {
  labels: Labels;
  /** Ascending sample timestamps (ms), and the values at the same positions. */
  timestampsMs: Float64Array;
  values: Float64Array;
  /** 1 where the sample is a staleness marker; absent when none is. */
  stale?: Uint8Array;
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
  /**
   * `select` as columns, for readers of many samples (the PromQL engine): the same series and
   * samples without one object per sample. Optional; callers fall back to `select`.
   */
  selectColumns?(query: SeriesSelect): Promise<StoredSeriesColumns[]>;
  selectSeries(query: SeriesQuery): Promise<StoredSeries[]>;
  metricMetadata(tenant: string): Promise<MetricMetadata[]>;
  /** Label sets of the series matching any of the matcher sets (all series when none), sorted. */
  series(query: SeriesMatch): Promise<Labels[]>;
  /** Label names of the matching series, sorted. */
  labelNames(query: SeriesMatch): Promise<string[]>;
  /** Values of one label on the matching series, sorted; empty values are absent labels. */
  labelValues(query: SeriesMatch & { name: string }): Promise<string[]>;
  /**
   * Metadata per metric family: each distinct description still current, grouped by family
   * (Prometheus's /api/v1/metadata); optionally one metric, at most `limit` families and
   * `limitPerMetric` entries each.
   */
  metadata(query: { tenant: string; metric?: string; limit?: number; limitPerMetric?: number }): Promise<MetricMetadata[]>;
  /** Exemplars of the series matching any of the matcher sets, in [startMs, endMs]. */
  exemplars(query: SeriesMatch): Promise<{ seriesLabels: Labels; exemplars: { labels: Labels; value: number; timestampMs: number }[] }[]>;
}

/**
 * Series lookup as Prometheus's /api/v1/series, /labels, /label/<name>/values take it: a union
 * of matcher sets (`match[]`), a time range (open ends are undefined), and a result limit.
 */
export interface SeriesMatch {
  tenant: string;
  matcherSets: readonly (readonly LabelMatcher[])[];
  startMs?: number;
  endMs?: number;
  /** At most this many results (0 or undefined: no limit). */
  limit?: number;
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
  /**
   * The in-memory head of recent metric samples (storage/head): the last `windowMs` answered
   * from memory, at most `maxSamples`. Embedded engine only; absent: the defaults; windowMs 0: none.
   */
  head?: { windowMs: number; maxSamples: number };
}

/** A Loki index read: streams of a tenant with entries in [startNs, endNs]. */
export interface LogStreamQuery {
  tenant: string;
  startNs: bigint;
  endNs: bigint;
  /** Stream selectors (matchers on stream labels); a stream matches any one of them. None: all streams. */
  selectors?: readonly (readonly LabelMatcher[])[];
}

export interface LogVolumeQuery extends LogStreamQuery {
  /** Labels to group by; empty: the selectors' label names (all labels for `{}`). */
  targetLabels: string[];
  /** `series`: one result per label combination; `labels`: one per label name. */
  aggregateBy: 'series' | 'labels';
  limit: number;
  /** Bucket width for volume_range; absent: one bucket ending at endNs. */
  stepMs?: number;
}

export interface LogVolumeSeries {
  labels: Labels;
  points: { timestampMs: number; bytes: number }[];
}

/** Loki's index API over stream labels (labels, label values, series, index stats, volume). */
export interface LogStreamQuerier {
  labelNames(query: LogStreamQuery): Promise<string[]>;
  labelValues(query: LogStreamQuery & { name: string }): Promise<string[]>;
  /** Distinct label sets, labels sorted by name. */
  series(query: LogStreamQuery): Promise<Labels[]>;
  /** `chunks` counts streams: Lookout keeps no chunks. Bytes are line bytes. */
  indexStats(query: LogStreamQuery): Promise<{ streams: number; chunks: number; entries: number; bytes: number }>;
  volume(query: LogVolumeQuery): Promise<LogVolumeSeries[]>;
}

export interface Storage {
  readonly appender: Appender;
  readonly spans: SpanQuerier;
  readonly logs: LogQuerier;
  readonly series: SeriesQuerier;
  readonly logStreams: LogStreamQuerier;
  readonly kind: 'embedded' | 'server';
  /** Storage reachable and migrations applied. */
  ready(): Promise<boolean>;
  /**
   * Registers a listener for acknowledged rows of `table` that storage refused after every
   * retry (the write-ahead log moved them aside): caches of stored data must drop them.
   */
  onDataLost?(listener: (table: string) => void): void;
  /** The embedded engine's write-ahead log, for /metrics; absent on a ClickHouse server. */
  writeAheadLog?(): {
    pendingBytes: number;
    pendingRows: number;
    pendingSegments: number;
    storedRows: Record<string, number>;
    failedSegments: number;
  };
  /** Bytes on disk and rows per table, for benchmarks and /metrics. */
  tableStats(): Promise<{ table: string; rows: number; bytesOnDisk: number }[]>;
  close(): Promise<void>;
}
