/**
 * The ClickHouse storage: the only code that talks to @clickhouse/client or chDB.
 * Embedded (chDB on a data directory) and server (URL) use the same SQL.
 */
import { LookoutError } from '../../errors.js';
import type { Labels, LogRecord, MetricMetadata, Sample, Span } from '../../model/index.js';
import type {
  LogQuery,
  SeriesQuery,
  Storage,
  StorageOptions,
  StoredSeries,
  TimeRange,
} from '../types.js';
import { MIGRATIONS, retentionStatements } from './migrations.js';
import { openPool, type Pool } from './pool.js';
import { LOG_COLUMNS, logFromRow } from './log-rows.js';
import { logRowsText, metadataRowsText, sampleRowsText, SeriesCache, spanRowsText } from './rows.js';
import { SPAN_COLUMNS, spanFromRow } from './span-rows.js';
import { createSpanSearch } from './span-search.js';

export async function openClickHouseStorage(options: StorageOptions): Promise<Storage> {
  const pool = openPool({
    dataDir: options.dataDir,
    size: options.readPoolSize ?? 3,
    ...(options.clickhouseUrl === undefined ? {} : { clickhouseUrl: options.clickhouseUrl }),
  });
  try {
    await migrate(pool, options);
  } catch (error) {
    await pool.close();
    throw new LookoutError('LOOKOUT_ERR_STORAGE_UNAVAILABLE', `storage migrations failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let migrated = true;
  const seriesCache = new SeriesCache();
  const search = createSpanSearch((sql, params) => pool.select(sql, params));

  return {
    kind: pool.kind,
    appender: {
      async appendLogs(records: readonly LogRecord[]) {
        await pool.insertJsonEachRow('otel_logs', logRowsText(records));
      },
      async appendSpans(spans: readonly Span[]) {
        await pool.insertJsonEachRow('otel_traces', spanRowsText(spans));
      },
      async appendSamples(tenant: string, samples: readonly Sample[]) {
        const rows = sampleRowsText(tenant, samples, seriesCache);
        try {
          // Series first: a sample is never visible without its series.
          await pool.insertJsonEachRow('metric_series', rows.series);
          await pool.insertJsonEachRow('metric_samples', rows.samples);
        } catch (error) {
          for (const s of rows.newSeries) seriesCache.forget(tenant, s.fingerprint, s.day);
          throw error;
        }
      },
      async appendMetadata(tenant: string, metadata: readonly MetricMetadata[]) {
        await pool.insertJsonEachRow('metric_metadata', metadataRowsText(tenant, metadata));
      },
    },
    spans: {
      async getTrace(tenant: string, traceId: string, range?: TimeRange) {
        // The lookup table narrows the scan of otel_traces to the trace's own time window.
        const bounds = await pool.select<{ start: string | null; end: string | null }>(
          `SELECT toString(min(Start)) AS start, toString(max(End)) AS end FROM otel_traces_trace_id_ts
           WHERE TenantId = {tenant:String} AND TraceId = {traceId:String}`,
          { tenant, traceId },
        );
        const b = bounds[0];
        if (!b || b.start === null || b.start === '1970-01-01 00:00:00') return [];
        const params: Record<string, unknown> = { tenant, traceId, start: b.start, end: b.end };
        let extra = '';
        if (range) {
          extra = ' AND Timestamp >= fromUnixTimestamp64Nano({rs:Int64}) AND Timestamp <= fromUnixTimestamp64Nano({re:Int64})';
          params.rs = range.start.toString();
          params.re = range.end.toString();
        }
        const rows = await pool.select(
          `SELECT ${SPAN_COLUMNS} FROM otel_traces
           WHERE TenantId = {tenant:String} AND TraceId = {traceId:String}
             AND Timestamp >= toDateTime({start:String}) AND Timestamp <= toDateTime({end:String}) + INTERVAL 1 SECOND${extra}
           ORDER BY Timestamp, SpanId`,
          params,
        );
        return rows.map(spanFromRow);
      },
      searchTraces: search.searchTraces,
      tagNames: search.tagNames,
      tagValues: search.tagValues,
    },
    logs: {
      async queryLogs(query: LogQuery) {
        const params: Record<string, unknown> = {
          tenant: query.tenant,
          start: query.range.start.toString(),
          end: query.range.end.toString(),
          limit: query.limit,
        };
        let where = '';
        if (query.serviceName !== undefined) {
          where += ' AND ServiceName = {service:String}';
          params.service = query.serviceName;
        }
        if (query.traceId !== undefined) {
          where += ' AND TraceId = {traceId:String}';
          params.traceId = query.traceId;
        }
        const rows = await pool.select(
          `SELECT ${LOG_COLUMNS} FROM otel_logs
           WHERE TenantId = {tenant:String}
             AND Timestamp >= fromUnixTimestamp64Nano({start:Int64}) AND Timestamp <= fromUnixTimestamp64Nano({end:Int64})${where}
           ORDER BY Timestamp DESC LIMIT {limit:UInt32}`,
          params,
        );
        return rows.map(logFromRow);
      },
      async countLogs(tenant: string) {
        const rows = await pool.select<{ n: string }>('SELECT count() AS n FROM otel_logs WHERE TenantId = {tenant:String}', {
          tenant,
        });
        return Number(rows[0]?.n ?? 0);
      },
    },
    series: {
      async selectSeries(query: SeriesQuery): Promise<StoredSeries[]> {
        const params: Record<string, unknown> = {
          tenant: query.tenant,
          startDay: Math.floor(query.startMs / 86_400_000),
          endDay: Math.floor(query.endMs / 86_400_000),
          startMs: Math.trunc(query.startMs),
          endMs: Math.trunc(query.endMs),
        };
        const conditions: string[] = [];
        Object.entries(query.equals).forEach(([name, value], i) => {
          params[`ln${i}`] = name;
          params[`lv${i}`] = value;
          conditions.push(name === '__name__' ? `MetricName = {lv${i}:String}` : `Labels[{ln${i}:String}] = {lv${i}:String}`);
        });
        const series = await pool.select<{ fp: string; labels: Labels }>(
          `SELECT toString(Fingerprint) AS fp, any(Labels) AS labels FROM metric_series
           WHERE TenantId = {tenant:String} AND Date >= toDate({startDay:Int32}) AND Date <= toDate({endDay:Int32})
           ${conditions.map((c) => `AND ${c}`).join(' ')}
           GROUP BY Fingerprint`,
          params,
        );
        if (series.length === 0) return [];
        // bigints are sent unquoted; quoted strings do not parse as Array(UInt64).
        params.fps = series.map((s) => BigInt(s.fp));
        const samples = await pool.select<{ fp: string; t: string; v: number | string; f: number }>(
          `SELECT toString(Fingerprint) AS fp, TimestampMs AS t, Value AS v, Flags AS f FROM metric_samples
           WHERE TenantId = {tenant:String} AND Fingerprint IN {fps:Array(UInt64)}
             AND TimestampMs >= {startMs:Int64} AND TimestampMs <= {endMs:Int64}
           ORDER BY Fingerprint, TimestampMs
           SETTINGS output_format_json_quote_denormals = 1`,
          params,
        );
        const byFp = new Map<string, StoredSeries>();
        for (const s of series) byFp.set(s.fp, { labels: s.labels, samples: [] });
        for (const row of samples) {
          byFp.get(row.fp)?.samples.push({ timestampMs: Number(row.t), value: parseFloatText(row.v), stale: (row.f & 1) === 1 });
        }
        return [...byFp.values()];
      },
      async metricMetadata(tenant: string) {
        return pool.select<MetricMetadata>(
          `SELECT MetricFamilyName AS metricFamilyName, argMax(Type, Updated) AS type, argMax(Help, Updated) AS help,
             argMax(Unit, Updated) AS unit
           FROM metric_metadata WHERE TenantId = {tenant:String} GROUP BY MetricFamilyName ORDER BY MetricFamilyName`,
          { tenant },
        );
      },
    },
    async ready() {
      return migrated && (await pool.ping());
    },
    async tableStats() {
      const rows = await pool.select<{ table: string; rows: string; bytes: string }>(
        `SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts
         WHERE active AND database = currentDatabase() GROUP BY table ORDER BY table`,
      );
      return rows.map((r) => ({ table: r.table, rows: Number(r.rows), bytesOnDisk: Number(r.bytes) }));
    },
    async close() {
      migrated = false;
      await pool.close();
    },
  };
}

async function migrate(pool: Pool, options: StorageOptions): Promise<void> {
  await pool.command(
    `CREATE TABLE IF NOT EXISTS lookout_migrations (
      Version UInt32, Description String, AppliedAt DateTime DEFAULT now()
    ) ENGINE = MergeTree ORDER BY Version`,
  );
  const applied = new Set(
    (await pool.select<{ Version: number }>('SELECT Version FROM lookout_migrations')).map((r) => Number(r.Version)),
  );
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    for (const statement of migration.statements(options.retention)) await pool.command(statement);
    await pool.command(
      'INSERT INTO lookout_migrations (Version, Description) VALUES ({version:UInt32}, {description:String})',
      { version: migration.version, description: migration.description },
    );
  }
  await applyRetention(pool, options);
}

/**
 * Brings TTLs in line with the configured retention, only where they differ: MODIFY TTL
 * rewrites TTL information in every part, which is not free on a large table.
 */
async function applyRetention(pool: Pool, options: StorageOptions): Promise<void> {
  const targets = retentionStatements(options.retention);
  const tables = await pool.select<{ name: string; engine_full: string }>(
    `SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN {names:Array(String)}`,
    { names: targets.map((t) => t.table) },
  );
  const engines = new Map(tables.map((t) => [t.name, t.engine_full]));
  for (const { table, days, statement } of targets) {
    if (!(engines.get(table) ?? '').includes(`toIntervalDay(${days})`)) await pool.command(statement);
  }
}

/** ClickHouse JSON output writes non-finite floats as "nan", "inf", "-inf" (quote_denormals). */
function parseFloatText(value: number | string): number {
  if (typeof value === 'number') return value;
  if (value === 'inf' || value === '+inf') return Infinity;
  if (value === '-inf') return -Infinity;
  return Number(value);
}
