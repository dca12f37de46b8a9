import { restoreAttributes, type Resource, type Scope } from '../../model/index.js';

type Str = Record<string, string>;

/** The resource columns shared by otel_logs and otel_traces, back to the model. */
export function resourceFromRow(row: Record<string, unknown>): Resource {
  return {
    schemaUrl: row.ResourceSchemaUrl as string,
    attributes: restoreAttributes(row.ResourceAttributes as Str, row.ResourceAttributeTypes as Str),
    droppedAttributesCount: Number(row.ResourceDroppedAttributesCount),
  };
}

/** The instrumentation-scope columns shared by otel_logs and otel_traces, back to the model. */
export function scopeFromRow(row: Record<string, unknown>): Scope {
  return {
    schemaUrl: row.ScopeSchemaUrl as string,
    name: row.ScopeName as string,
    version: row.ScopeVersion as string,
    attributes: restoreAttributes(row.ScopeAttributes as Str, row.ScopeAttributeTypes as Str),
    droppedAttributesCount: Number(row.ScopeDroppedAttributesCount),
  };
}
