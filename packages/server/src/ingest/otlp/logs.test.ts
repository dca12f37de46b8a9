import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TENANT } from '../../model/index.js';
import type { LogRecord, Resource, Scope } from '../../model/index.js';
import { convertLogs } from './logs.js';
import { decodeJsonRequest, decodeProtobufRequest, encodeProtobufRequest } from './proto.js';
import type { PbExportLogsRequest } from './proto.js';

/** The request as OTLP/JSON text (ids hex, bytes base64), decoded by the JSON path. */
function viaJson(request: Record<string, unknown>): PbExportLogsRequest {
  return decodeJsonRequest('logs', Buffer.from(JSON.stringify(request)));
}

/** The same request as protobuf bytes (ids as raw bytes), decoded by the protobuf path. */
function viaProtobuf(request: Record<string, unknown>): PbExportLogsRequest {
  return decodeProtobufRequest('logs', encodeProtobufRequest('logs', request));
}

const BOTH_PATHS = [
  ['JSON', viaJson],
  ['protobuf', viaProtobuf],
] as const;

const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const SPAN_ID = 'eee19b7ec3c1b174';

const REQUEST = {
  resourceLogs: [
    {
      resource: {
        attributes: [
          { key: 'service.name', value: { stringValue: 'checkout' } },
          { key: 'host.cpus', value: { intValue: '4' } },
        ],
        droppedAttributesCount: 1,
      },
      schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      scopeLogs: [
        {
          scope: { name: 'app.logger', version: '1.0.0', attributes: [{ key: 'lib', value: { boolValue: true } }], droppedAttributesCount: 2 },
          schemaUrl: 'https://opentelemetry.io/schemas/1.25.0',
          logRecords: [
            {
              timeUnixNano: '1700000000000000001',
              observedTimeUnixNano: '1700000000000000002',
              severityNumber: 17,
              severityText: 'ERROR',
              body: { stringValue: 'boom\nline 2' },
              attributes: [
                { key: 'http.status_code', value: { intValue: '500' } },
                { key: 'ratio', value: { doubleValue: 0.25 } },
                { key: 'retry', value: { boolValue: false } },
              ],
              droppedAttributesCount: 3,
              flags: 257,
              traceId: TRACE_ID,
              spanId: SPAN_ID,
              eventName: 'app.failure',
            },
            { timeUnixNano: '0', observedTimeUnixNano: '1700000000000000500', body: { intValue: '-42' } },
            {
              timeUnixNano: '1700000000000000600',
              body: { kvlistValue: { values: [{ key: 'msg', value: { stringValue: 'hi' } }, { key: 'n', value: { doubleValue: 2 } }] } },
              traceId: '00000000000000000000000000000000',
              spanId: '0000000000000000',
            },
            { timeUnixNano: '1700000000000000700' },
            { timeUnixNano: '1700000000000000800', body: {} },
            { timeUnixNano: '1700000000000000900', body: { bytesValue: 'AAEC/w==' } },
          ],
        },
        {
          scope: { name: 'other' },
          logRecords: [
            { timeUnixNano: '1700000000000001000', body: { arrayValue: { values: [{ intValue: '1' }, { stringValue: '1' }] } } },
            { timeUnixNano: '1700000000000001100', body: { doubleValue: 1.5 } },
            { timeUnixNano: '1700000000000001200', body: { boolValue: false } },
            { timeUnixNano: '1700000000000001300', body: { stringValue: '' } },
          ],
        },
      ],
    },
    {
      scopeLogs: [{ logRecords: [{ timeUnixNano: '18446744073709551615', observedTimeUnixNano: '1', severityNumber: 9 }] }],
    },
  ],
};

const RESOURCE: Resource = {
  attributes: [
    { key: 'service.name', value: { stringValue: 'checkout' } },
    { key: 'host.cpus', value: { intValue: '4' } },
  ],
  droppedAttributesCount: 1,
  schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
};
const SCOPE: Scope = {
  name: 'app.logger',
  version: '1.0.0',
  attributes: [{ key: 'lib', value: { boolValue: true } }],
  droppedAttributesCount: 2,
  schemaUrl: 'https://opentelemetry.io/schemas/1.25.0',
};
const OTHER_SCOPE: Scope = { name: 'other', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' };
const EMPTY_RESOURCE: Resource = { attributes: [], droppedAttributesCount: 0, schemaUrl: '' };
const EMPTY_SCOPE: Scope = { name: '', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' };

/** A record of the first resource with everything at its zero value. */
function record(overrides: Partial<LogRecord>): LogRecord {
  return {
    tenant: 'acme',
    timestamp: 0n,
    observedTimestamp: 0n,
    traceId: '',
    spanId: '',
    flags: 0,
    severityText: '',
    severityNumber: 0,
    serviceName: 'checkout',
    streamLabels: { service_name: 'checkout' },
    body: '',
    bodyType: '',
    eventName: '',
    attributes: [],
    droppedAttributesCount: 0,
    resource: RESOURCE,
    scope: SCOPE,
    ...overrides,
  };
}

describe('convertLogs', () => {
  for (const [name, decode] of BOTH_PATHS) {
    it(`converts every field (${name})`, () => {
      const before = BigInt(Date.now()) * 1_000_000n;
      const { records, rejected, errorMessage } = convertLogs(decode(REQUEST), 'acme');
      const after = BigInt(Date.now()) * 1_000_000n;
      assert.equal(rejected, 0);
      assert.equal(errorMessage, '');
      assert.equal(records.length, 11);

      // Record 3 has neither timestamp: both become the receive time.
      const received = records[3]!.observedTimestamp;
      assert.ok(received >= before && received <= after, `receive time ${received} not in [${before}, ${after}]`);

      assert.deepEqual(records, [
        record({
          timestamp: 1700000000000000001n,
          observedTimestamp: 1700000000000000002n,
          traceId: TRACE_ID,
          spanId: SPAN_ID,
          flags: 257,
          severityText: 'ERROR',
          severityNumber: 17,
          body: 'boom\nline 2',
          eventName: 'app.failure',
          attributes: [
            { key: 'http.status_code', value: { intValue: '500' } },
            { key: 'ratio', value: { doubleValue: 0.25 } },
            { key: 'retry', value: { boolValue: false } },
          ],
          droppedAttributesCount: 3,
        }),
        // time 0 → the observed time
        record({ timestamp: 1700000000000000500n, observedTimestamp: 1700000000000000500n, body: '-42', bodyType: 'int' }),
        // all-zero ids mean "no trace context"; observed 0 → receive time
        record({
          timestamp: 1700000000000000600n,
          observedTimestamp: records[2]!.observedTimestamp,
          body: '[{"key":"msg","value":{"stringValue":"hi"}},{"key":"n","value":{"doubleValue":2}}]',
          bodyType: 'kvlist',
        }),
        record({ timestamp: 1700000000000000700n, observedTimestamp: received }),
        record({ timestamp: 1700000000000000800n, observedTimestamp: records[4]!.observedTimestamp, body: '', bodyType: 'empty' }),
        record({ timestamp: 1700000000000000900n, observedTimestamp: records[5]!.observedTimestamp, body: 'AAEC/w==', bodyType: 'bytes' }),
        record({
          timestamp: 1700000000000001000n,
          observedTimestamp: records[6]!.observedTimestamp,
          body: '[{"intValue":"1"},{"stringValue":"1"}]',
          bodyType: 'array',
          scope: OTHER_SCOPE,
        }),
        record({ timestamp: 1700000000000001100n, observedTimestamp: records[7]!.observedTimestamp, body: '1.5', bodyType: 'double', scope: OTHER_SCOPE }),
        record({ timestamp: 1700000000000001200n, observedTimestamp: records[8]!.observedTimestamp, body: 'false', bodyType: 'bool', scope: OTHER_SCOPE }),
        record({ timestamp: 1700000000000001300n, observedTimestamp: records[9]!.observedTimestamp, body: '', bodyType: '', scope: OTHER_SCOPE }),
        // no resource: no service name; fixed64 max survives both paths
        record({
          timestamp: 18446744073709551615n,
          observedTimestamp: 1n,
          severityNumber: 9,
          serviceName: '',
          streamLabels: { service_name: 'unknown_service' },
          resource: EMPTY_RESOURCE,
          scope: EMPTY_SCOPE,
        }),
      ]);
      for (const i of [2, 4, 5, 6, 7, 8, 9]) assert.equal(records[i]!.observedTimestamp, received);
    });

    it(`shares one Resource and one Scope object per resource/scope (${name})`, () => {
      const { records } = convertLogs(decode(REQUEST), 'acme');
      assert.equal(records[0]!.resource, records[9]!.resource);
      assert.equal(records[0]!.scope, records[5]!.scope);
      assert.equal(records[6]!.scope, records[9]!.scope);
      assert.notEqual(records[5]!.scope, records[6]!.scope);
      assert.notEqual(records[9]!.resource, records[10]!.resource);
      assert.notEqual(records[0]!.attributes, records[1]!.attributes);
    });

    it(`rejects records whose present ids have the wrong length (${name})`, () => {
      const bad = (traceId: string, spanId: string) => ({ timeUnixNano: '5', traceId, spanId });
      const { records, rejected, errorMessage } = convertLogs(
        decode({
          resourceLogs: [
            {
              scopeLogs: [
                {
                  logRecords: [
                    bad('0102030405', ''),
                    bad(TRACE_ID, SPAN_ID),
                    bad('', '01020304'),
                    bad(TRACE_ID, '0102'),
                    bad('', SPAN_ID),
                    bad(TRACE_ID + '00', SPAN_ID),
                    bad(TRACE_ID, SPAN_ID + SPAN_ID),
                  ],
                },
              ],
            },
          ],
        }),
        'acme',
      );
      assert.equal(rejected, 5);
      assert.equal(
        errorMessage,
        'log record 0: trace_id must be 16 bytes, got 5; log record 2: span_id must be 8 bytes, got 4; ' +
          'log record 3: span_id must be 8 bytes, got 2; and 2 more',
      );
      assert.deepEqual(
        records.map((r) => [r.traceId, r.spanId, r.timestamp]),
        [
          [TRACE_ID, SPAN_ID, 5n],
          ['', SPAN_ID, 5n],
        ],
      );
    });
  }

  it('accepts enum names in OTLP/JSON and maps unknown severity numbers to 0', () => {
    const { records } = convertLogs(
      viaJson({
        resourceLogs: [
          { scopeLogs: [{ logRecords: [{ timeUnixNano: '1', severityNumber: 'SEVERITY_NUMBER_WARN' }, { timeUnixNano: '1', severityNumber: 99 }] }] },
        ],
      }),
      DEFAULT_TENANT,
    );
    assert.deepEqual(
      records.map((r) => r.severityNumber),
      [13, 0],
    );
  });

  it('handles an empty request and empty containers', () => {
    assert.deepEqual(convertLogs(viaJson({}), DEFAULT_TENANT), { records: [], rejected: 0, errorMessage: '' });
    assert.deepEqual(convertLogs(viaProtobuf({ resourceLogs: [{}, { scopeLogs: [{}] }] }), DEFAULT_TENANT), {
      records: [],
      rejected: 0,
      errorMessage: '',
    });
  });
});
