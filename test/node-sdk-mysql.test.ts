/**
 * A real dependency: MariaDB (Debian package mariadb-server, MySQL's protocol) in a temporary
 * data directory on 127.0.0.1. A plain node:http service queries it through mysql2's promise
 * API (instrumented by @lookout/node: its queries are spans in the request's trace) and
 * registers a critical readiness check: /ready is 503 while the database is stopped and 200
 * again once it is back.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, startLookoutProcess, type LookoutProcess } from './support/lookout-process.js';
import { buildNodeSdk, dbStatement, startService, waitFor, waitForDbSpans, waitForStatus, stopProcess, type ServiceProcess } from './node-sdk-support.js';

let dataDir: string;
let dbPort: number;
let db: ChildProcess | undefined;
let lookout: LookoutProcess;
let service: ServiceProcess;

// MariaDB runs as the current user; as root it must be told so (--user=root).
const asUser = process.getuid?.() === 0 ? ['--user=root'] : [];

async function startDatabase(): Promise<ChildProcess> {
  const child = spawn(
    'mariadbd',
    ['--no-defaults', `--datadir=${join(dataDir, 'data')}`, `--port=${dbPort}`, '--bind-address=127.0.0.1', `--socket=${join(dataDir, 'sock')}`, `--pid-file=${join(dataDir, 'pid')}`, '--skip-log-bin', '--innodb-flush-log-at-trx-commit=0', ...asUser],
    { stdio: 'ignore' },
  );
  await waitFor('mariadbd', async () => {
    const ping = spawnSync('mariadb-admin', ['--no-defaults', '-h', '127.0.0.1', '-P', String(dbPort), '-u', 'root', 'ping'], { encoding: 'utf8' });
    return ping.status === 0 ? true : undefined;
  });
  return child;
}

// node:http + mysql2/promise: each request records a visit and reads the count back.
const VISITS_SERVICE = `
import { createServer } from 'node:http';
import mysql from 'mysql2/promise';
import { getLogger, health, lookoutHttp } from '@lookout/node';
const log = getLogger('visits');
const pool = mysql.createPool({ uri: process.env.MYSQL_URL, connectionLimit: 4, connectTimeout: 1000 });
health.register('mysql', () => pool.query('SELECT 1').then(() => true), { timeout: 1000, critical: true });
let schema;
const ensureSchema = () => (schema ??= pool.query('CREATE TABLE IF NOT EXISTS visits (page VARCHAR(64) NOT NULL)').catch((e) => { schema = undefined; throw e; }));
createServer(lookoutHttp(async (req, res) => {
  try {
    await ensureSchema();
    await pool.execute('INSERT INTO visits (page) VALUES (?)', ['home']);
    const [rows] = await pool.execute('SELECT COUNT(*) AS n FROM visits WHERE page = ?', ['home']);
    log.info({ visits: rows[0].n }, 'visit recorded');
    res.end(String(rows[0].n));
  } catch (error) {
    log.warn({ err: error }, 'visit store unavailable');
    res.statusCode = 503;
    res.end('database unavailable');
  }
}, { route: () => '/visit' })).listen(Number(process.env.PORT), '127.0.0.1');
`;

before(async () => {
  const found = spawnSync('mariadbd', ['--version'], { encoding: 'utf8' });
  if (found.error) throw new Error('mariadbd is needed (Debian package mariadb-server): ' + found.error.message);
  dataDir = mkdtempSync(join(tmpdir(), 'lookout-mysql-'));
  const init = spawnSync(
    'mariadb-install-db',
    ['--no-defaults', `--datadir=${join(dataDir, 'data')}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...asUser],
    { encoding: 'utf8' },
  );
  if (init.status !== 0) throw new Error(`mariadb-install-db failed: ${init.stderr}${init.stdout}`);
  dbPort = await freePort();
  db = await startDatabase();
  spawnSync('mariadb', ['--no-defaults', '-h', '127.0.0.1', '-P', String(dbPort), '-u', 'root', '-e', 'CREATE DATABASE shop']);
  buildNodeSdk();
  lookout = await startLookoutProcess();
  service = await startService({ name: 'visits-mysql2', eval: VISITS_SERVICE, env: { LOOKOUT_ENDPOINT: lookout.url, MYSQL_URL: `mysql://root@127.0.0.1:${dbPort}/shop` } });
});

after(async () => {
  await service?.stop();
  await stopProcess(db);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  await lookout?.stop();
});

test('mysql2 queries are in the request trace of a node:http service; /ready follows the database', async () => {
  await waitForStatus('service ready (database reachable)', `${service.url}/ready`, 200, 15_000);
  for (const n of [1, 2]) assert.equal((await fetch(`${service.url}/visit`, { headers: { 'x-request-id': `mysql-req-${n}` } })).status, 200);
  const line = await waitFor('visit recorded', async () => service.records().find((r) => r.msg === 'visit recorded' && r.request_id === 'mysql-req-2'));
  assert.equal(line.visits, 2, 'the count came from the database');

  const spans = await waitForDbSpans(lookout.url, String(line.trace_id), 'mysql', 2);
  const statements = spans.queries.map(dbStatement);
  assert.ok(statements.some((t) => t.startsWith('INSERT INTO visits')), JSON.stringify(statements));
  assert.ok(statements.some((t) => t.startsWith('SELECT COUNT(*)')), JSON.stringify(statements));
  const ids = new Set(spans.all.map((s) => s.spanId));
  for (const q of spans.queries) assert.ok(q.parentSpanId && ids.has(q.parentSpanId), `${q.name} has its parent in the trace`);

  await stopProcess(db);
  const ready = await waitForStatus('/ready fails while the database is down', `${service.url}/ready`, 503, 10_000);
  const report = (await ready.json()) as { status: string; checks: Record<string, { status: string; error?: string }> };
  assert.equal(report.checks.mysql!.status, 'fail');
  assert.ok(report.checks.mysql!.error, 'the failure says why');
  assert.equal((await fetch(`${service.url}/health`)).status, 200);
  assert.equal((await fetch(`${service.url}/visit`)).status, 503, 'the service answers, saying the store is down');

  db = await startDatabase();
  await waitForStatus('ready again after the database returns', `${service.url}/ready`, 200, 15_000);
  assert.equal((await fetch(`${service.url}/visit`)).status, 200);
  assert.equal(service.child.exitCode, null);
});
