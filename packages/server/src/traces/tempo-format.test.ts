import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Span } from '../model/index.js';
import type { TraceSummary } from '../storage/index.js';
import {
  searchResponseJson,
  tagNamesV1Json,
  tagNamesV2Json,
  tagValuesV1Json,
  tagValuesV2Json,
  traceIdForSearch,
  traceV1Json,
  traceV2Json,
  virtualTagValuesV1,
  virtualTagValuesV2,
  wrapTraceByIdResponse,
} from './tempo-format.js';

const TRACE = '00000000000000000123456789abcdef';

function span(overrides: Partial<Span>): Span {
  return {
    tenant: 't',
    traceId: TRACE,
    spanId: '0000000000000001',
    parentSpanId: '',
    traceState: '',
    flags: 0,
    name: 'root',
    kind: 2,
    startTime: 1_700_000_000_000_000_001n,
    endTime: 1_700_000_000_500_000_001n,
    serviceName: 'api',
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    statusCode: 0,
    statusMessage: '',
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }], droppedAttributesCount: 0, schemaUrl: '' },
    scope: { name: 'lib', version: '1.0', attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
    ...overrides,
  };
}

const API_RESOURCE = span({}).resource;
const DB_RESOURCE = { attributes: [{ key: 'service.name', value: { stringValue: 'db' } }], droppedAttributesCount: 1, schemaUrl: 'https://s' };

const SPANS: Span[] = [
  span({
    attributes: [
      { key: 'http.status_code', value: { intValue: '500' } },
      { key: 'zero', value: { intValue: '0' } },
      { key: 'off', value: { boolValue: false } },
      { key: 'nan', value: { doubleValue: Number.NaN } },
      { key: 'list', value: { arrayValue: { values: [{ stringValue: 'a' }, { doubleValue: 1.5 }] } } },
      { key: 'none', value: {} },
    ],
    statusCode: 2,
    statusMessage: 'boom',
    events: [{ timestamp: 1_700_000_000_100_000_000n, name: 'exception', attributes: [], droppedAttributesCount: 0 }],
    links: [{ traceId: 'ff'.repeat(16), spanId: '00000000000000ff', traceState: 'k=v', flags: 1, attributes: [], droppedAttributesCount: 0 }],
  }),
  span({ spanId: '0000000000000002', parentSpanId: '0000000000000001', name: 'q', kind: 3, resource: DB_RESOURCE }),
  span({ spanId: '0000000000000003', parentSpanId: '0000000000000001', name: 'inner', kind: 0, scope: { ...span({}).scope, name: 'other' } }),
  // Same resource content as the first span but a different object: still grouped with it.
  span({ spanId: '0000000000000004', parentSpanId: '0000000000000001', name: 'later', resource: { ...API_RESOURCE }, traceState: 'x=1', flags: 1 }),
];

describe('trace by id JSON', () => {
  it('groups spans by resource and scope in the jsonpb shape Tempo writes', () => {
    const json = traceV1Json(SPANS);
    assert.deepEqual(JSON.parse(JSON.stringify(json)), {
      batches: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
          scopeSpans: [
            {
              scope: { name: 'lib', version: '1.0' },
              spans: [
                {
                  traceId: 'AAAAAAAAAAABI0VniavN7w==',
                  spanId: 'AAAAAAAAAAE=',
                  name: 'root',
                  kind: 'SPAN_KIND_SERVER',
                  startTimeUnixNano: '1700000000000000001',
                  endTimeUnixNano: '1700000000500000001',
                  attributes: [
                    { key: 'http.status_code', value: { intValue: '500' } },
                    { key: 'zero', value: { intValue: '0' } },
                    { key: 'off', value: { boolValue: false } },
                    { key: 'nan', value: { doubleValue: 'NaN' } },
                    { key: 'list', value: { arrayValue: { values: [{ stringValue: 'a' }, { doubleValue: 1.5 }] } } },
                    { key: 'none', value: {} },
                  ],
                  events: [{ timeUnixNano: '1700000000100000000', name: 'exception' }],
                  links: [{ traceId: '/////////////////////w==', spanId: 'AAAAAAAAAP8=', traceState: 'k=v', flags: 1 }],
                  status: { message: 'boom', code: 'STATUS_CODE_ERROR' },
                },
                {
                  traceId: 'AAAAAAAAAAABI0VniavN7w==',
                  spanId: 'AAAAAAAAAAQ=',
                  traceState: 'x=1',
                  parentSpanId: 'AAAAAAAAAAE=',
                  flags: 1,
                  name: 'later',
                  kind: 'SPAN_KIND_SERVER',
                  startTimeUnixNano: '1700000000000000001',
                  endTimeUnixNano: '1700000000500000001',
                  status: {},
                },
              ],
            },
            {
              scope: { name: 'other', version: '1.0' },
              spans: [
                {
                  traceId: 'AAAAAAAAAAABI0VniavN7w==',
                  spanId: 'AAAAAAAAAAM=',
                  parentSpanId: 'AAAAAAAAAAE=',
                  name: 'inner',
                  startTimeUnixNano: '1700000000000000001',
                  endTimeUnixNano: '1700000000500000001',
                  status: {},
                },
              ],
            },
          ],
        },
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'db' } }], droppedAttributesCount: 1 },
          scopeSpans: [
            {
              scope: { name: 'lib', version: '1.0' },
              spans: [
                {
                  traceId: 'AAAAAAAAAAABI0VniavN7w==',
                  spanId: 'AAAAAAAAAAI=',
                  parentSpanId: 'AAAAAAAAAAE=',
                  name: 'q',
                  kind: 'SPAN_KIND_CLIENT',
                  startTimeUnixNano: '1700000000000000001',
                  endTimeUnixNano: '1700000000500000001',
                  status: {},
                },
              ],
            },
          ],
          schemaUrl: 'https://s',
        },
      ],
    });
  });

  it('wraps the same resource spans for v2, and answers an unknown trace with an empty one', () => {
    const v2 = traceV2Json(SPANS) as { trace: { resourceSpans: unknown[] }; metrics: unknown };
    assert.deepEqual(v2.trace.resourceSpans, (traceV1Json(SPANS) as { batches: unknown[] }).batches);
    assert.deepEqual(v2.metrics, {});
    assert.equal(JSON.stringify(traceV2Json([])), '{"trace":{},"metrics":{}}');
    assert.equal(JSON.stringify(traceV1Json([])), '{}');
  });

  it('writes TraceByIDResponse with both fields present', () => {
    assert.deepEqual([...wrapTraceByIdResponse(new Uint8Array([1, 2, 3]))], [0x0a, 3, 1, 2, 3, 0x12, 0]);
    assert.deepEqual([...wrapTraceByIdResponse(new Uint8Array(0))], [0x0a, 0, 0x12, 0]);
  });
});

describe('search response', () => {
  const summary = (overrides: Partial<TraceSummary>): TraceSummary => ({
    traceId: TRACE,
    rootServiceName: 'api',
    rootTraceName: 'root',
    startTime: 1_700_000_000_000_000_001n,
    durationNs: 1_500_999_999n,
    matchedSpans: [SPANS[0]!],
    matchedCount: 4,
    ...overrides,
  });

  it('writes Tempo SearchResponse JSON with the queried attributes on each span', () => {
    const json = searchResponseJson(
      [summary({}), summary({ traceId: 'f'.repeat(32), rootServiceName: '', rootTraceName: '', durationNs: 999_999n, matchedSpans: [] })],
      [
        { scope: 'span', key: 'http.status_code', op: '>=', value: 500 },
        { scope: 'any', key: 'service.name', op: '=', value: 'api' },
        { scope: 'intrinsic', key: 'status', op: '=', value: 'error' },
        { scope: 'intrinsic', key: 'kind', op: '=', value: 'server' },
        { scope: 'intrinsic', key: 'name', op: '=', value: 'root' },
        { scope: 'intrinsic', key: 'duration', op: '>', value: 1 },
        { scope: 'span', key: 'missing', op: '=', value: null },
        { scope: 'span', key: 'http.status_code', op: '<', value: 600 },
      ],
    );
    const spanSet = {
      spans: [
        {
          spanID: '0000000000000001',
          name: 'root',
          startTimeUnixNano: '1700000000000000001',
          durationNanos: '500000000',
          attributes: [
            { key: 'http.status_code', value: { intValue: '500' } },
            { key: 'service.name', value: { stringValue: 'api' } },
            { key: 'status', value: { stringValue: 'error' } },
            { key: 'kind', value: { stringValue: 'server' } },
          ],
        },
      ],
      matched: 4,
    };
    assert.deepEqual(JSON.parse(JSON.stringify(json)), {
      traces: [
        {
          traceID: '123456789abcdef',
          rootServiceName: 'api',
          rootTraceName: 'root',
          startTimeUnixNano: '1700000000000000001',
          durationMs: 1500,
          spanSet,
          spanSets: [spanSet],
        },
        {
          traceID: 'f'.repeat(32),
          rootServiceName: '<root span not yet received>',
          startTimeUnixNano: '1700000000000000001',
          spanSet: { matched: 4 },
          spanSets: [{ matched: 4 }],
        },
      ],
      metrics: { completedJobs: 1, totalJobs: 1 },
    });
    assert.deepEqual(searchResponseJson([], []), { traces: [], metrics: { completedJobs: 1, totalJobs: 1 } });
  });

  it('trims leading zeros from trace ids like Tempo', () => {
    assert.equal(traceIdForSearch('000000000000000000000000000000ab'), 'ab');
    assert.equal(traceIdForSearch('1'.repeat(32)), '1'.repeat(32));
  });
});

describe('tag responses', () => {
  it('sorts and de-duplicates names and values', () => {
    assert.deepEqual(tagNamesV1Json(['b', 'a', 'b']), { tagNames: ['a', 'b'], metrics: {} });
    assert.deepEqual(
      tagNamesV2Json([
        { name: 'resource', tags: ['service.name'] },
        { name: 'span', tags: [] },
        { name: 'intrinsic', tags: ['status', 'name'] },
      ]),
      { scopes: [{ name: 'resource', tags: ['service.name'] }, { name: 'intrinsic', tags: ['name', 'status'] }], metrics: {} },
    );
    assert.deepEqual(tagValuesV1Json(['y', 'x', 'x']), { tagValues: ['x', 'y'], metrics: {} });
    assert.deepEqual(
      tagValuesV2Json([
        { type: 'string', value: 'a' },
        { type: 'int', value: '1' },
        { type: 'string', value: 'a' },
      ]),
      { tagValues: [{ type: 'string', value: 'a' }, { type: 'int', value: '1' }], metrics: {} },
    );
  });

  it("answers intrinsic values the way Tempo's virtual tags do", () => {
    assert.deepEqual(virtualTagValuesV2('status')?.map((v) => v.value), ['ok', 'error', 'unset']);
    assert.deepEqual(virtualTagValuesV2('span:kind')?.[0], { type: 'keyword', value: 'client' });
    assert.deepEqual(virtualTagValuesV2('duration'), []);
    assert.equal(virtualTagValuesV2('resource.service.name'), undefined);
    assert.deepEqual(virtualTagValuesV1('status.code'), ['unset', 'ok', 'error']);
    assert.deepEqual(virtualTagValuesV1('service.name'), []);
  });
});
