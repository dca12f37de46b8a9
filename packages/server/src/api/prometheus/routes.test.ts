/**
 * The Prometheus API's HTTP behaviour with an in-memory engine, querier and pipeline: parameter
 * errors, the error envelope and codes, form POST, limits, and the remote-write answers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { compressSync } from 'snappy';
import { LookoutError } from '../../errors.js';
import { encodeWriteRequest, STALE_NAN } from '../../ingest/index.js';
import type { MetricMetadata, Sample } from '../../model/index.js';
import type { WritePipeline } from '../../pipeline/index.js';
import { PromqlError, type InstantQuery, type PromqlEngine, type RangeQuery } from '../../promql/index.js';
import type { LabelMatcher, SeriesQuerier } from '../../storage/index.js';
import { createServerMetrics } from '../../telemetry/index.js';
import { prometheusApi } from './index.js';

const NOW = 1_700_000_000_000;

/** A stand-in parser for selectors like `up` and `up{job="a"}` (the real one is tested in promql/). */
function fakeParse(query: string): unknown {
  const m = /^([a-zA-Z_:][\w:]*)?(?:\{(.*)\})?$/.exec(query.trim());
  if (!m || query.trim() === '') throw new Error('1:1: parse error: unexpected end of input');
  const matchers: LabelMatcher[] = [];
  if (m[1]) matchers.push({ type: '=', name: '__name__', value: m[1] });
  for (const part of (m[2] ?? '').split(',').filter(Boolean)) {
    const pm = /^\s*(\w+)\s*(=~|!~|!=|=)\s*"(.*)"\s*$/.exec(part);
    if (!pm) throw new Error('1:3: parse error: bad matcher');
    matchers.push({ type: pm[2] as LabelMatcher['type'], name: pm[1]!, value: pm[3]! });
  }
  return { kind: 'VectorSelector', matchers, offsetMs: 0 };
}

describe('Prometheus HTTP API routes', () => {
  let app: FastifyInstance;
  const instantCalls: InstantQuery[] = [];
  const rangeCalls: RangeQuery[] = [];
  const written: { tenant: string; samples: readonly Sample[]; metadata?: readonly MetricMetadata[] }[] = [];
  let saturated = false;
  const seriesCalls: unknown[] = [];

  const engine: PromqlEngine = {
    async instantQuery(q) {
      instantCalls.push(q);
      if (q.query === '1+1') return { value: { type: 'scalar', timestampMs: q.timeMs, value: 2 }, warnings: [], infos: [] };
      if (q.query === 'bad(') throw new PromqlError('bad_data', '1:5: parse error: unexpected end of input');
      if (q.query === 'exec') throw new PromqlError('execution', 'vector cannot contain metrics with the same labelset');
      if (q.query === 'slow') throw new PromqlError('timeout', 'query timed out in query execution');
      return {
        value: {
          type: 'vector',
          samples: [
            { labels: { __name__: 'up', job: 'a' }, timestampMs: q.timeMs, value: 1 },
            { labels: { __name__: 'up', job: 'b' }, timestampMs: q.timeMs, value: 0 },
          ],
        },
        warnings: [],
        infos: ['PromQL info: metric might not be a counter'],
      };
    },
    async rangeQuery(q) {
      rangeCalls.push(q);
      return {
        value: { type: 'matrix', series: [{ labels: { job: 'a' }, points: [{ timestampMs: q.startMs, value: 0.5 }] }] },
        warnings: [],
        infos: [],
      };
    },
  };
  const querier = {
    async series(q: unknown) {
      seriesCalls.push(q);
      return [{ __name__: 'up', job: 'a' }, { __name__: 'up', job: 'b' }, { __name__: 'up', job: 'c' }];
    },
    async labelNames() {
      return ['__name__', 'job'];
    },
    async labelValues(q: { name: string }) {
      return q.name === 'job' ? ['a', 'b'] : [];
    },
    async metadata() {
      return [{ metricFamilyName: 'up', type: 'gauge', help: 'Up.', unit: '' }];
    },
    async exemplars() {
      return [];
    },
  } as unknown as SeriesQuerier;
  const pipeline = {
    async writeSamples(tenant: string, samples: readonly Sample[], metadata?: readonly MetricMetadata[]) {
      written.push({ tenant, samples, ...(metadata ? { metadata } : {}) });
    },
    saturated: () => saturated,
  } as unknown as WritePipeline;

  before(async () => {
    app = Fastify();
    await app.register(
      prometheusApi({
        pipeline,
        metrics: createServerMetrics(),
        series: querier,
        appendExemplars: async () => {},
        engine,
        parsing: { parse: fakeParse },
        targets: { activeTargets: () => [{ scrapePool: 'node', health: 'up' }], droppedTargets: () => [{ discoveredLabels: {} }] },
        configYaml: () => 'scrape_configs: []\n',
        maxBodyBytes: 1024 * 1024,
        tenantOf: (request) => {
          const id = request.headers['x-scope-orgid'];
          if (id === 'bad tenant') throw new LookoutError('LOOKOUT_ERR_QUERY_BAD_PARAM', 'invalid X-Scope-OrgID');
          return typeof id === 'string' ? id : 'default';
        },
        now: () => NOW,
      }),
    );
  });
  after(async () => app.close());

  const get = async (url: string, headers: Record<string, string> = {}) => {
    const r = await app.inject({ method: 'GET', url, headers });
    return { status: r.statusCode, body: r.json() as Record<string, unknown>, headers: r.headers };
  };

  it("answers Grafana's health check (1+1) as a scalar", async () => {
    const r = await get('/api/v1/query?query=1%2B1&time=1700000000.5');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'success', data: { resultType: 'scalar', result: [1700000000.5, '2'] } });
    assert.equal(instantCalls.at(-1)!.timeMs, 1_700_000_000_500);
  });

  it('takes form-encoded POST bodies, with time defaulting to now, infos and limit', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/api/v1/query',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-scope-orgid': 'team-a' },
      payload: 'query=up&limit=1&timeout=30s&lookback_delta=1m',
    });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), {
      status: 'success',
      data: { resultType: 'vector', result: [{ metric: { __name__: 'up', job: 'a' }, value: [1700000000, '1'] }] },
      warnings: ['results truncated due to limit'],
      infos: ['PromQL info: metric might not be a counter'],
    });
    const call = instantCalls.at(-1)!;
    assert.equal(call.tenant, 'team-a');
    assert.equal(call.timeMs, NOW);
    assert.equal(call.timeoutMs, 30_000);
    assert.equal(call.lookbackDeltaMs, 60_000);
  });

  it('maps engine errors to the envelope and codes', async () => {
    const parse = await get('/api/v1/query?query=bad(');
    assert.equal(parse.status, 400);
    assert.deepEqual(parse.body, { status: 'error', errorType: 'bad_data', error: 'invalid parameter "query": 1:5: parse error: unexpected end of input' });
    const exec = await get('/api/v1/query?query=exec');
    assert.equal(exec.status, 422);
    assert.equal(exec.body.errorType, 'execution');
    const slow = await get('/api/v1/query?query=slow');
    assert.equal(slow.status, 503);
    assert.equal(slow.body.errorType, 'timeout');
    const tenant = await get('/api/v1/query?query=up', { 'x-scope-orgid': 'bad tenant' });
    assert.equal(tenant.status, 400);
    assert.equal(tenant.body.errorType, 'bad_data');
  });

  it('checks query parameters with Prometheus texts', async () => {
    const cases: [string, string][] = [
      ['/api/v1/query?query=up&time=abc', `invalid parameter "time": invalid time value for 'time': cannot parse "abc" to a valid timestamp`],
      ['/api/v1/query?query=up&timeout=x', 'invalid parameter "timeout": cannot parse "x" to a valid duration'],
      ['/api/v1/query?query=up&limit=-2', 'invalid parameter "limit": limit must be non-negative'],
      ['/api/v1/query_range?query=up&start=x&end=2&step=1', 'invalid parameter "start": cannot parse "x" to a valid timestamp'],
      ['/api/v1/query_range?query=up&start=2&end=1&step=1', 'invalid parameter "end": end timestamp must not be before start time'],
      ['/api/v1/query_range?query=up&start=1&end=2', 'invalid parameter "step": cannot parse "" to a valid duration'],
      ['/api/v1/query_range?query=up&start=1&end=2&step=0', 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer'],
      ['/api/v1/query_range?query=up&start=0&end=11001&step=1', 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)'],
      ['/api/v1/series', 'no match[] parameter provided'],
      ['/api/v1/series?match[]=%7Bjob%3D~%22.*%22%7D', 'invalid parameter "match[]": match[] must contain at least one non-empty matcher'],
      ['/api/v1/series?match[]=up&start=x', `invalid parameter "start": invalid time value for 'start': cannot parse "x" to a valid timestamp`],
      ['/api/v1/metadata?limit=x', 'limit must be a number'],
    ];
    for (const [url, message] of cases) {
      const r = await get(url);
      assert.equal(r.status, 400, url);
      assert.deepEqual(r.body, { status: 'error', errorType: 'bad_data', error: message }, url);
    }
  });

  it('runs range queries with the parsed step', async () => {
    const r = await get('/api/v1/query_range?query=up&start=2023-11-14T22:13:20Z&end=1700000060&step=15s');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'success', data: { resultType: 'matrix', result: [{ metric: { job: 'a' }, values: [[1700000000, '0.5']] }] } });
    assert.deepEqual(
      { startMs: rangeCalls.at(-1)!.startMs, endMs: rangeCalls.at(-1)!.endMs, stepMs: rangeCalls.at(-1)!.stepMs },
      { startMs: NOW, endMs: NOW + 60_000, stepMs: 15_000 },
    );
  });

  it('lists series, labels and values with match[] sets and limits', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/api/v1/series?match[]=up',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'match[]=node_load1%7Bjob%3D%22n%22%7D&limit=2&start=1700000000',
    });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), {
      status: 'success',
      data: [
        { __name__: 'up', job: 'a' },
        { __name__: 'up', job: 'b' },
      ],
      warnings: ['results truncated due to limit'],
    });
    assert.deepEqual(seriesCalls.at(-1), {
      tenant: 'default',
      matcherSets: [
        [
          { type: '=', name: '__name__', value: 'node_load1' },
          { type: '=', name: 'job', value: 'n' },
        ],
        [{ type: '=', name: '__name__', value: 'up' }],
      ],
      startMs: NOW,
      limit: 3,
    });
    assert.deepEqual((await get('/api/v1/labels')).body, { status: 'success', data: ['__name__', 'job'] });
    assert.deepEqual((await get('/api/v1/labels?limit=1')).body, { status: 'success', data: ['__name__'], warnings: ['results truncated due to limit'] });
    assert.deepEqual((await get('/api/v1/label/job/values?match[]=up')).body, { status: 'success', data: ['a', 'b'] });
    assert.deepEqual((await get('/api/v1/metadata')).body, { status: 'success', data: { up: [{ type: 'gauge', help: 'Up.', unit: '' }] } });
  });

  it("answers Grafana's exemplar probe and status endpoints", async () => {
    assert.deepEqual((await get('/api/v1/query_exemplars?query=up&start=1&end=2')).body, { status: 'success', data: [] });
    assert.equal((await get('/api/v1/query_exemplars?query=up&start=2&end=1')).status, 400);
    const targets = await get('/api/v1/targets?state=active');
    assert.deepEqual(targets.body, { status: 'success', data: { activeTargets: [{ scrapePool: 'node', health: 'up' }], droppedTargets: [] } });
    assert.deepEqual((await get('/api/v1/status/config')).body, { status: 'success', data: { yaml: 'scrape_configs: []\n' } });
    const build = await get('/api/v1/status/buildinfo');
    assert.equal(typeof (build.body.data as { version: string }).version, 'string');
    assert.deepEqual((await get('/api/v1/status/flags')).body, { status: 'success', data: {} });
  });

  describe('remote write', () => {
    const post = (payload: Buffer, headers: Record<string, string> = {}) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/write',
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0', ...headers },
        payload,
      });
    const valid = compressSync(
      encodeWriteRequest({
        timeseries: [{ labels: [{ name: '__name__', value: 'up' }, { name: 'job', value: 'a' }], samples: [{ value: STALE_NAN, timestamp: NOW }] }],
        metadata: [{ type: 2, metricFamilyName: 'up', help: 'Up.', unit: '' }],
      }),
    );

    it('stores a valid request and answers 204', async () => {
      const r = await post(valid, { 'x-scope-orgid': 'team-b' });
      assert.equal(r.statusCode, 204);
      assert.equal(r.body, '');
      const last = written.at(-1)!;
      assert.equal(last.tenant, 'team-b');
      assert.equal(last.samples[0]!.stale, true);
      assert.deepEqual(last.metadata, [{ metricFamilyName: 'up', type: 'gauge', help: 'Up.', unit: '' }]);
    });

    it('refuses bad data with 400, other formats with 415, overload with 503', async () => {
      const bad = await post(Buffer.from('garbage'));
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /invalid snappy body/);
      const unsorted = await post(
        compressSync(encodeWriteRequest({ timeseries: [{ labels: [{ name: 'z', value: '1' }, { name: '__name__', value: 'm' }], samples: [{ value: 1, timestamp: NOW }] }] })),
      );
      assert.equal(unsorted.statusCode, 400);
      assert.match(unsorted.body, /labels not sorted by name/);
      const v2 = await post(valid, { 'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request' });
      assert.equal(v2.statusCode, 415);
      assert.match(v2.body, /only remote-write 1.0/);
      assert.equal((await post(valid, { 'content-encoding': 'gzip' })).statusCode, 415);
      assert.equal((await post(valid, { 'content-type': 'application/json' })).statusCode, 415);
      assert.equal((await post(valid, { 'content-type': 'application/x-protobuf;proto=prometheus.WriteRequest' })).statusCode, 204);
      saturated = true;
      try {
        const busy = await post(valid);
        assert.equal(busy.statusCode, 503);
        assert.equal(busy.headers['retry-after'], '1');
      } finally {
        saturated = false;
      }
      const tooLarge = await post(Buffer.alloc(2 * 1024 * 1024));
      assert.equal(tooLarge.statusCode, 413);
    });
  });
});
