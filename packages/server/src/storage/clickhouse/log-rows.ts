import { restoreAttributes, type LogRecord } from '../../model/index.js';
import { resourceFromRow, scopeFromRow } from './resource-rows.js';

// Nanosecond Int64s as text: JSON output may write 64-bit integers unquoted, which JSON.parse rounds.
export const LOG_COLUMNS = `TenantId, toString(toUnixTimestamp64Nano(Timestamp)) AS TimestampNs,
  toString(toUnixTimestamp64Nano(ObservedTimestamp)) AS ObservedNs, TraceId, SpanId, TraceFlags, SeverityText,
  SeverityNumber, ServiceName, StreamLabels, Body, BodyType, EventName, ResourceSchemaUrl, ResourceAttributes,
  ResourceAttributeTypes, ResourceDroppedAttributesCount, ScopeSchemaUrl, ScopeName, ScopeVersion,
  ScopeAttributes, ScopeAttributeTypes, ScopeDroppedAttributesCount, LogAttributes, LogAttributeTypes,
  DroppedAttributesCount`;

type Str = Record<string, string>;

export function logFromRow(row: Record<string, unknown>): LogRecord {
  return {
    tenant: row.TenantId as string,
    timestamp: BigInt(row.TimestampNs as string),
    observedTimestamp: BigInt(row.ObservedNs as string),
    traceId: row.TraceId as string,
    spanId: row.SpanId as string,
    flags: Number(row.TraceFlags),
    severityText: row.SeverityText as string,
    severityNumber: Number(row.SeverityNumber),
    serviceName: row.ServiceName as string,
    streamLabels: row.StreamLabels as Str,
    body: row.Body as string,
    bodyType: row.BodyType as LogRecord['bodyType'],
    eventName: row.EventName as string,
    attributes: restoreAttributes(row.LogAttributes as Str, row.LogAttributeTypes as Str),
    droppedAttributesCount: Number(row.DroppedAttributesCount),
    resource: resourceFromRow(row),
    scope: scopeFromRow(row),
  };
}
