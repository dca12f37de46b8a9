/**
 * A real dependency: PostgreSQL (Debian package postgresql) in a temporary cluster on
 * 127.0.0.1. The orders example uses it through `pg` (instrumented by @lookout/node: its queries
 * are spans in the request's trace) and registers checks.pg as a critical readiness check:
 * /ready is 503 while PostgreSQL is stopped and 200 again once it is back.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, startLookoutProcess, type LookoutProcess } from './support/lookout-process.js';
import { buildNodeSdk, dbStatement, startService, waitFor, waitForDbSpans, waitForStatus, type ServiceProcess } from './node-sdk-support.js';

let bin: string;
let dataDir: string;
let pgPort: number;
let lookout: LookoutProcess;
let orders: ServiceProcess;

/** PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user. */
function pgCommand(tool: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const [command, commandArgs] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args];
  const result = spawnSync(command, commandArgs, { encoding: 'utf8', cwd: tmpdir() });
  if (result.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed (${result.status}): ${result.stderr}${result.stdout}`);
}

function startPostgres(): void {
  pgCommand('pg_ctl', [
    'start', '-w', '-D', join(dataDir, 'data'), '-l', join(dataDir, 'server.log'),
    '-o', `-p ${pgPort} -k ${dataDir} -c listen_addresses=127.0.0.1 -c fsync=off`,
  ]);
}

function stopPostgres(): void {
  if (existsSync(join(dataDir, 'data', 'postmaster.pid'))) pgCommand('pg_ctl', ['stop', '-w', '-m', 'fast', '-D', join(dataDir, 'data')]);
}

before(async () => {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is needed (Debian package postgresql): /usr/lib/postgresql/<version>/bin not found');
  bin = join('/usr/lib/postgresql', versions[0]!, 'bin');
  dataDir = mkdtempSync(join(tmpdir(), 'lookout-pg-'));
  if (process.getuid?.() === 0) {
    const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dataDir, id('-u'), id('-g'));
    chmodSync(dataDir, 0o700);
  }
  pgCommand('initdb', ['-D', join(dataDir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions']);
  pgPort = await freePort();
  startPostgres();
  buildNodeSdk();
  lookout = await startLookoutProcess();
  orders = await startService({
    name: 'orders-postgres',
    script: 'examples/orders/server.js',
    env: { LOOKOUT_ENDPOINT: lookout.url, DATABASE_URL: `postgres://postgres@127.0.0.1:${pgPort}/postgres` },
  });
});

after(async () => {
  await orders?.stop();
  if (dataDir) {
    stopPostgres();
    rmSync(dataDir, { recursive: true, force: true });
  }
  await lookout?.stop();
});

test('PostgreSQL queries are in the request trace; /ready follows PostgreSQL', async () => {
  await waitForStatus('orders ready (PostgreSQL reachable)', `${orders.url}/ready`, 200, 15_000);
  for (const n of [1, 2]) assert.equal((await fetch(`${orders.url}/orders/3`, { headers: { 'x-request-id': `pg-req-${n}` } })).status, 200);
  const line = await waitFor('order fetched', async () => orders.records().find((r) => r.msg === 'order fetched' && r.request_id === 'pg-req-2'));
  assert.equal(line.reads, 2, 'the read count came from PostgreSQL');

  const spans = await waitForDbSpans(lookout.url, String(line.trace_id), 'postgresql', 2);
  // The INSERT and the SELECT of this request, with their statements, under its server span.
  const statements = spans.queries.map(dbStatement);
  assert.ok(statements.some((t) => t.startsWith('INSERT INTO order_reads')), JSON.stringify(statements));
  assert.ok(statements.some((t) => t.startsWith('SELECT count(*)')), JSON.stringify(statements));
  const server = spans.all.find((s) => s.name.startsWith('GET'));
  assert.ok(server, 'the server span is in the trace');
  const ids = new Set(spans.all.map((s) => s.spanId));
  for (const q of spans.queries) assert.ok(q.parentSpanId && ids.has(q.parentSpanId), `${q.name} has its parent in the trace`);

  let ready = await fetch(`${orders.url}/ready`);
  assert.equal(ready.status, 200);
  assert.equal(((await ready.json()) as { checks: Record<string, { status: string }> }).checks.postgres!.status, 'pass');

  stopPostgres();
  ready = await waitForStatus('/ready fails while PostgreSQL is down', `${orders.url}/ready`, 503, 10_000);
  const report = (await ready.json()) as { status: string; checks: Record<string, { status: string; error?: string }> };
  assert.equal(report.status, 'fail');
  assert.equal(report.checks.postgres!.status, 'fail');
  assert.ok(report.checks.postgres!.error, 'the failure says why');
  // The service itself keeps answering, and says in its log why the audit is missing.
  assert.equal((await fetch(`${orders.url}/orders/1`, { headers: { 'x-request-id': 'pg-down' } })).status, 200);
  assert.equal((await fetch(`${orders.url}/health`)).status, 200);
  await waitFor('the audit failure is logged', async () => orders.records().find((r) => r.msg === 'order audit unavailable' && r.request_id === 'pg-down'));

  startPostgres();
  await waitForStatus('ready again after PostgreSQL returns', `${orders.url}/ready`, 200, 15_000);
  assert.equal((await fetch(`${orders.url}/orders/3`)).status, 200);
  assert.equal(orders.child.exitCode, null);
});
