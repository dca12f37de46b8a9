/**
 * Model → Native blocks for the embedded engine's inserts (native.ts). Each encoder writes the
 * same columns and values as its JSONEachRow twin in rows.ts; native-rows.test.ts inserts both
 * into real tables and compares what is stored.
 *
 * Attribute maps are written straight from the KeyValue lists into per-column scratch buffers
 * (offsets, keys, values), without the flattenAttributes objects, except where a JS object
 * would order the keys differently from the list (integer-like keys, duplicates): there the
 * object's order is what JSON.stringify gives the text path, so the object is built. Resource
 * and scope maps are encoded once per object (records of one request share them).
 */
import {
  anyValueToText,
  flattenAttributes,
  SPAN_KINDS,
  STATUS_CODES,
  type KeyValue,
  type Labels,
  type LogRecord,
  type Resource,
  type Sample,
  type Scope,
  type Span,
  type UnixNanos,
} from '../../model/index.js';
import { NativeBlock, NativeBuffer } from './native.js';
import { seriesRow, type NewSeries, type SeriesCache } from './rows.js';

const INT64_MAX = (1n << 63n) - 1n;

/** DateTime64(9) ticks; clamped as formatNanos clamps the text form. */
function nanos(ns: UnixNanos): bigint {
  if (ns < 0n) return 0n;
  return ns > INT64_MAX ? INT64_MAX : ns;
}

/** One Map(String, String) column being built: cumulative offsets, then keys, then values. */
class MapColumn {
  readonly offsets = new NativeBuffer(1 << 14);
  readonly keys = new NativeBuffer(1 << 16);
  readonly values = new NativeBuffer(1 << 16);
  count = 0;

  reset(): void {
    this.offsets.reset();
    this.keys.reset();
    this.values.reset();
    this.count = 0;
  }

  endRow(): void {
    this.offsets.uint64(this.count);
  }

  add(key: string, value: string): void {
    this.keys.string(key);
    this.values.string(value);
    this.count++;
  }

  addEncoded(encoded: EncodedMap): void {
    this.keys.bytes(encoded.keys);
    this.values.bytes(encoded.values);
    this.count += encoded.count;
  }

  writeTo(out: NativeBuffer): void {
    out.bytes(this.offsets.view());
    out.bytes(this.keys.view());
    out.bytes(this.values.view());
  }
}

/** A map's entries already in Native layout, for a map repeated on many rows. */
interface EncodedMap {
  count: number;
  keys: Buffer;
  values: Buffer;
}

/** The `<Prefix>Attributes` and `<Prefix>AttributeTypes` columns of one attribute list. */
class AttributeColumns {
  readonly values = new MapColumn();
  readonly types = new MapColumn();

  reset(): void {
    this.values.reset();
    this.types.reset();
  }

  /** Appends one row's attributes (call endRow after). */
  add(attributes: readonly KeyValue[]): void {
    if (listOrderIsObjectOrder(attributes)) {
      for (let i = 0; i < attributes.length; i++) {
        const { key, value } = attributes[i]!;
        if ('stringValue' in value) {
          this.values.add(key, value.stringValue);
        } else if ('intValue' in value) {
          this.values.add(key, value.intValue);
          this.types.add(key, 'int');
        } else {
          const [text, type] = anyValueToText(value);
          this.values.add(key, text);
          if (type !== undefined) this.types.add(key, type);
        }
      }
      return;
    }
    const { values, types } = flattenAttributes(attributes);
    for (const key of Object.keys(values)) this.values.add(key, values[key]!);
    for (const key of Object.keys(types)) this.types.add(key, types[key]!);
  }

  addEncoded(encoded: EncodedAttributes): void {
    this.values.addEncoded(encoded.values);
    this.types.addEncoded(encoded.types);
  }

  endRow(): void {
    this.values.endRow();
    this.types.endRow();
  }
}

interface EncodedAttributes {
  values: EncodedMap;
  types: EncodedMap;
}

/**
 * True when a JS object built from the list would list its keys in the list's order: no
 * duplicate keys, and no key an object would move to the front as an array index (any key
 * starting with a digit is treated so; the object path handles those exactly).
 */
function listOrderIsObjectOrder(attributes: readonly KeyValue[]): boolean {
  const n = attributes.length;
  for (let i = 0; i < n; i++) {
    const c = attributes[i]!.key.charCodeAt(0);
    if (c >= 48 && c <= 57) return false;
  }
  if (n <= 16) {
    for (let i = 1; i < n; i++) {
      const key = attributes[i]!.key;
      for (let j = 0; j < i; j++) if (attributes[j]!.key === key) return false;
    }
    return true;
  }
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add(attributes[i]!.key);
  return seen.size === n;
}

const encodeScratch = new AttributeColumns();

function encodeAttributes(attributes: readonly KeyValue[]): EncodedAttributes {
  const scratch = encodeScratch;
  scratch.reset();
  scratch.add(attributes);
  const copy = (column: MapColumn): EncodedMap => ({
    count: column.count,
    keys: Buffer.from(column.keys.view()),
    values: Buffer.from(column.values.view()),
  });
  return { values: copy(scratch.values), types: copy(scratch.types) };
}

// Records of one resource/scope share the same objects (see ingest/otlp): encode once each.
const encodedCache = new WeakMap<Resource | Scope, EncodedAttributes>();

function encodedAttributesOf(owner: Resource | Scope): EncodedAttributes {
  let encoded = encodedCache.get(owner);
  if (encoded === undefined) {
    encoded = encodeAttributes(owner.attributes);
    encodedCache.set(owner, encoded);
  }
  return encoded;
}

// Scratch columns, reused by every call (encoding is synchronous).
const resourceColumns = new AttributeColumns();
const scopeColumns = new AttributeColumns();
const rowColumns = new AttributeColumns();
const labelColumn = new MapColumn();
const nestedColumns = new AttributeColumns();
const nestedOffsets = new NativeBuffer(1 << 12);

function writeAttributeColumns(block: NativeBlock, prefix: string, columns: AttributeColumns): void {
  columns.values.writeTo(block.column(`${prefix}Attributes`, 'Map(String, String)'));
  columns.types.writeTo(block.column(`${prefix}AttributeTypes`, 'Map(String, String)'));
}

/** Resource and scope columns shared by logs and spans, in the tables' order. */
function writeResourceAndScope(block: NativeBlock, items: readonly { resource: Resource; scope: Scope }[]): void {
  resourceColumns.reset();
  scopeColumns.reset();
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    resourceColumns.addEncoded(encodedAttributesOf(item.resource));
    resourceColumns.endRow();
    scopeColumns.addEncoded(encodedAttributesOf(item.scope));
    scopeColumns.endRow();
  }
  let out = block.column('ResourceSchemaUrl', 'String');
  for (let i = 0; i < items.length; i++) out.string(items[i]!.resource.schemaUrl);
  writeAttributeColumns(block, 'Resource', resourceColumns);
  out = block.column('ResourceDroppedAttributesCount', 'UInt32');
  for (let i = 0; i < items.length; i++) out.uint32(items[i]!.resource.droppedAttributesCount);
  out = block.column('ScopeSchemaUrl', 'String');
  for (let i = 0; i < items.length; i++) out.string(items[i]!.scope.schemaUrl);
  out = block.column('ScopeName', 'String');
  for (let i = 0; i < items.length; i++) out.string(items[i]!.scope.name);
  out = block.column('ScopeVersion', 'String');
  for (let i = 0; i < items.length; i++) out.string(items[i]!.scope.version);
  writeAttributeColumns(block, 'Scope', scopeColumns);
  out = block.column('ScopeDroppedAttributesCount', 'UInt32');
  for (let i = 0; i < items.length; i++) out.uint32(items[i]!.scope.droppedAttributesCount);
  resourceColumns.reset();
  scopeColumns.reset();
}

function writeLabels(out: NativeBuffer, records: readonly LogRecord[]): void {
  const column = labelColumn;
  column.reset();
  for (let i = 0; i < records.length; i++) {
    const labels: Labels = records[i]!.streamLabels;
    for (const key in labels) column.add(key, labels[key]!);
    column.endRow();
  }
  column.writeTo(out);
  column.reset();
}

// Blocks are built in one reused buffer and copied out at the end: one allocation of the exact
// size instead of a large fresh buffer per block grown by copying.
const blockScratch = new NativeBuffer(1 << 20);

function newBlock(rows: number, columns: number): NativeBlock {
  blockScratch.reset();
  return new NativeBlock(rows, columns, blockScratch);
}

function finishBlock(block: NativeBlock): { block: Buffer; columns: string[] } {
  const view = block.finish();
  const copy = Buffer.allocUnsafeSlow(view.length);
  view.copy(copy);
  return { block: copy, columns: block.columns };
}

export const LOG_NATIVE_COLUMNS = 26;

export function logRowsNative(records: readonly LogRecord[]): { block: Buffer; columns: string[] } {
  const n = records.length;
  const block = newBlock(n, LOG_NATIVE_COLUMNS);
  let out = block.column('TenantId', 'String');
  for (let i = 0; i < n; i++) out.string(records[i]!.tenant);
  out = block.column('Timestamp', 'DateTime64(9)');
  for (let i = 0; i < n; i++) out.int64(nanos(records[i]!.timestamp));
  out = block.column('ObservedTimestamp', 'DateTime64(9)');
  for (let i = 0; i < n; i++) out.int64(nanos(records[i]!.observedTimestamp));
  out = block.column('TraceId', 'String');
  for (let i = 0; i < n; i++) out.string(records[i]!.traceId);
  out = block.column('SpanId', 'String');
  for (let i = 0; i < n; i++) out.string(records[i]!.spanId);
  out = block.column('TraceFlags', 'UInt8');
  for (let i = 0; i < n; i++) out.uint8(records[i]!.flags);
  out = block.column('SeverityText', 'String');
  for (let i = 0; i < n; i++) out.string(records[i]!.severityText);
  out = block.column('SeverityNumber', 'UInt8');
  for (let i = 0; i < n; i++) out.uint8(records[i]!.severityNumber);
  out = block.column('ServiceName', 'String');
  for (let i = 0; i < n; i++) out.string(records[i]!.serviceName);
  writeLabels(block.column('StreamLabels', 'Map(String, String)'), records);
  out = block.column('Body', 'String');
  for (let i = 0; i < n; i++) out.string(records[i]!.body);
  out = block.column('BodyType', 'String');
  for (let i = 0; i < n; i++) out.string(records[i]!.bodyType);
  out = block.column('EventName', 'String');
  for (let i = 0; i < n; i++) out.string(records[i]!.eventName);
  writeResourceAndScope(block, records);
  rowColumns.reset();
  for (let i = 0; i < n; i++) {
    rowColumns.add(records[i]!.attributes);
    rowColumns.endRow();
  }
  writeAttributeColumns(block, 'Log', rowColumns);
  rowColumns.reset();
  out = block.column('DroppedAttributesCount', 'UInt32');
  for (let i = 0; i < n; i++) out.uint32(records[i]!.droppedAttributesCount);
  return finishBlock(block);
}

export const SPAN_NATIVE_COLUMNS = 40;

/** Array(T) offsets of a Nested column: cumulative element counts per row. */
function writeNestedOffsets(out: NativeBuffer, offsets: NativeBuffer): void {
  out.bytes(offsets.view());
}

export function spanRowsNative(spans: readonly Span[]): { block: Buffer; columns: string[] } {
  const n = spans.length;
  const block = newBlock(n, SPAN_NATIVE_COLUMNS);
  let out = block.column('TenantId', 'String');
  for (let i = 0; i < n; i++) out.string(spans[i]!.tenant);
  out = block.column('Timestamp', 'DateTime64(9)');
  for (let i = 0; i < n; i++) out.int64(nanos(spans[i]!.startTime));
  out = block.column('TraceId', 'String');
  for (let i = 0; i < n; i++) out.string(spans[i]!.traceId);
  out = block.column('SpanId', 'String');
  for (let i = 0; i < n; i++) out.string(spans[i]!.spanId);
  out = block.column('ParentSpanId', 'String');
  for (let i = 0; i < n; i++) out.string(spans[i]!.parentSpanId);
  out = block.column('TraceState', 'String');
  for (let i = 0; i < n; i++) out.string(spans[i]!.traceState);
  out = block.column('SpanFlags', 'UInt32');
  for (let i = 0; i < n; i++) out.uint32(spans[i]!.flags);
  out = block.column('SpanName', 'String');
  for (let i = 0; i < n; i++) out.string(spans[i]!.name);
  out = block.column('SpanKind', 'String');
  for (let i = 0; i < n; i++) out.string(SPAN_KINDS[spans[i]!.kind] ?? 'Unspecified');
  out = block.column('ServiceName', 'String');
  for (let i = 0; i < n; i++) out.string(spans[i]!.serviceName);
  writeResourceAndScope(block, spans);
  rowColumns.reset();
  for (let i = 0; i < n; i++) {
    rowColumns.add(spans[i]!.attributes);
    rowColumns.endRow();
  }
  writeAttributeColumns(block, 'Span', rowColumns);
  rowColumns.reset();
  out = block.column('DroppedAttributesCount', 'UInt32');
  for (let i = 0; i < n; i++) out.uint32(spans[i]!.droppedAttributesCount);
  out = block.column('Duration', 'UInt64');
  for (let i = 0; i < n; i++) {
    const s = spans[i]!;
    out.uint64Big(s.endTime > s.startTime ? BigInt.asUintN(64, s.endTime - s.startTime) : 0n);
  }
  out = block.column('StatusCode', 'String');
  for (let i = 0; i < n; i++) out.string(STATUS_CODES[spans[i]!.statusCode] ?? 'Unset');
  out = block.column('StatusMessage', 'String');
  for (let i = 0; i < n; i++) out.string(spans[i]!.statusMessage);

  // Nested Events.* / Links.*: each an Array column with the same per-row offsets.
  nestedOffsets.reset();
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += spans[i]!.events.length;
    nestedOffsets.uint64(total);
  }
  out = block.column('Events.Timestamp', 'Array(DateTime64(9))');
  writeNestedOffsets(out, nestedOffsets);
  for (let i = 0; i < n; i++) for (const e of spans[i]!.events) out.int64(nanos(e.timestamp));
  out = block.column('Events.Name', 'Array(String)');
  writeNestedOffsets(out, nestedOffsets);
  for (let i = 0; i < n; i++) for (const e of spans[i]!.events) out.string(e.name);
  nestedColumns.reset();
  for (let i = 0; i < n; i++) {
    for (const e of spans[i]!.events) {
      nestedColumns.add(e.attributes);
      nestedColumns.endRow();
    }
  }
  out = block.column('Events.Attributes', 'Array(Map(String, String))');
  writeNestedOffsets(out, nestedOffsets);
  nestedColumns.values.writeTo(out);
  out = block.column('Events.AttributeTypes', 'Array(Map(String, String))');
  writeNestedOffsets(out, nestedOffsets);
  nestedColumns.types.writeTo(out);
  out = block.column('Events.DroppedAttributesCount', 'Array(UInt32)');
  writeNestedOffsets(out, nestedOffsets);
  for (let i = 0; i < n; i++) for (const e of spans[i]!.events) out.uint32(e.droppedAttributesCount);
  out = block.column('DroppedEventsCount', 'UInt32');
  for (let i = 0; i < n; i++) out.uint32(spans[i]!.droppedEventsCount);

  nestedOffsets.reset();
  total = 0;
  for (let i = 0; i < n; i++) {
    total += spans[i]!.links.length;
    nestedOffsets.uint64(total);
  }
  out = block.column('Links.TraceId', 'Array(String)');
  writeNestedOffsets(out, nestedOffsets);
  for (let i = 0; i < n; i++) for (const l of spans[i]!.links) out.string(l.traceId);
  out = block.column('Links.SpanId', 'Array(String)');
  writeNestedOffsets(out, nestedOffsets);
  for (let i = 0; i < n; i++) for (const l of spans[i]!.links) out.string(l.spanId);
  out = block.column('Links.TraceState', 'Array(String)');
  writeNestedOffsets(out, nestedOffsets);
  for (let i = 0; i < n; i++) for (const l of spans[i]!.links) out.string(l.traceState);
  out = block.column('Links.Flags', 'Array(UInt32)');
  writeNestedOffsets(out, nestedOffsets);
  for (let i = 0; i < n; i++) for (const l of spans[i]!.links) out.uint32(l.flags);
  nestedColumns.reset();
  for (let i = 0; i < n; i++) {
    for (const l of spans[i]!.links) {
      nestedColumns.add(l.attributes);
      nestedColumns.endRow();
    }
  }
  out = block.column('Links.Attributes', 'Array(Map(String, String))');
  writeNestedOffsets(out, nestedOffsets);
  nestedColumns.values.writeTo(out);
  out = block.column('Links.AttributeTypes', 'Array(Map(String, String))');
  writeNestedOffsets(out, nestedOffsets);
  nestedColumns.types.writeTo(out);
  nestedColumns.reset();
  out = block.column('Links.DroppedAttributesCount', 'Array(UInt32)');
  writeNestedOffsets(out, nestedOffsets);
  for (let i = 0; i < n; i++) for (const l of spans[i]!.links) out.uint32(l.droppedAttributesCount);
  out = block.column('DroppedLinksCount', 'UInt32');
  for (let i = 0; i < n; i++) out.uint32(spans[i]!.droppedLinksCount);
  return finishBlock(block);
}

const MS_PER_DAY = 86_400_000;

export const SAMPLE_NATIVE_COLUMNS = ['TenantId', 'Fingerprint', 'TimestampMs', 'Value', 'Flags'];

export interface NativeSampleRows {
  /** metric_series rows for series new on their day, JSONEachRow (few, and they carry a Map). */
  series: string;
  /** metric_samples as one Native block with SAMPLE_NATIVE_COLUMNS. */
  samples: Buffer;
  /** Series marked seen by this batch; forgotten again (forgetSeries) if the insert fails. */
  newSeries: NewSeries[];
}

/**
 * The rows sampleRowsTsv writes, as a Native block: a staleness marker is NaN with Flags 1, and
 * timestamps are whole milliseconds (truncated, as the text form prints them).
 */
export function sampleRowsNative(tenant: string, samples: readonly Sample[], cache: SeriesCache): NativeSampleRows {
  let series = '';
  const newSeries: NewSeries[] = [];
  const tenantJson = JSON.stringify(tenant);
  const n = samples.length;
  const fingerprints = new BigUint64Array(n);
  const timestamps = new BigInt64Array(n);
  const values = new Float64Array(n);
  const flags = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const sample = samples[i]!;
    const timestampMs = Math.trunc(sample.timestampMs);
    const day = Math.floor(timestampMs / MS_PER_DAY);
    const { entry, isNew } = cache.markSeries(tenant, sample.labels, day);
    if (isNew) {
      newSeries.push({ fingerprint: entry.fingerprint, day, entry });
      series += seriesRow(tenantJson, day, entry.fingerprint, sample.labels);
    }
    fingerprints[i] = entry.fingerprintBig;
    timestamps[i] = BigInt(timestampMs);
    if (sample.stale === true) {
      values[i] = NaN;
      flags[i] = 1;
    } else {
      // + 0 turns -0 into 0, as the text forms print it.
      values[i] = sample.value + 0;
    }
  }
  const block = newBlock(n, SAMPLE_NATIVE_COLUMNS.length);
  const out = block.column('TenantId', 'String');
  for (let i = 0; i < n; i++) out.string(tenant);
  block.column('Fingerprint', 'UInt64').bytes(new Uint8Array(fingerprints.buffer));
  block.column('TimestampMs', 'Int64').bytes(new Uint8Array(timestamps.buffer));
  block.column('Value', 'Float64').bytes(new Uint8Array(values.buffer));
  block.column('Flags', 'UInt8').bytes(flags);
  return { series, samples: finishBlock(block).block, newSeries };
}
