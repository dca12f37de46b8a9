/**
 * LogQL query latency: Lookout's engine (with its ClickHouse pushdown) next to hand-written SQL
 * giving the same answer on the same embedded storage, in one run. Prints per query the median
 * latency of both and the ratio (engine / SQL; target ≤ 1.2). See docs/BENCHMARKS.md.
 *
 *   node --import tsx bench/logql.ts [--lines=1000000] [--repeat=15] [--services=10] [--node=1] [--keep=1]
 *
 * 1. Data: --lines log records over the last two hours, --services services (stream label
 *    service_name), JSON bodies with a level field; one line in 10 000 carries "needle".
 *    Inserted with storage.appender.appendLogs in batches of 50 000 (load time printed).
 * 2. Queries on one service (1/--services of the lines), whole window:
 *    a. `{service_name="svc-3"} |= "needle"` (log query, limit 100, backward) against
 *       SELECT ... WHERE ServiceName = .. AND position(Body, 'needle') > 0 ORDER BY Timestamp DESC LIMIT 100;
 *    b. `sum by (level) (count_over_time({service_name="svc-3"} | json [5m]))`, range query at a
 *       5 m step, against GROUP BY JSONExtractString(Body, 'level'), 5-minute bucket.
 *    Each runs --repeat times alternating with its SQL after one warm-up each; answers are
 *    checked equal. --node=1 also times (b) evaluated in Node (aggregatePushdown off).
 *    Medians and the fastest run (less disturbed by other load on a shared machine) are printed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { LogRecord } from '../packages/server/src/model/index.js';
import { createLogqlEngine } from '../packages/server/src/logql/index.js';
import { openStorage } from '../packages/server/src/storage/index.js';
import { openPool } from '../packages/server/src/storage/clickhouse/pool.js';

function option(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? Number(arg.split('=')[1]) : fallback;
}
const LINES = option('lines', 1_000_000);
const REPEAT = option('repeat', 15);
const SERVICES = option('services', 10);
const NODE = option('node', 0) === 1;
const tenant = 'bench';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = mkdtempSync(join(tmpdir(), 'lookout-bench-logql-'));
const storage = await openStorage({ dataDir: dir, retention: { logs: 30, traces: 7, metrics: 7 } });
const endNs = BigInt(Date.now()) * 1_000_000n;
const spanNs = 2n * 3600n * 1_000_000_000n;
const startNs = endNs - spanNs;
const LEVELS = ['info', 'info', 'info', 'warn', 'error', 'debug'];

const loadStart = performance.now();
const BATCH = 50_000;
for (let from = 0; from < LINES; from += BATCH) {
  const batch: LogRecord[] = [];
  for (let i = from; i < Math.min(LINES, from + BATCH); i++) {
    const service = `svc-${i % SERVICES}`;
    const level = LEVELS[(i * 7) % LEVELS.length]!;
    batch.push({
      tenant,
      timestamp: startNs + (spanNs * BigInt(i)) / BigInt(LINES),
      observedTimestamp: endNs,
      traceId: '',
      spanId: '',
      flags: 0,
      severityText: '',
      severityNumber: 0,
      serviceName: service,
      streamLabels: { service_name: service },
      body: JSON.stringify({ level, msg: i % 10_000 === 5 ? `found the needle ${i}` : `handled request ${i} in ${i % 997} ms`, path: `/api/v1/items/${i % 113}`, status: i % 17 === 0 ? 500 : 200 }),
      bodyType: '',
      eventName: '',
      attributes: [],
      droppedAttributesCount: 0,
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }], droppedAttributesCount: 0, schemaUrl: '' },
      scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
    });
  }
  await storage.appender.appendLogs(batch);
}
const loadSeconds = (performance.now() - loadStart) / 1000;
console.log(`loaded ${LINES.toLocaleString('en')} lines in ${loadSeconds.toFixed(1)} s`);

const pool = openPool({ dataDir: dir, size: 1 });
const engine = createLogqlEngine({ logs: storage.logs });
const nodeEngine = createLogqlEngine({ logs: storage.logs, aggregatePushdown: false });
const q = { tenant, startNs, endNs: endNs + 1n, limit: 100, direction: 'backward' as const };
const stepMs = 300_000;

interface Case {
  name: string;
  engine: () => Promise<unknown>;
  sql: () => Promise<unknown>;
  node?: () => Promise<unknown>;
}

const needleSql = () =>
  pool.select(
    `SELECT toString(toUnixTimestamp64Nano(Timestamp)) AS ts, Body, StreamLabels FROM otel_logs
     WHERE TenantId = {tenant:String} AND ServiceName = {svc:String}
       AND Timestamp >= fromUnixTimestamp64Nano({start:Int64}) AND Timestamp < fromUnixTimestamp64Nano({end:Int64})
       AND position(Body, {needle:String}) > 0
     ORDER BY Timestamp DESC LIMIT 100`,
    { tenant, svc: 'svc-3', start: startNs.toString(), end: (endNs + 1n).toString(), needle: 'needle' },
  );
// Windows (t-5m, t] for t = start + k·5m: bucket k = ceil((ts - (start - 5m)) / 5m).
const levelSql = () =>
  pool.select<{ level: string; idx: string; n: string }>(
    `SELECT JSONExtractString(Body, 'level') AS level,
       toString(intDiv(toUnixTimestamp64Nano(Timestamp) - {origin:Int64} + {bucket:Int64} - 1, {bucket:Int64})) AS idx, toString(count()) AS n
     FROM otel_logs
     WHERE TenantId = {tenant:String} AND ServiceName = {svc:String}
       AND Timestamp > fromUnixTimestamp64Nano({origin:Int64}) AND Timestamp <= fromUnixTimestamp64Nano({end:Int64})
     GROUP BY level, idx`,
    { tenant, svc: 'svc-3', origin: (startNs - BigInt(stepMs) * 1_000_000n).toString(), bucket: (BigInt(stepMs) * 1_000_000n).toString(), end: endNs.toString() },
  );
const levelQuery = 'sum by (level) (count_over_time({service_name="svc-3"} | json [5m]))';

const cases: Case[] = [
  {
    name: '{service_name="svc-3"} |= "needle"',
    engine: () => engine.query({ ...q, query: '{service_name="svc-3"} |= "needle"' }),
    sql: needleSql,
  },
  {
    name: levelQuery,
    engine: () => engine.query({ ...q, query: levelQuery, stepMs }),
    sql: levelSql,
    ...(NODE ? { node: () => nodeEngine.query({ ...q, query: levelQuery, stepMs }) } : {}),
  },
];

async function time(fn: () => Promise<unknown>): Promise<[number, unknown]> {
  const t = performance.now();
  const result = await fn();
  return [performance.now() - t, result];
}

// Answers agree: entry count for the log query, total count per level for the metric query.
const [, needleEngine] = await time(cases[0]!.engine);
const [, needleRows] = await time(cases[0]!.sql);
const entries = (needleEngine as { value: { type: string; streams: { entries: unknown[] }[] } }).value.streams.reduce((a, s) => a + s.entries.length, 0);
if (entries !== (needleRows as unknown[]).length) throw new Error(`needle: engine ${entries} lines, SQL ${(needleRows as unknown[]).length}`);
const [, levelEngine] = await time(cases[1]!.engine);
const [, levelRows] = await time(cases[1]!.sql);
const engineTotal = (levelEngine as { value: { series: { points: { value: number }[] }[] } }).value.series.reduce((a, s) => a + s.points.reduce((b, p) => b + p.value, 0), 0);
const sqlTotal = (levelRows as { n: string }[]).reduce((a, r) => a + Number(r.n), 0);
if (engineTotal !== sqlTotal) throw new Error(`level: engine ${engineTotal}, SQL ${sqlTotal}`);

console.log(`| query | Lookout engine, median (fastest) ms | hand-written SQL, median (fastest) ms | ratio of medians (of fastest) |`);
console.log(`| --- | ---: | ---: | ---: |`);
const fmt = (xs: number[]) => `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)})`;
const ratio = (a: number[], b: number[]) => `${(median(a) / median(b)).toFixed(2)} (${(Math.min(...a) / Math.min(...b)).toFixed(2)})`;
for (const c of cases) {
  const e: number[] = [];
  const s: number[] = [];
  const n: number[] = [];
  for (let r = 0; r < REPEAT; r++) {
    e.push((await time(c.engine))[0]);
    s.push((await time(c.sql))[0]);
    if (c.node && r < Math.min(REPEAT, 2)) n.push((await time(c.node))[0]);
  }
  console.log(`| \`${c.name}\` | ${fmt(e)} | ${fmt(s)} | ${ratio(e, s)} |`);
  if (n.length > 0) console.log(`| same, evaluated in Node (no aggregate pushdown) | ${fmt(n)} | ${fmt(s)} | ${ratio(n, s)} |`);
}

await pool.close();
await storage.close();
if (option("keep", 0) !== 1) rmSync(dir, { recursive: true, force: true });
else console.log(`kept ${dir}`);
