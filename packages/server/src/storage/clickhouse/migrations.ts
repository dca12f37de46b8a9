/**
 * Versioned schema migrations, applied in order at start-up and recorded in
 * `lookout_migrations`. A migration is never edited once released: add a new one.
 *
 * Column names of otel_logs / otel_traces follow the OpenTelemetry Collector ClickHouse
 * exporter, so the Grafana ClickHouse plugin and HyperDX can read Lookout's tables. Lookout
 * adds a TenantId column and `*AttributeTypes` maps, which restore the OTLP type of
 * non-string attribute values (the exporter stores every value as text).
 *
 * Codecs were chosen by bench/codecs.ts (docs/BENCHMARKS.md): LZ4 for columns that repeat one
 * value per request (resource and scope), where ZSTD(1) handles long identical runs poorly;
 * Delta rather than DoubleDelta for jittery scrape timestamps.
 *
 * TTL intervals come from validated configuration (whole days), not from requests; DDL cannot
 * bind parameters, so they are formatted as integers after validation.
 */
import type { RetentionDays } from '../types.js';

export interface Migration {
  version: number;
  description: string;
  /** `embedded`: the data directory of the embedded engine (not a ClickHouse server). */
  statements: (retention: RetentionDays, target?: { embedded: boolean }) => string[];
}

const ATTR_MAP = 'Map(LowCardinality(String), String)';
const TYPE_MAP = 'Map(LowCardinality(String), LowCardinality(String))';

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'logs, spans, metric series and samples',
    statements: (retention) => [
      `CREATE TABLE IF NOT EXISTS otel_logs (
        TenantId LowCardinality(String) CODEC(ZSTD(1)),
        Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
        TimestampTime DateTime DEFAULT toDateTime(Timestamp),
        ObservedTimestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
        TraceId String CODEC(ZSTD(1)),
        SpanId String CODEC(ZSTD(1)),
        TraceFlags UInt8,
        SeverityText LowCardinality(String) CODEC(ZSTD(1)),
        SeverityNumber UInt8,
        ServiceName LowCardinality(String) CODEC(ZSTD(1)),
        Body String CODEC(ZSTD(1)),
        BodyType LowCardinality(String) CODEC(ZSTD(1)),
        EventName LowCardinality(String) CODEC(ZSTD(1)),
        ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
        ResourceAttributes ${ATTR_MAP} CODEC(LZ4),
        ResourceAttributeTypes ${TYPE_MAP} CODEC(LZ4),
        ResourceDroppedAttributesCount UInt32 CODEC(ZSTD(1)),
        ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
        ScopeName String CODEC(LZ4),
        ScopeVersion LowCardinality(String) CODEC(ZSTD(1)),
        ScopeAttributes ${ATTR_MAP} CODEC(LZ4),
        ScopeAttributeTypes ${TYPE_MAP} CODEC(LZ4),
        ScopeDroppedAttributesCount UInt32 CODEC(ZSTD(1)),
        LogAttributes ${ATTR_MAP} CODEC(ZSTD(1)),
        LogAttributeTypes ${TYPE_MAP} CODEC(ZSTD(1)),
        DroppedAttributesCount UInt32 CODEC(ZSTD(1)),
        INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
        INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
      ) ENGINE = MergeTree
      PARTITION BY toDate(TimestampTime)
      ORDER BY (TenantId, ServiceName, TimestampTime, Timestamp)
      TTL TimestampTime + toIntervalDay(${retention.logs})
      SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`,

      `CREATE TABLE IF NOT EXISTS otel_traces (
        TenantId LowCardinality(String) CODEC(ZSTD(1)),
        Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
        TraceId String CODEC(ZSTD(1)),
        SpanId String CODEC(ZSTD(1)),
        ParentSpanId String CODEC(ZSTD(1)),
        TraceState String CODEC(ZSTD(1)),
        SpanFlags UInt32 CODEC(ZSTD(1)),
        SpanName LowCardinality(String) CODEC(ZSTD(1)),
        SpanKind LowCardinality(String) CODEC(ZSTD(1)),
        ServiceName LowCardinality(String) CODEC(ZSTD(1)),
        ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
        ResourceAttributes ${ATTR_MAP} CODEC(LZ4),
        ResourceAttributeTypes ${TYPE_MAP} CODEC(LZ4),
        ResourceDroppedAttributesCount UInt32 CODEC(ZSTD(1)),
        ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
        ScopeName String CODEC(LZ4),
        ScopeVersion String CODEC(ZSTD(1)),
        ScopeAttributes ${ATTR_MAP} CODEC(LZ4),
        ScopeAttributeTypes ${TYPE_MAP} CODEC(LZ4),
        ScopeDroppedAttributesCount UInt32 CODEC(ZSTD(1)),
        SpanAttributes ${ATTR_MAP} CODEC(ZSTD(3)),
        SpanAttributeTypes ${TYPE_MAP} CODEC(ZSTD(1)),
        DroppedAttributesCount UInt32 CODEC(ZSTD(1)),
        Duration UInt64 CODEC(ZSTD(1)),
        StatusCode LowCardinality(String) CODEC(ZSTD(1)),
        StatusMessage String CODEC(ZSTD(1)),
        Events Nested (
          Timestamp DateTime64(9),
          Name LowCardinality(String),
          Attributes ${ATTR_MAP},
          AttributeTypes ${TYPE_MAP},
          DroppedAttributesCount UInt32
        ) CODEC(ZSTD(1)),
        DroppedEventsCount UInt32 CODEC(ZSTD(1)),
        Links Nested (
          TraceId String,
          SpanId String,
          TraceState String,
          Flags UInt32,
          Attributes ${ATTR_MAP},
          AttributeTypes ${TYPE_MAP},
          DroppedAttributesCount UInt32
        ) CODEC(ZSTD(1)),
        DroppedLinksCount UInt32 CODEC(ZSTD(1)),
        INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
        INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX idx_duration Duration TYPE minmax GRANULARITY 1
      ) ENGINE = MergeTree
      PARTITION BY toDate(Timestamp)
      ORDER BY (TenantId, ServiceName, SpanName, toDateTime(Timestamp))
      TTL toDateTime(Timestamp) + toIntervalDay(${retention.traces})
      SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`,

      // The exporter's trace-id lookup table: one row per trace and insert block, ordered by
      // trace id, so "get trace by id" finds its time window without scanning otel_traces.
      `CREATE TABLE IF NOT EXISTS otel_traces_trace_id_ts (
        TenantId LowCardinality(String) CODEC(ZSTD(1)),
        TraceId String CODEC(ZSTD(1)),
        Start DateTime CODEC(Delta, ZSTD(1)),
        End DateTime CODEC(Delta, ZSTD(1)),
        INDEX idx_trace_id TraceId TYPE bloom_filter(0.01) GRANULARITY 1
      ) ENGINE = MergeTree
      PARTITION BY toDate(Start)
      ORDER BY (TenantId, TraceId, Start)
      TTL Start + toIntervalDay(${retention.traces})
      SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`,

      `CREATE MATERIALIZED VIEW IF NOT EXISTS otel_traces_trace_id_ts_mv
      TO otel_traces_trace_id_ts
      AS SELECT
        TenantId,
        TraceId,
        min(toDateTime(Timestamp)) AS Start,
        max(toDateTime(Timestamp + toIntervalNanosecond(Duration))) AS End
      FROM otel_traces
      WHERE TraceId != ''
      GROUP BY TenantId, TraceId`,

      // A series row per series per day seen: series listing over a range reads only the
      // days it covers, and TTL drops whole days like the samples.
      `CREATE TABLE IF NOT EXISTS metric_series (
        TenantId LowCardinality(String) CODEC(ZSTD(1)),
        Date Date CODEC(Delta, ZSTD(1)),
        MetricName LowCardinality(String) CODEC(ZSTD(1)),
        Fingerprint UInt64 CODEC(ZSTD(1)),
        Labels ${ATTR_MAP} CODEC(ZSTD(1))
      ) ENGINE = ReplacingMergeTree
      PARTITION BY Date
      ORDER BY (TenantId, MetricName, Fingerprint, Date)
      TTL Date + toIntervalDay(${retention.metrics})
      SETTINGS ttl_only_drop_parts = 1`,

      // Flags bit 0: staleness marker. Kept apart from the value because the NaN payload
      // Prometheus uses for staleness does not survive text formats.
      `CREATE TABLE IF NOT EXISTS metric_samples (
        TenantId LowCardinality(String) CODEC(ZSTD(1)),
        Fingerprint UInt64 CODEC(ZSTD(1)),
        TimestampMs Int64 CODEC(Delta, ZSTD(1)),
        Value Float64 CODEC(Gorilla, ZSTD(1)),
        Flags UInt8 CODEC(ZSTD(1))
      ) ENGINE = MergeTree
      PARTITION BY toDate(fromUnixTimestamp64Milli(TimestampMs))
      ORDER BY (TenantId, Fingerprint, TimestampMs)
      TTL toDateTime(fromUnixTimestamp64Milli(TimestampMs)) + toIntervalDay(${retention.metrics})
      SETTINGS ttl_only_drop_parts = 1`,

      `CREATE TABLE IF NOT EXISTS metric_metadata (
        TenantId LowCardinality(String),
        MetricFamilyName String,
        Type LowCardinality(String),
        Help String,
        Unit LowCardinality(String),
        Updated DateTime64(6) DEFAULT now64(6)
      ) ENGINE = ReplacingMergeTree(Updated)
      ORDER BY (TenantId, MetricFamilyName)`,
    ],
  },
  {
    version: 2,
    description: 'Loki stream labels on logs',
    statements: () => [
      `ALTER TABLE otel_logs ADD COLUMN IF NOT EXISTS StreamLabels ${ATTR_MAP} CODEC(ZSTD(1)) AFTER ServiceName`,
    ],
  },
  {
    version: 3,
    description: 'metric exemplars (remote-write)',
    // Keyed like metric_samples so a series' exemplars over a range are one contiguous read;
    // the series' labels live in metric_series under the same fingerprint.
    statements: (retention) => [
      `CREATE TABLE IF NOT EXISTS metric_exemplars (
        TenantId LowCardinality(String) CODEC(ZSTD(1)),
        Fingerprint UInt64 CODEC(ZSTD(1)),
        TimestampMs Int64 CODEC(Delta, ZSTD(1)),
        Value Float64 CODEC(ZSTD(1)),
        Labels ${ATTR_MAP} CODEC(ZSTD(1))
      ) ENGINE = MergeTree
      PARTITION BY toDate(fromUnixTimestamp64Milli(TimestampMs))
      ORDER BY (TenantId, Fingerprint, TimestampMs)
      TTL toDateTime(fromUnixTimestamp64Milli(TimestampMs)) + toIntervalDay(${retention.metrics})
      SETTINGS ttl_only_drop_parts = 1`,
    ],
  },
  {
    version: 4,
    description: 'metric_samples.Value: Delta+ZSTD(1) instead of Gorilla+ZSTD(1)',
    // bench/remote-write.ts data, 2.4 M samples after OPTIMIZE FINAL: Value 0.94 B/sample
    // with Delta+ZSTD(1) against 1.28 with Gorilla+ZSTD(1) (Gorilla's bit stream hides the
    // repeats ZSTD would find; the byte-wise delta of a slowly moving float keeps them).
    // A codec change is metadata only: existing parts are recompressed as they merge.
    statements: () => ['ALTER TABLE metric_samples MODIFY COLUMN Value Float64 CODEC(Delta, ZSTD(1))'],
  },
  {
    version: 5,
    description: 'otel_logs: bloom filter on stream label names (LogQL label pushdown)',
    // Lets LogQL's `sum by (label)` pushdown find the few rows whose stream labels name the
    // label from the index instead of reading every row's StreamLabels (bench/logql.ts).
    // Parts written before this migration are read in full; new parts carry the index.
    statements: () => [
      'ALTER TABLE otel_logs ADD INDEX IF NOT EXISTS idx_stream_label_key mapKeys(StreamLabels) TYPE bloom_filter(0.01) GRANULARITY 1',
    ],
  },
  {
    version: 6,
    description: 'deduplication window for the write-ahead log tables',
    // The embedded engine's write-ahead log (wal.ts) inserts each segment with its name as the
    // deduplication token, so a segment stored just before a crash is not stored again on
    // replay. Other inserts set deduplicate_insert = 'disable' (pool.ts): repeated data stays
    // repeated. A ClickHouse server has no write-ahead log in front of it, so no window there.
    statements: (_retention, target) =>
      target?.embedded === true
        ? ['otel_logs', 'otel_traces', 'metric_samples'].map(
            (table) => `ALTER TABLE ${table} MODIFY SETTING non_replicated_deduplication_window = 1000`,
          )
        : [],
  },
  {
    version: 7,
    description: 'metric metadata: every distinct description of a family',
    // Prometheus's /api/v1/metadata lists each distinct (type, help, unit) its targets give a
    // family; metric_metadata kept one per family (its sorting key), so merges dropped the rest.
    statements: () => [
      `CREATE TABLE IF NOT EXISTS metric_metadata_entries (
        TenantId LowCardinality(String),
        MetricFamilyName String,
        Type LowCardinality(String),
        Help String,
        Unit LowCardinality(String),
        Updated DateTime64(6) DEFAULT now64(6)
      ) ENGINE = ReplacingMergeTree(Updated)
      ORDER BY (TenantId, MetricFamilyName, Type, Unit, Help)`,
      `INSERT INTO metric_metadata_entries (TenantId, MetricFamilyName, Type, Help, Unit, Updated)
       SELECT TenantId, MetricFamilyName, Type, Help, Unit, Updated FROM metric_metadata`,
      'DROP TABLE IF EXISTS metric_metadata',
    ],
  },
  {
    version: 8,
    description: 'otel_logs: bloom filter on scope attribute names (LogQL label pushdown)',
    // Scope attributes are structured metadata too, so `sum by (label)` must look in them; as
    // in migration 5, the index keeps that to the granules that may hold the name. Without it,
    // one unindexed alternative made the pushdown read every row's maps (bench/logql.ts: 1.13
    // → 1.27 × the hand-written SQL).
    statements: () => [
      'ALTER TABLE otel_logs ADD INDEX IF NOT EXISTS idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
    ],
  },
];

/** Per table: the statement that brings its TTL in line with the configured retention. */
export function retentionStatements(retention: RetentionDays): { table: string; days: number; statement: string }[] {
  const ttl: [string, number, string][] = [
    ['otel_logs', retention.logs, 'TimestampTime'],
    ['otel_traces', retention.traces, 'toDateTime(Timestamp)'],
    ['otel_traces_trace_id_ts', retention.traces, 'Start'],
    ['metric_series', retention.metrics, 'Date'],
    ['metric_samples', retention.metrics, 'toDateTime(fromUnixTimestamp64Milli(TimestampMs))'],
    ['metric_exemplars', retention.metrics, 'toDateTime(fromUnixTimestamp64Milli(TimestampMs))'],
  ];
  return ttl.map(([table, days, column]) => ({
    table,
    days,
    statement: `ALTER TABLE ${table} MODIFY TTL ${column} + toIntervalDay(${days})`,
  }));
}
