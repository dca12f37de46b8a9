/**
 * Conversion helpers shared by the OTLP logs and traces converters: protobufjs message
 * objects (decoded from protobuf or OTLP/JSON) → the model's OTLP-JSON-shaped values.
 * Hot path: plain loops, no closures, one object per value.
 */
import { anyValueToText } from '../../model/index.js';
import type { AnyValue, KeyValue, Resource, Scope } from '../../model/index.js';
import { int64ToBigInt } from './proto.js';
import type { PbAnyValue, PbInt64, PbKeyValue, PbResource, PbScope } from './proto.js';

/**
 * One AnyValue; absent → `{}`. Which oneof field is set is found by testing each member for
 * `!= null`, exactly what the generated `value` getter does (protobufjs gives oneof members a
 * `null` default on the prototype, so an `in` test would see every field), but without the
 * getter's `Object.keys` per call, which costs ~40% of this hot path. A malformed value with
 * two members set resolves in this fixed order rather than last-on-the-wire.
 */
export function convertAnyValue(value: PbAnyValue | null | undefined): AnyValue {
  if (value === null || value === undefined) return {};
  if (value.stringValue != null) return { stringValue: value.stringValue };
  if (value.intValue != null) return { intValue: int64ToDecimal(value.intValue) };
  if (value.doubleValue != null) return { doubleValue: value.doubleValue };
  if (value.boolValue != null) return { boolValue: value.boolValue };
  if (value.kvlistValue != null) return { kvlistValue: { values: convertKeyValues(value.kvlistValue.values) } };
  if (value.arrayValue != null) {
    const items = value.arrayValue.values;
    const values: AnyValue[] = [];
    if (items) for (let i = 0; i < items.length; i++) values.push(convertAnyValue(items[i]));
    return { arrayValue: { values } };
  }
  if (value.bytesValue != null) return { bytesValue: bytesToBase64(value.bytesValue) };
  return {};
}

/** A list of attributes; order and duplicate keys are kept as sent. */
export function convertKeyValues(list: readonly PbKeyValue[] | null | undefined): KeyValue[] {
  const out: KeyValue[] = [];
  if (!list) return out;
  for (let i = 0; i < list.length; i++) {
    const kv = list[i];
    if (kv) out.push({ key: kv.key ?? '', value: convertAnyValue(kv.value) });
  }
  return out;
}

/** The resource of a ResourceLogs/ResourceSpans; its schema_url sits on the enclosing message. */
export function convertResource(resource: PbResource | null | undefined, schemaUrl: string | null | undefined): Resource {
  return {
    attributes: convertKeyValues(resource?.attributes),
    droppedAttributesCount: resource?.droppedAttributesCount ?? 0,
    schemaUrl: schemaUrl ?? '',
  };
}

/** The instrumentation scope of a ScopeLogs/ScopeSpans, with that message's schema_url. */
export function convertScope(scope: PbScope | null | undefined, schemaUrl: string | null | undefined): Scope {
  return {
    name: scope?.name ?? '',
    version: scope?.version ?? '',
    attributes: convertKeyValues(scope?.attributes),
    droppedAttributesCount: scope?.droppedAttributesCount ?? 0,
    schemaUrl: schemaUrl ?? '',
  };
}

/**
 * The resource's `service.name` as text ('' when absent). A non-string value is rendered as
 * its text, like the Collector's `AsString()`; the spec's `unknown_service` default is the
 * SDK's job, not the receiver's.
 */
export function serviceNameOf(attributes: readonly KeyValue[]): string {
  for (let i = 0; i < attributes.length; i++) {
    const kv = attributes[i]!;
    if (kv.key === 'service.name') {
      const value = kv.value;
      return 'stringValue' in value ? value.stringValue : anyValueToText(value)[0];
    }
  }
  return '';
}

/** int64 → decimal string; values within ±2^53 avoid BigInt. */
export function int64ToDecimal(value: PbInt64): string {
  if (typeof value === 'object' && value !== null) {
    const high = value.unsigned ? value.high >>> 0 : value.high | 0;
    if (high >= -0x200000 && high < 0x200000) return String(high * 4294967296 + (value.low >>> 0));
  } else if (typeof value === 'number' && Number.isSafeInteger(value)) {
    return String(value);
  }
  return int64ToBigInt(value).toString();
}

/**
 * fixed64/uint64 (timestamps, counts) → bigint, always unsigned. protobufjs marks Longs from
 * `decode` as unsigned but those from `fromObject` (the JSON path) as signed, so the sign flag
 * is ignored.
 */
export function uint64ToBigInt(value: PbInt64): bigint {
  if (typeof value === 'object' && value !== null) {
    if (value.high === 0) return BigInt(value.low >>> 0);
    return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  }
  if (value === null || value === undefined || value === 0) return 0n;
  return BigInt.asUintN(64, int64ToBigInt(value));
}

export function bytesToBase64(bytes: Uint8Array | null | undefined): string {
  if (!bytes || bytes.length === 0) return '';
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function isAllZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * Why a required trace/span id is invalid, or '' when it is valid. OTLP: exactly `size`
 * bytes, not all zeros (an empty id, which is also what OTLP/JSON's "" decodes to, is missing).
 */
export function idProblem(field: string, id: Uint8Array | null | undefined, size: number): string {
  if (!id || id.length === 0) return `${field} is missing`;
  if (id.length !== size) return `${field} must be ${size} bytes, got ${id.length}`;
  if (isAllZero(id)) return `${field} is all zeros`;
  return '';
}

/** How many rejection reasons errorMessage spells out before "and N more". */
export const MAX_REJECTION_REASONS = 3;

/** The partial-success error_message: the first few reasons, then a count of the rest. */
export function rejectionMessage(reasons: readonly string[], rejected: number): string {
  if (rejected === 0) return '';
  const more = rejected - reasons.length;
  return more > 0 ? `${reasons.join('; ')}; and ${more} more` : reasons.join('; ');
}
