/**
 * `lookout demo` starts Lookout, both example services and the traffic generator, prints where
 * to look, and stops cleanly after --duration; the generated traffic (including errors) is in
 * Lookout's storage afterwards.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStorage } from '../packages/server/src/storage/index.js';
import { freePort, REPO_ROOT, tempDir } from './support/lookout-process.js';
import { buildNodeSdk } from './node-sdk-support.js';

test('lookout demo runs Lookout, the example services and traffic, then stops', async () => {
  buildNodeSdk();
  const dataDir = tempDir('demo');
  const startedMs = Date.now();
  const [port, grpcPort, apiPort, ordersPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'packages/server/src/cli/entry.ts'), 'demo', '--host', '127.0.0.1', '--port', String(port), '--grpc-port', String(grpcPort),
      '--data-dir', dataDir, '--api-port', String(apiPort), '--orders-port', String(ordersPort), '--rate', '10', '--duration', '12', '--log-level', 'warn'],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, output);
  assert.match(output, new RegExp(`Lookout demo: Lookout at http://127.0.0.1:${port}`));
  assert.match(output, /api\/search\?tags=service\.name%3Dapi/);
  assert.match(output, /http_server_request_duration_seconds_bucket/);
  const sent = Number(/stopping \(--duration 12\): (\d+) requests sent/.exec(output)?.[1]);
  assert.ok(sent > 20, output);

  const storage = await openStorage({ dataDir, retention: { logs: 7, traces: 7, metrics: 30 } });
  try {
    const range = { start: BigInt(startedMs - 60_000) * 1_000_000n, end: BigInt(Date.now() + 60_000) * 1_000_000n };
    for (const service of ['api', 'orders']) {
      const logs = await storage.logs.queryLogs({ tenant: 'default', range, serviceName: service, limit: 1000 });
      assert.ok(logs.length > 10, `${service} logs: ${logs.length}`);
      assert.ok(logs.some((l) => l.traceId !== ''), `${service} logs carry trace ids`);
    }
    const errors = await storage.logs.queryLogs({ tenant: 'default', range, serviceName: 'orders', limit: 1000 });
    assert.ok(errors.some((l) => l.severityText === 'ERROR' && l.body === 'order lookup failed'), 'the generated errors are there');
  } finally {
    await storage.close();
  }
});
