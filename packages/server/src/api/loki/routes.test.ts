/** The Loki HTTP surface in-process (Fastify inject, no network), over a fake pipeline and index. */
import assert from 'node:assert/strict';
import { gzipSync, deflateRawSync, deflateSync } from 'node:zlib';
import { describe, test } from 'node:test';
import Fastify from 'fastify';
import snappy from 'snappy';
import { LookoutError } from '../../errors.js';
import { DEFAULT_LOKI_PUSH_LIMITS, PushRequestType } from '../../ingest/index.js';
import type { LogRecord } from '../../model/index.js';
import type { WritePipeline } from '../../pipeline/index.js';
import type { LogStreamQuerier, LogStreamQuery } from '../../storage/index.js';
import { createServerMetrics } from '../../telemetry/index.js';
import { tenantFromHeader } from '../common/tenant.js';
import type { LogqlResult } from '../../logql/index.js';
import { lokiApi, type LokiQueryEngine } from './index.js';

function fakePipeline(state: { saturated?: boolean; overloaded?: boolean } = {}) {
  const stored: LogRecord[] = [];
  const pipeline: WritePipeline = {
    writeLogs: async (records) => {
      if (state.overloaded) throw new LookoutError('LOOKOUT_ERR_PIPELINE_OVERLOADED', 'full', { retryAfterSeconds: 1 });
      stored.push(...records);
    },
    writeSpans: async () => {},
    writeSamples: async () => {},
    pendingRows: () => 0,
    saturated: () => state.saturated === true,
    close: async () => {},
  } as WritePipeline;
  return { pipeline, stored };
}

const calls: (LogStreamQuery & { selectors?: unknown; targetLabels?: string[] })[] = [];
const fakeStreams: LogStreamQuerier = {
  labelNames: async (q) => (calls.push(q), q.tenant === 'empty' ? [] : ['app', 'service_name']),
  labelValues: async (q) => (calls.push(q), ['a', 'b']),
  series: async (q) => (calls.push(q), [{ app: 'a', service_name: 'a' }]),
  indexStats: async (q) => (calls.push(q), { streams: 1, chunks: 1, entries: 3, bytes: 30 }),
  volume: async (q) => (
    calls.push(q),
    [{ labels: { service_name: 'a' }, points: q.stepMs ? [{ timestampMs: 1000, bytes: 10 }, { timestampMs: 2000, bytes: 5 }] : [{ timestampMs: 3000, bytes: 15 }] }]
  ),
};

const fakeEngine: LokiQueryEngine = {
  classify: (q) => {
    if (q.startsWith('{')) return 'log';
    if (q.includes('(')) return 'metric';
    throw new LookoutError('LOOKOUT_ERR_QUERY_PARSE', 'parse error at line 1, col 1: syntax error: unexpected IDENTIFIER');
  },
  engine: {
    async query(q): Promise<LogqlResult> {
      if (q.query.startsWith('{')) {
        return {
          value: {
            type: 'streams',
            // As the engine groups them: by all labels (stream, metadata and parsed).
            streams: [
              { stream: { app: 'a', trace_id: 't1' }, entries: [{ timestampNs: 1700000000000000002n, line: '<b>&', structuredMetadata: { trace_id: 't1' }, parsed: {} }] },
              { stream: { app: 'a', level: 'info' }, entries: [{ timestampNs: 1700000000000000001n, line: 'plain', structuredMetadata: {}, parsed: { level: 'info' } }] },
            ],
          },
          stats: { bytesProcessed: 10, linesProcessed: 2, execTimeSeconds: 0.5 },
        };
      }
      return {
        value: q.instant
          ? { type: 'vector', samples: [{ labels: {}, timestampMs: Number(q.endNs / 1_000_000n), value: 2 }] }
          : { type: 'matrix', series: [{ labels: { app: 'a' }, points: [{ timestampMs: 1700000000500, value: 0.1 + 0.2 }, { timestampMs: 1700000001000, value: 1e21 }] }] },
        stats: { bytesProcessed: 0, linesProcessed: 0, execTimeSeconds: 0 },
      };
    },
  },
};

async function app(state: { saturated?: boolean; overloaded?: boolean } = {}, limits = {}) {
  const { pipeline, stored } = fakePipeline(state);
  const server = Fastify();
  await server.register(
    lokiApi({
      pipeline,
      metrics: createServerMetrics(),
      maxBodyBytes: 64 * 1024,
      limits: { ...DEFAULT_LOKI_PUSH_LIMITS, maxEntriesLimitPerQuery: 5000, ...limits },
      logStreams: fakeStreams,
      tenantOf: (request) => tenantFromHeader(request.headers['x-scope-orgid']),
      logql: fakeEngine,
    }),
  );
  return { server, stored };
}

const nowNs = () => BigInt(Date.now()) * 1_000_000n;

describe('POST /loki/api/v1/push', () => {
  test('JSON: 204, labels, metadata, tenant', async () => {
    const { server, stored } = await app();
    const ts = nowNs().toString();
    const res = await server.inject({
      method: 'POST',
      url: '/loki/api/v1/push',
      headers: { 'content-type': 'application/json', 'x-scope-orgid': 'team-a' },
      payload: JSON.stringify({ streams: [{ stream: { app: 'shop' }, values: [[ts, 'hello', { user: 'u1' }]] }] }),
    });
    assert.equal(res.statusCode, 204);
    assert.equal(stored.length, 1);
    assert.equal(stored[0]!.tenant, 'team-a');
    assert.equal(stored[0]!.timestamp.toString(), ts);
    assert.deepEqual(stored[0]!.streamLabels, { app: 'shop', service_name: 'shop' });
  });

  test('gzip and deflate (raw and zlib) JSON bodies', async () => {
    const { server, stored } = await app();
    const body = JSON.stringify({ streams: [{ stream: { app: 'z' }, values: [[nowNs().toString(), 'compressed']] }] });
    for (const [encoding, data] of [['gzip', gzipSync(body)], ['deflate', deflateRawSync(body)], ['deflate', deflateSync(body)]] as const) {
      const res = await server.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { 'content-type': 'application/json', 'content-encoding': encoding }, payload: data });
      assert.equal(res.statusCode, 204, `${encoding}: ${res.body}`);
    }
    assert.equal(stored.length, 3);
    const br = await server.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { 'content-type': 'application/json', 'content-encoding': 'br' }, payload: body });
    assert.equal(br.statusCode, 400);
    assert.match(br.body, /Content-Encoding "br" not supported/);
  });

  test('snappy protobuf, any non-JSON content type', async () => {
    const { server, stored } = await app();
    const ms = Date.now();
    const message = PushRequestType.fromObject({
      streams: [{ labels: '{job="proto", env="dev"}', entries: [{ timestamp: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 + 7 }, line: 'pb line' }] }],
    });
    const payload = snappy.compressSync(Buffer.from(PushRequestType.encode(message).finish()));
    const res = await server.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { 'content-type': 'application/x-protobuf' }, payload });
    assert.equal(res.statusCode, 204, res.body);
    assert.deepEqual(stored[0]!.streamLabels, { job: 'proto', env: 'dev', service_name: 'proto' });
    assert.equal(stored[0]!.timestamp, BigInt(ms) * 1_000_000n + 7n);
  });

  test('400 naming the bad entry while the valid ones are stored', async () => {
    const { server, stored } = await app();
    const old = (nowNs() - 30n * 86_400_000_000_000n).toString();
    const res = await server.inject({
      method: 'POST',
      url: '/loki/api/v1/push',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ streams: [{ stream: { app: 'v' }, values: [[nowNs().toString(), 'good'], [old, 'too old']] }] }),
    });
    assert.equal(res.statusCode, 400);
    assert.match(res.headers['content-type'] as string, /^text\/plain/);
    assert.match(res.body, /^entry for stream '\{app="v", service_name="v"\}' has timestamp too old: /);
    assert.deepEqual(stored.map((r) => r.body), ['good']);
  });

  test('undecodable bodies: 400; no streams: 422; too large: 413', async () => {
    const { server, stored } = await app();
    const bad = await server.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { 'content-type': 'application/json' }, payload: '{"streams":[{"stream":{"a":"b"},"values":[[1,"x"]]}]}' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /timestamp must be a string/);
    const noType = await server.inject({ method: 'POST', url: '/loki/api/v1/push', payload: Buffer.from('x') });
    assert.equal(noType.statusCode, 400);
    const empty = await server.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { 'content-type': 'application/json' }, payload: '{"streams":[]}' });
    assert.equal(empty.statusCode, 422);
    assert.match(empty.body, /at least one valid stream/);
    const big = await server.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { 'content-type': 'application/json' }, payload: 'x'.repeat(70 * 1024) });
    assert.equal(big.statusCode, 413);
    const bomb = await server.inject({
      method: 'POST',
      url: '/loki/api/v1/push',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload: gzipSync(Buffer.alloc(1024 * 1024, 0x20)),
    });
    assert.equal(bomb.statusCode, 413);
    assert.equal(stored.length, 0);
  });

  test('429 with Retry-After when the write queue is full', async () => {
    const saturated = await app({ saturated: true });
    const body = JSON.stringify({ streams: [{ stream: { app: 'x' }, values: [[nowNs().toString(), 'l']] }] });
    const res = await saturated.server.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { 'content-type': 'application/json' }, payload: body });
    assert.equal(res.statusCode, 429);
    assert.equal(res.headers['retry-after'], '1');
    const overloaded = await app({ overloaded: true });
    const res2 = await overloaded.server.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { 'content-type': 'application/json' }, payload: body });
    assert.equal(res2.statusCode, 429);
    assert.equal(res2.headers['retry-after'], '1');
  });

  test('bad tenant header: 400', async () => {
    const { server } = await app();
    const res = await server.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { 'content-type': 'application/json', 'x-scope-orgid': '../x' }, payload: '{}' });
    assert.equal(res.statusCode, 400);
  });
});

describe('query API', () => {
  test('query_range: Loki JSON, labels merged with metadata', async () => {
    const { server } = await app();
    const res = await server.inject({ url: '/loki/api/v1/query_range?query=%7Bapp%3D%22a%22%7D&start=1700000000&end=1700000060' });
    assert.equal(res.statusCode, 200, res.body);
    assert.ok(res.body.startsWith('{"status":"success","data":{"resultType":"streams","result":[{"stream":{"app":"a","trace_id":"t1"},"values":[["1700000000000000002","\\u003cb\\u003e\\u0026"]]},'));
    const body = JSON.parse(res.body);
    assert.deepEqual(body.data.result[1], { stream: { app: 'a', level: 'info' }, values: [['1700000000000000001', 'plain']] });
    assert.equal(body.data.stats.summary.totalLinesProcessed, 2);
    assert.equal(body.data.stats.summary.totalEntriesReturned, 2);
  });

  test('query_range with categorize-labels', async () => {
    const { server } = await app();
    const res = await server.inject({ url: '/loki/api/v1/query_range?query=%7Bapp%3D%22a%22%7D', headers: { 'x-loki-response-encoding-flags': 'categorize-labels' } });
    const body = JSON.parse(res.body);
    assert.deepEqual(Object.keys(body.data), ['resultType', 'encodingFlags', 'result', 'stats']);
    assert.deepEqual(body.data.encodingFlags, ['categorize-labels']);
    assert.deepEqual(body.data.result, [
      {
        stream: { app: 'a' },
        values: [
          ['1700000000000000002', '<b>&', { structuredMetadata: { trace_id: 't1' } }],
          ['1700000000000000001', 'plain', { parsed: { level: 'info' } }],
        ],
      },
    ]);
  });

  test('metric queries: matrix and instant vector shapes', async () => {
    const { server } = await app();
    const range = await server.inject({ url: '/loki/api/v1/query_range?query=rate(%7Ba%3D%22b%22%7D%5B1m%5D)&start=1700000000&end=1700000060&step=1' });
    assert.equal(range.body.split('"stats"')[0], '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"app":"a"},"values":[[1700000000.5,"0.30000000000000004"],[1700000001,"1000000000000000000000"]]}],');
    const instant = await server.inject({ method: 'POST', url: '/loki/api/v1/query', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'query=vector(1)%2Bvector(1)&time=1700000000' });
    assert.equal(instant.statusCode, 200, instant.body);
    assert.deepEqual(JSON.parse(instant.body).data.result, [{ metric: {}, value: [1700000000, '2'] }]);
  });

  test('Loki parameter errors, as plain text', async () => {
    const { server } = await app();
    const cases: [string, RegExp][] = [
      ['/loki/api/v1/query_range?query={a="b"}&start=abc', /could not parse 'start' parameter: strconv.ParseInt: parsing "abc": invalid syntax/],
      ['/loki/api/v1/query_range?query={a="b"}&start=1700000100&end=1700000000', /end timestamp must not be before or equal to start time/],
      ['/loki/api/v1/query_range?query={a="b"}&limit=0', /limit must be a positive value/],
      ['/loki/api/v1/query_range?query={a="b"}&direction=sideways', /invalid direction 'sideways'/],
      ['/loki/api/v1/query_range?query={a="b"}&step=0', /zero or negative query resolution step widths/],
      ['/loki/api/v1/query_range?query={a="b"}&start=0&end=1700000000&step=1', /exceeded maximum resolution of 11,000 points/],
      ['/loki/api/v1/query_range?query={a="b"}&limit=6000', /max entries limit per query exceeded, limit > max_entries_limit_per_query \(6000 > 5000\)/],
      ['/loki/api/v1/query?query={a="b"}', /log queries are not supported as an instant query type/],
      ['/loki/api/v1/query_range?query=nope', /parse error at line 1, col 1/],
    ];
    for (const [url, message] of cases) {
      const res = await server.inject({ url: encodeURI(url) });
      assert.equal(res.statusCode, 400, url);
      assert.match(res.body, message, url);
      assert.match(res.headers['content-type'] as string, /^text\/plain/);
    }
  });
});

describe('index endpoints', () => {
  test('labels, values, series, stats, volume', async () => {
    const { server } = await app();
    const labels = await server.inject({ url: '/loki/api/v1/labels?start=1700000000&end=1700000060', headers: { 'x-scope-orgid': 't9' } });
    assert.equal(labels.body, '{"status":"success","data":["app","service_name"]}');
    assert.equal(calls.at(-1)!.tenant, 't9');
    assert.equal(calls.at(-1)!.startNs, 1700000000000000000n);
    const none = await server.inject({ url: '/loki/api/v1/labels', headers: { 'x-scope-orgid': 'empty' } });
    assert.equal(none.body, '{"status":"success"}');
    const values = await server.inject({ url: `/loki/api/v1/label/app/values?query=${encodeURIComponent('{app=~"a|b"}')}` });
    assert.equal(values.body, '{"status":"success","data":["a","b"]}');
    assert.deepEqual(calls.at(-1)!.selectors, [[{ type: '=~', name: 'app', value: 'a|b' }]]);
    const series = await server.inject({ method: 'POST', url: '/loki/api/v1/series', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `match[]=${encodeURIComponent('{app="a"}')}&match[]=${encodeURIComponent('{x="y"}')}` });
    assert.equal(series.body, '{"status":"success","data":[{"app":"a","service_name":"a"}]}');
    assert.equal((calls.at(-1)!.selectors as unknown[]).length, 2);
    const everything = await server.inject({ url: `/loki/api/v1/series?match[]=${encodeURIComponent('{ }')}` });
    assert.equal(everything.statusCode, 200);
    assert.deepEqual(calls.at(-1)!.selectors, []);
    const empty = await server.inject({ url: `/loki/api/v1/series?match[]=${encodeURIComponent('{app=~".*"}')}` });
    assert.equal(empty.statusCode, 400);
    assert.match(empty.body, /at least one regexp or equality matcher that does not have an empty-compatible value/);
    const stats = await server.inject({ url: `/loki/api/v1/index/stats?query=${encodeURIComponent('{app="a"}')}` });
    assert.deepEqual(JSON.parse(stats.body), { streams: 1, chunks: 1, entries: 3, bytes: 30 });
    const volume = await server.inject({ url: `/loki/api/v1/index/volume?query=${encodeURIComponent('{app="a"}')}&aggregateBy=series&targetLabels=service_name` });
    assert.equal(volume.body, '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"service_name":"a"},"value":[3,"15"]}]}}\n');
    assert.deepEqual(calls.at(-1)!.targetLabels, ['service_name']);
    const range = await server.inject({ url: `/loki/api/v1/index/volume_range?query=${encodeURIComponent('{app="a"}')}&step=60` });
    assert.equal(JSON.parse(range.body).data.resultType, 'matrix');
    const badAggregate = await server.inject({ url: `/loki/api/v1/index/volume?query=${encodeURIComponent('{app="a"}')}&aggregateBy=pods` });
    assert.equal(badAggregate.statusCode, 400);
    assert.match(badAggregate.body, /invalid aggregation option/);
  });

  test('detected labels, patterns 404, buildinfo', async () => {
    const { server } = await app();
    const detected = await server.inject({ url: `/loki/api/v1/detected_labels?query=${encodeURIComponent('{app="a"}')}` });
    assert.deepEqual(JSON.parse(detected.body), { detectedLabels: [{ label: 'app', cardinality: 2 }, { label: 'service_name', cardinality: 2 }] });
    const patterns = await server.inject({ url: '/loki/api/v1/patterns?query={a="b"}' });
    assert.equal(patterns.statusCode, 404);
    const build = JSON.parse((await server.inject({ url: '/loki/api/v1/status/buildinfo' })).body);
    assert.match(build.version, /^3\.\d+\.\d+$/);
  });
});
