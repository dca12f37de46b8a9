/**
 * Tempo's HTTP response shapes, so Grafana's Tempo datasource reads Lookout unchanged.
 *
 * Tempo marshals its responses with gogo jsonpb (proto3 JSON with the default options), so:
 * trace and span ids are base64 (bytes fields), 64-bit numbers are decimal strings, enums are
 * their names (SPAN_KIND_SERVER, STATUS_CODE_ERROR), and fields holding a zero value, an empty
 * string or no list are left out. A set oneof is always written, even with a zero value
 * (`{"intValue":"0"}`). The v1 trace JSON renames `resourceSpans` to `batches`.
 *
 * Search results use hex ids instead: the trace id with its leading zeros trimmed (Tempo's
 * default, left_pad_trace_ids off) and the span id as 16 hex characters.
 */
import protobuf from 'protobufjs/minimal.js';
import {
  anyValueToText,
  findAttribute,
  SPAN_KINDS,
  STATUS_CODES,
  type AnyValue,
  type KeyValue,
  type Resource,
  type Scope,
  type Span,
} from '../model/index.js';
import type { SpanCondition, TraceSummary } from '../storage/index.js';

/** Tempo's placeholder for a trace whose root span has not arrived (pkg/search). */
export const ROOT_SPAN_NOT_YET_RECEIVED = '<root span not yet received>';

type Json = Record<string, unknown>;

// --- trace by id ---------------------------------------------------------------------------

/**
 * Spans grouped back into OTLP ResourceSpans → ScopeSpans (first-seen order), in the jsonpb
 * shape. protobufjs' fromObject reads the same shape, so this also feeds the protobuf encoder.
 */
export function toResourceSpans(spans: readonly Span[]): Json[] {
  const resources = new Map<string, { resource: Resource; scopes: Map<string, { scope: Scope; spans: Json[] }> }>();
  for (const span of spans) {
    const resourceKey = JSON.stringify([span.resource.schemaUrl, span.resource.attributes, span.resource.droppedAttributesCount]);
    let group = resources.get(resourceKey);
    if (!group) {
      group = { resource: span.resource, scopes: new Map() };
      resources.set(resourceKey, group);
    }
    const s = span.scope;
    const scopeKey = JSON.stringify([s.schemaUrl, s.name, s.version, s.attributes, s.droppedAttributesCount]);
    let scopeGroup = group.scopes.get(scopeKey);
    if (!scopeGroup) {
      scopeGroup = { scope: s, spans: [] };
      group.scopes.set(scopeKey, scopeGroup);
    }
    scopeGroup.spans.push(spanJson(span));
  }
  return [...resources.values()].map(({ resource, scopes }) =>
    omitEmpty({
      resource: omitEmpty({
        attributes: keyValuesJson(resource.attributes),
        droppedAttributesCount: resource.droppedAttributesCount,
      }),
      scopeSpans: [...scopes.values()].map(({ scope, spans: scopeSpans }) =>
        omitEmpty({
          scope: omitEmpty({
            name: scope.name,
            version: scope.version,
            attributes: keyValuesJson(scope.attributes),
            droppedAttributesCount: scope.droppedAttributesCount,
          }),
          spans: scopeSpans,
          schemaUrl: scope.schemaUrl,
        }),
      ),
      schemaUrl: resource.schemaUrl,
    }),
  );
}

function spanJson(span: Span): Json {
  return omitEmpty({
    traceId: hexToBase64(span.traceId),
    spanId: hexToBase64(span.spanId),
    traceState: span.traceState,
    parentSpanId: hexToBase64(span.parentSpanId),
    flags: span.flags >>> 0,
    name: span.name,
    kind: span.kind === 0 ? undefined : `SPAN_KIND_${(SPAN_KINDS[span.kind] ?? 'Unspecified').toUpperCase()}`,
    startTimeUnixNano: nanos(span.startTime),
    endTimeUnixNano: nanos(span.endTime),
    attributes: keyValuesJson(span.attributes),
    droppedAttributesCount: span.droppedAttributesCount,
    events: span.events.map((e) =>
      omitEmpty({
        timeUnixNano: nanos(e.timestamp),
        name: e.name,
        attributes: keyValuesJson(e.attributes),
        droppedAttributesCount: e.droppedAttributesCount,
      }),
    ),
    droppedEventsCount: span.droppedEventsCount,
    links: span.links.map((l) =>
      omitEmpty({
        traceId: hexToBase64(l.traceId),
        spanId: hexToBase64(l.spanId),
        traceState: l.traceState,
        attributes: keyValuesJson(l.attributes),
        droppedAttributesCount: l.droppedAttributesCount,
        flags: l.flags >>> 0,
      }),
    ),
    droppedLinksCount: span.droppedLinksCount,
    // Tempo always sets the status, so an unset one is written as {}.
    status: omitEmpty({
      message: span.statusMessage,
      code: span.statusCode === 0 ? undefined : `STATUS_CODE_${(STATUS_CODES[span.statusCode] ?? 'Unset').toUpperCase()}`,
    }),
  });
}

/** GET /api/traces/<id> as JSON (Tempo's MarshalToJSONV1). */
export function traceV1Json(spans: readonly Span[]): Json {
  return omitEmpty({ batches: toResourceSpans(spans) });
}

/** GET /api/v2/traces/<id> as JSON: a TraceByIDResponse. An unknown trace is `{"trace":{}}`, as in Tempo. */
export function traceV2Json(spans: readonly Span[]): Json {
  return { trace: omitEmpty({ resourceSpans: toResourceSpans(spans) }), metrics: {} };
}

/**
 * GET /api/v2/traces/<id> as protobuf: TraceByIDResponse { Trace trace = 1; TraceByIDMetrics
 * metrics = 2 }. `tracesData` is the encoded tempopb.Trace, which is wire-identical to OTLP
 * TracesData. Both fields are always written, empty or not, as Tempo does: Grafana reads
 * `trace.resourceSpans` without checking that the trace is there.
 */
export function wrapTraceByIdResponse(tracesData: Uint8Array): Uint8Array {
  const writer = protobuf.Writer.create();
  writer.uint32((1 << 3) | 2).bytes(tracesData);
  writer.uint32((2 << 3) | 2).bytes(new Uint8Array(0));
  return writer.finish();
}

// --- search --------------------------------------------------------------------------------

/** GET /api/search: a SearchResponse. `conditions` pick the attributes shown on each matched span. */
export function searchResponseJson(traces: readonly TraceSummary[], conditions: readonly SpanCondition[]): Json {
  return {
    traces: traces.map((t) => {
      const spanSet = omitEmpty({
        spans: t.matchedSpans.map((span) =>
          omitEmpty({
            spanID: span.spanId.padStart(16, '0'),
            name: span.name,
            startTimeUnixNano: nanos(span.startTime),
            durationNanos: nanos(span.endTime > span.startTime ? span.endTime - span.startTime : 0n),
            attributes: keyValuesJson(searchAttributes(span, conditions)),
          }),
        ),
        matched: t.matchedCount,
      });
      return omitEmpty({
        traceID: traceIdForSearch(t.traceId),
        rootServiceName: t.rootServiceName === '' ? ROOT_SPAN_NOT_YET_RECEIVED : t.rootServiceName,
        rootTraceName: t.rootTraceName,
        startTimeUnixNano: nanos(t.startTime),
        durationMs: Number(t.durationNs / 1_000_000n),
        // spanSet is deprecated in Tempo but still filled (spanSets[0]) for older Grafana versions.
        spanSet,
        spanSets: [spanSet],
      });
    }),
    metrics: { completedJobs: 1, totalJobs: 1 },
  };
}

/** Tempo's TraceIDToHexString: hex without leading zeros. */
export function traceIdForSearch(traceId: string): string {
  return traceId.replace(/^0+/, '');
}

/**
 * The attributes a Tempo search shows on a matched span: those its query asked about, with the
 * span's own values (the intrinsics status, kind and statusMessage included; name and durations
 * have their own fields).
 */
export function searchAttributes(span: Span, conditions: readonly SpanCondition[]): KeyValue[] {
  const out: KeyValue[] = [];
  const seen = new Set<string>();
  for (const c of conditions) {
    const id = `${c.scope}\u0000${c.key}`;
    if (seen.has(id)) continue;
    seen.add(id);
    let value: AnyValue | undefined;
    if (c.scope === 'intrinsic') {
      if (c.key === 'status') value = { stringValue: (STATUS_CODES[span.statusCode] ?? 'Unset').toLowerCase() };
      else if (c.key === 'kind') value = { stringValue: (SPAN_KINDS[span.kind] ?? 'Unspecified').toLowerCase() };
      else if (c.key === 'statusMessage') value = { stringValue: span.statusMessage };
    } else if (c.scope === 'span') {
      value = findAttribute(span.attributes, c.key);
    } else if (c.scope === 'resource') {
      value = findAttribute(span.resource.attributes, c.key);
    } else {
      value = findAttribute(span.attributes, c.key) ?? findAttribute(span.resource.attributes, c.key);
    }
    if (value !== undefined) out.push({ key: c.key, value });
  }
  return out;
}

// --- tags ----------------------------------------------------------------------------------

/**
 * The intrinsics Tempo lists under the "intrinsic" scope, limited to those Lookout's TraceQL
 * evaluates, so Grafana's editor does not offer filters that would only fail.
 */
export const INTRINSIC_TAGS = [
  'duration', 'kind', 'name', 'rootName', 'rootServiceName', 'span:duration', 'span:kind', 'span:name', 'span:status',
  'span:statusMessage', 'status', 'statusMessage', 'trace:duration', 'trace:rootName', 'trace:rootService', 'traceDuration',
];

/** GET /api/search/tags: a SearchTagsResponse. */
export function tagNamesV1Json(names: readonly string[]): Json {
  return { tagNames: [...new Set(names)].sort(), metrics: {} };
}

/** GET /api/v2/search/tags: a SearchTagsV2Response; scopes without tags are left out, as Tempo does. */
export function tagNamesV2Json(scopes: readonly { name: string; tags: readonly string[] }[]): Json {
  return {
    scopes: scopes.filter((s) => s.tags.length > 0).map((s) => ({ name: s.name, tags: [...new Set(s.tags)].sort() })),
    metrics: {},
  };
}

/** GET /api/search/tag/<tag>/values: a SearchTagValuesResponse. */
export function tagValuesV1Json(values: readonly string[]): Json {
  return { tagValues: [...new Set(values)].sort(), metrics: {} };
}

/** GET /api/v2/search/tag/<tag>/values: a SearchTagValuesV2Response. */
export function tagValuesV2Json(values: readonly { type: string; value: string }[]): Json {
  const seen = new Set<string>();
  const tagValues = values.filter((v) => {
    const id = `${v.type}\u0000${v.value}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  return { tagValues: tagValues.map((v) => ({ type: v.type, value: v.value })), metrics: {} };
}

/**
 * Values Tempo answers without reading data (pkg/search GetVirtualTagValuesV2): the status and
 * kind keywords, and no values for durations. undefined for every other tag.
 */
export function virtualTagValuesV2(tag: string): { type: string; value: string }[] | undefined {
  switch (tag) {
    case 'status':
    case 'span:status':
      return ['ok', 'error', 'unset'].map((value) => ({ type: 'keyword', value }));
    case 'kind':
    case 'span:kind':
      return ['client', 'server', 'producer', 'consumer', 'internal', 'unspecified'].map((value) => ({ type: 'keyword', value }));
    case 'duration':
    case 'span:duration':
    case 'traceDuration':
      return [];
    default:
      return undefined;
  }
}

/** The v1 endpoint's virtual values (pkg/search GetVirtualTagValues), added to what storage holds. */
export function virtualTagValuesV1(tag: string): string[] {
  if (tag === 'status.code') return ['unset', 'ok', 'error'];
  if (tag === 'error') return ['true'];
  return [];
}

// --- helpers -------------------------------------------------------------------------------

function hexToBase64(hex: string): string {
  return hex === '' ? '' : Buffer.from(hex.length % 2 === 1 ? `0${hex}` : hex, 'hex').toString('base64');
}

/** uint64 nanoseconds as jsonpb writes them: a decimal string, left out when zero. */
function nanos(value: bigint): string | undefined {
  return value === 0n ? undefined : value.toString();
}

function keyValuesJson(attributes: readonly KeyValue[]): Json[] {
  return attributes.map((kv) => omitEmpty({ key: kv.key, value: anyValueJson(kv.value) }, ['value']));
}

function anyValueJson(value: AnyValue): Json {
  if ('doubleValue' in value) {
    // jsonpb writes the non-finite doubles as strings; JSON.stringify would write null.
    const d = value.doubleValue;
    return { doubleValue: Number.isFinite(d) ? d : anyValueToText(value)[0] };
  }
  if ('arrayValue' in value) return { arrayValue: omitEmpty({ values: value.arrayValue.values.map(anyValueJson) }) };
  if ('kvlistValue' in value) return { kvlistValue: omitEmpty({ values: keyValuesJson(value.kvlistValue.values) }) };
  return { ...value };
}

/** jsonpb without EmitDefaults: zero numbers, empty strings, empty lists and undefined are left out. */
function omitEmpty(object: Json, keep: readonly string[] = []): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(object)) {
    if (!keep.includes(key)) {
      if (value === undefined || value === '' || value === 0) continue;
      if (Array.isArray(value) && value.length === 0) continue;
    }
    out[key] = value;
  }
  return out;
}
