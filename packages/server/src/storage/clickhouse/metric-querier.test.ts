/**
 * Series, label and exemplar lookups of the SeriesQuerier (Prometheus's /series, /labels,
 * /label/<name>/values, /metadata, /query_exemplars) against the embedded engine.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sample } from '../../model/index.js';
import type { Storage } from '../types.js';
import { openClickHouseStorage } from './index.js';
import { compareLabels } from './metric-querier.js';

const DAY = 86_400_000;
const now = Math.floor(Date.now() / 1000) * 1000;
const t0 = now - 3_600_000;
const tenant = 'querier-test';

describe('SeriesQuerier lookups', () => {
  let storage: Storage;
  before(async () => {
    storage = await openClickHouseStorage({ dataDir: mkdtempSync(join(tmpdir(), 'lookout-mq-')), retention: { logs: 30, traces: 30, metrics: 30 } });
    const samples: Sample[] = [
      { labels: { __name__: 'http_requests_total', job: 'api', code: '200' }, timestampMs: t0, value: 1 },
      { labels: { __name__: 'http_requests_total', job: 'api', code: '500' }, timestampMs: t0, value: 2 },
      { labels: { __name__: 'http_requests_total', job: 'web', code: '200' }, timestampMs: t0 + 60_000, value: 3 },
      { labels: { __name__: 'up', job: 'api', instance: 'a:1' }, timestampMs: t0, value: 1 },
      // Yesterday's only sample: its series row is on another day.
      { labels: { __name__: 'old_metric', job: 'batch' }, timestampMs: t0 - DAY, value: 1 },
    ];
    await storage.appender.appendSamples(tenant, samples);
    await storage.appender.appendSamples('other-tenant', [{ labels: { __name__: 'up', job: 'secret' }, timestampMs: t0, value: 1 }]);
    await storage.appender.appendMetadata(tenant, [
      { metricFamilyName: 'http_requests_total', type: 'counter', help: 'Requests.', unit: '' },
      { metricFamilyName: 'up', type: 'gauge', help: 'Up.', unit: '' },
    ]);
    await storage.appender.appendExemplars(tenant, [
      { seriesLabels: { __name__: 'http_requests_total', job: 'api', code: '200' }, labels: { trace_id: 'aaa' }, value: 1, timestampMs: t0 + 5 },
      { seriesLabels: { __name__: 'http_requests_total', job: 'api', code: '200' }, labels: { trace_id: 'bbb' }, value: 2, timestampMs: t0 + 10 },
      { seriesLabels: { __name__: 'up', job: 'api', instance: 'a:1' }, labels: { trace_id: 'ccc' }, value: NaN, timestampMs: t0 + 1 },
    ]);
  });
  after(async () => storage.close());

  const name = (value: string) => ({ type: '=' as const, name: '__name__', value });

  it('lists series of any matcher set, sorted as Prometheus sorts label sets', async () => {
    const series = await storage.series.series({ tenant, matcherSets: [[name('http_requests_total')], [name('up')]], startMs: t0 - 1000, endMs: now });
    assert.deepEqual(series, [
      { __name__: 'http_requests_total', code: '200', job: 'api' },
      { __name__: 'http_requests_total', code: '200', job: 'web' },
      { __name__: 'http_requests_total', code: '500', job: 'api' },
      { __name__: 'up', instance: 'a:1', job: 'api' },
    ]);
    const limited = await storage.series.series({ tenant, matcherSets: [[{ type: '=~', name: 'job', value: 'api|web' }]], limit: 2 });
    assert.equal(limited.length, 2);
  });

  it('keeps only series with samples inside the range', async () => {
    const inFirstMinute = await storage.series.series({ tenant, matcherSets: [[name('http_requests_total')]], startMs: t0, endMs: t0 + 1000 });
    assert.deepEqual(
      inFirstMinute.map((l) => `${l.job}/${l.code}`),
      ['api/200', 'api/500'],
    );
    const yesterday = await storage.series.series({ tenant, matcherSets: [[{ type: '=~', name: '__name__', value: '.+' }]], startMs: t0 - DAY - 10, endMs: t0 - DAY + 10 });
    assert.deepEqual(yesterday, [{ __name__: 'old_metric', job: 'batch' }]);
  });

  it("takes Prometheus's open range ends (beyond 2^53 ms) without refusing to send them", async () => {
    const openEnd = await storage.series.series({ tenant, matcherSets: [[name('up')]], startMs: t0 - 1000, endMs: 9_223_309_901_257_974 });
    const openStart = await storage.series.series({ tenant, matcherSets: [[name('up')]], startMs: -9_223_309_901_257_974, endMs: now });
    assert.deepEqual(openEnd, openStart);
    assert.ok(openEnd.length > 0);
  });

  it('lists label names and values with matchers, ranges and limits', async () => {
    assert.deepEqual(await storage.series.labelNames({ tenant, matcherSets: [], startMs: t0, endMs: now }), ['__name__', 'code', 'instance', 'job']);
    assert.deepEqual(await storage.series.labelNames({ tenant, matcherSets: [[name('up')]] }), ['__name__', 'instance', 'job']);
    assert.deepEqual(await storage.series.labelNames({ tenant, matcherSets: [], limit: 2 }), ['__name__', 'code']);
    assert.deepEqual(await storage.series.labelValues({ tenant, name: '__name__', matcherSets: [], startMs: t0, endMs: now }), ['http_requests_total', 'up']);
    assert.deepEqual(await storage.series.labelValues({ tenant, name: '__name__', matcherSets: [] }), ['http_requests_total', 'old_metric', 'up']);
    assert.deepEqual(await storage.series.labelValues({ tenant, name: 'job', matcherSets: [[{ type: '!=', name: 'code', value: '500' }]] }), ['api', 'batch', 'web']);
    assert.deepEqual(await storage.series.labelValues({ tenant, name: 'code', matcherSets: [[name('http_requests_total')]], limit: 1 }), ['200']);
    assert.deepEqual(await storage.series.labelValues({ tenant, name: 'nope', matcherSets: [] }), []);
    assert.deepEqual(await storage.series.labelValues({ tenant: 'other-tenant', name: 'job', matcherSets: [] }), ['secret']);
  });

  it('reads metadata by metric and with a limit', async () => {
    assert.deepEqual(await storage.series.metadata({ tenant, metric: 'up' }), [{ metricFamilyName: 'up', type: 'gauge', help: 'Up.', unit: '' }]);
    assert.deepEqual(
      (await storage.series.metadata({ tenant, limit: 1 })).map((m) => m.metricFamilyName),
      ['http_requests_total'],
    );
  });

  it('lists every distinct description of a family, as Prometheus merges its targets', async () => {
    const t = 'metadata-tenant';
    await storage.appender.appendMetadata(t, [
      { metricFamilyName: 'req_duration_seconds', type: 'histogram', help: 'Duration.', unit: 'seconds' },
      { metricFamilyName: 'req_duration_seconds', type: 'histogram', help: 'Duration.', unit: '' },
      { metricFamilyName: 'temp', type: 'gauge', help: 'Temperature.', unit: '' },
    ]);
    // The same description again (every scrape repeats it) stays one entry.
    await storage.appender.appendMetadata(t, [{ metricFamilyName: 'req_duration_seconds', type: 'histogram', help: 'Duration.', unit: '' }]);
    const all = await storage.series.metadata({ tenant: t });
    assert.deepEqual(
      all.filter((m) => m.metricFamilyName === 'req_duration_seconds').map((m) => m.unit).sort(),
      ['', 'seconds'],
    );
    assert.equal(all.length, 3);
    assert.deepEqual((await storage.series.metadata({ tenant: t, metric: 'temp' })).map((m) => m.help), ['Temperature.']);
    // limit counts families, limit_per_metric entries within one.
    const limited = await storage.series.metadata({ tenant: t, limit: 1 });
    assert.deepEqual([...new Set(limited.map((m) => m.metricFamilyName))], ['req_duration_seconds']);
    assert.equal(limited.length, 2);
    assert.equal((await storage.series.metadata({ tenant: t, limitPerMetric: 1 })).length, 2);
    // metricMetadata keeps one entry per family, the newest.
    assert.deepEqual(
      (await storage.series.metricMetadata(t)).map((m) => [m.metricFamilyName, m.unit]),
      [['req_duration_seconds', ''], ['temp', '']],
    );
  });

  it('finds exemplars of matching series in a range', async () => {
    const all = await storage.series.exemplars({ tenant, matcherSets: [[{ type: '=', name: 'job', value: 'api' }]], startMs: t0, endMs: now });
    assert.equal(all.length, 2);
    assert.deepEqual(all[0], {
      seriesLabels: { __name__: 'http_requests_total', code: '200', job: 'api' },
      exemplars: [
        { labels: { trace_id: 'aaa' }, value: 1, timestampMs: t0 + 5 },
        { labels: { trace_id: 'bbb' }, value: 2, timestampMs: t0 + 10 },
      ],
    });
    assert.ok(Number.isNaN(all[1]!.exemplars[0]!.value));
    const narrow = await storage.series.exemplars({ tenant, matcherSets: [[name('http_requests_total')]], startMs: t0 + 6, endMs: t0 + 20 });
    assert.deepEqual(narrow[0]!.exemplars.map((e) => e.labels.trace_id), ['bbb']);
  });

  it('orders label sets like Prometheus labels.Compare', () => {
    assert.ok(compareLabels({ a: '1' }, { a: '1', b: '1' }) < 0);
    assert.ok(compareLabels({ a: '2' }, { a: '1', b: '1' }) > 0);
    assert.ok(compareLabels({ a: '1', c: '1' }, { a: '1', b: '9' }) > 0);
    assert.equal(compareLabels({ a: '1' }, { a: '1' }), 0);
  });
});

describe('SeriesQuerier.select and selectColumns', () => {
  let storage: Storage;
  const colTenant = 'columns-test';
  const M = 60_000;
  before(async () => {
    storage = await openClickHouseStorage({ dataDir: mkdtempSync(join(tmpdir(), 'lookout-mq-cols-')), retention: { logs: 30, traces: 30, metrics: 30 } });
    const at = (i: number) => t0 + i * M;
    // One series with a staleness marker among mostly-zero flags next to another series (the
    // shape that trips chDB's groupArray over sparse columns), written in two inserts so that
    // a later part holds earlier samples.
    await storage.appender.appendSamples(colTenant, [
      { labels: { __name__: 'cols', s: 'a' }, timestampMs: at(0), value: 1 },
      { labels: { __name__: 'cols', s: 'a' }, timestampMs: at(1), value: 0 },
      { labels: { __name__: 'cols', s: 'a' }, timestampMs: at(3), value: Infinity },
      { labels: { __name__: 'cols', s: 'a' }, timestampMs: at(4), value: Number.NaN, stale: true },
      { labels: { __name__: 'cols', s: 'a' }, timestampMs: at(6), value: -Infinity },
      ...Array.from({ length: 30 }, (_, i) => ({ labels: { __name__: 'cols', s: 'b' }, timestampMs: t0 + (i * M) / 2, value: 0 })),
    ]);
    await storage.appender.appendSamples(colTenant, [
      { labels: { __name__: 'cols', s: 'a' }, timestampMs: at(2), value: Number.NaN },
      { labels: { __name__: 'cols', s: 'a' }, timestampMs: at(5), value: 5.25 },
    ]);
  });
  after(async () => storage.close());

  it('returns samples in time order with NaN, infinities and staleness markers in place', async () => {
    const query = { tenant: colTenant, matchers: [{ type: '=' as const, name: 's', value: 'a' }], startMs: t0, endMs: t0 + 10 * M };
    const columns = await storage.series.selectColumns!(query);
    assert.equal(columns.length, 1);
    const [a] = columns;
    assert.deepEqual(a!.labels, { __name__: 'cols', s: 'a' });
    assert.deepEqual([...a!.timestampsMs], [0, 1, 2, 3, 4, 5, 6].map((i) => t0 + i * M));
    assert.deepEqual([...a!.values], [1, 0, Number.NaN, Infinity, Number.NaN, 5.25, -Infinity]);
    assert.deepEqual([...a!.stale!], [0, 0, 0, 0, 1, 0, 0]);
    const rows = await storage.series.select(query);
    assert.deepEqual(
      rows[0]!.samples.map((p) => [p.timestampMs, p.value, p.stale]),
      [...a!.timestampsMs].map((t, i) => [t, a!.values[i], a!.stale![i] === 1]),
    );
    // A series without markers has no stale column; a window holding only part of the samples.
    const b = await storage.series.selectColumns!({ ...query, matchers: [{ type: '=', name: 's', value: 'b' }], startMs: t0 + M, endMs: t0 + 2 * M });
    assert.deepEqual([...b[0]!.timestampsMs], [t0 + M, t0 + 1.5 * M, t0 + 2 * M]);
    assert.equal(b[0]!.stale, undefined);
  });

  it('keeps label sets right across repeated reads, new series and tenants', async () => {
    const query = { tenant: colTenant, matchers: [{ type: '=' as const, name: '__name__', value: 'cols_late' }], startMs: t0, endMs: t0 + 10 * M };
    await storage.appender.appendSamples(colTenant, [{ labels: { __name__: 'cols_late', s: 'x' }, timestampMs: t0, value: 1 }]);
    assert.deepEqual((await storage.series.selectColumns!(query)).map((c) => c.labels), [{ __name__: 'cols_late', s: 'x' }]);
    // A series that appears after its neighbours' labels were cached is still found.
    await storage.appender.appendSamples(colTenant, [{ labels: { __name__: 'cols_late', s: 'y' }, timestampMs: t0, value: 2 }]);
    const again = await storage.series.selectColumns!(query);
    assert.deepEqual(again.map((c) => [c.labels.s, c.values[0]]).sort(), [['x', 1], ['y', 2]]);
    // The same label set in another tenant is that tenant's series, not a cache hit across tenants.
    await storage.appender.appendSamples('columns-other', [{ labels: { __name__: 'cols_late', s: 'x' }, timestampMs: t0, value: 7 }]);
    const other = await storage.series.selectColumns!({ ...query, tenant: 'columns-other' });
    assert.deepEqual(other.map((c) => [c.labels, c.values[0]]), [[{ __name__: 'cols_late', s: 'x' }, 7]]);
    assert.equal((await storage.series.selectColumns!({ ...query, tenant: 'columns-none' })).length, 0);
  });
});
