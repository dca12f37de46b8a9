import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource, Scope, Span } from '../../model/index.js';
import { decodeJsonRequest, decodeProtobufRequest, encodeProtobufRequest } from './proto.js';
import type { PbExportTraceRequest } from './proto.js';
import { convertTraces } from './traces.js';

/** The request as OTLP/JSON text (ids hex, bytes base64), decoded by the JSON path. */
function viaJson(request: Record<string, unknown>): PbExportTraceRequest {
  return decodeJsonRequest('traces', Buffer.from(JSON.stringify(request)));
}

/** The same request as protobuf bytes (ids as raw bytes), decoded by the protobuf path. */
function viaProtobuf(request: Record<string, unknown>): PbExportTraceRequest {
  return decodeProtobufRequest('traces', encodeProtobufRequest('traces', request));
}

const BOTH_PATHS = [
  ['JSON', viaJson],
  ['protobuf', viaProtobuf],
] as const;

const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const SPAN_ID = 'eee19b7ec3c1b174';
const PARENT_ID = 'eee19b7ec3c1b173';
const LINK_TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const LINK_SPAN_ID = 'b7ad6b7169203331';

const REQUEST = {
  resourceSpans: [
    {
      resource: {
        attributes: [
          { key: 'service.name', value: { stringValue: 'frontend' } },
          { key: 'deployment', value: { kvlistValue: { values: [{ key: 'env', value: { stringValue: 'prod' } }] } } },
        ],
        droppedAttributesCount: 6,
      },
      schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      scopeSpans: [
        {
          scope: { name: 'http', version: '2.0.0', attributes: [{ key: 'k', value: { intValue: '1' } }], droppedAttributesCount: 7 },
          schemaUrl: 'https://opentelemetry.io/schemas/1.24.0',
          spans: [
            {
              traceId: TRACE_ID,
              spanId: SPAN_ID,
              traceState: 'rojo=00f067aa0ba902b7',
              parentSpanId: PARENT_ID,
              flags: 769,
              name: 'GET /cart',
              kind: 2,
              startTimeUnixNano: '1700000000000000000',
              endTimeUnixNano: '1700000000123456789',
              attributes: [
                { key: 'http.response.status_code', value: { intValue: '200' } },
                { key: 'duration.s', value: { doubleValue: 0.123 } },
                { key: 'cached', value: { boolValue: true } },
                { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '2' }] } } },
                { key: 'blob', value: { bytesValue: '3q2+7w==' } },
              ],
              droppedAttributesCount: 1,
              events: [
                {
                  timeUnixNano: '1700000000000000100',
                  name: 'exception',
                  attributes: [{ key: 'exception.message', value: { stringValue: 'oops' } }],
                  droppedAttributesCount: 2,
                },
                { name: 'bare' },
              ],
              droppedEventsCount: 3,
              links: [
                {
                  traceId: LINK_TRACE_ID,
                  spanId: LINK_SPAN_ID,
                  traceState: 'congo=t61rcWkgMzE',
                  attributes: [{ key: 'link.kind', value: { stringValue: 'follows' } }],
                  droppedAttributesCount: 4,
                  flags: 257,
                },
                {},
              ],
              droppedLinksCount: 5,
              status: { code: 2, message: 'upstream failed' },
            },
            { traceId: TRACE_ID, spanId: PARENT_ID, name: 'root', startTimeUnixNano: '1', endTimeUnixNano: '2' },
          ],
        },
        {
          scope: { name: 'db' },
          spans: [
            {
              traceId: TRACE_ID,
              spanId: 'aaaaaaaaaaaaaaaa',
              parentSpanId: '0000000000000000',
              kind: 'SPAN_KIND_CLIENT',
              status: { code: 'STATUS_CODE_OK' },
              startTimeUnixNano: '18446744073709551615',
            },
            { traceId: TRACE_ID, spanId: 'bbbbbbbbbbbbbbbb', kind: 9, status: { code: 7 } },
            { traceId: TRACE_ID, spanId: 'cccccccccccccccc', kind: -1, status: { code: -2 } },
          ],
        },
      ],
    },
    { scopeSpans: [{ spans: [{ traceId: LINK_TRACE_ID, spanId: LINK_SPAN_ID, kind: 5, status: { code: 1 } }] }] },
  ],
};

const RESOURCE: Resource = {
  attributes: [
    { key: 'service.name', value: { stringValue: 'frontend' } },
    { key: 'deployment', value: { kvlistValue: { values: [{ key: 'env', value: { stringValue: 'prod' } }] } } },
  ],
  droppedAttributesCount: 6,
  schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
};
const HTTP_SCOPE: Scope = {
  name: 'http',
  version: '2.0.0',
  attributes: [{ key: 'k', value: { intValue: '1' } }],
  droppedAttributesCount: 7,
  schemaUrl: 'https://opentelemetry.io/schemas/1.24.0',
};
const DB_SCOPE: Scope = { name: 'db', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' };
const EMPTY_RESOURCE: Resource = { attributes: [], droppedAttributesCount: 0, schemaUrl: '' };
const EMPTY_SCOPE: Scope = { name: '', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' };

function span(overrides: Partial<Span>): Span {
  return {
    tenant: 'acme',
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    parentSpanId: '',
    traceState: '',
    flags: 0,
    name: '',
    kind: 0,
    startTime: 0n,
    endTime: 0n,
    serviceName: 'frontend',
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    statusCode: 0,
    statusMessage: '',
    resource: RESOURCE,
    scope: HTTP_SCOPE,
    ...overrides,
  };
}

const EXPECTED: Span[] = [
  span({
    parentSpanId: PARENT_ID,
    traceState: 'rojo=00f067aa0ba902b7',
    flags: 769,
    name: 'GET /cart',
    kind: 2,
    startTime: 1700000000000000000n,
    endTime: 1700000000123456789n,
    attributes: [
      { key: 'http.response.status_code', value: { intValue: '200' } },
      { key: 'duration.s', value: { doubleValue: 0.123 } },
      { key: 'cached', value: { boolValue: true } },
      { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '2' }] } } },
      { key: 'blob', value: { bytesValue: '3q2+7w==' } },
    ],
    droppedAttributesCount: 1,
    events: [
      {
        timestamp: 1700000000000000100n,
        name: 'exception',
        attributes: [{ key: 'exception.message', value: { stringValue: 'oops' } }],
        droppedAttributesCount: 2,
      },
      { timestamp: 0n, name: 'bare', attributes: [], droppedAttributesCount: 0 },
    ],
    droppedEventsCount: 3,
    links: [
      {
        traceId: LINK_TRACE_ID,
        spanId: LINK_SPAN_ID,
        traceState: 'congo=t61rcWkgMzE',
        flags: 257,
        attributes: [{ key: 'link.kind', value: { stringValue: 'follows' } }],
        droppedAttributesCount: 4,
      },
      { traceId: '', spanId: '', traceState: '', flags: 0, attributes: [], droppedAttributesCount: 0 },
    ],
    droppedLinksCount: 5,
    statusCode: 2,
    statusMessage: 'upstream failed',
  }),
  span({ spanId: PARENT_ID, name: 'root', startTime: 1n, endTime: 2n }),
  // all-zero parent = root; enum names; fixed64 max
  span({ spanId: 'aaaaaaaaaaaaaaaa', kind: 3, statusCode: 1, startTime: 18446744073709551615n, scope: DB_SCOPE }),
  // enum numbers outside OTLP's enums become unspecified / unset
  span({ spanId: 'bbbbbbbbbbbbbbbb', scope: DB_SCOPE }),
  span({ spanId: 'cccccccccccccccc', scope: DB_SCOPE }),
  span({
    traceId: LINK_TRACE_ID,
    spanId: LINK_SPAN_ID,
    kind: 5,
    statusCode: 1,
    serviceName: '',
    resource: EMPTY_RESOURCE,
    scope: EMPTY_SCOPE,
  }),
];

const GOOD = { traceId: TRACE_ID, spanId: SPAN_ID };
function requestOf(spans: Record<string, unknown>[]): Record<string, unknown> {
  return { resourceSpans: [{ scopeSpans: [{ spans }] }] };
}

/** One bad span each, with the reason it must be rejected for. */
const BAD_SPANS: [Record<string, unknown>, string][] = [
  [{ spanId: SPAN_ID }, 'trace_id is missing'],
  [{ traceId: '', spanId: SPAN_ID }, 'trace_id is missing'],
  [{ traceId: '0102030405', spanId: SPAN_ID }, 'trace_id must be 16 bytes, got 5'],
  [{ traceId: TRACE_ID + 'ff', spanId: SPAN_ID }, 'trace_id must be 16 bytes, got 17'],
  [{ traceId: '00000000000000000000000000000000', spanId: SPAN_ID }, 'trace_id is all zeros'],
  [{ traceId: TRACE_ID }, 'span_id is missing'],
  [{ traceId: TRACE_ID, spanId: '01020304050607' }, 'span_id must be 8 bytes, got 7'],
  [{ traceId: TRACE_ID, spanId: '0000000000000000' }, 'span_id is all zeros'],
  [{ ...GOOD, parentSpanId: '01020304' }, 'parent_span_id must be 8 bytes, got 4'],
  [{ ...GOOD, links: [{}, { traceId: '010203', spanId: SPAN_ID }] }, 'links[1].trace_id must be 16 bytes, got 3'],
  [{ ...GOOD, links: [{ traceId: TRACE_ID, spanId: SPAN_ID + '01' }] }, 'links[0].span_id must be 8 bytes, got 9'],
];

describe('convertTraces', () => {
  for (const [name, decode] of BOTH_PATHS) {
    it(`converts every field (${name})`, () => {
      const { spans, rejected, errorMessage } = convertTraces(decode(REQUEST), 'acme');
      assert.equal(rejected, 0);
      assert.equal(errorMessage, '');
      assert.deepEqual(spans, EXPECTED);
    });

    it(`shares one Resource and one Scope object per resource/scope (${name})`, () => {
      const { spans } = convertTraces(decode(REQUEST), 'acme');
      assert.equal(spans[0]!.resource, spans[4]!.resource);
      assert.equal(spans[0]!.scope, spans[1]!.scope);
      assert.equal(spans[2]!.scope, spans[4]!.scope);
      assert.notEqual(spans[1]!.scope, spans[2]!.scope);
      assert.notEqual(spans[4]!.resource, spans[5]!.resource);
    });

    for (const [n, [bad, reason]] of BAD_SPANS.entries()) {
      it(`rejects a span, case ${n}: ${reason} (${name})`, () => {
        const { spans, rejected, errorMessage } = convertTraces(decode(requestOf([GOOD, bad, GOOD])), 'acme');
        assert.equal(rejected, 1);
        assert.equal(errorMessage, `span 1: ${reason}`);
        assert.deepEqual(
          spans.map((s) => [s.traceId, s.spanId]),
          [
            [TRACE_ID, SPAN_ID],
            [TRACE_ID, SPAN_ID],
          ],
        );
      });
    }

    it(`numbers spans across resources and scopes and caps the message (${name})`, () => {
      const bads = BAD_SPANS.map(([bad]) => bad);
      const request = {
        resourceSpans: [
          { scopeSpans: [{ spans: [GOOD, bads[2]] }, { spans: [bads[6], GOOD] }] },
          { scopeSpans: [{ spans: bads.slice(8) }] },
        ],
      };
      const { spans, rejected, errorMessage } = convertTraces(decode(request), 'acme');
      assert.equal(spans.length, 2);
      assert.equal(rejected, 5);
      assert.equal(
        errorMessage,
        'span 1: trace_id must be 16 bytes, got 5; span 2: span_id must be 8 bytes, got 7; ' +
          'span 4: parent_span_id must be 8 bytes, got 4; and 2 more',
      );
    });
  }

  it('handles an empty request and empty containers', () => {
    assert.deepEqual(convertTraces(viaJson({}), 'acme'), { spans: [], rejected: 0, errorMessage: '' });
    assert.deepEqual(convertTraces(viaProtobuf({ resourceSpans: [{}, { scopeSpans: [{}] }] }), 'acme'), {
      spans: [],
      rejected: 0,
      errorMessage: '',
    });
  });
});
