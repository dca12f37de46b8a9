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
