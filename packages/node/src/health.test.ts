import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerHealth, checks, HealthRegistry } from './health.js';

test('ready is ok when all pass, degraded for a failing non-critical check, fail (503) for a critical one', async () => {
  const registry = new HealthRegistry();
  let dbUp = true;
  registry.register('db', () => {
    if (!dbUp) throw new Error('connect ECONNREFUSED postgres://app:s3cret@db:5432');
  });
  registry.register('cache', async () => false, { critical: false });
  let answer = await answerHealth(registry, 'ready');
  assert.equal(answer.statusCode, 200);
  assert.equal(answer.body.status, 'degraded');
  assert.equal(answer.body.checks.db!.status, 'pass');
  assert.equal(answer.body.checks.cache!.error, 'check returned false');
  assert.equal(typeof answer.body.checks.db!.duration_ms, 'number');

  dbUp = false;
  answer = await answerHealth(registry, 'ready');
  assert.equal(answer.statusCode, 503);
  assert.equal(answer.body.status, 'fail');
  assert.equal(answer.body.checks.db!.error, 'connect ECONNREFUSED postgres://app:[REDACTED]@db:5432', 'credentials in errors are redacted');

  const live = await answerHealth(registry, 'live');
  assert.deepEqual(live, { statusCode: 200, body: { status: 'ok', checks: {} } }, 'liveness never consults dependencies');
});

test('a check that hangs fails at its timeout', async () => {
  const registry = new HealthRegistry().register('slow', () => new Promise(() => {}), { timeout: 50 });
  const started = Date.now();
  const report = await registry.ready();
  assert.ok(Date.now() - started < 1000);
  assert.equal(report.checks.slow!.status, 'fail');
  assert.match(report.checks.slow!.error!, /timed out after 50 ms/);
});

test('pg and redis helpers use the client given', async () => {
  const queries: string[] = [];
  assert.equal(await checks.pg({ query: async (text) => void queries.push(text) })(), true);
  assert.deepEqual(queries, ['SELECT 1']);
  assert.equal(await checks.redis({ ping: async () => 'PONG' })(), true);
  await assert.rejects(Promise.resolve(checks.redis({ ping: async () => 'NOPE' })()), /unexpected PING reply/);
  await assert.rejects(Promise.resolve(checks.pg({ query: async () => Promise.reject(new Error('down')) })()), /down/);
});

test('registration needs a name; unregister removes a check', async () => {
  const registry = new HealthRegistry();
  assert.throws(() => registry.register('', () => true), /needs a name/);
  registry.register('a', () => true);
  assert.deepEqual(registry.names(), ['a']);
  assert.equal(registry.unregister('a'), true);
  assert.deepEqual((await registry.ready()).checks, {});
});
