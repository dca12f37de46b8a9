/**
 * Model → Native blocks for the embedded engine's inserts (native.ts). Each encoder writes the
 * same columns and values as its JSONEachRow twin in rows.ts; native-rows.test.ts inserts both
 * into real tables and compares what is stored.
 *
 * Columns carry the tables' own types (LowCardinality(String), Map(LowCardinality(String), …))
 * so the insert copies them without a conversion; `{ lowCardinality: false }` writes plain
 * String types instead, which the INSERT … SELECT then casts (kept to measure the difference:
 * bench/native-encode.ts).
 *
 * Attribute maps are written straight from the KeyValue lists, without the flattenAttributes
 * objects, except where a JS object would order the keys differently from the list
 * (integer-like keys, duplicates): there the object's order is what JSON.stringify gives the
 * text path, so the object is built. Resource and scope maps are flattened once per object
 * (records of one request share them) and written as cached bytes or dictionary positions.
 */
import {
  anyValueToText,
  flattenAttributes,
  SPAN_KINDS,
  STATUS_CODES,
  type KeyValue,
  type LogRecord,
  type Resource,
  type Sample,
  type Scope,
  type Span,
} from '../../model/index.js';
import { LowCardinalityColumn, NativeBlock, NativeBuffer } from './native.js';
import { clampNanos, seriesRow, type NewSeries, type SeriesCache } from './rows.js';

export interface NativeOptions {
  /** Write LowCardinality columns as the tables declare them (default true). */
  lowCardinality?: boolean;
}


/** Strings repeated on many rows (a resource's attribute keys), encoded once per form. */
interface Run {
  strings: string[];
  bytes?: Buffer;
  /** Dictionary positions in `owner` during its block `epoch`. */
  owner?: LowCardinalityColumn;
  epoch?: number;
  positions?: number[];
}

/** Plain String values: the bytes of all rows, as they will appear in the block. */
class PlainStrings {
  readonly out = new NativeBuffer(1 << 16);
  count = 0;

  reset(): void {
    this.out.reset();
    this.count = 0;
  }

  add(value: string): void {
    this.out.string(value);
    this.count++;
  }

  addRun(run: Run): void {
    if (run.bytes === undefined) {
      const scratch = new NativeBuffer(256);
      for (const s of run.strings) scratch.string(s);
      run.bytes = Buffer.from(scratch.view());
    }
    this.out.bytes(run.bytes);
    this.count += run.strings.length;
  }

  writeData(out: NativeBuffer): void {
    out.bytes(this.out.view());
  }
}

class DictionaryStrings extends LowCardinalityColumn {
  addRun(run: Run): void {
    let positions = run.positions;
    if (run.owner !== this || run.epoch !== this.epoch || positions === undefined) {
      positions = run.strings.map((s) => this.position(s));
      run.owner = this;
      run.epoch = this.epoch;
      run.positions = positions;
    }
    for (let i = 0; i < positions.length; i++) this.addPosition(positions[i]!);
  }
}

type StringSink = PlainStrings | DictionaryStrings;

function newSink(lowCardinality: boolean): StringSink {
  return lowCardinality ? new DictionaryStrings() : new PlainStrings();
}

function writePrefix(sink: StringSink, out: NativeBuffer): void {
  if (sink instanceof DictionaryStrings) LowCardinalityColumn.writePrefix(out);
}

function typeOf(sink: StringSink): string {
  return sink instanceof DictionaryStrings ? 'LowCardinality(String)' : 'String';
}

/** One Map column being built: cumulative offsets, then keys, then values. */
class MapColumn {
  readonly offsets = new NativeBuffer(1 << 14);
  count = 0;

  constructor(
    readonly keys: StringSink,
    readonly values: StringSink,
  ) {}

  get type(): string {
    return `Map(${typeOf(this.keys)}, ${typeOf(this.values)})`;
  }

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
    this.keys.add(key);
    this.values.add(value);
    this.count++;
  }

  addRun(keys: Run, values: Run): void {
    this.keys.addRun(keys);
    this.values.addRun(values);
    this.count += keys.strings.length;
  }

  writePrefix(out: NativeBuffer): void {
    writePrefix(this.keys, out);
    writePrefix(this.values, out);
  }

  writeData(out: NativeBuffer): void {
    out.bytes(this.offsets.view());
    this.keys.writeData(out);
    this.values.writeData(out);
  }
}

/** A resource's or scope's attributes, flattened once. */
interface FlatRuns {
  keys: Run;
  values: Run;
  typeKeys: Run;
  types: Run;
}

/** The `<Prefix>Attributes` and `<Prefix>AttributeTypes` columns of one attribute list. */
class AttributeColumns {
  readonly values: MapColumn;
  readonly types: MapColumn;

  constructor(lowCardinality: boolean) {
    // Map(LowCardinality(String), String) and Map(LowCardinality(String), LowCardinality(String)).
    this.values = new MapColumn(newSink(lowCardinality), new PlainStrings());
    this.types = new MapColumn(newSink(lowCardinality), newSink(lowCardinality));
  }

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

  addRuns(runs: FlatRuns): void {
    this.values.addRun(runs.keys, runs.values);
    this.types.addRun(runs.typeKeys, runs.types);
  }

  endRow(): void {
    this.values.endRow();
    this.types.endRow();
  }

  write(block: NativeBlock, prefix: string): void {
    let out = block.column(`${prefix}Attributes`, this.values.type);
    this.values.writePrefix(out);
    this.values.writeData(out);
    out = block.column(`${prefix}AttributeTypes`, this.types.type);
    this.types.writePrefix(out);
    this.types.writeData(out);
  }
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

// Records of one resource/scope share the same objects (see ingest/otlp): flatten once each.
const flatCache = new WeakMap<Resource | Scope, FlatRuns>();

function flatRunsOf(owner: Resource | Scope): FlatRuns {
  let runs = flatCache.get(owner);
  if (runs === undefined) {
    const { values, types } = flattenAttributes(owner.attributes);
    const keys = Object.keys(values);
    const typeKeys = Object.keys(types);
    runs = {
      keys: { strings: keys },
      values: { strings: keys.map((k) => values[k]!) },
      typeKeys: { strings: typeKeys },
      types: { strings: typeKeys.map((k) => types[k]!) },
    };
    flatCache.set(owner, runs);
  }
  return runs;
}

/** Scratch columns for one form (plain or LowCardinality), reused by every call (encoding is synchronous). */
class Scratch {
  readonly output = new NativeBuffer(1 << 20);
  readonly strings: StringSink;
  readonly plain = new PlainStrings();
  readonly labels: MapColumn;
  readonly resource: AttributeColumns;
  readonly scope: AttributeColumns;
  readonly row: AttributeColumns;
  readonly nested: AttributeColumns;
  readonly nestedOffsets = new NativeBuffer(1 << 12);

  constructor(readonly lowCardinality: boolean) {
    this.strings = newSink(lowCardinality);
    this.labels = new MapColumn(newSink(lowCardinality), new PlainStrings());
    this.resource = new AttributeColumns(lowCardinality);
    this.scope = new AttributeColumns(lowCardinality);
    this.row = new AttributeColumns(lowCardinality);
    this.nested = new AttributeColumns(lowCardinality);
  }

  /** Starts a block in the shared output buffer (copied out by finish). */
  block(rows: number, columns: number): NativeBlock {
    this.output.reset();
    return new NativeBlock(rows, columns, this.output);
  }

  /** A column of the table's LowCardinality(String) type (String in the plain form) from the strings sink. */
  writeStrings(block: NativeBlock, name: string): void {
    const sink = this.strings;
    const out = block.column(name, typeOf(sink));
    writePrefix(sink, out);
    sink.writeData(out);
    sink.reset();
  }

  /** A String column from the plain sink. */
  writePlain(block: NativeBlock, name: string): void {
    this.plain.writeData(block.column(name, 'String'));
    this.plain.reset();
  }
}

const scratches = { plain: new Scratch(false), lowCardinality: new Scratch(true) };

// Scratch buffers keep the size of the largest block written; past this, one unusually large
// batch is not allowed to pin its memory for the life of the process.
const SCRATCH_KEEP_BYTES = 32 << 20;

function scratchFor(options: NativeOptions | undefined): Scratch {
  return options?.lowCardinality === false ? scratches.plain : scratches.lowCardinality;
}

/** Copies the block out of the shared buffer: one allocation of the exact size. */
function finish(block: NativeBlock): { block: Buffer; columns: string[] } {
  const view = block.finish();
  const copy = Buffer.allocUnsafeSlow(view.length);
  view.copy(copy);
  if (scratches.plain.output.capacity > SCRATCH_KEEP_BYTES) scratches.plain = new Scratch(false);
  if (scratches.lowCardinality.output.capacity > SCRATCH_KEEP_BYTES) scratches.lowCardinality = new Scratch(true);
  return { block: copy, columns: block.columns };
}

/** Resource and scope columns shared by logs and spans, in the tables' order. */
function writeResourceAndScope(
  block: NativeBlock,
  s: Scratch,
  items: readonly { resource: Resource; scope: Scope }[],
  scopeVersionIsLowCardinality: boolean,
): void {
  const n = items.length;
  s.resource.reset();
  s.scope.reset();
  let lastResource: Resource | undefined;
  let lastScope: Scope | undefined;
  let resourceRuns: FlatRuns | undefined;
  let scopeRuns: FlatRuns | undefined;
  for (let i = 0; i < n; i++) {
    const item = items[i]!;
    if (item.resource !== lastResource) {
      lastResource = item.resource;
      resourceRuns = flatRunsOf(lastResource);
    }
    if (item.scope !== lastScope) {
      lastScope = item.scope;
      scopeRuns = flatRunsOf(lastScope);
    }
    s.resource.addRuns(resourceRuns!);
    s.resource.endRow();
    s.scope.addRuns(scopeRuns!);
    s.scope.endRow();
  }
  for (let i = 0; i < n; i++) s.strings.add(items[i]!.resource.schemaUrl);
  s.writeStrings(block, 'ResourceSchemaUrl');
  s.resource.write(block, 'Resource');
  let out = block.column('ResourceDroppedAttributesCount', 'UInt32');
  for (let i = 0; i < n; i++) out.uint32(items[i]!.resource.droppedAttributesCount);
  for (let i = 0; i < n; i++) s.strings.add(items[i]!.scope.schemaUrl);
  s.writeStrings(block, 'ScopeSchemaUrl');
  for (let i = 0; i < n; i++) s.plain.add(items[i]!.scope.name);
  s.writePlain(block, 'ScopeName');
  if (scopeVersionIsLowCardinality) {
    for (let i = 0; i < n; i++) s.strings.add(items[i]!.scope.version);
    s.writeStrings(block, 'ScopeVersion');
  } else {
    for (let i = 0; i < n; i++) s.plain.add(items[i]!.scope.version);
    s.writePlain(block, 'ScopeVersion');
  }
  s.scope.write(block, 'Scope');
  out = block.column('ScopeDroppedAttributesCount', 'UInt32');
  for (let i = 0; i < n; i++) out.uint32(items[i]!.scope.droppedAttributesCount);
  s.resource.reset();
  s.scope.reset();
}

export const LOG_NATIVE_COLUMNS = 26;

export function logRowsNative(records: readonly LogRecord[], options?: NativeOptions): { block: Buffer; columns: string[] } {
  const s = scratchFor(options);
  const n = records.length;
  const block = s.block(n, LOG_NATIVE_COLUMNS);
  for (let i = 0; i < n; i++) s.strings.add(records[i]!.tenant);
  s.writeStrings(block, 'TenantId');
  let out = block.column('Timestamp', 'DateTime64(9)');
  for (let i = 0; i < n; i++) out.int64(clampNanos(records[i]!.timestamp));
  out = block.column('ObservedTimestamp', 'DateTime64(9)');
  for (let i = 0; i < n; i++) out.int64(clampNanos(records[i]!.observedTimestamp));
  out = block.column('TraceId', 'String');
  for (let i = 0; i < n; i++) out.string(records[i]!.traceId);
  out = block.column('SpanId', 'String');
  for (let i = 0; i < n; i++) out.string(records[i]!.spanId);
  out = block.column('TraceFlags', 'UInt8');
  for (let i = 0; i < n; i++) out.uint8(records[i]!.flags);
  for (let i = 0; i < n; i++) s.strings.add(records[i]!.severityText);
  s.writeStrings(block, 'SeverityText');
  out = block.column('SeverityNumber', 'UInt8');
  for (let i = 0; i < n; i++) out.uint8(records[i]!.severityNumber);
  for (let i = 0; i < n; i++) s.strings.add(records[i]!.serviceName);
  s.writeStrings(block, 'ServiceName');
  const labels = s.labels;
  labels.reset();
  // Records of one stream (Loki push) or resource (OTLP) share one label object, usually in a
  // row: its keys' dictionary positions and its values' bytes are encoded once per run of rows.
  let lastLabels: Readonly<Record<string, string>> | undefined;
  let keys: Run = { strings: [] };
  let values: Run = { strings: [] };
  for (let i = 0; i < n; i++) {
    const streamLabels = records[i]!.streamLabels;
    if (streamLabels !== lastLabels) {
      lastLabels = streamLabels;
      // Object.keys: own keys in JSON.stringify's order.
      const names = Object.keys(streamLabels);
      keys = { strings: names };
      values = { strings: names.map((key) => streamLabels[key]!) };
    }
    labels.addRun(keys, values);
    labels.endRow();
  }
  out = block.column('StreamLabels', labels.type);
  labels.writePrefix(out);
  labels.writeData(out);
  labels.reset();
  out = block.column('Body', 'String');
  for (let i = 0; i < n; i++) out.string(records[i]!.body);
  for (let i = 0; i < n; i++) s.strings.add(records[i]!.bodyType);
  s.writeStrings(block, 'BodyType');
  for (let i = 0; i < n; i++) s.strings.add(records[i]!.eventName);
  s.writeStrings(block, 'EventName');
  writeResourceAndScope(block, s, records, true);
  s.row.reset();
  for (let i = 0; i < n; i++) {
    s.row.add(records[i]!.attributes);
    s.row.endRow();
  }
  s.row.write(block, 'Log');
  s.row.reset();
  out = block.column('DroppedAttributesCount', 'UInt32');
  for (let i = 0; i < n; i++) out.uint32(records[i]!.droppedAttributesCount);
  return finish(block);
}

export const SPAN_NATIVE_COLUMNS = 40;

export function spanRowsNative(spans: readonly Span[], options?: NativeOptions): { block: Buffer; columns: string[] } {
  const s = scratchFor(options);
  const n = spans.length;
  const block = s.block(n, SPAN_NATIVE_COLUMNS);
  for (let i = 0; i < n; i++) s.strings.add(spans[i]!.tenant);
  s.writeStrings(block, 'TenantId');
  let out = block.column('Timestamp', 'DateTime64(9)');
  for (let i = 0; i < n; i++) out.int64(clampNanos(spans[i]!.startTime));
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
  for (let i = 0; i < n; i++) s.strings.add(spans[i]!.name);
  s.writeStrings(block, 'SpanName');
  for (let i = 0; i < n; i++) s.strings.add(SPAN_KINDS[spans[i]!.kind] ?? 'Unspecified');
  s.writeStrings(block, 'SpanKind');
  for (let i = 0; i < n; i++) s.strings.add(spans[i]!.serviceName);
  s.writeStrings(block, 'ServiceName');
  writeResourceAndScope(block, s, spans, false);
  s.row.reset();
  for (let i = 0; i < n; i++) {
    s.row.add(spans[i]!.attributes);
    s.row.endRow();
  }
  s.row.write(block, 'Span');
  s.row.reset();
  out = block.column('DroppedAttributesCount', 'UInt32');
  for (let i = 0; i < n; i++) out.uint32(spans[i]!.droppedAttributesCount);
  out = block.column('Duration', 'UInt64');
  for (let i = 0; i < n; i++) {
    const span = spans[i]!;
    out.uint64Big(span.endTime > span.startTime ? BigInt.asUintN(64, span.endTime - span.startTime) : 0n);
  }
  for (let i = 0; i < n; i++) s.strings.add(STATUS_CODES[spans[i]!.statusCode] ?? 'Unset');
  s.writeStrings(block, 'StatusCode');
  out = block.column('StatusMessage', 'String');
  for (let i = 0; i < n; i++) out.string(spans[i]!.statusMessage);
  writeEvents(block, s, spans);
  writeLinks(block, s, spans);
  return finish(block);
}

/**
 * Nested columns are Arrays sharing one offsets stream: each column is the row offsets, then
 * its elements (after its LowCardinality prefix, if any, which precedes the offsets).
 */
function nestedOffsets(s: Scratch, spans: readonly Span[], count: (span: Span) => number): Buffer {
  const offsets = s.nestedOffsets;
  offsets.reset();
  let total = 0;
  for (let i = 0; i < spans.length; i++) {
    total += count(spans[i]!);
    offsets.uint64(total);
  }
  return offsets.view();
}

function writeNestedAttributes(block: NativeBlock, s: Scratch, prefix: string, offsets: Buffer): void {
  const nested = s.nested;
  let out = block.column(`${prefix}.Attributes`, `Array(${nested.values.type})`);
  nested.values.writePrefix(out);
  out.bytes(offsets);
  nested.values.writeData(out);
  out = block.column(`${prefix}.AttributeTypes`, `Array(${nested.types.type})`);
  nested.types.writePrefix(out);
  out.bytes(offsets);
  nested.types.writeData(out);
  nested.reset();
}

function writeEvents(block: NativeBlock, s: Scratch, spans: readonly Span[]): void {
  const n = spans.length;
  const offsets = nestedOffsets(s, spans, (span) => span.events.length);
  let out = block.column('Events.Timestamp', 'Array(DateTime64(9))');
  out.bytes(offsets);
  for (let i = 0; i < n; i++) for (const e of spans[i]!.events) out.int64(clampNanos(e.timestamp));
  for (let i = 0; i < n; i++) for (const e of spans[i]!.events) s.strings.add(e.name);
  const sink = s.strings;
  out = block.column('Events.Name', `Array(${typeOf(sink)})`);
  writePrefix(sink, out);
  out.bytes(offsets);
  sink.writeData(out);
  sink.reset();
  s.nested.reset();
  for (let i = 0; i < n; i++) {
    for (const e of spans[i]!.events) {
      s.nested.add(e.attributes);
      s.nested.endRow();
    }
  }
  writeNestedAttributes(block, s, 'Events', offsets);
  out = block.column('Events.DroppedAttributesCount', 'Array(UInt32)');
  out.bytes(offsets);
  for (let i = 0; i < n; i++) for (const e of spans[i]!.events) out.uint32(e.droppedAttributesCount);
  out = block.column('DroppedEventsCount', 'UInt32');
  for (let i = 0; i < n; i++) out.uint32(spans[i]!.droppedEventsCount);
}

function writeLinks(block: NativeBlock, s: Scratch, spans: readonly Span[]): void {
  const n = spans.length;
  const offsets = nestedOffsets(s, spans, (span) => span.links.length);
  let out = block.column('Links.TraceId', 'Array(String)');
  out.bytes(offsets);
  for (let i = 0; i < n; i++) for (const l of spans[i]!.links) out.string(l.traceId);
  out = block.column('Links.SpanId', 'Array(String)');
  out.bytes(offsets);
  for (let i = 0; i < n; i++) for (const l of spans[i]!.links) out.string(l.spanId);
  out = block.column('Links.TraceState', 'Array(String)');
  out.bytes(offsets);
  for (let i = 0; i < n; i++) for (const l of spans[i]!.links) out.string(l.traceState);
  out = block.column('Links.Flags', 'Array(UInt32)');
  out.bytes(offsets);
  for (let i = 0; i < n; i++) for (const l of spans[i]!.links) out.uint32(l.flags);
  s.nested.reset();
  for (let i = 0; i < n; i++) {
    for (const l of spans[i]!.links) {
      s.nested.add(l.attributes);
      s.nested.endRow();
    }
  }
  writeNestedAttributes(block, s, 'Links', offsets);
  out = block.column('Links.DroppedAttributesCount', 'Array(UInt32)');
  out.bytes(offsets);
  for (let i = 0; i < n; i++) for (const l of spans[i]!.links) out.uint32(l.droppedAttributesCount);
  out = block.column('DroppedLinksCount', 'UInt32');
  for (let i = 0; i < n; i++) out.uint32(spans[i]!.droppedLinksCount);
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
export function sampleRowsNative(tenant: string, samples: readonly Sample[], cache: SeriesCache, options?: NativeOptions): NativeSampleRows {
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
  const s = scratchFor(options);
  const block = s.block(n, SAMPLE_NATIVE_COLUMNS.length);
  const tenants = s.strings;
  if (tenants instanceof DictionaryStrings) {
    const position = tenants.position(tenant);
    for (let i = 0; i < n; i++) tenants.addPosition(position);
  } else {
    for (let i = 0; i < n; i++) tenants.add(tenant);
  }
  s.writeStrings(block, 'TenantId');
  block.column('Fingerprint', 'UInt64').bytes(new Uint8Array(fingerprints.buffer));
  block.column('TimestampMs', 'Int64').bytes(new Uint8Array(timestamps.buffer));
  block.column('Value', 'Float64').bytes(new Uint8Array(values.buffer));
  block.column('Flags', 'UInt8').bytes(flags);
  return { series, samples: finish(block).block, newSeries };
}
