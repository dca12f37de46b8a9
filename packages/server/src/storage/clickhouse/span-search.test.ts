import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import type { KeyValue, Span } from '../../model/index.js';
import type { SpanCondition, TraceSearchQuery } from '../types.js';
import { MIGRATIONS } from './migrations.js';
import { spanRowsText } from './rows.js';
import { createSpanSearch, type SpanSearch } from './span-search.js';

// Recent: rows older than the table's TTL are dropped as they are written.
const T0 = BigInt(Date.now() - 3_600_000) * 1_000_000n;
const MS = 1_000_000n;
const TRACE_A = '0000000000000000000000000000000a';
const TRACE_B = '0000000000000000000000000000000b';
const TRACE_C = '0000000000000000000000000000000c';
const TRACE_D = '0000000000000000000000000000000d';

const str = (key: string, value: string): KeyValue => ({ key, value: { stringValue: value } });
const int = (key: string, value: number): KeyValue => ({ key, value: { intValue: String(value) } });

function span(fields: {
  tenant?: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  service: string;
  resourceAttrs?: KeyValue[];
  name: string;
  kind: number;
  status?: number;
  statusMessage?: string;
  start: bigint;
  durationMs: bigint;
  attrs?: KeyValue[];
}): Span {
  return {
    tenant: fields.tenant ?? 't1',
    traceId: fields.traceId,
    spanId: fields.spanId,
    parentSpanId: fields.parentSpanId ?? '',
    traceState: '',
    flags: 0,
    name: fields.name,
    kind: fields.kind,
    startTime: fields.start,
    endTime: fields.start + fields.durationMs * MS,
    serviceName: fields.service,
    attributes: fields.attrs ?? [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    statusCode: fields.status ?? 0,
    statusMessage: fields.statusMessage ?? '',
    resource: { attributes: [str('service.name', fields.service), ...(fields.resourceAttrs ?? [])], droppedAttributesCount: 0, schemaUrl: '' },
    scope: { name: 'test', version: '1', attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
  };
}

// Kinds: 1 internal, 2 server, 3 client, 5 consumer. Status: 1 ok, 2 error.
const SPANS: Span[] = [
  span({ traceId: TRACE_A, spanId: 'a000000000000001', service: 'frontend', resourceAttrs: [str('deployment.environment', 'prod')],
    name: 'GET /cart', kind: 2, start: T0, durationMs: 500n, attrs: [int('http.status_code', 200), str('http.method', 'GET')] }),
  span({ traceId: TRACE_A, spanId: 'a000000000000002', parentSpanId: 'a000000000000001', service: 'cart', name: 'SELECT', kind: 3,
    status: 2, statusMessage: 'timeout', start: T0 + 100n * MS, durationMs: 300n,
    attrs: [str('db.system', 'postgresql'), { key: 'retry', value: { boolValue: true } }, { key: 'ratio', value: { doubleValue: 0.5 } }] }),
  span({ traceId: TRACE_A, spanId: 'a000000000000003', parentSpanId: 'a000000000000001', service: 'cart', name: 'cache', kind: 1,
    start: T0 + 150n * MS, durationMs: 10n, attrs: [int('http.status_code', 500)] }),
  span({ traceId: TRACE_B, spanId: 'b000000000000001', service: 'frontend', resourceAttrs: [str('region', 'us')], name: 'POST /checkout',
    kind: 2, status: 1, start: T0 + 10_000n * MS, durationMs: 2_000n,
    attrs: [int('http.status_code', 503), str('http.method', 'POST'), str('region', 'eu')] }),
  span({ traceId: TRACE_B, spanId: 'b000000000000002', parentSpanId: 'b000000000000001', service: 'payment', name: 'charge', kind: 3,
    status: 2, start: T0 + 11_000n * MS, durationMs: 900n, attrs: [str('http.status_code', '500')] }),
  span({ traceId: TRACE_C, spanId: 'c000000000000001', parentSpanId: 'ffffffffffffffff', service: 'worker', name: 'job', kind: 5,
    start: T0 + 20_000n * MS, durationMs: 50n, attrs: [str('queue', 'q1')] }),
  span({ tenant: 't2', traceId: TRACE_D, spanId: 'd000000000000001', service: 'frontend', name: 'GET /other', kind: 2,
    start: T0 + 30_000n * MS, durationMs: 5n }),
];

type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

let dir: string;
let client: ClickHouseClient;
let search: SpanSearch;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lookout-span-search-'));
  // chdb ships its own copy of @clickhouse/client-common: same contract, different declaration.
  client = createClient({ connection: createChdbConnection({ path: dir }) as unknown as ClientConnection });
  for (const statement of MIGRATIONS[0]!.statements({ logs: 7, traces: 7, metrics: 7 })) await client.command({ query: statement });
  const result = await client.exec({
    query: 'INSERT INTO otel_traces FORMAT JSONEachRow',
    values: Readable.from([Buffer.from(spanRowsText(SPANS))]),
  });
  result.stream.destroy();
  search = createSpanSearch(async (sql, params) => {
    const rs = await client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
    return (await rs.json()) as Record<string, unknown>[];
  });
});

after(async () => {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

function find(conditions: SpanCondition[], extra: Partial<TraceSearchQuery> = {}) {
  return search.searchTraces({ tenant: 't1', conditions, limit: 20, spansPerTrace: 3, ...extra });
}

async function ids(conditions: SpanCondition[], extra: Partial<TraceSearchQuery> = {}): Promise<string[]> {
  return (await find(conditions, extra)).map((t) => t.traceId);
}

const cond = (scope: SpanCondition['scope'], key: string, op: SpanCondition['op'], value: SpanCondition['value']): SpanCondition => ({
  scope,
  key,
  op,
  value,
});

describe('searchTraces', () => {
  it('returns the newest traces with root, start, duration and matched spans', async () => {
    const traces = await find([], { spansPerTrace: 2 });
    assert.deepEqual(traces.map((t) => t.traceId), [TRACE_C, TRACE_B, TRACE_A]);
    const [c, b, a] = traces;
    assert.equal(a!.rootServiceName, 'frontend');
    assert.equal(a!.rootTraceName, 'GET /cart');
    assert.equal(a!.startTime, T0);
    assert.equal(a!.durationNs, 500n * MS);
    assert.equal(a!.matchedCount, 3);
    assert.deepEqual(a!.matchedSpans.map((s) => s.spanId), ['a000000000000001', 'a000000000000002']);
    assert.equal(b!.durationNs, 2_000n * MS);
    assert.equal(b!.matchedCount, 2);
    // No root span received yet: the API layer shows Tempo's placeholder.
    assert.equal(c!.rootServiceName, '');
    assert.equal(c!.rootTraceName, '');
    const full = a!.matchedSpans[1]!;
    assert.equal(full.name, 'SELECT');
    assert.equal(full.kind, 3);
    assert.equal(full.statusCode, 2);
    assert.equal(full.statusMessage, 'timeout');
    assert.equal(full.startTime, T0 + 100n * MS);
    assert.equal(full.endTime, T0 + 400n * MS);
    assert.deepEqual(full.attributes, [
      { key: 'db.system', value: { stringValue: 'postgresql' } },
      { key: 'retry', value: { boolValue: true } },
      { key: 'ratio', value: { doubleValue: 0.5 } },
    ]);
  });

  it('keeps tenants apart', async () => {
    assert.deepEqual(await ids([], { tenant: 't2' }), [TRACE_D]);
    assert.deepEqual(await ids([], { tenant: 'nobody' }), []);
  });

  it('compares attributes with their own type', async () => {
    const numeric = await find([cond('span', 'http.status_code', '>=', 500)]);
    assert.deepEqual(numeric.map((t) => [t.traceId, t.matchedCount, t.matchedSpans.map((s) => s.spanId)]), [
      [TRACE_B, 1, ['b000000000000001']],
      [TRACE_A, 1, ['a000000000000003']],
    ]);
    assert.deepEqual(await ids([cond('span', 'http.status_code', '=', '500')]), [TRACE_B]);
    assert.deepEqual(await ids([cond('span', 'ratio', '>', 0.25)]), [TRACE_A]);
    assert.deepEqual(await ids([cond('span', 'retry', '=', true)]), [TRACE_A]);
    assert.deepEqual(await ids([cond('span', 'retry', '=', 'true')]), []);
    assert.deepEqual(await ids([cond('span', 'http.method', '>', 'H')]), [TRACE_B]);
  });

  it('requires every condition on the same span', async () => {
    assert.deepEqual(await ids([cond('intrinsic', 'status', '=', 'error'), cond('resource', 'service.name', '=', 'cart')]), [TRACE_A]);
    assert.deepEqual(await ids([cond('intrinsic', 'kind', '=', 'server'), cond('span', 'db.system', '=', 'postgresql')]), []);
  });

  it('looks unscoped attributes up on the span first, then the resource', async () => {
    assert.deepEqual(await ids([cond('any', 'region', '=', 'eu')]), [TRACE_B]);
    assert.deepEqual(await ids([cond('resource', 'region', '=', 'us')]), [TRACE_B]);
    assert.deepEqual(await ids([cond('any', 'region', '=', 'us')]), []);
    assert.deepEqual(await ids([cond('any', 'deployment.environment', '=', 'prod')]), [TRACE_A]);
  });

  it('anchors regular expressions', async () => {
    assert.deepEqual(await ids([cond('intrinsic', 'name', '=~', 'GET')]), []);
    assert.deepEqual(await ids([cond('intrinsic', 'name', '=~', 'GET.*')]), [TRACE_A]);
    assert.deepEqual(await ids([cond('intrinsic', 'name', '=~', '(?:a)|(?:GET /cart)')]), [TRACE_A]);
    const notCart = await find([cond('span', 'http.method', '!~', 'G.*')]);
    assert.deepEqual(notCart.map((t) => t.traceId), [TRACE_B]);
    assert.deepEqual(await ids([cond('resource', 'service.name', '=~', '(?s).*ymen.*')]), [TRACE_B]);
  });

  it('handles nil, any-of values, intrinsics and span duration', async () => {
    assert.deepEqual(await ids([cond('span', 'db.system', '!=', null)]), [TRACE_A]);
    assert.deepEqual(await ids([cond('intrinsic', 'kind', '=', 'client'), cond('span', 'http.method', '=', null)]), [TRACE_B, TRACE_A]);
    assert.deepEqual(await ids([cond('resource', 'service.name', '=', ['payment', 'worker'])]), [TRACE_C, TRACE_B]);
    assert.deepEqual(await ids([cond('span', 'http.status_code', '=', [200, 503])]), [TRACE_B, TRACE_A]);
    assert.deepEqual(await ids([cond('intrinsic', 'status', '!=', 'unset'), cond('intrinsic', 'kind', '=', ['server', 'consumer'])]), [
      TRACE_B,
    ]);
    assert.deepEqual(await ids([cond('intrinsic', 'duration', '>', 1_000_000_000)]), [TRACE_B]);
    assert.deepEqual(await ids([cond('intrinsic', 'statusMessage', '=', 'timeout')]), [TRACE_A]);
  });

  it('applies trace-level conditions and min/max duration to the whole trace', async () => {
    assert.deepEqual(await ids([cond('intrinsic', 'rootServiceName', '=', 'frontend'), cond('intrinsic', 'duration', '>', 1e9)]), [
      TRACE_B,
    ]);
    assert.deepEqual(await ids([cond('intrinsic', 'traceDuration', '>', 1e9)]), [TRACE_B]);
    assert.deepEqual(await ids([cond('intrinsic', 'rootName', '=', 'GET /cart')]), [TRACE_A]);
    assert.deepEqual(await ids([cond('intrinsic', 'rootName', '=~', '.*')]), [TRACE_C, TRACE_B, TRACE_A]);
    assert.deepEqual(await ids([], { minDurationNs: 400n * MS, maxDurationNs: 1_000n * MS }), [TRACE_A]);
    // The trace-level duration counts every span, also those that did not match.
    assert.deepEqual(await ids([cond('span', 'db.system', '=', 'postgresql')], { minDurationNs: 500n * MS }), [TRACE_A]);
  });

  it('honours the time range and the limit', async () => {
    assert.deepEqual(await ids([], { range: { start: T0 - 1n, end: T0 + 1_000n * MS } }), [TRACE_A]);
    assert.deepEqual(await ids([], { limit: 1 }), [TRACE_C]);
    const [a] = await find([], { range: { start: T0 + 120n * MS, end: T0 + 1_000n * MS } });
    // Spans outside the range do not match, but the trace summary still covers the whole trace.
    assert.equal(a!.matchedCount, 1);
    assert.equal(a!.startTime, T0);
    assert.equal(a!.rootServiceName, 'frontend');
  });
});

describe('tagNames and tagValues', () => {
  it('lists attribute keys by scope', async () => {
    assert.deepEqual(await search.tagNames('t1'), {
      resource: ['deployment.environment', 'region', 'service.name'],
      span: ['db.system', 'http.method', 'http.status_code', 'queue', 'ratio', 'region', 'retry'],
    });
    assert.deepEqual(await search.tagNames('t1', { start: T0 + 20_000n * MS, end: T0 + 21_000n * MS }), {
      resource: ['service.name'],
      span: ['queue'],
    });
  });

  it('returns typed values', async () => {
    assert.deepEqual(await search.tagValues('t1', 'span', 'http.status_code'), [
      { type: 'int', value: '200' },
      { type: 'string', value: '500' },
      { type: 'int', value: '500' },
      { type: 'int', value: '503' },
    ]);
    assert.deepEqual(await search.tagValues('t1', 'span', 'ratio'), [{ type: 'float', value: '0.5' }]);
    assert.deepEqual(await search.tagValues('t1', 'span', 'retry'), [{ type: 'bool', value: 'true' }]);
    assert.deepEqual(
      (await search.tagValues('t1', 'any', 'service.name')).map((v) => v.value),
      ['cart', 'frontend', 'payment', 'worker'],
    );
    assert.deepEqual(await search.tagValues('t1', 'any', 'region'), [
      { type: 'string', value: 'eu' },
      { type: 'string', value: 'us' },
    ]);
    assert.deepEqual((await search.tagValues('t1', 'resource', 'service.name', undefined, 2)).map((v) => v.value), ['cart', 'frontend']);
  });

  it('returns intrinsic values', async () => {
    assert.deepEqual((await search.tagValues('t1', 'intrinsic', 'rootServiceName')).map((v) => v.value), ['frontend']);
    assert.deepEqual((await search.tagValues('t1', 'intrinsic', 'name', { start: T0, end: T0 + 200n * MS })).map((v) => v.value), [
      'GET /cart',
      'SELECT',
      'cache',
    ]);
    assert.deepEqual(await search.tagValues('t1', 'intrinsic', 'status'), [
      { type: 'keyword', value: 'error' },
      { type: 'keyword', value: 'ok' },
      { type: 'keyword', value: 'unset' },
    ]);
    assert.deepEqual((await search.tagValues('t1', 'intrinsic', 'kind')).map((v) => v.value), ['client', 'consumer', 'internal', 'server']);
    assert.deepEqual(await search.tagValues('t1', 'intrinsic', 'duration'), []);
  });

  it('restricts values to spans matching the conditions', async () => {
    const values = await search.tagValues('t1', 'any', 'service.name', undefined, undefined, [cond('intrinsic', 'status', '=', 'error')]);
    assert.deepEqual(values.map((v) => v.value), ['cart', 'payment']);
  });
});
