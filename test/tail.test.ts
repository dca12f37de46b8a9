/**
 * Promtail-like tailing end to end: a real Lookout process tails a file through a
 * json + regex + labels + structured_metadata + timestamp pipeline while the file is rotated by
 * rename, Lookout is restarted, and the file is rotated by copytruncate, then both rotations
 * again while Lookout is stopped. Every line must be stored exactly once with the pipeline's
 * labels and timestamps.
 */
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openStorage } from '../packages/server/src/storage/index.js';
import { startLookoutProcess, tempDir, type LookoutProcess } from './support/lookout-process.js';
import { waitFor as waitUntil } from './support/wait.js';

const running = new Set<LookoutProcess>();
after(async () => {
  for (const p of running) await p.stop('SIGKILL');
});

const BASE_MS = Date.now() - 10 * 60_000;
/** Line i carries a timestamp i milliseconds (plus i microseconds) after BASE_MS, with a +02:00 offset. */
function line(i: number): string {
  const utc = new Date(BASE_MS + i);
  const shifted = new Date(utc.getTime() + 2 * 3_600_000).toISOString().replace('Z', '');
  const ts = `${shifted}${String(i % 1000).padStart(3, '0')}+02:00`;
  return JSON.stringify({ ts, level: i % 3 === 0 ? 'error' : 'info', msg: `request ${i} done` });
}
const expectedNs = (i: number) => BigInt(BASE_MS + i) * 1_000_000n + BigInt((i % 1000) * 1000);

function write(path: string, from: number, to: number): void {
  let text = '';
  for (let i = from; i <= to; i++) text += `${line(i)}\n`;
  appendFileSync(path, text);
}

const waitFor = async (check: () => boolean, what: string, lookout: LookoutProcess): Promise<void> => {
  await waitUntil(what, check, { intervalMs: 100, context: () => lookout.output() });
};

test('every line arrives exactly once across rename and copytruncate rotations and a restart', { timeout: 180_000 }, async () => {
  const dir = tempDir('tail');
  const logDir = join(dir, 'logs');
  const dataDir = tempDir('tail-data');
  const logFile = join(logDir, 'app.log');
  const configFile = join(dir, 'lookout.yml');
  const positionsFile = join(dir, 'positions.json');
  writeFileSync(
    configFile,
    `tail:
  positions:
    filename: ${positionsFile}
    sync_period: 100ms
  target_config:
    sync_period: 200ms
  file_watch_config:
    min_poll_frequency: 50ms
  scrape_configs:
    - job_name: app
      static_configs:
        - targets: [localhost]
          labels:
            job: shop
            __path__: ${logDir}/*.log
      pipeline_stages:
        - json:
            expressions:
              ts: ts
              level: level
              msg: msg
        - regex:
            source: msg
            expression: '^request (?P<request>\\d+)'
        - labels:
            level:
        - structured_metadata:
            request:
        - timestamp:
            source: ts
            format: '2006-01-02T15:04:05.999999Z07:00'
`,
  );
  mkdirSync(logDir);
  const start = async () => {
    const p = await startLookoutProcess({ dataDir, args: ['--config', configFile] });
    running.add(p);
    return p;
  };
  const committed = (): number | undefined => {
    if (!existsSync(positionsFile)) return undefined;
    const doc = JSON.parse(readFileSync(positionsFile, 'utf8')) as { files: Record<string, { offset: number; identity: string }> };
    const p = doc.files[logFile];
    const s = statSync(logFile, { bigint: false });
    return p && p.identity === `${s.dev}:${s.ino}` ? p.offset : undefined;
  };

  write(logFile, 1, 40);
  let lookout = await start();
  await waitFor(() => committed() === statSync(logFile).size, 'the first lines', lookout);

  // Rotation by rename, with lines written just before it that may not have been read yet.
  write(logFile, 41, 60);
  appendFileSync(logFile, line(61)); // the old file's last line has no newline
  renameSync(logFile, join(logDir, 'app.log.1'));
  write(logFile, 62, 90);
  appendFileSync(logFile, line(91).slice(0, 20)); // a partial line, completed after the restart
  await waitFor(() => committed() === statSync(logFile).size - 20, 'the renamed file and the new one', lookout);

  // Restart (lines written while Lookout is down must be picked up from the positions file).
  assert.equal(await lookout.stop('SIGTERM'), 0);
  running.delete(lookout);
  appendFileSync(logFile, `${line(91).slice(20)}\n`);
  write(logFile, 92, 120);
  lookout = await start();
  await waitFor(() => committed() === statSync(logFile).size, 'the lines written while stopped', lookout);

  // Rotation by copytruncate, with lines written just before the copy.
  write(logFile, 121, 150);
  copyFileSync(logFile, join(logDir, 'app.log.2'));
  truncateSync(logFile, 0);
  write(logFile, 151, 200);
  await waitFor(() => committed() === statSync(logFile).size, 'the lines after copytruncate', lookout);
  assert.equal(await lookout.stop('SIGTERM'), 0);
  running.delete(lookout);

  // Both rotations again while Lookout is stopped, each followed by a start.
  write(logFile, 201, 220);
  copyFileSync(logFile, join(logDir, 'app.log.3'));
  truncateSync(logFile, 0);
  write(logFile, 221, 230);
  lookout = await start();
  await waitFor(() => committed() === statSync(logFile).size, 'the lines around a copytruncate while stopped', lookout);
  assert.equal(await lookout.stop('SIGTERM'), 0);
  running.delete(lookout);
  write(logFile, 231, 240);
  renameSync(logFile, join(logDir, 'app.log.4'));
  write(logFile, 241, 250);
  lookout = await start();
  await waitFor(() => committed() === statSync(logFile).size, 'the lines around a rename while stopped', lookout);
  assert.equal(await lookout.stop('SIGTERM'), 0);
  running.delete(lookout);

  const storage = await openStorage({ dataDir, retention: { logs: 7, traces: 7, metrics: 30 } });
  try {
    const count = await storage.logs.countLogs('default');
    const records = await storage.logs.queryLogs({ tenant: 'default', range: { start: 0n, end: BigInt(Date.now() + 86_400_000) * 1_000_000n }, limit: count + 10 });
    const bodies = records.map((r) => r.body).sort();
    const expected = Array.from({ length: 250 }, (_, k) => line(k + 1)).sort();
    assert.equal(records.length, 250, `stored ${records.length} lines; duplicates: ${bodies.filter((b, k) => bodies[k - 1] === b).length}`);
    assert.deepEqual(bodies, expected);
    for (const r of records) {
      const i = Number((JSON.parse(r.body) as { msg: string }).msg.split(' ')[1]);
      assert.equal(r.timestamp, expectedNs(i), `timestamp of line ${i}`);
      assert.deepEqual(r.streamLabels, { job: 'shop', filename: logFile, level: i % 3 === 0 ? 'error' : 'info', service_name: 'shop' }, `labels of line ${i}`);
      assert.equal(r.serviceName, 'shop');
      assert.deepEqual(r.attributes, [{ key: 'request', value: { stringValue: String(i) } }]);
      assert.equal(r.severityText, i % 3 === 0 ? 'error' : 'info');
    }
  } finally {
    await storage.close();
  }
});

test('SIGHUP re-reads the tail section: a new job is tailed, a broken file keeps the running config', { timeout: 120_000 }, async () => {
  const dir = tempDir('tail-reload');
  const dataDir = tempDir('tail-reload-data');
  const configFile = join(dir, 'lookout.yml');
  const positionsFile = join(dir, 'positions.json');
  mkdirSync(join(dir, 'a'));
  mkdirSync(join(dir, 'b'));
  const job = (name: string) => `    - job_name: ${name}
      static_configs:
        - labels:
            __path__: ${join(dir, name)}/*.log
`;
  const header = `tail:
  positions:
    filename: ${positionsFile}
    sync_period: 100ms
  target_config:
    sync_period: 100ms
  file_watch_config:
    min_poll_frequency: 50ms
  scrape_configs:
`;
  writeFileSync(configFile, header + job('a'));
  writeFileSync(join(dir, 'a', 'x.log'), 'from a\n');
  writeFileSync(join(dir, 'b', 'y.log'), 'from b\n');
  const lookout = await startLookoutProcess({ dataDir, args: ['--config', configFile], env: { LOOKOUT_LOG_LEVEL: 'info' } });
  running.add(lookout);
  const tracked = () => (existsSync(positionsFile) ? Object.keys((JSON.parse(readFileSync(positionsFile, 'utf8')) as { files: object }).files).sort() : []);
  await waitFor(() => tracked().length === 1, 'job a', lookout);

  writeFileSync(configFile, header + job('a') + job('b'));
  lookout.child.kill('SIGHUP');
  await waitFor(() => tracked().length === 2, 'job b after SIGHUP', lookout);

  writeFileSync(configFile, `${header}    - job_name: broken\n      static_configs: []\n`);
  lookout.child.kill('SIGHUP');
  await waitFor(() => lookout.output().includes('configuration reload failed'), 'the reload error', lookout);
  appendFileSync(join(dir, 'b', 'y.log'), 'still tailed\n');
  await waitFor(() => {
    const doc = JSON.parse(readFileSync(positionsFile, 'utf8')) as { files: Record<string, { offset: number }> };
    return doc.files[join(dir, 'b', 'y.log')]?.offset === 'from b\nstill tailed\n'.length;
  }, 'b still tailed after the failed reload', lookout);
  assert.equal(await lookout.stop('SIGTERM'), 0);
  running.delete(lookout);

  const storage = await openStorage({ dataDir, retention: { logs: 7, traces: 7, metrics: 30 } });
  try {
    const records = await storage.logs.queryLogs({ tenant: 'default', range: { start: 0n, end: BigInt(Date.now() + 86_400_000) * 1_000_000n }, limit: 100 });
    assert.deepEqual(records.map((r) => r.body).sort(), ['from a', 'from b', 'still tailed']);
    // No job, app or service label: Loki's default.
    assert.ok(records.every((r) => r.serviceName === 'unknown_service'));
  } finally {
    await storage.close();
  }
});
