/**
 * Model → JSONEachRow text for the tables in migrations.ts. Rows are built by string
 * concatenation with JSON.stringify for every value: this is the ingest hot path, and the
 * embedded engine parses raw JSONEachRow faster than any other input we measured.
 */
import {
  flattenAttributes,
  labelsFingerprint,
  SPAN_KINDS,
  STATUS_CODES,
  type KeyValue,
  type Labels,
  type LogRecord,
  type MetricMetadata,
  type Resource,
  type Sample,
  type Scope,
  type Span,
  type UnixNanos,
} from '../../model/index.js';

const INT64_MAX = (1n << 63n) - 1n;

/** DateTime64(9) ticks clamped to the column's range (0 … int64 max), for both insert forms. */
export function clampNanos(ns: UnixNanos): bigint {
  if (ns < 0n) return 0n;
  return ns > INT64_MAX ? INT64_MAX : ns;
}

/**
 * DateTime64(9) as an unquoted integer of nanoseconds (ticks), clamped as the Native encoder
 * clamps. The engine's best-effort parse of "<seconds>.<nanos>" reads fewer than nine digits
 * of seconds (before 1973-03-03, or 0) as a date and fails the insert.
 */
export function formatNanos(ns: UnixNanos): string {
  return clampNanos(ns).toString();
}

/**
 * JSON.stringify writes a lone UTF-16 surrogate (possible in OTLP/JSON strings) as a `\udXXX`
 * escape, which ClickHouse refuses, failing the whole insert. Well-formed pairs are written as
 * themselves, so any such escape not itself escaped is a lone surrogate: it becomes U+FFFD, as
 * Buffer#write (and so the Native path) makes it.
 */
export function replaceLoneSurrogates(jsonText: string): string {
  if (!jsonText.includes('\\ud')) return jsonText;
  return jsonText.replace(/(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g, '$1\ufffd');
}

function attributeColumns(prefix: string, attributes: readonly KeyValue[]): string {
  const { values, types } = flattenAttributes(attributes);
  return `"${prefix}Attributes":${JSON.stringify(values)},"${prefix}AttributeTypes":${JSON.stringify(types)}`;
}

// Records of one resource/scope share the same objects (see ingest/otlp), so their columns
// are serialised once per request rather than once per record.
const resourceCache = new WeakMap<Resource, string>();
const scopeCache = new WeakMap<Scope, string>();

function resourceColumns(resource: Resource): string {
  let text = resourceCache.get(resource);
  if (text === undefined) {
    text =
      `"ResourceSchemaUrl":${JSON.stringify(resource.schemaUrl)},` +
      attributeColumns('Resource', resource.attributes) +
      `,"ResourceDroppedAttributesCount":${resource.droppedAttributesCount}`;
    resourceCache.set(resource, text);
  }
  return text;
}

function scopeColumns(scope: Scope): string {
  let text = scopeCache.get(scope);
  if (text === undefined) {
    text =
      `"ScopeSchemaUrl":${JSON.stringify(scope.schemaUrl)},"ScopeName":${JSON.stringify(scope.name)},` +
      `"ScopeVersion":${JSON.stringify(scope.version)},` +
      attributeColumns('Scope', scope.attributes) +
      `,"ScopeDroppedAttributesCount":${scope.droppedAttributesCount}`;
    scopeCache.set(scope, text);
  }
  return text;
}

export function logRowsText(records: readonly LogRecord[]): string {
  let out = '';
  for (const r of records) {
    out +=
      `{"TenantId":${JSON.stringify(r.tenant)},"Timestamp":${formatNanos(r.timestamp)},` +
      `"ObservedTimestamp":${formatNanos(r.observedTimestamp)},"TraceId":"${r.traceId}","SpanId":"${r.spanId}",` +
      `"TraceFlags":${r.flags & 0xff},"SeverityText":${JSON.stringify(r.severityText)},"SeverityNumber":${r.severityNumber},` +
      `"ServiceName":${JSON.stringify(r.serviceName)},"StreamLabels":${JSON.stringify(r.streamLabels)},"Body":${JSON.stringify(r.body)},"BodyType":"${r.bodyType}",` +
      `"EventName":${JSON.stringify(r.eventName)},` +
      resourceColumns(r.resource) +
      ',' +
      scopeColumns(r.scope) +
      ',' +
      attributeColumns('Log', r.attributes) +
      `,"DroppedAttributesCount":${r.droppedAttributesCount}}\n`;
  }
  return out;
}

// Most spans have neither events nor links; their nested columns are one constant.
const EMPTY_EVENTS =
  '"Events.Timestamp":[],"Events.Name":[],"Events.Attributes":[],"Events.AttributeTypes":[],"Events.DroppedAttributesCount":[],';
const EMPTY_LINKS =
  '"Links.TraceId":[],"Links.SpanId":[],"Links.TraceState":[],"Links.Flags":[],"Links.Attributes":[],"Links.AttributeTypes":[],"Links.DroppedAttributesCount":[],';

function nestedColumns(s: Span): string {
  const events = s.events;
  const links = s.links;
  let out = '';
  if (events.length === 0) {
    out += EMPTY_EVENTS;
  } else {
    const eventAttrs = events.map((e) => flattenAttributes(e.attributes));
    out +=
      `"Events.Timestamp":[${events.map((e) => formatNanos(e.timestamp)).join(',')}],` +
      `"Events.Name":${JSON.stringify(events.map((e) => e.name))},` +
      `"Events.Attributes":${JSON.stringify(eventAttrs.map((a) => a.values))},` +
      `"Events.AttributeTypes":${JSON.stringify(eventAttrs.map((a) => a.types))},` +
      `"Events.DroppedAttributesCount":${JSON.stringify(events.map((e) => e.droppedAttributesCount))},`;
  }
  out += `"DroppedEventsCount":${s.droppedEventsCount},`;
  if (links.length === 0) {
    out += EMPTY_LINKS;
  } else {
    const linkAttrs = links.map((l) => flattenAttributes(l.attributes));
    out +=
      `"Links.TraceId":${JSON.stringify(links.map((l) => l.traceId))},` +
      `"Links.SpanId":${JSON.stringify(links.map((l) => l.spanId))},` +
      `"Links.TraceState":${JSON.stringify(links.map((l) => l.traceState))},` +
      `"Links.Flags":${JSON.stringify(links.map((l) => l.flags >>> 0))},` +
      `"Links.Attributes":${JSON.stringify(linkAttrs.map((a) => a.values))},` +
      `"Links.AttributeTypes":${JSON.stringify(linkAttrs.map((a) => a.types))},` +
      `"Links.DroppedAttributesCount":${JSON.stringify(links.map((l) => l.droppedAttributesCount))},`;
  }
  return out;
}

export function spanRowsText(spans: readonly Span[]): string {
  let out = '';
  for (const s of spans) {
    const duration = s.endTime > s.startTime ? s.endTime - s.startTime : 0n;
    out +=
      `{"TenantId":${JSON.stringify(s.tenant)},"Timestamp":${formatNanos(s.startTime)},` +
      `"TraceId":"${s.traceId}","SpanId":"${s.spanId}","ParentSpanId":"${s.parentSpanId}",` +
      `"TraceState":${JSON.stringify(s.traceState)},"SpanFlags":${s.flags >>> 0},"SpanName":${JSON.stringify(s.name)},` +
      `"SpanKind":"${SPAN_KINDS[s.kind] ?? 'Unspecified'}","ServiceName":${JSON.stringify(s.serviceName)},` +
      resourceColumns(s.resource) +
      ',' +
      scopeColumns(s.scope) +
      ',' +
      attributeColumns('Span', s.attributes) +
      `,"DroppedAttributesCount":${s.droppedAttributesCount},"Duration":"${duration}",` +
      `"StatusCode":"${STATUS_CODES[s.statusCode] ?? 'Unset'}","StatusMessage":${JSON.stringify(s.statusMessage)},` +
      nestedColumns(s) +
      `"DroppedLinksCount":${s.droppedLinksCount}}\n`;
  }
  return out;
}

const MS_PER_DAY = 86_400_000;

/** What the cache knows of one label set: its fingerprint and the last series row written. */
interface SeriesEntry {
  fingerprint: string;
  /** The same fingerprint as a UInt64, for Native blocks (native-rows.ts). */
  fingerprintBig: bigint;
  /** Tenant and day of the last series row written (or being written) for it; day -1: none. */
  tenant: string;
  day: number;
}

/**
 * Remembers which (tenant, series, day) rows were written so each series is written once a
 * day. Bounded: when full it forgets everything, which costs only duplicate series rows that
 * the ReplacingMergeTree collapses.
 *
 * Frozen label sets (the remote-write decoder interns one object per series) are also cached
 * by identity, so a repeated series costs a WeakMap lookup: no label text, no hashing, no key.
 */
export class SeriesCache {
  private readonly seen = new Set<string>();
  private readonly fingerprints = new Map<string, string>();
  private readonly byIdentity = new WeakMap<Labels, SeriesEntry>();

  constructor(private readonly maxEntries = 1_000_000) {}

  fingerprint(labels: Labels): string {
    return this.entry(labels).fingerprint;
  }

  private entry(labels: Labels): SeriesEntry {
    let entry = this.byIdentity.get(labels);
    if (entry !== undefined) return entry;
    // The label text is the cache key: hashing is the expensive part.
    const key = JSON.stringify(labels);
    let fp = this.fingerprints.get(key);
    if (fp === undefined) {
      if (this.fingerprints.size >= this.maxEntries) this.fingerprints.clear();
      fp = labelsFingerprint(labels);
      this.fingerprints.set(key, fp);
    }
    entry = { fingerprint: fp, fingerprintBig: BigInt(fp), tenant: '', day: -1 };
    // Only an immutable object can stand for its labels; others are new per request anyway.
    if (Object.isFrozen(labels)) this.byIdentity.set(labels, entry);
    return entry;
  }

  /** True the first time a series is seen on a day. */
  markSeen(tenant: string, fingerprint: string, day: number): boolean {
    const key = `${tenant}\u0000${fingerprint}\u0000${day}`;
    if (this.seen.has(key)) return false;
    if (this.seen.size >= this.maxEntries) this.seen.clear();
    this.seen.add(key);
    return true;
  }

  /**
   * The series entry of `labels`, and whether its (tenant, day) series row is new; a new one
   * is marked seen (undo with forgetSeries if it is not stored).
   */
  markSeries(tenant: string, labels: Labels, day: number): { entry: SeriesEntry; isNew: boolean } {
    const entry = this.entry(labels);
    if (entry.day === day && entry.tenant === tenant) return { entry, isNew: false };
    const isNew = this.markSeen(tenant, entry.fingerprint, day);
    entry.tenant = tenant;
    entry.day = day;
    return { entry, isNew };
  }

  forget(tenant: string, fingerprint: string, day: number): void {
    this.seen.delete(`${tenant}\u0000${fingerprint}\u0000${day}`);
  }

  /** Undoes markSeries for a series row that was not stored. */
  forgetSeries(tenant: string, series: NewSeries): void {
    this.forget(tenant, series.fingerprint, series.day);
    if (series.entry.tenant === tenant && series.entry.day === series.day) series.entry.day = -1;
  }
}

export interface NewSeries {
  fingerprint: string;
  day: number;
  entry: SeriesEntry;
}

export interface SampleRows {
  /** metric_series rows, JSONEachRow. */
  series: string;
  /** metric_samples rows in `samplesFormat`. */
  samples: string;
  samplesFormat: 'JSONEachRow' | 'TabSeparated';
  /** Series marked seen by this batch; forgotten again (forgetSeries) if the insert fails. */
  newSeries: NewSeries[];
}

export function seriesRow(tenantJson: string, day: number, fp: string, labels: Labels): string {
  return (
    `{"TenantId":${tenantJson},"Date":${day},"MetricName":${JSON.stringify(labels.__name__ ?? '')},` +
    `"Fingerprint":"${fp}","Labels":${JSON.stringify(labels)}}\n`
  );
}

/** Samples as JSONEachRow (bench/codecs.ts inserts this text; appendSamples uses sampleRowsTsv). */
export function sampleRowsText(tenant: string, samples: readonly Sample[], cache: SeriesCache): SampleRows {
  let series = '';
  let rows = '';
  const newSeries: NewSeries[] = [];
  const tenantJson = JSON.stringify(tenant);
  for (const sample of samples) {
    const day = Math.floor(sample.timestampMs / MS_PER_DAY);
    const { entry, isNew } = cache.markSeries(tenant, sample.labels, day);
    const fp = entry.fingerprint;
    if (isNew) {
      newSeries.push({ fingerprint: fp, day, entry });
      series += seriesRow(tenantJson, day, fp, sample.labels);
    }
    const value = sample.stale ? '"nan"' : formatFloat(sample.value);
    rows += `{"TenantId":${tenantJson},"Fingerprint":"${fp}","TimestampMs":${Math.trunc(sample.timestampMs)},"Value":${value},"Flags":${sample.stale ? 1 : 0}}\n`;
  }
  return { series, samples: rows, samplesFormat: 'JSONEachRow', newSeries };
}

/** TabSeparated escaping (backslash, tab, newline and carriage return). */
function tsvEscape(text: string): string {
  return /[\\\t\n\r]/.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : text;
}

/**
 * metric_samples rows as TabSeparated in the table's column order (TenantId, Fingerprint,
 * TimestampMs, Value, Flags): rows of numbers parse in about 60 % of the engine's JSONEachRow
 * time (docs/BENCHMARKS.md). Series rows stay JSONEachRow (few, and they carry a Map).
 */
export function sampleRowsTsv(tenant: string, samples: readonly Sample[], cache: SeriesCache): SampleRows {
  let series = '';
  let rows = '';
  const newSeries: NewSeries[] = [];
  const tenantJson = JSON.stringify(tenant);
  const tenantTsv = tsvEscape(tenant);
  for (const sample of samples) {
    const timestampMs = Math.trunc(sample.timestampMs);
    const day = Math.floor(timestampMs / MS_PER_DAY);
    const { entry, isNew } = cache.markSeries(tenant, sample.labels, day);
    const fp = entry.fingerprint;
    if (isNew) {
      newSeries.push({ fingerprint: fp, day, entry });
      series += seriesRow(tenantJson, day, fp, sample.labels);
    }
    const value = sample.value;
    rows +=
      sample.stale === true
        ? `${tenantTsv}\t${fp}\t${timestampMs}\tnan\t1\n`
        : `${tenantTsv}\t${fp}\t${timestampMs}\t${value === value && value !== Infinity && value !== -Infinity ? value : value === Infinity ? 'inf' : value === -Infinity ? '-inf' : 'nan'}\t0\n`;
  }
  return { series, samples: rows, samplesFormat: 'TabSeparated', newSeries };
}

/** JSON has no NaN/Inf; ClickHouse reads them from quoted strings into Float64 columns. */
function formatFloat(value: number): string {
  if (Number.isNaN(value)) return '"nan"';
  if (value === Infinity) return '"inf"';
  if (value === -Infinity) return '"-inf"';
  return String(value);
}

export function metadataRowsText(tenant: string, metadata: readonly MetricMetadata[]): string {
  let out = '';
  for (const m of metadata) {
    out += `${JSON.stringify({ TenantId: tenant, MetricFamilyName: m.metricFamilyName, Type: m.type, Help: m.help, Unit: m.unit })}\n`;
  }
  return out;
}
