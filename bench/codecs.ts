/**
 * Codec benchmark: which compression codec for the columns that dominate Lookout's disk use.
 *
 *   node --import tsx bench/codecs.ts [--requests=200] [--series=2000] [--points=240] [--repeat=3]
 *                                     [--resource-attrs=8] [--only=logs,spans,samples]
 *
 * The same generated rows as bench/ingest.ts (logs and spans, converted by Lookout's own OTLP
 * decoders and serialised by rows.ts) plus Prometheus-like samples (counters, gauges,
 * histogram buckets at a 15 s interval) are loaded once into staging tables built from
 * MIGRATIONS. Then, for each column under test and each codec variant, a narrow table holding
 * the table's sorting-key columns and the column with that codec is filled with
 * `INSERT … SELECT` from staging (same order, same parts as the real table would get),
 * merged with OPTIMIZE FINAL, and measured:
 *   - compressed bytes of the column per row (system.columns.data_compressed_bytes),
 *   - insert time (median of --repeat runs; the codec is the only difference between
 *     variants of a column, so the ratio to the current codec is the figure),
 *   - read time of the column (median of --repeat full scans), ratio to the current codec.
 * The variant marked "*" is what migrations.ts uses today.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Labels, Sample } from '../packages/server/src/model/index.js';
import { logRowsText, sampleRowsText, SeriesCache, spanRowsText } from '../packages/server/src/storage/clickhouse/rows.js';
import type { Pool } from '../packages/server/src/storage/clickhouse/pool.js';
import {
  convertLogSet,
  convertSpanSet,
  createTables,
  generateLogs,
  generateSpans,
  machineLine,
  openBenchPool,
  readOption,
  rng,
} from './ingest.js';

interface ColumnTest {
  source: 'otel_logs' | 'otel_traces' | 'metric_samples';
  column: string;
  type: string;
  /** Codec clauses; the first is what migrations.ts uses. */
  variants: string[];
}

const ATTR_MAP = 'Map(LowCardinality(String), String)';

const TESTS: ColumnTest[] = [
  { source: 'otel_logs', column: 'Timestamp', type: 'DateTime64(9)', variants: ['Delta(8), ZSTD(1)', 'DoubleDelta, ZSTD(1)', 'ZSTD(1)', 'T64, ZSTD(1)', 'Delta(8), LZ4'] },
  { source: 'otel_logs', column: 'ObservedTimestamp', type: 'DateTime64(9)', variants: ['Delta(8), ZSTD(1)', 'DoubleDelta, ZSTD(1)', 'ZSTD(1)'] },
  { source: 'otel_logs', column: 'Body', type: 'String', variants: ['ZSTD(1)', 'ZSTD(3)', 'ZSTD(6)', 'LZ4', 'LZ4HC(9)'] },
  { source: 'otel_logs', column: 'LogAttributes', type: ATTR_MAP, variants: ['ZSTD(1)', 'ZSTD(3)', 'LZ4'] },
  { source: 'otel_logs', column: 'ResourceAttributes', type: ATTR_MAP, variants: ['ZSTD(1)', 'ZSTD(3)', 'LZ4'] },
  { source: 'otel_logs', column: 'TraceId', type: 'String', variants: ['ZSTD(1)', 'ZSTD(3)', 'LZ4'] },
  { source: 'otel_logs', column: 'ScopeName', type: 'String', variants: ['ZSTD(1)', 'ZSTD(3)', 'LZ4'] },
  { source: 'otel_traces', column: 'Timestamp', type: 'DateTime64(9)', variants: ['Delta(8), ZSTD(1)', 'DoubleDelta, ZSTD(1)', 'ZSTD(1)'] },
  { source: 'otel_traces', column: 'Duration', type: 'UInt64', variants: ['ZSTD(1)', 'T64, ZSTD(1)', 'Delta, ZSTD(1)'] },
  { source: 'otel_traces', column: 'SpanAttributes', type: ATTR_MAP, variants: ['ZSTD(1)', 'ZSTD(3)', 'LZ4'] },
  { source: 'otel_traces', column: 'SpanId', type: 'String', variants: ['ZSTD(1)', 'LZ4'] },
  { source: 'metric_samples', column: 'TimestampMs', type: 'Int64', variants: ['DoubleDelta, ZSTD(1)', 'Delta, ZSTD(1)', 'DoubleDelta', 'ZSTD(1)', 'T64, ZSTD(1)'] },
  { source: 'metric_samples', column: 'Value', type: 'Float64', variants: ['Gorilla, ZSTD(1)', 'Gorilla', 'ZSTD(1)', 'FPC', 'FPC, ZSTD(1)', 'Delta, ZSTD(1)'] },
  { source: 'metric_samples', column: 'Fingerprint', type: 'UInt64', variants: ['ZSTD(1)', 'Delta, ZSTD(1)', 'LZ4'] },
];

/** The sorting key columns of each table (with their types), as in migrations.ts. */
const KEYS: Record<ColumnTest['source'], { columns: [string, string][]; orderBy: string }> = {
  otel_logs: {
    columns: [
      ['TenantId', 'LowCardinality(String)'],
      ['ServiceName', 'LowCardinality(String)'],
      ['TimestampTime', 'DateTime'],
      ['Timestamp', 'DateTime64(9)'],
    ],
    orderBy: 'TenantId, ServiceName, TimestampTime, Timestamp',
  },
  otel_traces: {
    columns: [
      ['TenantId', 'LowCardinality(String)'],
      ['ServiceName', 'LowCardinality(String)'],
      ['SpanName', 'LowCardinality(String)'],
      ['Timestamp', 'DateTime64(9)'],
    ],
    orderBy: 'TenantId, ServiceName, SpanName, toDateTime(Timestamp)',
  },
  metric_samples: {
    columns: [
      ['TenantId', 'LowCardinality(String)'],
      ['Fingerprint', 'UInt64'],
      ['TimestampMs', 'Int64'],
    ],
    orderBy: 'TenantId, Fingerprint, TimestampMs',
  },
};

// ---------------------------------------------------------------------------------------------
// Samples: what a Prometheus scrape of a few hundred targets looks like.

export function generateSamples(series: number, points: number, seed = 3): Sample[] {
  const r = rng(seed);
  const start = Date.now() - points * 15_000 - 60_000;
  const out: Sample[] = [];
  for (let s = 0; s < series; s++) {
    const kind = s % 10 < 4 ? 'counter' : s % 10 < 7 ? 'gauge' : 'bucket';
    const labels: Labels = {
      __name__: kind === 'counter' ? `http_requests_total` : kind === 'gauge' ? `process_resident_memory_bytes` : 'http_request_duration_seconds_bucket',
      job: `svc-${s % 8}`,
      instance: `10.0.${s % 16}.${(s * 7) % 250}:9100`,
      series: String(s),
      ...(kind === 'bucket' ? { le: ['0.005', '0.01', '0.05', '0.1', '0.5', '1', '5', '+Inf'][s % 8]! } : {}),
    };
    let value = kind === 'gauge' ? 50_000_000 + Math.floor(r() * 200_000_000) : Math.floor(r() * 1000);
    const rate = r() * 20;
    // Scrapes start on the interval with a few ms of jitter, like Prometheus's offset per target.
    const offset = Math.floor(r() * 15_000);
    for (let p = 0; p < points; p++) {
      if (kind === 'counter') value += Math.floor(rate * 15 * (0.5 + r()));
      else if (kind === 'bucket') value += r() < 0.4 ? 0 : Math.floor(rate * (s % 8) * r());
      else value = s % 3 === 0 ? Math.round(r() * 10_000) / 10_000 : value + Math.floor((r() - 0.5) * 4_000_000) * 4096;
      out.push({ labels, timestampMs: start + offset + p * 15_000 + Math.floor(r() * 4), value });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timed(op: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await op();
  return performance.now() - t;
}

interface VariantResult {
  codec: string;
  bytesPerRow: number;
  ratio: number;
  insertMs: number;
  readMs: number;
}

async function runTest(pool: Pool, test: ColumnTest, index: number, repeat: number, rows: number): Promise<VariantResult[]> {
  const keys = KEYS[test.source];
  const results: VariantResult[] = [];
  for (let v = 0; v < test.variants.length; v++) {
    const codec = test.variants[v]!;
    const name = `codec_${index}_${v}`;
    const columns = keys.columns.filter(([c]) => c !== test.column).map(([c, t]) => `${c} ${t}`);
    columns.push(`${test.column} ${test.type} CODEC(${codec})`);
    const names = [...keys.columns.map(([c]) => c).filter((c) => c !== test.column), test.column].join(', ');
    await pool.command(`DROP TABLE IF EXISTS ${name}`);
    await pool.command(`CREATE TABLE ${name} (${columns.join(', ')}) ENGINE = MergeTree ORDER BY (${keys.orderBy}) SETTINGS min_bytes_for_wide_part = 0, min_rows_for_wide_part = 0`);
    const inserts: number[] = [];
    for (let i = 0; i < repeat; i++) {
      await pool.command(`TRUNCATE TABLE ${name}`);
      inserts.push(await timed(() => pool.command(`INSERT INTO ${name} (${names}) SELECT ${names} FROM ${test.source}`)));
    }
    await pool.command(`OPTIMIZE TABLE ${name} FINAL`);
    const reads: number[] = [];
    for (let i = 0; i < repeat; i++) {
      reads.push(await timed(() => pool.select(`SELECT sum(cityHash64(${test.column})) AS h FROM ${name} SETTINGS max_threads = 1`)));
    }
    const [col] = await pool.select<{ compressed: number; uncompressed: number }>(
      `SELECT data_compressed_bytes AS compressed, data_uncompressed_bytes AS uncompressed FROM system.columns
       WHERE database = currentDatabase() AND table = {name:String} AND name = {column:String}`,
      { name, column: test.column },
    );
    results.push({
      codec,
      bytesPerRow: Number(col!.compressed) / rows,
      ratio: Number(col!.uncompressed) / Number(col!.compressed),
      insertMs: median(inserts),
      readMs: median(reads),
    });
    await pool.command(`DROP TABLE ${name}`);
  }
  return results;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function insertInBatches(pool: Pool, table: string, texts: string[]): Promise<void> {
  for (const text of texts) await pool.insertJsonEachRow(table, text);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const num = (name: string, fallback: number) => Number(readOption(argv, name) ?? fallback);
  const requests = num('requests', 200);
  const series = num('series', 2000);
  const points = num('points', 240);
  const repeat = num('repeat', 3);
  const only = (readOption(argv, 'only') ?? 'logs,spans,samples').split(',');
  const gen = { requests, batch: 1000, logAttrs: 6, body: 150, spanAttrs: 8, resourceAttrs: num('resource-attrs', 8) };

  process.stdout.write(`# Lookout codec benchmark — ${new Date().toISOString()}\n`);
  process.stdout.write(`machine: ${machineLine()}\n`);
  process.stdout.write(`command: node --import tsx bench/codecs.ts${argv.length > 0 ? ` ${argv.join(' ')}` : ''}\n\n`);

  const dir = mkdtempSync(join(tmpdir(), 'lookout-bench-codecs-'));
  const pool = await openBenchPool(dir);
  try {
    await createTables(pool);
    const counts: Record<string, number> = {};
    if (only.includes('logs')) {
      const { records } = convertLogSet(generateLogs(gen));
      const texts = [];
      for (let i = 0; i < records.length; i += 50_000) texts.push(logRowsText(records.slice(i, i + 50_000)));
      await insertInBatches(pool, 'otel_logs', texts);
      counts.otel_logs = records.length;
    }
    if (only.includes('spans')) {
      const { spans } = convertSpanSet(generateSpans(gen));
      const texts = [];
      for (let i = 0; i < spans.length; i += 50_000) texts.push(spanRowsText(spans.slice(i, i + 50_000)));
      await insertInBatches(pool, 'otel_traces', texts);
      counts.otel_traces = spans.length;
    }
    if (only.includes('samples')) {
      const samples = generateSamples(series, points);
      const cache = new SeriesCache();
      const texts = [];
      // Scrape order: all series at one timestamp, then the next, as remote-write delivers them.
      samples.sort((a, b) => a.timestampMs - b.timestampMs);
      for (let i = 0; i < samples.length; i += 50_000) {
        const rows = sampleRowsText('default', samples.slice(i, i + 50_000), cache);
        await pool.insertJsonEachRow('metric_series', rows.series);
        texts.push(rows.samples);
      }
      await insertInBatches(pool, 'metric_samples', texts);
      counts.metric_samples = samples.length;
    }
    for (const table of Object.keys(counts)) await pool.command(`OPTIMIZE TABLE ${table} FINAL`);
    process.stdout.write(`rows: ${Object.entries(counts).map(([t, n]) => `${t} ${fmt(n)}`).join(', ')}\n\n`);

    for (let i = 0; i < TESTS.length; i++) {
      const test = TESTS[i]!;
      const rows = counts[test.source];
      if (rows === undefined) continue;
      const results = await runTest(pool, test, i, repeat, rows);
      const base = results[0]!;
      process.stdout.write(`${test.source}.${test.column} ${test.type}\n`);
      const lines = [['codec', 'bytes/row', 'vs current', 'compression', 'insert', 'read']];
      for (const [k, r] of results.entries()) {
        lines.push([
          `${k === 0 ? '* ' : '  '}${r.codec}`,
          fmt(r.bytesPerRow, 2),
          `${fmt(r.bytesPerRow / base.bytesPerRow, 2)}×`,
          `${fmt(r.ratio, 1)}×`,
          `${fmt(r.insertMs / base.insertMs, 2)}×`,
          `${fmt(r.readMs / base.readMs, 2)}×`,
        ]);
      }
      const widths = lines[0]!.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
      for (const l of lines) process.stdout.write(`  ${l.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')}\n`);
      process.stdout.write(`  (insert/read: median of ${repeat}, ratio to the current codec; current insert ${fmt(base.insertMs)} ms, read ${fmt(base.readMs)} ms)\n\n`);
    }
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench/codecs failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
