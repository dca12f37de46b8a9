import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withRequestId } from './context.js';
import { configureLogging, getLogger, parseLevelSpec, sampled } from './logger.js';
import { Redactor } from './redact.js';
import { captureLogs } from './testing.js';

configureLogging({ stdout: false, service: 'unit', level: 'info' });

test('LOG_LEVEL syntax: default level and per-module overrides; bad input is reported', () => {
  const spec = parseLevelSpec('warn, db=debug ,http=error');
  assert.equal(spec.level, 'warn');
  assert.deepEqual([...spec.modules], [['db', 'debug'], ['http', 'error']]);
  assert.throws(() => parseLevelSpec('loud'), /unknown level "loud"/);
  assert.throws(() => parseLevelSpec('info,db='), /bad module override/);
});

test('records carry time, level, msg, service, module and the request context', () => {
  using capture = captureLogs();
  const log = getLogger('orders');
  withRequestId('req-42', () => log.info({ order_id: 7 }, 'order fetched'));
  const record = capture.expect('order fetched');
  assert.equal(record.level, 'info');
  assert.equal(record.service, 'unit');
  assert.equal(record.module, 'orders');
  assert.equal(record.request_id, 'req-42');
  assert.equal(record.order_id, 7);
  assert.ok(!Number.isNaN(Date.parse(record.time)));
  assert.throws(() => capture.expect('never logged'), /no captured log record matches/);
});

test('per-module levels apply to loggers created before and after configuration', () => {
  using capture = captureLogs();
  const early = getLogger('db');
  configureLogging({ level: 'info,db=debug,noisy=error' });
  early.debug('db debug');
  getLogger('noisy').warn('noisy warn');
  getLogger('other').debug('other debug');
  getLogger('other').info('other info');
  assert.deepEqual(capture.records.map((r) => r.msg), ['db debug', 'other info']);
  configureLogging({ level: 'info' });
});

test('errors are serialized with type, message and stack, and redacted', () => {
  using capture = captureLogs();
  getLogger('auth').error({ err: new RangeError('bad token=abc123xyz'), password: 'hunter2', user: { apiKey: 'k' } }, 'login failed for Bearer abcdefghijklmnop');
  const record = capture.expect('login failed for Bearer [REDACTED]');
  const err = record.err as { type: string; message: string; stack: string };
  assert.equal(err.type, 'RangeError');
  assert.equal(err.message, 'bad token=[REDACTED]');
  assert.match(err.stack, /RangeError: bad token=\[REDACTED\]\n\s+at /);
  assert.equal(record.password, '[REDACTED]');
  assert.deepEqual(record.user, { apiKey: '[REDACTED]' });
  assert.ok(!JSON.stringify(capture.records).includes('hunter2'));
});

test('redaction can be configured off', () => {
  using capture = captureLogs();
  configureLogging({ redactor: new Redactor({ enabled: false }) });
  getLogger('x').info({ password: 'visible' }, 'off');
  configureLogging({ redactor: new Redactor() });
  getLogger('x').info({ password: 'hidden' }, 'on');
  assert.equal(capture.expect('off').password, 'visible');
  assert.equal(capture.expect('on').password, '[REDACTED]');
});

test('sampling keeps every Nth line or at most N per second', () => {
  using capture = captureLogs();
  configureLogging({ level: 'debug' });
  const everyTenth = sampled(getLogger('poll'), { every: 10 });
  for (let i = 0; i < 100; i++) everyTenth.debug({ i }, 'tick');
  assert.equal(capture.find('tick').length, 10);
  assert.equal(everyTenth.dropped, 90);
  assert.deepEqual(capture.find('tick').map((r) => r.i).slice(0, 3), [0, 10, 20]);
  assert.equal(capture.find('tick')[0]!.sampled, true);
  const perSecond = sampled(getLogger('poll'), { perSecond: 5 });
  for (let i = 0; i < 50; i++) perSecond.debug('burst');
  assert.equal(capture.find('burst').length, 5);
  configureLogging({ level: 'info' });
  for (let i = 0; i < 10; i++) everyTenth.debug('below level');
  assert.equal(capture.find('below level').length, 0);
});

test('a capture stops recording when stopped', () => {
  const capture = captureLogs();
  getLogger('x').info('one');
  capture.stop();
  getLogger('x').info('two');
  assert.deepEqual(capture.records.map((r) => r.msg), ['one']);
});
