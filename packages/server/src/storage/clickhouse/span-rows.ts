/**
 * otel_traces rows → Span. Select with SPAN_COLUMNS, map each row with spanFromRow.
 *
 * Every 64-bit number is selected as text: chDB writes Int64/UInt64 into JSON as bare numbers
 * (output_format_json_quote_64bit_integers is off there), and nanosecond timestamps do not
 * survive a double.
 */
import { restoreAttributes, SPAN_KINDS, STATUS_CODES, type Span, type SpanEvent, type SpanLink } from '../../model/index.js';
import { resourceFromRow, scopeFromRow } from './resource-rows.js';

export const SPAN_COLUMNS = `TenantId, TraceId, SpanId, ParentSpanId, TraceState, SpanFlags, SpanName, SpanKind, ServiceName,
  toString(toUnixTimestamp64Nano(Timestamp)) AS StartNs, toString(Duration) AS DurationNs,
  ResourceSchemaUrl, ResourceAttributes, ResourceAttributeTypes, ResourceDroppedAttributesCount,
  ScopeSchemaUrl, ScopeName, ScopeVersion, ScopeAttributes, ScopeAttributeTypes, ScopeDroppedAttributesCount,
  SpanAttributes, SpanAttributeTypes, DroppedAttributesCount, StatusCode, StatusMessage,
  arrayMap(t -> toString(toUnixTimestamp64Nano(t)), Events.Timestamp) AS EventTimesNs, Events.Name,
  Events.Attributes, Events.AttributeTypes, Events.DroppedAttributesCount, DroppedEventsCount,
  Links.TraceId, Links.SpanId, Links.TraceState, Links.Flags, Links.Attributes, Links.AttributeTypes,
  Links.DroppedAttributesCount, DroppedLinksCount`;

type Str = Record<string, string>;

// The OpenTelemetry Collector exporter writes SPAN_KIND_SERVER / STATUS_CODE_ERROR; Lookout
// writes Server / Error. Reading both keeps tables written by either usable.
const KIND_INDEX = new Map<string, number>();
SPAN_KINDS.forEach((kind, i) => {
  KIND_INDEX.set(kind, i);
  KIND_INDEX.set(`SPAN_KIND_${kind.toUpperCase()}`, i);
});
const STATUS_INDEX = new Map<string, number>();
STATUS_CODES.forEach((code, i) => {
  STATUS_INDEX.set(code, i);
  STATUS_INDEX.set(`STATUS_CODE_${code.toUpperCase()}`, i);
});

export function spanFromRow(row: Record<string, unknown>): Span {
  const startTime = BigInt(String(row.StartNs));
  const eventTimes = (row.EventTimesNs as string[] | undefined) ?? [];
  const eventNames = (row['Events.Name'] as string[] | undefined) ?? [];
  const eventAttrs = (row['Events.Attributes'] as Str[] | undefined) ?? [];
  const eventTypes = (row['Events.AttributeTypes'] as Str[] | undefined) ?? [];
  const eventDropped = (row['Events.DroppedAttributesCount'] as number[] | undefined) ?? [];
  const events: SpanEvent[] = eventTimes.map((t, i) => ({
    timestamp: BigInt(String(t)),
    name: eventNames[i] ?? '',
    attributes: restoreAttributes(eventAttrs[i] ?? {}, eventTypes[i] ?? {}),
    droppedAttributesCount: Number(eventDropped[i] ?? 0),
  }));
  const linkTraceIds = (row['Links.TraceId'] as string[] | undefined) ?? [];
  const linkSpanIds = (row['Links.SpanId'] as string[] | undefined) ?? [];
  const linkStates = (row['Links.TraceState'] as string[] | undefined) ?? [];
  const linkFlags = (row['Links.Flags'] as number[] | undefined) ?? [];
  const linkAttrs = (row['Links.Attributes'] as Str[] | undefined) ?? [];
  const linkTypes = (row['Links.AttributeTypes'] as Str[] | undefined) ?? [];
  const linkDropped = (row['Links.DroppedAttributesCount'] as number[] | undefined) ?? [];
  const links: SpanLink[] = linkTraceIds.map((traceId, i) => ({
    traceId,
    spanId: linkSpanIds[i] ?? '',
    traceState: linkStates[i] ?? '',
    flags: Number(linkFlags[i] ?? 0),
    attributes: restoreAttributes(linkAttrs[i] ?? {}, linkTypes[i] ?? {}),
    droppedAttributesCount: Number(linkDropped[i] ?? 0),
  }));
  return {
    tenant: row.TenantId as string,
    traceId: row.TraceId as string,
    spanId: row.SpanId as string,
    parentSpanId: row.ParentSpanId as string,
    traceState: row.TraceState as string,
    flags: Number(row.SpanFlags),
    name: row.SpanName as string,
    kind: KIND_INDEX.get(row.SpanKind as string) ?? 0,
    startTime,
    endTime: startTime + BigInt(String(row.DurationNs)),
    serviceName: row.ServiceName as string,
    attributes: restoreAttributes(row.SpanAttributes as Str, row.SpanAttributeTypes as Str),
    droppedAttributesCount: Number(row.DroppedAttributesCount),
    events,
    droppedEventsCount: Number(row.DroppedEventsCount),
    links,
    droppedLinksCount: Number(row.DroppedLinksCount),
    statusCode: STATUS_INDEX.get(row.StatusCode as string) ?? 0,
    statusMessage: row.StatusMessage as string,
    resource: resourceFromRow(row),
    scope: scopeFromRow(row),
  };
}
