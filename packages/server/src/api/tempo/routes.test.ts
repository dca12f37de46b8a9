import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import protobuf from 'protobufjs/minimal.js';
import { LookoutError } from '../../errors.js';
import { decodeProtobufRequest, int64ToBigInt } from '../../ingest/index.js';
import type { Span } from '../../model/index.js';
import type { SpanCondition, SpanQuerier, TimeRange, TraceSearchQuery, TraceSummary } from '../../storage/index.js';
import { tempoApi } from './index.js';

const TRACE = '00000000000000000000000000000abc';

function span(overrides: Partial<Span> = {}): Span {
  return {
    tenant: 'default',
    traceId: TRACE,
    spanId: '0000000000000001',
    parentSpanId: '',
    traceState: '',
    flags: 0,
    name: 'GET /',
    kind: 2,
    startTime: 1_700_000_000_000_000_123n,
    endTime: 1_700_000_000_250_000_123n,
    serviceName: 'api',
    attributes: [{ key: 'http.status_code', value: { intValue: '500' } }],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    statusCode: 2,
    statusMessage: '',
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }], droppedAttributesCount: 0, schemaUrl: '' },
    scope: { name: 'lib', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
    ...overrides,
  };
}

/** A SpanQuerier that records its calls and answers from fixed data. */
class FakeSpans implements SpanQuerier {
  calls: { method: string; args: unknown[] }[] = [];
  traces = new Map<string, Span[]>([[TRACE, [span()]]]);
  summaries: TraceSummary[] = [];
  names = { resource: ['service.name', 'host.name'], span: ['http.status_code', 'service.name'] };
  values: { type: string; value: string }[] = [
    { type: 'string', value: 'api' },
    { type: 'int', value: '7' },
  ];
  fail = false;

  private record(method: string, args: unknown[]): void {
    this.calls.push({ method, args });
    if (this.fail) throw new Error('storage exploded');
  }

  async getTrace(tenant: string, traceId: string, range?: TimeRange) {
    this.record('getTrace', [tenant, traceId, range]);
    return this.traces.get(traceId) ?? [];
  }
  async searchTraces(query: TraceSearchQuery) {
    this.record('searchTraces', [query]);
    return this.summaries;
  }
  async tagNames(tenant: string, range?: TimeRange) {
    this.record('tagNames', [tenant, range]);
    return this.names;
  }
  async tagValues(
    tenant: string,
    scope: SpanCondition['scope'],
    key: string,
    range?: TimeRange,
    limit?: number,
    conditions?: SpanCondition[],
  ) {
    this.record('tagValues', [tenant, scope, key, range, limit, conditions]);
    return this.values;
  }
  last(method: string): unknown[] {
    const call = this.calls.filter((c) => c.method === method).at(-1);
    assert.ok(call, `${method} was not called`);
    return call.args;
  }
}

const spans = new FakeSpans();
let app: FastifyInstance;

before(async () => {
  app = Fastify();
  await app.register(
    tempoApi({
      spans,
      version: '1.2.3',
      tenantOf: (request) => {
        const header = request.headers['x-scope-orgid'];
        if (header === 'bad!') throw new LookoutError('LOOKOUT_ERR_QUERY_BAD_PARAM', 'invalid X-Scope-OrgID');
        return typeof header === 'string' ? header : 'default';
      },
    }),
  );
  await app.ready();
});

after(async () => {
  await app.close();
});

beforeEach(() => {
  spans.calls = [];
  spans.fail = false;
  spans.summaries = [];
});

async function get(url: string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'GET', url, headers });
}

async function badRequest(url: string, message: string | RegExp): Promise<void> {
  const res = await get(url);
  assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
  assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
  if (typeof message === 'string') assert.equal(res.body, message);
  else assert.match(res.body, message);
}

/** Reads TraceByIDResponse: field 1 (the trace) and whether field 2 (metrics) is present. */
function readTraceByIdResponse(bytes: Uint8Array): { trace: Uint8Array | undefined; hasMetrics: boolean } {
  const reader = protobuf.Reader.create(bytes);
  let trace: Uint8Array | undefined;
  let hasMetrics = false;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 1) trace = reader.bytes();
    else if (tag >>> 3 === 2) {
      reader.bytes();
      hasMetrics = true;
    } else reader.skipType(tag & 7);
  }
  return { trace, hasMetrics };
}

describe('trace by id', () => {
  it('pads the id, passes tenant and range, and answers v1 JSON', async () => {
    const res = await get('/api/traces/ABC?start=100&end=200', { 'x-scope-orgid': 'team-a' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(spans.last('getTrace'), ['team-a', TRACE, { start: 100_000_000_000n, end: 200_000_000_000n }]);
    const body = res.json();
    assert.equal(body.batches[0].scopeSpans[0].spans[0].traceId, Buffer.from(TRACE, 'hex').toString('base64'));
    assert.equal(body.batches[0].scopeSpans[0].spans[0].kind, 'SPAN_KIND_SERVER');
    assert.equal(body.batches[0].scopeSpans[0].spans[0].startTimeUnixNano, '1700000000000000123');
  });

  it('answers protobuf (OTLP TracesData on v1, TraceByIDResponse on v2) when Grafana asks for it', async () => {
    const v1 = await get(`/api/traces/${TRACE}`, { accept: 'application/protobuf' });
    assert.equal(v1.statusCode, 200);
    assert.equal(v1.headers['content-type'], 'application/protobuf');
    const data = decodeProtobufRequest('traces', v1.rawPayload);
    const decoded = data.resourceSpans![0]!.scopeSpans![0]!.spans![0]!;
    assert.equal(Buffer.from(decoded.traceId!).toString('hex'), TRACE);
    assert.equal(decoded.name, 'GET /');
    assert.equal(decoded.kind, 2);
    assert.equal(decoded.status?.code, 2);
    assert.equal(int64ToBigInt(decoded.startTimeUnixNano), 1_700_000_000_000_000_123n);
    assert.equal(int64ToBigInt(decoded.attributes![0]!.value!.intValue), 500n);

    const v2 = await get(`/api/v2/traces/${TRACE}`, { accept: 'application/protobuf, application/json;q=0.9' });
    assert.equal(v2.headers['content-type'], 'application/protobuf');
    const wrapped = readTraceByIdResponse(v2.rawPayload);
    assert.ok(wrapped.hasMetrics);
    assert.deepEqual(Buffer.from(wrapped.trace!), v1.rawPayload);
  });

  it('answers v2 JSON as a TraceByIDResponse', async () => {
    const res = await get(`/api/v2/traces/${TRACE}`, { accept: 'application/json' });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual(Object.keys(body), ['trace', 'metrics']);
    assert.equal(body.trace.resourceSpans[0].resource.attributes[0].value.stringValue, 'api');
  });

  it('answers an unknown trace like Tempo: 404 on v1, an empty trace on v2', async () => {
    const v1 = await get('/api/traces/123');
    assert.equal(v1.statusCode, 404);
    assert.equal(v1.body, '');
    const v1proto = await get('/api/traces/123', { accept: 'application/protobuf' });
    assert.equal(v1proto.statusCode, 404);
    const v2 = await get('/api/v2/traces/123');
    assert.equal(v2.statusCode, 200);
    assert.equal(v2.body, '{"trace":{},"metrics":{}}');
    const v2proto = await get('/api/v2/traces/123', { accept: 'application/protobuf' });
    assert.deepEqual([...v2proto.rawPayload], [0x0a, 0, 0x12, 0]);
  });

  it("rejects bad ids and times with Tempo's messages", async () => {
    await badRequest('/api/traces/12x4', "trace IDs can only contain hex characters: invalid character 'x' at position 3");
    await badRequest(`/api/v2/traces/${'1'.repeat(33)}`, "trace IDs can't be larger than 128 bits");
    await badRequest(`/api/traces/${TRACE}?start=abc`, 'invalid start: strconv.ParseInt: parsing "abc": invalid syntax');
    await badRequest(`/api/traces/${TRACE}?start=200&end=100`, 'http parameter start must be before end. received start=200 end=100');
    await badRequest(`/api/traces/${TRACE}`.replace('/api', '/api') + '?end=1.5', /^invalid end: /);
  });

  it('maps tenant and storage failures to text errors', async () => {
    const bad = await get(`/api/traces/${TRACE}`, { 'x-scope-orgid': 'bad!' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.body, 'invalid X-Scope-OrgID');
    spans.fail = true;
    const broken = await get(`/api/traces/${TRACE}`);
    assert.equal(broken.statusCode, 500);
    assert.equal(broken.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(broken.body, 'storage exploded');
  });
});

describe('search', () => {
  it('runs a TraceQL search with defaults and writes Tempo JSON', async () => {
    spans.summaries = [
      {
        traceId: TRACE,
        rootServiceName: 'api',
        rootTraceName: 'GET /',
        startTime: 1_700_000_000_000_000_123n,
        durationNs: 250_000_000n,
        matchedSpans: [span()],
        matchedCount: 1,
      },
    ];
    const q = encodeURIComponent('{ span.http.status_code >= 500 && status = error }');
    const res = await get(`/api/search?q=${q}&start=1700000000&end=1700003600&minDuration=5s`);
    assert.equal(res.statusCode, 200, res.body);
    const [query] = spans.last('searchTraces') as [TraceSearchQuery];
    assert.deepEqual(query, {
      tenant: 'default',
      range: { start: 1_700_000_000_000_000_000n, end: 1_700_003_600_000_000_000n },
      conditions: [
        { scope: 'span', key: 'http.status_code', op: '>=', value: 500 },
        { scope: 'intrinsic', key: 'status', op: '=', value: 'error' },
      ],
      limit: 20,
      spansPerTrace: 3,
    });
    const body = res.json();
    assert.equal(body.traces[0].traceID, 'abc');
    assert.equal(body.traces[0].durationMs, 250);
    assert.deepEqual(body.traces[0].spanSets[0].spans[0].attributes, [
      { key: 'http.status_code', value: { intValue: '500' } },
      { key: 'status', value: { stringValue: 'error' } },
    ]);
    assert.deepEqual(body.traces[0].spanSet, body.traces[0].spanSets[0]);
    assert.deepEqual(body.metrics, { completedJobs: 1, totalJobs: 1 });
  });

  it('runs a tags search with durations, limit and spans per span set', async () => {
    const tags = encodeURIComponent('service.name=api region="eu west"');
    const res = await get(`/api/search?tags=${tags}&minDuration=100ms&maxDuration=1.5s&limit=5&spss=0`);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(spans.last('searchTraces'), [
      {
        tenant: 'default',
        conditions: [
          { scope: 'resource', key: 'service.name', op: '=~', value: '(?s).*api.*' },
          { scope: 'any', key: 'region', op: '=', value: 'eu west' },
        ],
        minDurationNs: 100_000_000n,
        maxDurationNs: 1_500_000_000n,
        limit: 5,
        spansPerTrace: 3,
      },
    ]);
    assert.deepEqual(res.json(), { traces: [], metrics: { completedJobs: 1, totalJobs: 1 } });
  });

  it('reads the oldest form, tags as separate parameters', async () => {
    await get('/api/search?service.name=api&limit=2');
    const [query] = spans.last('searchTraces') as [TraceSearchQuery];
    assert.deepEqual(query.conditions, [{ scope: 'resource', key: 'service.name', op: '=~', value: '(?s).*api.*' }]);
    assert.equal(query.limit, 2);
  });

  it("rejects bad parameters with Tempo's messages", async () => {
    await badRequest(`/api/search?q=${encodeURIComponent('{ .a = 1 } | count() > 2')}`, /^invalid TraceQL query: parse error at line 1, col 12: unsupported construct: pipelines/);
    await badRequest(`/api/search?q=%7B%7D&tags=a%3Db`, "invalid request: can't specify tags and q in the same query");
    await badRequest('/api/search?tags=a%3D%22b', 'invalid tags: unterminated quoted value at pos 5');
    await badRequest('/api/search?minDuration=abc', 'invalid minDuration: time: invalid duration "abc"');
    await badRequest('/api/search?minDuration=2s&maxDuration=1s', 'invalid maxDuration: must be greater than minDuration');
    await badRequest('/api/search?limit=0', 'invalid limit: must be a positive number');
    await badRequest('/api/search?limit=-1', 'invalid limit: strconv.ParseUint: parsing "-1": invalid syntax');
    await badRequest('/api/search?spss=101', 'spans per span set exceeds 100. received 101');
    await badRequest('/api/search?start=5', 'http parameter start must be before end. received start=5 end=0');
    await badRequest('/api/search?start=99999999999&end=99999999999', 'invalid start: strconv.ParseUint: parsing "99999999999": value out of range');
    assert.equal(spans.calls.length, 0);
  });
});

describe('tags', () => {
  it('lists v1 tag names, intrinsics only by scope', async () => {
    const res = await get('/api/search/tags?start=100&end=200');
    assert.deepEqual(res.json(), { tagNames: ['host.name', 'http.status_code', 'service.name'], metrics: {} });
    assert.deepEqual(spans.last('tagNames'), ['default', { start: 100_000_000_000n, end: 200_000_000_000n }]);
    const intrinsic = (await get('/api/search/tags?scope=intrinsic')).json();
    assert.ok(intrinsic.tagNames.includes('status'));
    assert.ok(intrinsic.tagNames.includes('trace:rootService'));
    assert.deepEqual((await get('/api/search/tags?scope=event')).json(), { tagNames: [], metrics: {} });
    assert.deepEqual((await get('/api/search/tags?limit=1')).json(), { tagNames: ['host.name'], metrics: {} });
    await badRequest('/api/search/tags?scope=bogus', 'invalid scope: bogus');
  });

  it('lists v2 tag names by scope', async () => {
    const all = (await get('/api/v2/search/tags')).json();
    assert.deepEqual(all.scopes.map((s: { name: string }) => s.name), ['resource', 'span', 'intrinsic']);
    assert.deepEqual(all.scopes[0].tags, ['host.name', 'service.name']);
    assert.deepEqual((await get('/api/v2/search/tags?scope=span')).json(), {
      scopes: [{ name: 'span', tags: ['http.status_code', 'service.name'] }],
      metrics: {},
    });
  });

  it('lists v1 tag values: strings of either scope, plus the virtual ones', async () => {
    assert.deepEqual((await get('/api/search/tag/service.name/values?limit=10')).json(), { tagValues: ['api'], metrics: {} });
    assert.deepEqual(spans.last('tagValues'), ['default', 'any', 'service.name', undefined, 10, undefined]);
    assert.deepEqual((await get('/api/search/tag/status.code/values')).json(), { tagValues: ['error', 'ok', 'unset'], metrics: {} });
    await get('/api/search/tag/name/values');
    assert.deepEqual(spans.last('tagValues').slice(1, 3), ['intrinsic', 'name']);
  });

  it('lists v2 tag values for TraceQL identifiers, filtered by q', async () => {
    const res = await get(`/api/v2/search/tag/resource.service.name/values?q=${encodeURIComponent('{ span.http.method = "GET" && name = }')}`);
    assert.deepEqual(res.json(), {
      tagValues: [
        { type: 'string', value: 'api' },
        { type: 'int', value: '7' },
      ],
      metrics: {},
    });
    assert.deepEqual(spans.last('tagValues'), [
      'default',
      'resource',
      'service.name',
      undefined,
      undefined,
      [{ scope: 'span', key: 'http.method', op: '=', value: 'GET' }],
    ]);
    await get('/api/v2/search/tag/.http.method/values');
    assert.deepEqual(spans.last('tagValues').slice(1, 3), ['any', 'http.method']);
    await get('/api/v2/search/tag/trace:rootService/values');
    assert.deepEqual(spans.last('tagValues').slice(1, 3), ['intrinsic', 'rootServiceName']);
  });

  it('answers intrinsic keywords without reading storage, and rejects bad identifiers', async () => {
    const status = (await get('/api/v2/search/tag/status/values')).json();
    assert.deepEqual(status.tagValues, [
      { type: 'keyword', value: 'ok' },
      { type: 'keyword', value: 'error' },
      { type: 'keyword', value: 'unset' },
    ]);
    assert.deepEqual((await get('/api/v2/search/tag/event.exception.type/values')).json(), { tagValues: [], metrics: {} });
    assert.deepEqual((await get('/api/v2/search/tag/trace:duration/values')).json(), { tagValues: [], metrics: {} });
    assert.equal(spans.calls.length, 0);
    await badRequest('/api/v2/search/tag/foo/values', /^please provide a valid tagName: failed to parse identifier foo: /);
    await badRequest('/api/v2/search/tag/.a/values?start=x', 'invalid start: strconv.ParseInt: parsing "x": invalid syntax');
  });
});

describe('echo and build info', () => {
  it('answers like Tempo', async () => {
    const echo = await get('/api/echo');
    assert.equal(echo.statusCode, 200);
    assert.equal(echo.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(echo.body, 'echo\n');
    const info = await get('/api/status/buildinfo');
    assert.equal(info.headers['content-type'], 'application/json');
    assert.deepEqual(Object.keys(info.json()), ['version', 'revision', 'branch', 'buildUser', 'buildDate', 'goVersion']);
    assert.equal(info.json().version, '1.2.3');
  });

  it('defaults the version to the server package', async () => {
    const other = Fastify();
    await other.register(tempoApi({ spans, tenantOf: () => 'default' }));
    const info = await other.inject({ method: 'GET', url: '/api/status/buildinfo' });
    assert.match(info.json().version, /^\d+\.\d+\.\d+/);
    await other.close();
  });
});
