/**
 * Native blocks for the embedded engine's inserts, against the JSONEachRow text they replace.
 *
 *   node --import tsx bench/native-encode.ts [--requests=40] [--batch=500] [--repeat=7]
 *                                            [--insert-rows=4000] [--insert-repeat=7]
 *
 * The same generated OTLP requests as bench/ingest.ts, decoded and converted by Lookout's own
 * code. Two parts:
 *   - encode: each request's records encoded both ways (logRowsText / logRowsNative,
 *     spanRowsText / spanRowsNative), alternating, --repeat rounds; median µs per row and the
 *     ratio Native / JSON. "JSON+bytes" adds Buffer.from(text), which the insert needs too;
 *     "String types" is the Native block without LowCardinality columns.
 *   - insert: one block of --insert-rows rows inserted into a fresh embedded engine as
 *     JSONEachRow (chDB rawInsert), as a Native block with plain String columns (cast on
 *     insert) and as a Native block with the tables' LowCardinality types; alternating,
 *     --insert-repeat rounds; median process CPU µs per row (the engine runs in-process) and
 *     wall ms. Encoding is excluded: the blocks and text are built once; merges are stopped so
 *     they do not land in whichever insert is being measured.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertLogSet, convertSpanSet, generateLogs, generateSpans, openBenchPool, readOption, RETENTION } from './ingest.js';
import { MIGRATIONS } from '../packages/server/src/storage/clickhouse/migrations.js';
import { logRowsText, spanRowsText } from '../packages/server/src/storage/clickhouse/rows.js';
import { logRowsNative, spanRowsNative } from '../packages/server/src/storage/clickhouse/native-rows.js';

const argv = process.argv.slice(2);
const requests = Number(readOption(argv, 'requests') ?? 40);
const batch = Number(readOption(argv, 'batch') ?? 500);
const repeat = Number(readOption(argv, 'repeat') ?? 7);
const insertRows = Number(readOption(argv, 'insert-rows') ?? 4000);
const insertRepeat = Number(readOption(argv, 'insert-repeat') ?? 7);
const shape = { requests, batch, resourceAttrs: 8, logAttrs: 8, body: 200, spanAttrs: 10 };

/** Records grouped per request, as the ingest path hands them to storage. */
function perRequest<T extends { resource: object }>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += batch) out.push(items.slice(i, i + batch));
  return out;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function compare<T>(
  name: string,
  groups: T[][],
  text: (items: T[]) => string,
  native: (items: T[]) => unknown,
  plain: (items: T[]) => unknown,
): void {
  const rows = groups.reduce((n, g) => n + g.length, 0);
  const time = (encode: (items: T[]) => unknown) => {
    const t0 = performance.now();
    for (const g of groups) encode(g);
    return ((performance.now() - t0) * 1000) / rows;
  };
  const textBytes = (items: T[]) => Buffer.from(text(items));
  // Warm-up: the encoders compiled and their caches in the state a running server has them.
  time(text);
  time(textBytes);
  time(native);
  time(plain);
  const textUs: number[] = [];
  const bytesUs: number[] = [];
  const nativeUs: number[] = [];
  const plainUs: number[] = [];
  for (let i = 0; i < repeat; i++) {
    textUs.push(time(text));
    bytesUs.push(time(textBytes));
    nativeUs.push(time(native));
    plainUs.push(time(plain));
  }
  const t = median(textUs);
  const b = median(bytesUs);
  const n = median(nativeUs);
  const p = median(plainUs);
  console.log(
    `encode ${name.padEnd(5)} rows ${rows}  JSON ${t.toFixed(2)} µs/row  JSON+bytes ${b.toFixed(2)}  Native ${n.toFixed(2)}` +
      `  (String types ${p.toFixed(2)})  Native/JSON ${(n / t).toFixed(2)}  Native/(JSON+bytes) ${(n / b).toFixed(2)}`,
  );
}

interface InsertWay {
  name: string;
  insert: () => Promise<void>;
}

async function compareInserts(name: string, rows: number, ways: InsertWay[]): Promise<void> {
  for (const way of ways) await way.insert(); // warm-up
  const cpu = new Map<string, number[]>(ways.map((w) => [w.name, []]));
  const wall = new Map<string, number[]>(ways.map((w) => [w.name, []]));
  for (let i = 0; i < insertRepeat; i++) {
    for (const way of ways) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await way.insert();
      wall.get(way.name)!.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.get(way.name)!.push((c.user + c.system) / rows);
    }
  }
  const reference = median(cpu.get(ways[0]!.name)!);
  for (const way of ways) {
    const c = median(cpu.get(way.name)!);
    console.log(
      `insert ${name.padEnd(5)} ${rows} rows  ${way.name.padEnd(26)} CPU ${c.toFixed(2)} µs/row  wall ${median(wall.get(way.name)!).toFixed(1)} ms` +
        `  CPU/${ways[0]!.name} ${(c / reference).toFixed(2)}`,
    );
  }
}

const { records } = convertLogSet(generateLogs(shape));
const { spans } = convertSpanSet(generateSpans(shape));
console.log(`node ${process.version}, ${requests} requests × ${batch} records, median of ${repeat} (encode) / ${insertRepeat} (insert)`);
compare('logs', perRequest(records), logRowsText, logRowsNative, (r) => logRowsNative(r, { lowCardinality: false }));
compare('spans', perRequest(spans), spanRowsText, spanRowsNative, (s) => spanRowsNative(s, { lowCardinality: false }));

const dataDir = mkdtempSync(join(tmpdir(), 'lookout-native-bench-'));
const pool = await openBenchPool(dataDir);
try {
  for (const migration of MIGRATIONS) for (const statement of migration.statements(RETENTION)) await pool.command(statement);
  // Background merges would land in whichever insert is being measured.
  await pool.command('SYSTEM STOP MERGES');
  const logRows = records.slice(0, insertRows);
  const logText = logRowsText(logRows);
  const logPlain = logRowsNative(logRows, { lowCardinality: false });
  const logExact = logRowsNative(logRows);
  await compareInserts('logs', logRows.length, [
    { name: 'JSONEachRow', insert: () => pool.insertJsonEachRow('otel_logs', logText) },
    { name: 'Native, String types', insert: () => pool.insertNative!('otel_logs', logPlain.columns, logPlain.block) },
    { name: 'Native, LowCardinality', insert: () => pool.insertNative!('otel_logs', logExact.columns, logExact.block) },
  ]);
  const spanRows = spans.slice(0, insertRows);
  const spanText = spanRowsText(spanRows);
  const spanPlain = spanRowsNative(spanRows, { lowCardinality: false });
  const spanExact = spanRowsNative(spanRows);
  await compareInserts('spans', spanRows.length, [
    { name: 'JSONEachRow', insert: () => pool.insertJsonEachRow('otel_traces', spanText) },
    { name: 'Native, String types', insert: () => pool.insertNative!('otel_traces', spanPlain.columns, spanPlain.block) },
    { name: 'Native, LowCardinality', insert: () => pool.insertNative!('otel_traces', spanExact.columns, spanExact.block) },
  ]);
} finally {
  await pool.close();
  rmSync(dataDir, { recursive: true, force: true });
}
