/**
 * The README's start command and the CLI's user-facing behaviour, run as a user would: the
 * built bin (npm run build happens in `npm test` and `npm ci`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, REPO_ROOT, tempDir } from './support/lookout-process.js';

const BIN = join(REPO_ROOT, 'packages/server/bin/lookout.js');

function lookout(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
}

test('`npm start` (the README command) starts Lookout, which answers /ready, and stops cleanly when its process group is signalled', async () => {
  const port = await freePort();
  const grpcPort = await freePort();
  const dataDir = tempDir('npm-start');
  const child = spawn('npm', ['start'], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOOKOUT_PORT: String(port), LOOKOUT_GRPC_PORT: String(grpcPort), LOOKOUT_DATA_DIR: dataDir, LOOKOUT_HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  // Lookout inherits npm's pipes: they close when Lookout itself has exited.
  const closed = new Promise<void>((resolve) => child.stdout!.on('close', () => resolve()));
  try {
    let ready = false;
    for (let i = 0; i < 300 && !ready; i++) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/ready`);
        ready = response.status === 200 && (await response.text()) === 'ready\n';
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    assert.ok(ready, `not ready:\n${output}`);
    // The start banner tells where everything is.
    assert.match(output, new RegExp(`OTLP/HTTP +http://127\\.0\\.0\\.1:${port}/v1/traces`));
    assert.match(output, new RegExp(`OTLP/gRPC +127\\.0\\.0\\.1:${grpcPort}`));
    assert.match(output, new RegExp(`Prometheus +http://127\\.0\\.0\\.1:${port}/api/v1/query`));
    assert.match(output, new RegExp(`Loki +http://127\\.0\\.0\\.1:${port}/loki/api/v1/query_range`));
    assert.match(output, /embedded ClickHouse \(chDB\)/);
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
  } finally {
    // As a terminal's Ctrl-C does: signal the whole process group (npm does not forward it).
    process.kill(-child.pid!, 'SIGTERM');
  }
  await closed;
  assert.match(output, /"msg":"lookout stopped"/);
});

test('--help lists the commands and every option with its environment variable', () => {
  const top = lookout(['--help']);
  assert.equal(top.status, 0);
  assert.match(top.stdout, /up \[options\]/);
  const up = lookout(['up', '--help']);
  assert.equal(up.status, 0);
  for (const [flag, env] of [
    ['--port', 'LOOKOUT_PORT'],
    ['--grpc-port', 'LOOKOUT_GRPC_PORT'],
    ['--data-dir', 'LOOKOUT_DATA_DIR'],
    ['--clickhouse-url', 'LOOKOUT_CLICKHOUSE_URL'],
    ['--retention', 'LOOKOUT_RETENTION'],
    ['--log-level', 'LOOKOUT_LOG_LEVEL'],
    ['--config', 'LOOKOUT_CONFIG'],
  ] as const) {
    assert.ok(up.stdout.includes(flag) && up.stdout.replace(/\s+/g, ' ').includes(`[env: ${env}]`), `${flag} / ${env} missing`);
  }
});

test('bad configuration exits 2 with one line naming the source and the fault', () => {
  const badFlag = lookout(['up', '--port', 'abc']);
  assert.equal(badFlag.status, 2);
  assert.equal(badFlag.stderr, 'lookout: --port: expected a port number 0-65535, got "abc"\n');
  const badEnv = lookout(['check-config'], { LOOKOUT_RETENTION: 'forever' });
  assert.equal(badEnv.status, 2);
  assert.match(badEnv.stderr, /^lookout: LOOKOUT_RETENTION: /);
  const dir = tempDir('cli-config');
  const file = join(dir, 'lookout.yml');
  writeFileSync(file, 'retention:\n  logs: 7d\n  spans: 3d\n');
  const badFile = lookout(['check-config', '--config', file]);
  assert.equal(badFile.status, 2);
  assert.equal(badFile.stderr, `lookout: ${file}: retention: unknown key "spans"\n`);
});

test('check-config prints the effective configuration', () => {
  const result = lookout(['check-config', '--retention', 'logs=14d', '--port', '9999'], { LOOKOUT_GRPC_PORT: '9998' });
  assert.equal(result.status, 0, result.stderr);
  const config = JSON.parse(result.stdout) as { port: number; grpcPort: number; retention: { logs: number; traces: number } };
  assert.equal(config.port, 9999);
  assert.equal(config.grpcPort, 9998);
  assert.deepEqual(config.retention, { logs: 14, traces: 7, metrics: 30 });
});
