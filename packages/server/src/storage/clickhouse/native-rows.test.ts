/**
 * Differential tests of the Native encoders: the same model records go into one copy of each
 * table as JSONEachRow (rows.ts, the reference, which server mode still uses) and into another
 * copy as a Native block (native-rows.ts), and every column of every stored row must match.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AnyValue, KeyValue, LogRecord, Resource, Sample, Scope, Span } from '../../model/index.js';
import { MIGRATIONS } from './migrations.js';
import { logRowsNative, SAMPLE_NATIVE_COLUMNS, sampleRowsNative, spanRowsNative } from './native-rows.js';
import { openPool, type Pool } from './pool.js';
import { logRowsText, sampleRowsText, sampleRowsTsv, SeriesCache, spanRowsText } from './rows.js';

// Records at the epoch survive this TTL (rows past it are dropped on insert), and now + TTL
// still fits a DateTime (a wrapped TTL would drop everything).
const RETENTION = { logs: 25_000, traces: 25_000, metrics: 25_000 };
const TABLES = ['otel_logs', 'otel_traces_trace_id_ts_mv', 'otel_traces_trace_id_ts', 'otel_traces', 'metric_series', 'metric_samples', 'metric_metadata_entries', 'metric_metadata', 'metric_exemplars'];
const TABLE_NAMES = new RegExp(`\\b(${TABLES.join('|')})\\b`, 'g');

let dataDir: string;
let pool: Pool;
let runs = 0;

/** Creates `<table>_<suffix>` copies of every table from the migrations' own DDL. */
async function createTables(suffix: string): Promise<void> {
  for (const migration of MIGRATIONS) {
    for (const statement of migration.statements(RETENTION)) {
      await pool.command(statement.replace(TABLE_NAMES, `$1_${suffix}`));
    }
  }
}

/** Every column of every row as ClickHouse's own text (toString keeps map order and 64-bit values). */
async function storedRows(table: string): Promise<Record<string, string>[]> {
  const columns = await pool.select<{ name: string; type: string }>(
    'SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {table:String} ORDER BY position',
    { table },
  );
  const list = columns.map((c) => `toString(\`${c.name}\`) AS \`${c.name}\``);
  // Float columns also as their bits: NaN payloads and -0 print alike.
  for (const c of columns) if (c.type === 'Float64') list.push(`toString(reinterpretAsUInt64(\`${c.name}\`)) AS \`${c.name}.bits\``);
  const rows = await pool.select<Record<string, string>>(`SELECT ${list.join(', ')} FROM ${table}`);
  return rows.sort((a, b) => {
    const x = JSON.stringify(a);
    const y = JSON.stringify(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** Fresh table copies, the JSON reference insert and the Native insert; returns both tables' rows. */
async function both(
  table: string,
  insertJson: (table: string) => Promise<void>,
  insertNative: (table: string) => Promise<void>,
): Promise<{ json: Record<string, string>[]; native: Record<string, string>[] }> {
  const run = ++runs;
  await createTables(`j${run}`);
  await createTables(`n${run}`);
  await insertJson(`${table}_j${run}`);
  await insertNative(`${table}_n${run}`);
  return { json: await storedRows(`${table}_j${run}`), native: await storedRows(`${table}_n${run}`) };
}

function assertSameRows(json: Record<string, string>[], native: Record<string, string>[], expectedRows: number, form: string): void {
  assert.equal(json.length, expectedRows, 'the JSON reference stored every row');
  assert.equal(native.length, json.length, form);
  for (let i = 0; i < json.length; i++) {
    for (const column of Object.keys(json[i]!)) {
      assert.equal(native[i]![column], json[i]![column], `${form}: row ${i} column ${column}`);
    }
  }
}

const NOW_NS = BigInt(Date.now()) * 1_000_000n;
const INT64_MAX = (1n << 63n) - 1n;
const LONG = 'λ-long value '.repeat(20); // > 128 UTF-8 bytes: two-byte varint lengths
const HUGE = 'x'.repeat(20_000); // three-byte varint length

const everyType: KeyValue[] = [
  { key: 'str', value: { stringValue: 'plain' } },
  { key: 'empty.str', value: { stringValue: '' } },
  { key: 'int', value: { intValue: '-9223372036854775808' } },
  { key: 'double', value: { doubleValue: 0.1 } },
  { key: 'nan', value: { doubleValue: Number.NaN } },
  { key: 'inf', value: { doubleValue: -Infinity } },
  { key: 'bool', value: { boolValue: true } },
  { key: 'bytes', value: { bytesValue: 'AAEC/w==' } },
  { key: 'array', value: { arrayValue: { values: [{ intValue: '1' }, { stringValue: '1' }, { doubleValue: 1.5 }] } } },
  { key: 'kvlist', value: { kvlistValue: { values: [{ key: 'k', value: { boolValue: false } }] } } },
  { key: 'nothing', value: {} as AnyValue },
];

const tricky: KeyValue[] = [
  // Integer-like keys: a JS object lists them first, in numeric order.
  { key: 'z', value: { stringValue: 'first' } },
  { key: '10', value: { stringValue: 'ten' } },
  { key: '2', value: { intValue: '2' } },
  { key: '01', value: { stringValue: 'not an index' } },
  { key: '4294967295', value: { stringValue: 'not an index either' } },
  // Duplicates: the last value wins, at the first one's position.
  { key: 'dup', value: { stringValue: 'one' } },
  { key: 'dup', value: { intValue: '2' } },
  { key: 'ünï "quoted" \\ \n\t\u0000', value: { stringValue: '😀 multi-byte ✓ \u2028 "q" \\' } },
  { key: '', value: { stringValue: 'empty key' } },
  { key: 'long', value: { stringValue: LONG } },
  { key: LONG, value: { stringValue: 'long key' } },
];

const manyAttributes: KeyValue[] = Array.from({ length: 300 }, (_, i) => ({
  key: `attr.${i % 7 === 0 ? i : `k${i}`}`,
  value: i % 3 === 0 ? { intValue: String(i) } : { stringValue: `v${i}`.repeat(i % 50) },
}));

const resourceShared: Resource = { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0', droppedAttributesCount: 3, attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }, ...everyType] };
const resourceEmpty: Resource = { schemaUrl: '', droppedAttributesCount: 0, attributes: [] };
const resourceLarge: Resource = { schemaUrl: LONG, droppedAttributesCount: 4_294_967_295, attributes: [...manyAttributes, ...tricky] };
const scopeShared: Scope = { name: 'lib', version: '1.0.0', schemaUrl: '', droppedAttributesCount: 1, attributes: tricky };
const scopeEmpty: Scope = { name: '', version: '', schemaUrl: '', droppedAttributesCount: 0, attributes: [] };
const scopeUnicode: Scope = { name: 'ライブラリ', version: LONG, schemaUrl: 'https://ex.com/ü', droppedAttributesCount: 0, attributes: everyType };

function logRecord(i: number, overrides: Partial<LogRecord> = {}): LogRecord {
  const resources = [resourceShared, resourceEmpty, resourceLarge];
  const scopes = [scopeShared, scopeEmpty, scopeUnicode];
  return {
    tenant: i % 4 === 0 ? 'tenant-ü' : 'default',
    timestamp: NOW_NS - BigInt(i) * 1_000_123n,
    observedTimestamp: NOW_NS + BigInt(i),
    traceId: i % 2 === 0 ? '0123456789abcdef0123456789abcdef' : '',
    spanId: i % 2 === 0 ? '0123456789abcdef' : '',
    flags: i % 2,
    severityText: ['INFO', 'WARN', '', 'Fehler ✗'][i % 4]!,
    severityNumber: i % 25,
    serviceName: i % 3 === 0 ? 'checkout' : '',
    streamLabels: i % 5 === 0 ? {} : { service_name: 'checkout', '7': 'seven', level: 'info' },
    body: [`body ${i} "quoted" \\ ünïcode 😀`, '', LONG, HUGE, '{"json":true}'][i % 5]!,
    bodyType: (['', 'int', 'kvlist', 'empty', ''] as const)[i % 5]!,
    eventName: i % 3 === 1 ? 'device.app.lifecycle' : '',
    attributes: [[], everyType, tricky, manyAttributes, [{ key: 'i', value: { intValue: String(i) } }]][i % 5]!,
    droppedAttributesCount: i,
    resource: resources[i % 3]!,
    scope: scopes[Math.floor(i / 3) % 3]!,
    ...overrides,
  };
}

function span(i: number, overrides: Partial<Span> = {}): Span {
  const resources = [resourceShared, resourceEmpty, resourceLarge];
  const scopes = [scopeShared, scopeEmpty, scopeUnicode];
  const start = NOW_NS - BigInt(i) * 7_000_001n;
  return {
    tenant: i % 4 === 0 ? 'tenant-ü' : 'default',
    traceId: `${i.toString(16).padStart(2, '0')}23456789abcdef0123456789abcdef`,
    spanId: `${i.toString(16).padStart(2, '0')}23456789abcdef`,
    parentSpanId: i % 3 === 0 ? '' : 'fedcba9876543210',
    traceState: i % 2 === 0 ? '' : 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    flags: [0, 1, 0x1ff, 0xffffffff][i % 4]!,
    name: [`GET /orders/${i}`, '', 'ünïcode ✓ 😀', LONG][i % 4]!,
    kind: i % 7, // 6 is outside SPAN_KINDS
    startTime: start,
    endTime: i % 5 === 0 ? start - 1n : start + BigInt(i) * 1_234_567n,
    serviceName: i % 3 === 0 ? 'checkout' : '',
    attributes: [[], everyType, tricky, manyAttributes][i % 4]!,
    droppedAttributesCount: i,
    events:
      i % 3 === 0
        ? []
        : [
            { timestamp: start + 5n, name: 'exception', attributes: everyType, droppedAttributesCount: 2 },
            { timestamp: start + 6n, name: '', attributes: [], droppedAttributesCount: 0 },
            ...(i % 3 === 2 ? [{ timestamp: 100_000_000_000_000_000n, name: 'ü 😀', attributes: tricky, droppedAttributesCount: 4_294_967_295 }] : []),
          ],
    droppedEventsCount: i % 2,
    links:
      i % 4 === 1
        ? []
        : [
            { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceState: 'k=v', flags: 0x100, attributes: tricky, droppedAttributesCount: 1 },
            ...(i % 2 === 0 ? [{ traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), traceState: '', flags: 0xffffffff, attributes: [], droppedAttributesCount: 0 }] : []),
          ],
    droppedLinksCount: i % 3,
    statusCode: i % 4, // 3 is outside STATUS_CODES
    statusMessage: i % 2 === 0 ? '' : 'failed: ünïcode "q"',
    resource: resources[i % 3]!,
    scope: scopes[Math.floor(i / 3) % 3]!,
    ...overrides,
  };
}

before(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'lookout-native-rows-'));
  pool = openPool({ dataDir, size: 1 });
});

after(async () => {
  await pool.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/**
 * The block's column types as the engine reads them, against the table's: with LowCardinality
 * columns the block carries exactly the table's types (no cast on insert).
 */
async function assertTableTypes(table: string, block: Buffer): Promise<void> {
  const path = join(dataDir, `${table}.describe.native`);
  writeFileSync(path, block);
  const described = await pool.select<{ name: string; type: string }>(`DESCRIBE TABLE file({path:String}, 'Native')`, { path });
  const declared = await pool.select<{ name: string; type: string }>(
    'SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {table:String}',
    { table },
  );
  const types = new Map(declared.map((c) => [c.name, c.type]));
  for (const column of described) assert.equal(column.type, types.get(column.name), `type of ${column.name}`);
}

const FORMS = [
  { name: 'LowCardinality', options: { lowCardinality: true } },
  { name: 'plain String', options: { lowCardinality: false } },
];

async function compareLogs(records: LogRecord[]): Promise<void> {
  for (const { name, options } of FORMS) {
    const { json, native } = await both(
      'otel_logs',
      (table) => pool.insertJsonEachRow(table, logRowsText(records)),
      async (table) => {
        const { block, columns } = logRowsNative(records, options);
        if (options.lowCardinality) await assertTableTypes(table, block);
        await pool.insertNative!(table, columns, block);
      },
    );
    assertSameRows(json, native, records.length, name);
  }
}

async function compareSpans(spans: Span[]): Promise<void> {
  for (const { name, options } of FORMS) {
    const { json, native } = await both(
      'otel_traces',
      (table) => pool.insertJsonEachRow(table, spanRowsText(spans)),
      async (table) => {
        const { block, columns } = spanRowsNative(spans, options);
        if (options.lowCardinality) await assertTableTypes(table, block);
        await pool.insertNative!(table, columns, block);
      },
    );
    assertSameRows(json, native, spans.length, name);
  }
}

describe('Native blocks store what JSONEachRow stores', () => {
  it('otel_logs: varied records sharing resources and scopes', async () => {
    await compareLogs(Array.from({ length: 60 }, (_, i) => logRecord(i)));
  });

  it('otel_logs: edge values of timestamps, severities and flags', async () => {
    await compareLogs([
      // The text path parses "<seconds>.<nanos>" best-effort: from 1973-03-03 (nine-digit seconds) on.
      logRecord(1, { timestamp: 100_000_000_000_000_000n, observedTimestamp: 100_000_000_000_000_001n }),
      logRecord(2, { timestamp: INT64_MAX, observedTimestamp: 4_102_444_800_000_000_000n }),
      logRecord(3, { severityNumber: 255, flags: 0x1ff }),
      logRecord(4, { severityNumber: 300, flags: 0xffffffff }),
      logRecord(5, { severityNumber: 0, flags: 0x100 }),
    ]);
  });

  it('otel_logs and otel_traces: timestamps out of range are clamped and lone surrogates replaced, alike on both paths', async () => {
    // "<seconds>.<nanos>" text used to fail the whole insert before 1973 (best-effort parsing
    // reads it as a date) and past 2262; lone surrogates (possible in OTLP/JSON strings) too.
    const run = ++runs;
    await createTables(`n${run}`);
    const records = [
      logRecord(0, { timestamp: 0n, observedTimestamp: -5n }),
      logRecord(1, { timestamp: 1n << 64n, observedTimestamp: 999n, body: 'a\ud800b\udc00' }),
      // A literal backslash-u text is not a surrogate and stays as written.
      logRecord(2, { timestamp: 86_400_000_000_123n, body: 'x\\ud800 \\\ud800 \ud83d\ude00', attributes: [{ key: 'k\udfff', value: { stringValue: '\udbff' } }] }),
    ];
    const logs = logRowsNative(records);
    await pool.insertNative!(`otel_logs_n${run}`, logs.columns, logs.block);
    assert.deepEqual(
      await pool.select(`SELECT toString(toUnixTimestamp64Nano(Timestamp)) AS t, toString(toUnixTimestamp64Nano(ObservedTimestamp)) AS o, hex(Body) AS b FROM otel_logs_n${run} ORDER BY t`),
      [
        { t: '0', o: '0', b: Buffer.from(records[0]!.body).toString('hex').toUpperCase() },
        { t: '86400000000123', o: records[2]!.observedTimestamp.toString(), b: Buffer.from('x\\ud800 \\\ufffd \ud83d\ude00').toString('hex').toUpperCase() },
        { t: INT64_MAX.toString(), o: '999', b: Buffer.from('a\ufffdb\ufffd').toString('hex').toUpperCase() },
      ],
    );
    await compareLogs(records);
    const spans = [
      span(1, { startTime: 0n, endTime: 7n, events: [{ timestamp: 0n, name: 'e\ud800', attributes: [], droppedAttributesCount: 0 }] }),
      span(2, { startTime: 5n, endTime: 1n << 64n, events: [{ timestamp: -1n, name: 'e', attributes: [], droppedAttributesCount: 0 }, { timestamp: 99_999_999n, name: 'f', attributes: [], droppedAttributesCount: 0 }] }),
    ];
    const native = spanRowsNative(spans.slice(0, 1));
    await pool.insertNative!(`otel_traces_n${run}`, native.columns, native.block);
    assert.deepEqual(
      await pool.select(`SELECT toString(toUnixTimestamp64Nano(Timestamp)) AS t, toString(Duration) AS d, arrayMap(x -> toString(toUnixTimestamp64Nano(x)), Events.Timestamp) AS e FROM otel_traces_n${run}`),
      [{ t: '0', d: '7', e: ['0'] }],
    );
    await compareSpans(spans);
  });

  it('otel_logs: one record, and records with no attributes anywhere', async () => {
    await compareLogs([logRecord(0)]);
    await compareLogs(Array.from({ length: 5 }, (_, i) => logRecord(i, { attributes: [], resource: resourceEmpty, scope: scopeEmpty, streamLabels: {} })));
  });

  it('otel_logs: blocks concatenated in one file (as a write-ahead log segment holds them), each with its own dictionaries', async () => {
    const records = Array.from({ length: 40 }, (_, i) => logRecord(i));
    const { json, native } = await both(
      'otel_logs',
      (table) => pool.insertJsonEachRow(table, logRowsText(records)),
      async (table) => {
        const first = logRowsNative(records.slice(0, 25));
        const second = logRowsNative(records.slice(25));
        const third = logRowsNative(records.slice(40));
        const path = join(dataDir, `${table}.segment.native`);
        writeFileSync(path, Buffer.concat([first.block, third.block, second.block]));
        const list = first.columns.join(', ');
        await pool.command(`INSERT INTO ${table} (${list}) SELECT ${list} FROM file({path:String}, 'Native')`, { path });
      },
    );
    assertSameRows(json, native, records.length, 'concatenated');
  });

  it('empty batches are valid blocks of no rows', async () => {
    const run = ++runs;
    await createTables(`n${run}`);
    for (const options of [{}, { lowCardinality: false }]) {
      const logs = logRowsNative([], options);
      await pool.insertNative!(`otel_logs_n${run}`, logs.columns, logs.block);
      const spans = spanRowsNative([], options);
      await pool.insertNative!(`otel_traces_n${run}`, spans.columns, spans.block);
      const samples = sampleRowsNative('t', [], new SeriesCache(), options);
      await pool.insertNative!(`metric_samples_n${run}`, SAMPLE_NATIVE_COLUMNS, samples.samples);
    }
    const [counts] = await pool.select<{ n: string }>(
      `SELECT toString((SELECT count() FROM otel_logs_n${run}) + (SELECT count() FROM otel_traces_n${run}) + (SELECT count() FROM metric_samples_n${run})) AS n`,
    );
    assert.equal(counts!.n, '0');
  });

  it('a returned block is a copy: later encodes, even past the kept scratch size, do not change it', () => {
    const records = Array.from({ length: 12 }, (_, i) => logRecord(i));
    const first = logRowsNative(records);
    const kept = Buffer.from(first.block);
    // About 40 MB: the shared scratch grows past what it keeps, and is replaced afterwards.
    const large = Array.from({ length: 2_000 }, (_, i) => logRecord(3, { body: HUGE, droppedAttributesCount: i }));
    assert.ok(logRowsNative(large).block.length > 40_000_000);
    assert.ok(first.block.equals(kept));
    assert.ok(logRowsNative(records).block.equals(kept));
    assert.ok(logRowsNative(records, { lowCardinality: false }).block.length > 0);
  });

  it('otel_traces: spans with and without events and links', async () => {
    await compareSpans(Array.from({ length: 48 }, (_, i) => span(i)));
  });

  it('otel_traces: edge timestamps, durations and flags', async () => {
    await compareSpans([
      span(1, { startTime: 100_000_000_000_000_000n, endTime: 100_000_000_000_000_000n }),
      span(2, { startTime: 100_000_000_000_000_000n, endTime: INT64_MAX }),
      span(3, { startTime: INT64_MAX, endTime: 0n }),
      span(4, { events: [], links: [] }),
      span(5, { events: [{ timestamp: INT64_MAX, name: 'last', attributes: [], droppedAttributesCount: 0 }] }),
    ]);
  });

  it('metric_samples: values, NaN payloads, infinities, staleness and fractional timestamps', async () => {
    const t0 = Date.now() - 3_600_000;
    const labels = Object.freeze({ __name__: 'm', job: 'ü' });
    const other = { __name__: 'n', '1': 'one' };
    const samples: Sample[] = [
      { labels, timestampMs: t0, value: 1.5 },
      { labels, timestampMs: t0 + 1, value: Number.NaN },
      { labels, timestampMs: t0 + 2, value: Infinity },
      { labels, timestampMs: t0 + 3, value: -Infinity },
      { labels, timestampMs: t0 + 4, value: Number.NaN, stale: true },
      { labels, timestampMs: t0 + 5.9, value: -0 },
      { labels, timestampMs: t0 + 6, value: 5e-324 },
      { labels, timestampMs: t0 + 7, value: Number.MAX_VALUE },
      { labels: other, timestampMs: t0 + 8, value: 0.1 + 0.2 },
      { labels: other, timestampMs: 0, value: 1e21 },
      { labels: other, timestampMs: t0 + 9, value: -1e-7 },
    ];
    for (const [reference, { name, options }] of [
      [sampleRowsText, FORMS[0]!],
      [sampleRowsTsv, FORMS[1]!],
      [sampleRowsTsv, FORMS[0]!],
    ] as const) {
      const { json, native } = await both(
        'metric_samples',
        async (table) => {
          const rows = reference('tenant-ü', samples, new SeriesCache());
          await pool.insertText(table, rows.samplesFormat, rows.samples);
        },
        async (table) => {
          const rows = sampleRowsNative('tenant-ü', samples, new SeriesCache(), options);
          if (options.lowCardinality) await assertTableTypes(table, rows.samples);
          await pool.insertNative!(table, SAMPLE_NATIVE_COLUMNS, rows.samples);
        },
      );
      // NaN's bits are whatever each parser makes of "nan"; the Flags column carries staleness.
      for (const row of [...json, ...native]) if (row.Value === 'nan') delete row['Value.bits'];
      assertSameRows(json, native, samples.length, name);
    }
  });

  it('metric_samples: the series rows of the Native path are those of the text path', () => {
    const t0 = Date.now();
    const samples: Sample[] = [
      { labels: { __name__: 'a', x: '1' }, timestampMs: t0, value: 1 },
      { labels: { __name__: 'a', x: '1' }, timestampMs: t0 + 1, value: 2 },
      { labels: { __name__: 'b' }, timestampMs: t0, value: 3 },
    ];
    const text = sampleRowsTsv('t', samples, new SeriesCache());
    const native = sampleRowsNative('t', samples, new SeriesCache());
    assert.equal(native.series, text.series);
    assert.deepEqual(
      native.newSeries.map((s) => [s.fingerprint, s.day]),
      text.newSeries.map((s) => [s.fingerprint, s.day]),
    );
  });
});
