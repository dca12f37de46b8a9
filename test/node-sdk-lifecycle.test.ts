/**
 * Lifecycle logs of an instrumented process: start-up (version, environment, config hash),
 * uncaught exceptions and unhandled rejections logged at fatal with their stack before exit 1,
 * and an application's own handler left in charge.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { before, test } from 'node:test';
import { REPO_ROOT } from './support/lookout-process.js';
import { buildNodeSdk } from './node-sdk-support.js';

before(() => buildNodeSdk());

async function run(code: string, env: Record<string, string> = {}): Promise<{ exit: number | null; records: Record<string, unknown>[] }> {
  const child = spawn(process.execPath, ['--import', '@lookout/node/register', '--input-type=module', '--eval', code], {
    cwd: REPO_ROOT,
    env: { ...process.env, OTEL_SERVICE_NAME: 'lifecycle', LOOKOUT_ENDPOINT: 'http://127.0.0.1:9', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exit = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const records = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { exit, records };
}

test('start-up line carries version, environment and a config hash', async () => {
  const { exit, records } = await run(`console.log('{"done":true}')`, { LOOKOUT_VERSION: '1.2.3', LOOKOUT_ENVIRONMENT: 'staging' });
  assert.equal(exit, 0);
  const start = records.find((r) => r.msg === 'service starting')!;
  assert.ok(start, JSON.stringify(records));
  assert.equal(start.service, 'lifecycle');
  assert.equal(start.version, '1.2.3');
  assert.equal(start.environment, 'staging');
  assert.match(String(start.config_hash), /^[0-9a-f]{12}$/);
});

test('an uncaught exception is logged at fatal with its stack, then the process exits 1', async () => {
  const { exit, records } = await run(`setTimeout(() => { throw new TypeError('boom with token=abc123') }, 10); setInterval(() => {}, 1000);`);
  assert.equal(exit, 1);
  const fatal = records.find((r) => r.level === 'fatal')!;
  assert.ok(fatal, JSON.stringify(records));
  assert.equal(fatal.msg, 'uncaught exception; exiting');
  const err = fatal.err as { type: string; message: string; stack: string };
  assert.equal(err.type, 'TypeError');
  assert.equal(err.message, 'boom with token=[REDACTED]');
  assert.match(err.stack, /TypeError: boom with token=\[REDACTED\]\n\s+at /);
  assert.ok(records.some((r) => r.msg === 'service stopping' && r.reason === 'uncaught exception'));
});

test('an unhandled rejection is logged with its stack, then the process exits 1', async () => {
  const { exit, records } = await run(`Promise.reject(new Error('lost promise')); setInterval(() => {}, 1000);`);
  assert.equal(exit, 1);
  const fatal = records.find((r) => r.level === 'fatal')!;
  assert.equal(fatal.msg, 'unhandled rejection; exiting');
  assert.equal((fatal.err as { message: string }).message, 'lost promise');
});

test('with its own uncaughtException handler, the application decides', async () => {
  const { exit, records } = await run(
    `process.on('uncaughtException', () => { console.log('{"handled":true}'); setTimeout(() => process.exit(7), 50); }); setTimeout(() => { throw new Error('x') }, 10); setInterval(() => {}, 1000);`,
  );
  assert.equal(exit, 7);
  assert.ok(records.some((r) => r.handled === true));
  assert.ok(records.some((r) => r.level === 'fatal' && r.msg === 'uncaught exception'));
});
