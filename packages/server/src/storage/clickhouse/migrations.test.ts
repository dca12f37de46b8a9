/** Upgrades: a data directory migrated by an earlier version keeps its data under the next migrations. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openClickHouseStorage } from './index.js';
import { MIGRATIONS } from './migrations.js';
import { openPool } from './pool.js';

const RETENTION = { logs: 30, traces: 30, metrics: 30 };

describe('migrations', () => {
  it('7: metadata stored one per family moves to the table of distinct descriptions', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lookout-migrate-'));
    const pool = openPool({ dataDir, size: 1 });
    await pool.command(
      'CREATE TABLE lookout_migrations (Version UInt32, Description String, AppliedAt DateTime DEFAULT now()) ENGINE = MergeTree ORDER BY Version',
    );
    for (const migration of MIGRATIONS.filter((m) => m.version < 7)) {
      for (const statement of migration.statements(RETENTION, { embedded: true })) await pool.command(statement);
      await pool.command('INSERT INTO lookout_migrations (Version, Description) VALUES ({v:UInt32}, {d:String})', { v: migration.version, d: migration.description });
    }
    await pool.insertJsonEachRow(
      'metric_metadata',
      '{"TenantId":"t","MetricFamilyName":"up","Type":"gauge","Help":"Up.","Unit":""}\n{"TenantId":"t","MetricFamilyName":"temp","Type":"gauge","Help":"Temperature.","Unit":"celsius"}\n',
    );
    await pool.close();

    const storage = await openClickHouseStorage({ dataDir, retention: RETENTION });
    try {
      assert.deepEqual(await storage.series.metadata({ tenant: 't' }), [
        { metricFamilyName: 'temp', type: 'gauge', help: 'Temperature.', unit: 'celsius' },
        { metricFamilyName: 'up', type: 'gauge', help: 'Up.', unit: '' },
      ]);
      assert.ok(!(await storage.tableStats()).some((s) => s.table === 'metric_metadata'), 'the old table is gone');
    } finally {
      await storage.close();
    }
  });
});
