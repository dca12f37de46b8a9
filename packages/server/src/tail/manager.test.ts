import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { LookoutError } from '../errors.js';
import type { LogRecord } from '../model/index.js';
import { createWritePipeline, type WritePipeline } from '../pipeline/index.js';
import type { Appender } from '../storage/index.js';
import { createServerMetrics } from '../telemetry/index.js';
import { createTailManager, DEFAULT_POSITIONS_FILE } from './manager.js';
import type { TailConfig } from './types.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'lookout-tailmgr-'));
  dirs.push(d);
  return d;
}
const logger = pino({ level: 'silent' });

/** A pipeline that refuses every other write as overloaded, like a saturated Batcher. */
function fakePipeline() {
  const stored: LogRecord[] = [];
  let calls = 0;
  const pipeline = {
    async writeLogs(records: readonly LogRecord[]) {
      calls++;
      if (calls % 2 === 1) throw new LookoutError('LOOKOUT_ERR_PIPELINE_OVERLOADED', 'busy', { retryAfterSeconds: 1 });
      stored.push(...records);
    },
  } as unknown as WritePipeline;
  return { pipeline, stored };
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function config(dir: string, stages: Record<string, unknown>[] = []): TailConfig {
  return {
    target_config: { sync_period: '50ms' },
    file_watch_config: { min_poll_frequency: '20ms' },
    scrape_configs: [
      {
        job_name: 'app',
        static_configs: [{ targets: ['localhost'], labels: { job: 'varlogs', __path__: join(dir, 'logs', '**', '*.log'), __path_exclude__: join(dir, 'logs', 'skip*.log') } }],
        pipeline_stages: stages,
      },
    ],
  };
}

test('discovers files by glob (new ones too), retries refused writes, saves positions, resumes after restart', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'logs', 'nested'), { recursive: true });
  writeFileSync(join(dir, 'logs', 'a.log'), 'a1\na2\n');
  writeFileSync(join(dir, 'logs', 'skip-me.log'), 'no\n');
  writeFileSync(join(dir, 'logs', 'a.txt'), 'no\n');
  const { pipeline, stored } = fakePipeline();
  const stages = [{ regex: { expression: '^(?P<app>[a-z])' } }, { labels: { app: null } }];
  let manager = createTailManager({ pipeline, dataDir: dir, logger });
  await manager.applyConfig(config(dir, stages));
  await waitFor(() => stored.length === 2, 'a.log');
  writeFileSync(join(dir, 'logs', 'nested', 'b.log'), 'b1\n');
  await waitFor(() => stored.length === 3, 'the new nested file');
  assert.deepEqual(manager.files().sort(), [join(dir, 'logs', 'a.log'), join(dir, 'logs', 'nested', 'b.log')]);
  await manager.stop();

  const positions = JSON.parse(readFileSync(join(dir, DEFAULT_POSITIONS_FILE), 'utf8')) as { files: Record<string, { offset: number }> };
  assert.equal(positions.files[join(dir, 'logs', 'a.log')]!.offset, 6);

  appendFileSync(join(dir, 'logs', 'a.log'), 'a3\n');
  manager = createTailManager({ pipeline, dataDir: dir, logger });
  await manager.applyConfig(config(dir, stages));
  await waitFor(() => stored.length === 4, 'a3 after the restart');
  await new Promise((r) => setTimeout(r, 100));
  await manager.stop();

  assert.deepEqual(stored.map((r) => r.body).sort(), ['a1', 'a2', 'a3', 'b1']);
  const a1 = stored.find((r) => r.body === 'a1')!;
  assert.deepEqual(a1.streamLabels, { job: 'varlogs', filename: join(dir, 'logs', 'a.log'), app: 'a', service_name: 'a' });
  assert.equal(a1.serviceName, 'a');
});

test('configuration errors name the key under tail.', async () => {
  const dir = tempDir();
  const manager = createTailManager({ pipeline: fakePipeline().pipeline, dataDir: dir, logger });
  await assert.rejects(
    manager.applyConfig(config(dir, [{ json: { expressions: { a: null } } }, { regex: { expression: '(?P<x' } }])),
    (error: LookoutError) => error.code === 'LOOKOUT_ERR_CONFIG_INVALID' && /^tail\.scrape_configs\.0\.pipeline_stages\.1\.regex\.expression: invalid regular expression/.test(error.message),
  );
  await assert.rejects(manager.applyConfig({ ...config(dir), positions: { sync_period: 'soon' } }), /^LookoutError: tail\.positions\.sync_period:|tail\.positions\.sync_period/);
  await manager.stop();
});

test('a file larger than the pipeline queue is written in slices, each line once', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'logs'));
  const lines = Array.from({ length: 50 }, (_, i) => `line ${i}`);
  writeFileSync(join(dir, 'logs', 'big.log'), lines.map((l) => `${l}\n`).join(''));
  const stored: LogRecord[] = [];
  const appender = {
    async appendLogs(rows: readonly LogRecord[]) {
      await new Promise((r) => setTimeout(r, 5));
      stored.push(...rows);
    },
  } as unknown as Appender;
  const pipeline = createWritePipeline({ appender, metrics: createServerMetrics(), limits: { maxPendingRows: 4, maxBatchRows: 4 } });
  const manager = createTailManager({ pipeline, dataDir: dir, logger });
  await manager.applyConfig(config(dir));
  await waitFor(() => stored.length >= 50, 'all lines');
  await manager.stop();
  await pipeline.close();
  assert.deepEqual(stored.map((r) => r.body), lines);
});
