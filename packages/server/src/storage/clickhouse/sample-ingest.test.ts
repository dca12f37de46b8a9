/**
 * The metric write path on the embedded engine: migration 4 on a data directory made before
 * it, and concurrent appendSamples calls sharing new series.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openClickHouseStorage } from './index.js';
import { openPool } from './pool.js';

const retention = { logs: 7, traces: 7, metrics: 30 };

async function sampleTableDdl(dataDir: string): Promise<string> {
  const pool = openPool({ dataDir, size: 1 });
  try {
    const [row] = await pool.select<{ ddl: string }>(`SELECT create_table_query AS ddl FROM system.tables WHERE database = currentDatabase() AND name = 'metric_samples'`);
    return row?.ddl ?? '';
  } finally {
    await pool.close();
  }
}

test('a data directory from before migration 4 gets the Delta codec on Value and keeps its samples', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lookout-sample-ingest-'));
  const t0 = Date.now() - 60_000;
  const labels = { __name__: 'old_metric', job: 'a' };
  let storage = await openClickHouseStorage({ dataDir, retention });
  await storage.appender.appendSamples('t', [
    { labels, timestampMs: t0, value: 1.25 },
    { labels, timestampMs: t0 + 15_000, value: Number.NaN, stale: true },
  ]);
  await storage.close();
  // Turn the directory back into what versions 1-3 left: Gorilla codec, default merges, no row 4.
  const pool = openPool({ dataDir, size: 1 });
  await pool.command('ALTER TABLE metric_samples MODIFY COLUMN Value Float64 CODEC(Gorilla, ZSTD(1))');
  await pool.command('ALTER TABLE metric_samples RESET SETTING merge_selector_base');
  await pool.command('ALTER TABLE lookout_migrations DELETE WHERE Version = 4 SETTINGS mutations_sync = 1');
  await pool.close();
  assert.match(await sampleTableDdl(dataDir), /`Value` Float64 CODEC\(Gorilla\(8\), ZSTD\(1\)\)/);

  storage = await openClickHouseStorage({ dataDir, retention });
  await storage.appender.appendSamples('t', [{ labels, timestampMs: t0 + 30_000, value: 3 }]);
  const series = await storage.series.selectSeries({ tenant: 't', equals: { __name__: 'old_metric' }, startMs: t0, endMs: t0 + 60_000 });
  await storage.close();
  assert.deepEqual(series[0]?.samples, [
    { timestampMs: t0, value: 1.25, stale: false },
    { timestampMs: t0 + 15_000, value: Number.NaN, stale: true },
    { timestampMs: t0 + 30_000, value: 3, stale: false },
  ]);
  const ddl = await sampleTableDdl(dataDir);
  assert.match(ddl, /`Value` Float64 CODEC\(Delta\(8\), ZSTD\(1\)\)/);
  assert.match(ddl, /merge_selector_base = 10/);
});

test('concurrent appendSamples calls sharing new series store every series and sample', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lookout-sample-ingest-'));
  const storage = await openClickHouseStorage({ dataDir, retention, readPoolSize: 3 });
  const t0 = Date.now() - 60_000;
  const series = Array.from({ length: 50 }, (_, i) => Object.freeze({ __name__: 'shared_metric', instance: `i${i}` }));
  await Promise.all(
    [0, 1, 2, 3].map((k) => storage.appender.appendSamples('t', series.map((labels) => ({ labels, timestampMs: t0 + k * 15_000, value: k })))),
  );
  const back = await storage.series.selectSeries({ tenant: 't', equals: { __name__: 'shared_metric' }, startMs: t0, endMs: t0 + 60_000 });
  await storage.close();
  assert.equal(back.length, 50);
  for (const s of back) assert.deepEqual(s.samples.map((p) => p.value), [0, 1, 2, 3]);
});
