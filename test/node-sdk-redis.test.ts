/**
 * A real dependency: redis-server (Debian package redis-server) on 127.0.0.1. The orders
 * example uses it through ioredis (instrumented: its commands are spans in the request's trace)
 * and registers checks.redis as a critical readiness check: /ready is 503 while Redis is
 * stopped and 200 again once it is back. A plain node:http service does the same through
 * node-redis (the `redis` package).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { freePort, startLookoutProcess, type LookoutProcess } from './support/lookout-process.js';
import { buildNodeSdk, dbSystem, startService, traceSpans, waitFor, waitForStatus, stopProcess, type ServiceProcess } from './node-sdk-support.js';

let redisPort: number;
let redis: ChildProcess | undefined;
let lookout: LookoutProcess;
let orders: ServiceProcess;
let sessions: ServiceProcess | undefined;

async function startRedis(): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitFor('redis-server', async () => {
    const ping = spawnSync('redis-cli', ['-p', String(redisPort), 'ping'], { encoding: 'utf8' });
    return ping.stdout.trim() === 'PONG' ? true : undefined;
  });
  return child;
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
  await sessions?.stop();
  await orders?.stop();
  await stopProcess(redis);
  await lookout?.stop();
});

test('Redis commands are in the request trace; /ready follows Redis', async () => {
  // The service is up at /health before ioredis has connected (it has no offline queue): the
  // first request waits for readiness, which includes the Redis check.
  await waitForStatus('orders ready (Redis connected)', `${orders.url}/ready`, 200, 15_000);
  const response = await fetch(`${orders.url}/orders/1`, { headers: { 'x-request-id': 'redis-req-1' } });
  assert.equal(response.status, 200);
  const line = await waitFor('order fetched', async () => orders.records().find((r) => r.msg === 'order fetched' && r.request_id === 'redis-req-1'));
  assert.equal(line.views, 1, 'the view counter came from Redis');

  const spans = await waitFor('the trace with a Redis span', async () => {
    const all = await traceSpans(lookout.url, String(line.trace_id));
    return all?.some((s) => s.name === 'incr') ? all : undefined;
  });
  const incr = spans.find((s) => s.name === 'incr')!;
  assert.equal(dbSystem(incr), 'redis');

  let ready = await fetch(`${orders.url}/ready`);
  assert.equal(ready.status, 200);
  assert.equal(((await ready.json()) as { checks: Record<string, { status: string }> }).checks.redis!.status, 'pass');

  await stopProcess(redis);
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
  await waitForStatus('ready again after Redis returns', `${orders.url}/ready`, 200, 15_000);
  assert.equal(orders.child.exitCode, null);
});

// node:http + node-redis: each request increments a counter in Redis.
const SESSIONS_SERVICE = `
import { createServer } from 'node:http';
import { createClient } from 'redis';
import { checks, getLogger, health, lookoutHttp } from '@lookout/node';
const log = getLogger('sessions');
const client = createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true, socket: { connectTimeout: 1000, reconnectStrategy: () => 300 } });
client.on('error', () => {}); // reconnection attempts; readiness reports the outage
await client.connect();
health.register('redis', checks.redis(client), { timeout: 500, critical: true });
createServer(lookoutHttp(async (req, res) => {
  try {
    const n = await client.incr('sessions');
    log.info({ sessions: n }, 'session counted');
    res.end(String(n));
  } catch (error) {
    log.warn({ err: error }, 'session counter unavailable');
    res.statusCode = 503;
    res.end('redis unavailable');
  }
}, { route: () => '/session' })).listen(Number(process.env.PORT), '127.0.0.1');
`;

test('node-redis commands are in the request trace of a node:http service; /ready follows Redis', async () => {
  sessions = await startService({ name: 'sessions-node-redis', eval: SESSIONS_SERVICE, env: { LOOKOUT_ENDPOINT: lookout.url, REDIS_URL: `redis://127.0.0.1:${redisPort}` } });
  await waitForStatus('sessions ready', `${sessions!.url}/ready`, 200, 15_000);
  const response = await fetch(`${sessions.url}/session`, { headers: { 'x-request-id': 'node-redis-1' } });
  assert.equal(response.status, 200);
  const line = await waitFor('session counted', async () => sessions!.records().find((r) => r.msg === 'session counted' && r.request_id === 'node-redis-1'));
  assert.equal(line.sessions, Number(await response.text()));

  const spans = await waitFor('the trace with a node-redis span', async () => {
    const all = await traceSpans(lookout.url, String(line.trace_id));
    // node-redis names its spans `redis-<COMMAND>`.
    return all?.some((s) => /(^|[- ])incr$/i.test(s.name)) ? all : undefined;
  });
  const incr = spans.find((s) => /(^|[- ])incr$/i.test(s.name))!;
  assert.equal(dbSystem(incr), 'redis');
  assert.ok(spans.some((s) => s.spanId === incr.parentSpanId), 'the command span has its parent (the server span) in the trace');

  await stopProcess(redis);
  await waitForStatus('/ready fails while Redis is down', `${sessions!.url}/ready`, 503, 10_000);
  assert.equal((await fetch(`${sessions.url}/health`)).status, 200);
  redis = await startRedis();
  await waitForStatus('ready again after Redis returns', `${sessions!.url}/ready`, 200, 15_000);
  assert.equal((await fetch(`${sessions.url}/session`)).status, 200);
  assert.equal(sessions.child.exitCode, null);
});
