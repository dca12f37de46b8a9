import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { KeyValue } from '../../model/index.js';
import {
  bytesToBase64,
  convertAnyValue,
  convertKeyValues,
  convertResource,
  convertScope,
  idProblem,
  int64ToDecimal,
  rejectionMessage,
  serviceNameOf,
  uint64ToBigInt,
} from './attributes.js';
import { decodeJsonRequest, decodeProtobufRequest } from './proto.js';
import type { PbExportLogsRequest, PbKeyValue } from './proto.js';

const require = createRequire(import.meta.url);
interface Codec {
  fromObject(o: Record<string, unknown>): unknown;
  encode(m: unknown): { finish(): Uint8Array };
}
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
  opentelemetry: {
    proto: {
      collector: { logs: { v1: { ExportLogsServiceRequest: Codec } } };
      common: { v1: { AnyValue: { prototype: Record<string, unknown> } } };
    };
  };
};
const LogsRequest = root.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;

/** Attributes of the first log record, decoded from OTLP/JSON text. */
function jsonAttributes(attributes: string): PbKeyValue[] {
  const text = `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":${attributes}}]}]}]}`;
  const request = decodeJsonRequest('logs', Buffer.from(text));
  return firstRecordAttributes(request);
}

/** Attributes of the first log record, encoded to protobuf bytes and decoded again. */
function protobufAttributes(attributes: Record<string, unknown>[]): PbKeyValue[] {
  const object = { resourceLogs: [{ scopeLogs: [{ logRecords: [{ attributes }] }] }] };
  const bytes = LogsRequest.encode(LogsRequest.fromObject(object)).finish();
  return firstRecordAttributes(decodeProtobufRequest('logs', bytes));
}

function firstRecordAttributes(request: PbExportLogsRequest): PbKeyValue[] {
  const attributes = request.resourceLogs?.[0]?.scopeLogs?.[0]?.logRecords?.[0]?.attributes;
  assert.ok(attributes);
  return attributes;
}

const EVERY_TYPE_JSON = `[
  {"key":"s","value":{"stringValue":"hello"}},
  {"key":"empty_s","value":{"stringValue":""}},
  {"key":"i","value":{"intValue":"42"}},
  {"key":"i_num","value":{"intValue":7}},
  {"key":"i_zero","value":{"intValue":"0"}},
  {"key":"i_neg","value":{"intValue":"-42"}},
  {"key":"i_max","value":{"intValue":"9223372036854775807"}},
  {"key":"i_min","value":{"intValue":"-9223372036854775808"}},
  {"key":"i_2p53","value":{"intValue":"9007199254740993"}},
  {"key":"d","value":{"doubleValue":1.5}},
  {"key":"d_whole","value":{"doubleValue":3}},
  {"key":"d_zero","value":{"doubleValue":0}},
  {"key":"d_nan","value":{"doubleValue":"NaN"}},
  {"key":"b_true","value":{"boolValue":true}},
  {"key":"b_false","value":{"boolValue":false}},
  {"key":"bytes","value":{"bytesValue":"AAEC/w=="}},
  {"key":"arr","value":{"arrayValue":{"values":[{"intValue":"1"},{"stringValue":"1"},{"doubleValue":1.5},{"boolValue":false},{}]}}},
  {"key":"empty_arr","value":{"arrayValue":{}}},
  {"key":"kv","value":{"kvlistValue":{"values":[
    {"key":"nested","value":{"kvlistValue":{"values":[{"key":"deep","value":{"bytesValue":"3q2+7w=="}}]}}},
    {"key":"list","value":{"arrayValue":{"values":[{"arrayValue":{"values":[{"intValue":"-1"}]}}]}}}
  ]}}},
  {"key":"empty_value","value":{}},
  {"key":"no_value"}
]`;

const EVERY_TYPE_OBJECT: Record<string, unknown>[] = [
  { key: 's', value: { stringValue: 'hello' } },
  { key: 'empty_s', value: { stringValue: '' } },
  { key: 'i', value: { intValue: 42 } },
  { key: 'i_num', value: { intValue: 7 } },
  { key: 'i_zero', value: { intValue: 0 } },
  { key: 'i_neg', value: { intValue: -42 } },
  { key: 'i_max', value: { intValue: '9223372036854775807' } },
  { key: 'i_min', value: { intValue: '-9223372036854775808' } },
  { key: 'i_2p53', value: { intValue: '9007199254740993' } },
  { key: 'd', value: { doubleValue: 1.5 } },
  { key: 'd_whole', value: { doubleValue: 3 } },
  { key: 'd_zero', value: { doubleValue: 0 } },
  { key: 'd_nan', value: { doubleValue: NaN } },
  { key: 'b_true', value: { boolValue: true } },
  { key: 'b_false', value: { boolValue: false } },
  { key: 'bytes', value: { bytesValue: Buffer.from([0, 1, 2, 255]) } },
  {
    key: 'arr',
    value: {
      arrayValue: { values: [{ intValue: 1 }, { stringValue: '1' }, { doubleValue: 1.5 }, { boolValue: false }, {}] },
    },
  },
  { key: 'empty_arr', value: { arrayValue: {} } },
  {
    key: 'kv',
    value: {
      kvlistValue: {
        values: [
          { key: 'nested', value: { kvlistValue: { values: [{ key: 'deep', value: { bytesValue: Buffer.from('deadbeef', 'hex') } }] } } },
          { key: 'list', value: { arrayValue: { values: [{ arrayValue: { values: [{ intValue: -1 }] } }] } } },
        ],
      },
    },
  },
  { key: 'empty_value', value: {} },
  { key: 'no_value' },
];

const EVERY_TYPE_EXPECTED: KeyValue[] = [
  { key: 's', value: { stringValue: 'hello' } },
  { key: 'empty_s', value: { stringValue: '' } },
  { key: 'i', value: { intValue: '42' } },
  { key: 'i_num', value: { intValue: '7' } },
  { key: 'i_zero', value: { intValue: '0' } },
  { key: 'i_neg', value: { intValue: '-42' } },
  { key: 'i_max', value: { intValue: '9223372036854775807' } },
  { key: 'i_min', value: { intValue: '-9223372036854775808' } },
  { key: 'i_2p53', value: { intValue: '9007199254740993' } },
  { key: 'd', value: { doubleValue: 1.5 } },
  { key: 'd_whole', value: { doubleValue: 3 } },
  { key: 'd_zero', value: { doubleValue: 0 } },
  { key: 'd_nan', value: { doubleValue: NaN } },
  { key: 'b_true', value: { boolValue: true } },
  { key: 'b_false', value: { boolValue: false } },
  { key: 'bytes', value: { bytesValue: 'AAEC/w==' } },
  {
    key: 'arr',
    value: {
      arrayValue: { values: [{ intValue: '1' }, { stringValue: '1' }, { doubleValue: 1.5 }, { boolValue: false }, {}] },
    },
  },
  { key: 'empty_arr', value: { arrayValue: { values: [] } } },
  {
    key: 'kv',
    value: {
      kvlistValue: {
        values: [
          { key: 'nested', value: { kvlistValue: { values: [{ key: 'deep', value: { bytesValue: '3q2+7w==' } }] } } },
          { key: 'list', value: { arrayValue: { values: [{ arrayValue: { values: [{ intValue: '-1' }] } }] } } },
        ],
      },
    },
  },
  { key: 'empty_value', value: {} },
  { key: 'no_value', value: {} },
];

describe('convertKeyValues', () => {
  it('keeps every AnyValue kind and its type from OTLP/JSON', () => {
    assert.deepEqual(convertKeyValues(jsonAttributes(EVERY_TYPE_JSON)), EVERY_TYPE_EXPECTED);
  });

  it('keeps every AnyValue kind and its type from protobuf', () => {
    assert.deepEqual(convertKeyValues(protobufAttributes(EVERY_TYPE_OBJECT)), EVERY_TYPE_EXPECTED);
  });

  it('tells an int from a double of the same value, and false/""/0 from absent', () => {
    for (const attributes of [jsonAttributes(EVERY_TYPE_JSON), protobufAttributes(EVERY_TYPE_OBJECT)]) {
      const byKey = new Map(convertKeyValues(attributes).map((kv) => [kv.key, kv.value]));
      assert.deepEqual(Object.keys(byKey.get('i_zero')!), ['intValue']);
      assert.deepEqual(Object.keys(byKey.get('d_zero')!), ['doubleValue']);
      assert.deepEqual(Object.keys(byKey.get('d_whole')!), ['doubleValue']);
      assert.deepEqual(Object.keys(byKey.get('b_false')!), ['boolValue']);
      assert.deepEqual(Object.keys(byKey.get('empty_s')!), ['stringValue']);
      assert.deepEqual(Object.keys(byKey.get('empty_value')!), []);
      assert.equal(typeof (byKey.get('i') as { intValue: unknown }).intValue, 'string');
      assert.equal(typeof (byKey.get('d') as { doubleValue: unknown }).doubleValue, 'number');
    }
  });

  it('relies on the generated AnyValue giving every oneof member a null default', () => {
    // convertAnyValue tests members with `!= null` instead of calling the `value` getter.
    const prototype = root.opentelemetry.proto.common.v1.AnyValue.prototype;
    for (const member of ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue']) {
      assert.equal(prototype[member], null, member);
    }
  });

  it('keeps order and duplicate keys', () => {
    const attributes = jsonAttributes('[{"key":"b","value":{"stringValue":"1"}},{"key":"a","value":{"stringValue":"2"}},{"key":"b","value":{"intValue":"3"}}]');
    assert.deepEqual(convertKeyValues(attributes), [
      { key: 'b', value: { stringValue: '1' } },
      { key: 'a', value: { stringValue: '2' } },
      { key: 'b', value: { intValue: '3' } },
    ]);
  });

  it('returns a fresh empty array for absent lists', () => {
    assert.deepEqual(convertKeyValues(undefined), []);
    assert.deepEqual(convertKeyValues(null), []);
    assert.deepEqual(convertAnyValue(null), {});
  });
});

describe('convertResource / convertScope / serviceNameOf', () => {
  it('converts the resource and scope with the schema urls of their enclosing messages', () => {
    const text = JSON.stringify({
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }], droppedAttributesCount: 2 },
          schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
          scopeLogs: [
            {
              scope: { name: 'lib', version: '1.2.3', attributes: [{ key: 'x', value: { boolValue: true } }], droppedAttributesCount: 1 },
              schemaUrl: 'https://opentelemetry.io/schemas/1.25.0',
              logRecords: [{}],
            },
          ],
        },
      ],
    });
    const request = decodeJsonRequest('logs', Buffer.from(text));
    const rl = request.resourceLogs![0]!;
    const sl = rl.scopeLogs![0]!;
    assert.deepEqual(convertResource(rl.resource, rl.schemaUrl), {
      attributes: [{ key: 'service.name', value: { stringValue: 'api' } }],
      droppedAttributesCount: 2,
      schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
    });
    assert.deepEqual(convertScope(sl.scope, sl.schemaUrl), {
      name: 'lib',
      version: '1.2.3',
      attributes: [{ key: 'x', value: { boolValue: true } }],
      droppedAttributesCount: 1,
      schemaUrl: 'https://opentelemetry.io/schemas/1.25.0',
    });
    assert.deepEqual(convertResource(undefined, undefined), { attributes: [], droppedAttributesCount: 0, schemaUrl: '' });
    assert.deepEqual(convertScope(null, null), { name: '', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' });
  });

  it('reads service.name, "" when absent, never unknown_service', () => {
    assert.equal(serviceNameOf([{ key: 'a', value: { stringValue: 'x' } }, { key: 'service.name', value: { stringValue: 'api' } }]), 'api');
    assert.equal(serviceNameOf([{ key: 'host.name', value: { stringValue: 'h' } }]), '');
    assert.equal(serviceNameOf([]), '');
    assert.equal(serviceNameOf([{ key: 'service.name', value: { intValue: '5' } }]), '5');
  });
});

describe('scalar helpers', () => {
  it('int64ToDecimal is exact on both sides of 2^53', () => {
    const long = (low: number, high: number, unsigned = false) => ({ low, high, unsigned });
    assert.equal(int64ToDecimal(long(5, 0)), '5');
    assert.equal(int64ToDecimal(long(-1, -1)), '-1');
    assert.equal(int64ToDecimal(long(0, 0x1fffff)), String(0x1fffff * 2 ** 32));
    assert.equal(int64ToDecimal(long(1, 0x200000)), '9007199254740993');
    assert.equal(int64ToDecimal(long(0, -0x80000000)), '-9223372036854775808');
    assert.equal(int64ToDecimal(long(-1, -1, true)), '18446744073709551615');
    assert.equal(int64ToDecimal(12), '12');
    assert.equal(int64ToDecimal('-12'), '-12');
    assert.equal(int64ToDecimal(null), '0');
  });

  it('uint64ToBigInt reads fixed64 as unsigned whatever the Long sign flag says', () => {
    assert.equal(uint64ToBigInt({ low: 0x0a4b5c01, high: 0x17a2b3c4, unsigned: true }), 0x17a2b3c40a4b5c01n);
    assert.equal(uint64ToBigInt({ low: 0x0a4b5c01, high: 0x17a2b3c4, unsigned: false }), 0x17a2b3c40a4b5c01n);
    assert.equal(uint64ToBigInt({ low: -1, high: -1, unsigned: false }), 18446744073709551615n);
    assert.equal(uint64ToBigInt({ low: 7, high: 0, unsigned: false }), 7n);
    assert.equal(uint64ToBigInt(null), 0n);
    assert.equal(uint64ToBigInt(undefined), 0n);
    assert.equal(uint64ToBigInt(1000), 1000n);
    assert.equal(uint64ToBigInt('1700000000000000001'), 1700000000000000001n);
  });

  it('idProblem names missing, short and zero ids', () => {
    assert.equal(idProblem('trace_id', Buffer.alloc(16, 1), 16), '');
    assert.equal(idProblem('trace_id', undefined, 16), 'trace_id is missing');
    assert.equal(idProblem('trace_id', new Uint8Array(0), 16), 'trace_id is missing');
    assert.equal(idProblem('trace_id', Buffer.alloc(5, 1), 16), 'trace_id must be 16 bytes, got 5');
    assert.equal(idProblem('span_id', Buffer.alloc(8), 8), 'span_id is all zeros');
  });

  it('bytesToBase64 respects the view offset', () => {
    const backing = Buffer.from([9, 9, 0, 1, 2, 255, 9]);
    assert.equal(bytesToBase64(new Uint8Array(backing.buffer, backing.byteOffset + 2, 4)), 'AAEC/w==');
    assert.equal(bytesToBase64(null), '');
  });

  it('rejectionMessage lists a few reasons then counts the rest', () => {
    assert.equal(rejectionMessage([], 0), '');
    assert.equal(rejectionMessage(['a', 'b'], 2), 'a; b');
    assert.equal(rejectionMessage(['a', 'b', 'c'], 10), 'a; b; c; and 7 more');
  });
});
