/**
 * The storage contract, run against the embedded engine and, when LOOKOUT_TEST_CLICKHOUSE_URL
 * is set (e.g. http://default:@127.0.0.1:8123/lookout_test), against a ClickHouse server too.
 * Each run uses its own tenant so runs against a shared server do not see each other's rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { LogRecord, Resource, Scope, Span } from '../../model/index.js';
import type { Storage, StorageOptions } from '../types.js';
import { openClickHouseStorage } from './index.js';

const targets: [string, Omit<StorageOptions, 'retention'>][] = [
  ['embedded', { dataDir: mkdtempSync(join(tmpdir(), 'lookout-storage-')) }],
];
if (process.env.LOOKOUT_TEST_CLICKHOUSE_URL) {
  targets.push(['server', { dataDir: '', clickhouseUrl: process.env.LOOKOUT_TEST_CLICKHOUSE_URL }]);
}

const NOW_NS = BigInt(Date.now()) * 1_000_000n;
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

const resource: Resource = {
  schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
  droppedAttributesCount: 1,
  attributes: [
    { key: 'service.name', value: { stringValue: 'orders' } },
    { key: 'host.cpus', value: { intValue: '8' } },
  ],
};
const scope: Scope = {
  name: 'orders-lib',
  version: '1.2.3',
  schemaUrl: '',
  droppedAttributesCount: 0,
  attributes: [{ key: 'scope.flag', value: { boolValue: true } }],
};

function logRecord(tenant: string, i: number, traceId = ''): LogRecord {
  return {
    tenant,
    timestamp: NOW_NS - BigInt(i) * 1_000_000n + 123n,
    observedTimestamp: NOW_NS + 999n,
    traceId,
    spanId: traceId ? hex(8) : '',
    flags: 1,
    severityText: 'WARN',
    severityNumber: 13,
    serviceName: 'orders',
    streamLabels: { service_name: 'orders', env: 'prod' },
    body: `order ${i} "quoted" 'single' \\ back ünïcode`,
    bodyType: '',
    eventName: '',
    attributes: [
      { key: 'i', value: { intValue: String(i) } },
      { key: 'ratio', value: { doubleValue: 0.25 } },
      { key: 'ok', value: { boolValue: false } },
      { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '1' }] } } },
      { key: 'nested', value: { kvlistValue: { values: [{ key: 'k', value: { doubleValue: 1.5 } }] } } },
      { key: 'raw', value: { bytesValue: 'AQID' } },
      { key: "it's'; DROP TABLE otel_logs; --", value: { stringValue: 'injection stays data' } },
    ],
    droppedAttributesCount: 2,
    resource,
    scope,
  };
}

function span(tenant: string, traceId: string, spanId: string, parentSpanId: string, startOffsetNs: bigint): Span {
  return {
    tenant,
    traceId,
    spanId,
    parentSpanId,
    traceState: 'vendor=1',
    flags: 257,
    name: parentSpanId ? 'SELECT orders' : 'GET /orders/:id',
    kind: parentSpanId ? 3 : 2,
    startTime: NOW_NS + startOffsetNs,
    endTime: NOW_NS + startOffsetNs + 1_234_567n,
    serviceName: 'orders',
    attributes: [
      { key: 'http.status_code', value: { intValue: '503' } },
      { key: 'http.route', value: { stringValue: '/orders/:id' } },
    ],
    droppedAttributesCount: 0,
    events: [
      { timestamp: NOW_NS + startOffsetNs + 10n, name: 'exception', droppedAttributesCount: 0, attributes: [{ key: 'exception.message', value: { stringValue: 'boom' } }] },
    ],
    droppedEventsCount: 1,
    links: [
      { traceId: hex(16), spanId: hex(8), traceState: '', flags: 0, droppedAttributesCount: 0, attributes: [{ key: 'link.n', value: { intValue: '7' } }] },
    ],
    droppedLinksCount: 0,
    statusCode: 2,
    statusMessage: 'upstream failed',
    resource,
    scope,
  };
}

for (const [name, options] of targets) {
  const retention = { logs: 7, traces: 7, metrics: 30 };
  const tenant = `t-${name}-${hex(4)}`;
  let storage: Storage;

  test(`${name}: opens, migrates and is ready`, async () => {
    storage = await openClickHouseStorage({ ...options, retention });
    assert.equal(await storage.ready(), true);
  });

  test(`${name}: logs round-trip with every field and attribute type`, async () => {
    const traceId = hex(16);
    const records = [logRecord(tenant, 0, traceId), logRecord(tenant, 1), logRecord(tenant, 2)];
    await storage.appender.appendLogs(records);
    const range = { start: NOW_NS - 10_000_000_000n, end: NOW_NS + 10_000_000_000n };
    const back = await storage.logs.queryLogs({ tenant, range, limit: 10 });
    assert.equal(back.length, 3);
    // Newest first, and nothing lost on the way.
    assert.deepEqual(back[0], records[0]);
    assert.deepEqual(back[2], records[2]);
    const byTrace = await storage.logs.queryLogs({ tenant, range, traceId, limit: 10 });
    assert.deepEqual(byTrace, [records[0]]);
    assert.equal(await storage.logs.countLogs(tenant), 3);
    assert.equal(await storage.logs.countLogs(`${tenant}-other`), 0);
  });

  test(`${name}: a trace round-trips span for span`, async () => {
    const traceId = hex(16);
    const root = span(tenant, traceId, hex(8), '', 0n);
    const child = span(tenant, traceId, hex(8), root.spanId, 100n);
    await storage.appender.appendSpans([child, root]);
    const back = await storage.spans.getTrace(tenant, traceId);
    assert.deepEqual(back, [root, child]);
    assert.deepEqual(await storage.spans.getTrace(tenant, hex(16)), []);
    assert.deepEqual(await storage.spans.getTrace(`${tenant}-other`, traceId), []);
  });

  test(`${name}: samples keep NaN, infinities and staleness markers apart`, async () => {
    const t0 = Date.now() - 60_000;
    const labels = { __name__: 'http_requests_total', job: 'api', path: "/a'b" };
    await storage.appender.appendSamples(tenant, [
      { labels, timestampMs: t0, value: 1 },
      { labels, timestampMs: t0 + 15_000, value: Number.NaN },
      { labels, timestampMs: t0 + 30_000, value: Infinity },
      { labels, timestampMs: t0 + 45_000, value: -Infinity },
      { labels, timestampMs: t0 + 60_000, value: Number.NaN, stale: true },
      { labels: { ...labels, path: '/b' }, timestampMs: t0, value: 2.5 },
    ]);
    await storage.appender.appendSamples(tenant, [{ labels, timestampMs: t0 + 75_000, value: 3 }]);
    const series = await storage.series.selectSeries({ tenant, equals: { __name__: 'http_requests_total', path: "/a'b" }, startMs: t0, endMs: t0 + 100_000 });
    assert.equal(series.length, 1);
    assert.deepEqual(series[0]!.labels, labels);
    assert.deepEqual(series[0]!.samples, [
      { timestampMs: t0, value: 1, stale: false },
      { timestampMs: t0 + 15_000, value: Number.NaN, stale: false },
      { timestampMs: t0 + 30_000, value: Infinity, stale: false },
      { timestampMs: t0 + 45_000, value: -Infinity, stale: false },
      { timestampMs: t0 + 60_000, value: Number.NaN, stale: true },
      { timestampMs: t0 + 75_000, value: 3, stale: false },
    ]);
    const both = await storage.series.selectSeries({ tenant, equals: { job: 'api' }, startMs: t0, endMs: t0 + 100_000 });
    assert.equal(both.length, 2);
  });

  test(`${name}: select with every matcher type, anchored regular expressions, missing label as empty`, async () => {
    const t0 = Date.now() - 30_000;
    await storage.appender.appendSamples(tenant, [
      { labels: { __name__: 'm_sel', code: '200', path: '/x' }, timestampMs: t0, value: 1 },
      { labels: { __name__: 'm_sel', code: '500', path: '/x' }, timestampMs: t0, value: 2 },
      { labels: { __name__: 'm_sel', code: '2000' }, timestampMs: t0, value: 3 },
      { labels: { __name__: 'm_sel_other', code: '200' }, timestampMs: t0, value: 4 },
    ]);
    const values = async (matchers: { type: '=' | '!=' | '=~' | '!~'; name: string; value: string }[]) =>
      (await storage.series.select({ tenant, matchers, startMs: t0 - 1, endMs: t0 + 1 })).map((s) => s.samples[0]!.value).sort();
    assert.deepEqual(await values([{ type: '=', name: '__name__', value: 'm_sel' }, { type: '=~', name: 'code', value: '2..' }]), [1]);
    assert.deepEqual(await values([{ type: '=~', name: '__name__', value: 'm_sel.*' }, { type: '!~', name: 'code', value: '5.*' }]), [1, 3, 4]);
    assert.deepEqual(await values([{ type: '=', name: '__name__', value: 'm_sel' }, { type: '=', name: 'path', value: '' }]), [3]);
    assert.deepEqual(await values([{ type: '=', name: '__name__', value: 'm_sel' }, { type: '!=', name: 'path', value: '' }]), [1, 2]);
    assert.deepEqual(await values([{ type: '=', name: '__name__', value: "m_sel' OR 1=1 --" }]), []);
    assert.deepEqual(await values([{ type: '=', name: '__name__', value: 'm_sel' }]).then((v) => v.length), 3);
    // Outside the time range: no series.
    assert.deepEqual(await storage.series.select({ tenant, matchers: [{ type: '=', name: '__name__', value: 'm_sel' }], startMs: t0 + 10, endMs: t0 + 20 }), []);
  });

  test(`${name}: metric metadata, latest wins`, async () => {
    await storage.appender.appendMetadata(tenant, [{ metricFamilyName: 'http_requests', type: 'counter', help: 'old', unit: '' }]);
    await storage.appender.appendMetadata(tenant, [{ metricFamilyName: 'http_requests', type: 'counter', help: 'Requests.', unit: '' }]);
    const meta = await storage.series.metricMetadata(tenant);
    assert.equal(meta.length, 1);
    assert.equal(meta[0]!.type, 'counter');
    assert.equal(meta[0]!.help, 'Requests.');
  });

  test(`${name}: reopening with another retention keeps the data`, async () => {
    await storage.close();
    storage = await openClickHouseStorage({ ...options, retention: { logs: 3, traces: 2, metrics: 90 } });
    assert.equal(await storage.logs.countLogs(tenant), 3);
    const stats = await storage.tableStats();
    assert.ok(stats.some((s) => s.table === 'otel_logs' && s.rows >= 3 && s.bytesOnDisk > 0));
    await storage.close();
  });
}
