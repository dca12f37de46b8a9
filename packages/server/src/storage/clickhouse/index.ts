/**
 * The ClickHouse storage: the only code that talks to @clickhouse/client or chDB.
 * Embedded (chDB on a data directory) and server (URL) use the same SQL.
 */
import { LookoutError } from '../../errors.js';
import type { LogRecord, MetricMetadata, Sample, Span } from '../../model/index.js';
import type { MetricExemplar, Storage, StorageOptions, TimeRange } from '../types.js';
import { exemplarRowsText } from './exemplar-rows.js';
import { MIGRATIONS, retentionStatements } from './migrations.js';
import { openPool, type Pool } from './pool.js';
import { createLogQuerier } from './log-querier.js';
import { createLogStreamQuerier } from './log-streams.js';
import { createSeriesQuerier } from './metric-querier.js';
import { logRowsText, metadataRowsText, sampleRowsTsv, SeriesCache, spanRowsText, type SampleRows } from './rows.js';
import { logRowsNative, SAMPLE_NATIVE_COLUMNS, sampleRowsNative, spanRowsNative } from './native-rows.js';
import { SPAN_COLUMNS, spanFromRow } from './span-rows.js';
import { createSpanSearch } from './span-search.js';
import { BlockLog } from './wal.js';
import { join } from 'node:path';

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
  /** The series insert of the latest batch of samples (see appendSamples). */
  let seriesInserts: Promise<void> = Promise.resolve();
  const search = createSpanSearch((sql, params) => pool.select(sql, params));
  // The embedded engine's write-ahead log (wal.ts): appends are acknowledged from the log and
  // stored in large Native inserts behind it; reads wait for what was acknowledged before them.
  const insertNativeFile = pool.insertNativeFile?.bind(pool);
  const dataLostListeners: ((table: string) => void)[] = [];
  const wal = insertNativeFile
    ? new BlockLog({
        dir: join(options.dataDir, 'wal'),
        insert: insertNativeFile,
        onSegmentFailed: (path, error) => {
          process.emitWarning(`write-ahead log segment refused by storage, moved to ${path}: ${(error as Error).message}`, {
            code: 'LOOKOUT_ERR_STORAGE_WAL_SEGMENT',
          });
          const table = /\.([A-Za-z_][A-Za-z0-9_]*)\.native$/.exec(path)?.[1];
          if (table !== undefined) for (const listener of dataLostListeners) listener(table);
        },
      })
    : undefined;
  if (wal) {
    try {
      await wal.replay();
    } catch (error) {
      await pool.close();
      throw new LookoutError('LOOKOUT_ERR_STORAGE_UNAVAILABLE', `write-ahead log replay failed: ${(error as Error).message}`, { cause: error });
    }
  }
  const barrier = (tables: string[]) => (wal ? () => wal.flushed(tables) : undefined);

  return {
    kind: pool.kind,
    appender: {
      async appendLogs(records: readonly LogRecord[]) {
        if (records.length === 0) return;
        if (wal) {
          const { block, columns } = logRowsNative(records);
          await wal.append('otel_logs', columns, block, records.length);
        } else {
          await pool.insertJsonEachRow('otel_logs', logRowsText(records));
        }
      },
      async appendSpans(spans: readonly Span[]) {
        if (spans.length === 0) return;
        if (wal) {
          const { block, columns } = spanRowsNative(spans);
          await wal.append('otel_traces', columns, block, spans.length);
        } else {
          await pool.insertJsonEachRow('otel_traces', spanRowsText(spans));
        }
      },
      async appendSamples(tenant: string, samples: readonly Sample[]) {
        const rows = wal ? sampleRowsNative(tenant, samples, seriesCache) : sampleRowsTsv(tenant, samples, seriesCache);
        // Series first: a sample is never visible without its series. Batches may be stored
        // concurrently, and this one skipped the series rows that earlier batches still in
        // flight marked, so its samples also wait for those batches' series inserts (and fail
        // with them: the series rows they skipped may never be written).
        const earlier = seriesInserts;
        const mine = earlier.then(() => pool.insertJsonEachRow('metric_series', rows.series));
        const settled = mine.then(
          () => undefined,
          () => undefined,
        );
        seriesInserts = mine;
        void settled.then(() => {
          if (seriesInserts === mine) seriesInserts = Promise.resolve();
        });
        try {
          await mine;
          if (typeof rows.samples === 'string') await pool.insertText('metric_samples', (rows as SampleRows).samplesFormat, rows.samples);
          else if (samples.length > 0) await wal!.append('metric_samples', SAMPLE_NATIVE_COLUMNS, rows.samples, samples.length);
        } catch (error) {
          for (const s of rows.newSeries) seriesCache.forgetSeries(tenant, s);
          throw error;
        }
      },
      async appendMetadata(tenant: string, metadata: readonly MetricMetadata[]) {
        await pool.insertJsonEachRow('metric_metadata_entries', metadataRowsText(tenant, metadata));
      },
      async appendExemplars(tenant: string, exemplars: readonly MetricExemplar[]) {
        if (exemplars.length > 0) await pool.insertJsonEachRow('metric_exemplars', exemplarRowsText(tenant, exemplars, seriesCache));
      },
    },
    spans: afterBarrier({
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
    }, barrier(['otel_traces'])),
    logs: afterBarrier(createLogQuerier(pool), barrier(['otel_logs'])),
    logStreams: afterBarrier(createLogStreamQuerier(pool), barrier(['otel_logs'])),
    series: afterBarrier(createSeriesQuerier(pool), barrier(['metric_samples'])),
    ...(wal ? { writeAheadLog: () => wal.stats(), onDataLost: (listener: (table: string) => void) => void dataLostListeners.push(listener) } : {}),
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
      await wal?.close();
      await pool.close();
    },
  };
}

/** The querier with every method waiting for `barrier` first (read-your-writes over the WAL). */
function afterBarrier<T extends object>(querier: T, barrier: (() => Promise<void>) | undefined): T {
  if (barrier === undefined) return querier;
  const wrapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(querier)) {
    wrapped[name] =
      typeof value === 'function'
        ? async (...args: unknown[]) => {
            await barrier();
            return (value as (...a: unknown[]) => unknown).apply(querier, args);
          }
        : value;
  }
  return wrapped as T;
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
    for (const statement of migration.statements(options.retention, { embedded: pool.kind === 'embedded' })) await pool.command(statement);
    await pool.command(
      'INSERT INTO lookout_migrations (Version, Description) VALUES ({version:UInt32}, {description:String})',
      { version: migration.version, description: migration.description },
    );
  }
  await applyRetention(pool, options);
  await applyMergeSettings(pool);
}

/**
 * metric_samples gets one small part per insert all day long, and merging them again and again
 * was the largest single CPU cost of ingest: in bench/remote-write.ts (10 k series, 1 h) the
 * default merge selector (base 5) spent 0.93 µs of 3.3 µs CPU per sample in merges. Base 10
 * spends 0.49 and leaves 14 parts instead of 8. Applied where the engine knows the setting
 * (older ClickHouse servers do not) and only when it differs.
 */
const SAMPLE_MERGE_SETTINGS = { merge_selector_base: '10' } as const;

async function applyMergeSettings(pool: Pool): Promise<void> {
  const names = Object.keys(SAMPLE_MERGE_SETTINGS);
  const known = await pool.select<{ name: string }>('SELECT name FROM system.merge_tree_settings WHERE name IN {names:Array(String)}', { names });
  if (known.length === 0) return;
  const [table] = await pool.select<{ create: string }>(
    `SELECT create_table_query AS create FROM system.tables WHERE database = currentDatabase() AND name = 'metric_samples'`,
  );
  for (const { name } of known) {
    const value = SAMPLE_MERGE_SETTINGS[name as keyof typeof SAMPLE_MERGE_SETTINGS];
    if (!new RegExp(`\\b${name} = ${value}\\b`).test(table?.create ?? '')) await pool.command(`ALTER TABLE metric_samples MODIFY SETTING ${name} = ${value}`);
  }
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
