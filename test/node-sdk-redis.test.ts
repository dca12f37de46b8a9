/**
 * A real dependency: redis-server (Debian package redis-server) on 127.0.0.1. The orders
 * example uses it through ioredis (instrumented: its commands are spans in the request's trace)
 * and registers checks.redis as a critical readiness check: /ready is 503 while Redis is
 * stopped and 200 again once it is back.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { freePort, startLookoutProcess, type LookoutProcess } from './support/lookout-process.js';
import { buildNodeSdk, startService, waitFor, type ServiceProcess } from './node-sdk-support.js';

let redisPort: number;
let redis: ChildProcess | undefined;
let lookout: LookoutProcess;
let orders: ServiceProcess;

async function startRedis(): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitFor('redis-server', async () => {
    const ping = spawnSync('redis-cli', ['-p', String(redisPort), 'ping'], { encoding: 'utf8' });
    return ping.stdout.trim() === 'PONG' ? true : undefined;
  });
  return child;
}

async function stopRedis(): Promise<void> {
  if (!redis || redis.exitCode !== null) return;
  const exited = new Promise((resolve) => redis!.once('exit', resolve));
  redis.kill('SIGTERM');
  await exited;
}

before(async () => {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (found.error) throw new Error('redis-server is needed (Debian package redis-server): ' + found.error.message);
  buildNodeSdk();
  redisPort = await freePort();
  redis = await startRedis();
  lookout = await startLookoutProcess();
  orders = await startService({ name: 'orders-redis', script: 'examples/orders/server.js', env: { LOOKOUT_ENDPOINT: lookout.url, REDIS_URL: `redis://127.0.0.1:${redisPort}` } });
});

after(async () => {
  await orders?.stop();
  await stopRedis();
  await lookout?.stop();
});

interface OtlpJsonAttribute {
  key: string;
  value: { stringValue?: string };
}

test('Redis commands are in the request trace; /ready follows Redis', async () => {
  // The service is up at /health before ioredis has connected (it has no offline queue): the
  // first request waits for readiness, which includes the Redis check.
  await waitFor('orders ready (Redis connected)', async () => ((await fetch(`${orders.url}/ready`)).status === 200 ? true : undefined), 15_000);
  const response = await fetch(`${orders.url}/orders/1`, { headers: { 'x-request-id': 'redis-req-1' } });
  assert.equal(response.status, 200);
  const line = await waitFor('order fetched', async () => orders.records().find((r) => r.msg === 'order fetched' && r.request_id === 'redis-req-1'));
  assert.equal(line.views, 1, 'the view counter came from Redis');

  const spans = await waitFor('the trace with a Redis span', async () => {
    const found = await fetch(`${lookout.url}/api/traces/${String(line.trace_id)}`);
    if (found.status !== 200) return undefined;
    const body = (await found.json()) as { batches: { scopeSpans: { spans: { name: string; attributes?: OtlpJsonAttribute[] }[] }[] }[] };
    const all = body.batches.flatMap((b) => b.scopeSpans.flatMap((s) => s.spans));
    return all.some((s) => s.name === 'incr') ? all : undefined;
  });
  const incr = spans.find((s) => s.name === 'incr')!;
  assert.equal(incr.attributes?.find((a) => a.key === 'db.system')?.value.stringValue, 'redis');

  let ready = await fetch(`${orders.url}/ready`);
  assert.equal(ready.status, 200);
  assert.equal(((await ready.json()) as { checks: Record<string, { status: string }> }).checks.redis!.status, 'pass');

  await stopRedis();
  ready = await fetch(`${orders.url}/ready`);
  assert.equal(ready.status, 503);
  const report = (await ready.json()) as { status: string; checks: Record<string, { status: string; error?: string }> };
  assert.equal(report.status, 'fail');
  assert.equal(report.checks.redis!.status, 'fail');
  assert.ok(report.checks.redis!.error, 'the failure says why');
  // The service itself keeps answering.
  assert.equal((await fetch(`${orders.url}/orders/2`)).status, 200);
  assert.equal((await fetch(`${orders.url}/health`)).status, 200);

  redis = await startRedis();
  await waitFor('ready again after Redis returns', async () => ((await fetch(`${orders.url}/ready`)).status === 200 ? true : undefined), 15_000);
  assert.equal(orders.child.exitCode, null);
});
