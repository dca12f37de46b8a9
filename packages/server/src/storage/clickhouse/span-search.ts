/**
 * Trace search, tag names and tag values over otel_traces (the Tempo API's storage side).
 *
 * Conditions are compared with the attribute's own type, as Tempo does: a string literal
 * matches string attributes only (lexicographic for < >), a number matches int and double
 * attributes numerically, a boolean matches booleans. Regexes are RE2 (ClickHouse match(),
 * the same family as Tempo's Go regexp) and fully anchored, as TraceQL's are. An unscoped
 * attribute is looked up on the span first, then on its resource.
 *
 * Every user value is a bound parameter; only generated placeholder names reach the SQL text.
 */
import type { SpanCondition, SpanConditionValue, SpanQuerier, TimeRange, TraceSearchQuery, TraceSummary } from '../types.js';
import { SPAN_COLUMNS, spanFromRow } from './span-rows.js';

/** Runs a SELECT with bound parameters and returns its rows as JSON objects. */
export type SelectRows = (sql: string, params: Record<string, unknown>) => Promise<Record<string, unknown>[]>;

export type SpanSearch = Pick<SpanQuerier, 'searchTraces' | 'tagNames' | 'tagValues'>;

const TRACE_LEVEL = new Set(['rootServiceName', 'rootName', 'traceDuration']);
const STORED_STATUS: Record<string, string> = { error: 'Error', ok: 'Ok', unset: 'Unset' };
const STORED_KIND: Record<string, string> = {
  unspecified: 'Unspecified',
  internal: 'Internal',
  server: 'Server',
  client: 'Client',
  producer: 'Producer',
  consumer: 'Consumer',
};
// Attribute type tags (see model/attributes.ts) → Tempo's tag value types. Strings carry no tag.
const TAG_VALUE_TYPES: Record<string, string> = { '': 'string', int: 'int', double: 'float', bool: 'bool' };
const DEFAULT_TAG_VALUES_LIMIT = 10_000;
const MAX_TAG_NAMES = 10_000;

/** Placeholders for bound parameters: p0, p1, ... */
class Params {
  readonly values: Record<string, unknown> = {};
  private count = 0;

  add(type: string, value: unknown): string {
    const name = `p${this.count++}`;
    this.values[name] = value;
    return `{${name}:${type}}`;
  }
}

export function createSpanSearch(select: SelectRows): SpanSearch {
  return {
    async searchTraces(query: TraceSearchQuery): Promise<TraceSummary[]> {
      const p = new Params();
      const spanWhere = baseWhere(p, query.tenant, query.range, query.conditions);
      const traceFilters = query.conditions.filter(isTraceLevel).map((c) => traceCondition(c, p));
      if (query.minDurationNs !== undefined) traceFilters.push(`DurationNs >= ${p.add('Int64', query.minDurationNs.toString())}`);
      if (query.maxDurationNs !== undefined) traceFilters.push(`DurationNs <= ${p.add('Int64', query.maxDurationNs.toString())}`);
      const limit = p.add('UInt32', Math.max(0, Math.trunc(query.limit)));
      // Without trace-level filters the newest matching traces can be chosen before the
      // (costlier) whole-trace aggregation; with them every candidate has to be aggregated.
      const candidates =
        traceFilters.length === 0
          ? `SELECT TraceId FROM otel_traces WHERE ${spanWhere} GROUP BY TraceId ORDER BY min(Timestamp) DESC LIMIT ${limit}`
          : `SELECT DISTINCT TraceId FROM otel_traces WHERE ${spanWhere}`;
      const traces = await select(
        `SELECT TraceId, toString(StartNs) AS StartText, toString(DurationNs) AS DurationText, RootServiceName, RootName,
           MatchedCount
         FROM (
           SELECT TraceId,
             min(toUnixTimestamp64Nano(Timestamp)) AS StartNs,
             max(toUnixTimestamp64Nano(Timestamp) + toInt64(Duration)) - StartNs AS DurationNs,
             argMinIf(ServiceName, Timestamp, ParentSpanId = '') AS RootServiceName,
             argMinIf(SpanName, Timestamp, ParentSpanId = '') AS RootName,
             countIf(${spanWhere}) AS MatchedCount
           FROM otel_traces
           WHERE TenantId = ${p.add('String', query.tenant)} AND TraceId IN (${candidates})
           GROUP BY TraceId
         )
         WHERE ${traceFilters.length === 0 ? '1' : traceFilters.join(' AND ')}
         ORDER BY StartNs DESC, TraceId
         LIMIT ${limit}`,
        p.values,
      );
      if (traces.length === 0) return [];

      const perTrace = Math.max(0, Math.trunc(query.spansPerTrace));
      const spansByTrace = new Map<string, ReturnType<typeof spanFromRow>[]>();
      if (perTrace > 0) {
        const sp = new Params();
        const where = baseWhere(sp, query.tenant, query.range, query.conditions);
        const ids = sp.add('Array(String)', traces.map((t) => t.TraceId as string));
        const rows = await select(
          `SELECT ${SPAN_COLUMNS} FROM otel_traces
           WHERE ${where} AND TraceId IN ${ids}
           ORDER BY TraceId, Timestamp, SpanId
           LIMIT ${sp.add('UInt32', perTrace)} BY TraceId`,
          sp.values,
        );
        for (const row of rows) {
          const span = spanFromRow(row);
          const list = spansByTrace.get(span.traceId);
          if (list) list.push(span);
          else spansByTrace.set(span.traceId, [span]);
        }
      }
      return traces.map((t) => ({
        traceId: t.TraceId as string,
        rootServiceName: t.RootServiceName as string,
        rootTraceName: t.RootName as string,
        startTime: BigInt(t.StartText as string),
        durationNs: BigInt(t.DurationText as string),
        matchedSpans: spansByTrace.get(t.TraceId as string) ?? [],
        matchedCount: Number(t.MatchedCount),
      }));
    },

    async tagNames(tenant: string, range?: TimeRange) {
      const p = new Params();
      const where = baseWhere(p, tenant, range, []);
      const rows = await select(
        `SELECT arraySort(groupUniqArrayArray(${MAX_TAG_NAMES})(mapKeys(ResourceAttributes))) AS resource,
           arraySort(groupUniqArrayArray(${MAX_TAG_NAMES})(mapKeys(SpanAttributes))) AS span
         FROM otel_traces WHERE ${where}`,
        p.values,
      );
      const row = rows[0];
      return { resource: (row?.resource as string[] | undefined) ?? [], span: (row?.span as string[] | undefined) ?? [] };
    },

    async tagValues(tenant, scope, key, range, limit, conditions = []) {
      const p = new Params();
      const where = baseWhere(p, tenant, range, conditions);
      const n = p.add('UInt32', Math.max(0, Math.trunc(limit ?? DEFAULT_TAG_VALUES_LIMIT)));
      if (scope === 'intrinsic') return intrinsicValues(select, p, where, key, n);
      const k = p.add('String', key);
      const parts: string[] = [];
      for (const s of scope === 'any' ? (['Span', 'Resource'] as const) : scope === 'span' ? (['Span'] as const) : (['Resource'] as const)) {
        parts.push(
          `SELECT ${s}Attributes[${k}] AS value, ${s}AttributeTypes[${k}] AS type FROM otel_traces
           WHERE ${where} AND mapContains(${s}Attributes, ${k})`,
        );
      }
      const rows = await select(
        `SELECT DISTINCT value, toString(type) AS type FROM (${parts.join(' UNION ALL ')})
         WHERE type IN ('', 'int', 'double', 'bool')
         ORDER BY value, type LIMIT ${n}`,
        p.values,
      );
      return rows.map((r) => ({ type: TAG_VALUE_TYPES[r.type as string] ?? 'string', value: r.value as string }));
    },
  };
}

async function intrinsicValues(
  select: SelectRows,
  p: Params,
  where: string,
  key: string,
  limit: string,
): Promise<{ type: string; value: string }[]> {
  const column: Record<string, [string, string]> = {
    name: ['SpanName', '1'],
    statusMessage: ['StatusMessage', '1'],
    rootServiceName: ['ServiceName', "ParentSpanId = ''"],
    rootName: ['SpanName', "ParentSpanId = ''"],
    status: ['StatusCode', '1'],
    kind: ['SpanKind', '1'],
  };
  const spec = column[key];
  if (!spec) return [];
  const [expr, filter] = spec;
  const rows = await select(
    `SELECT DISTINCT toString(${expr}) AS value FROM otel_traces WHERE ${where} AND ${filter} ORDER BY value LIMIT ${limit}`,
    p.values,
  );
  if (key === 'status' || key === 'kind') {
    const words = key === 'status' ? STORED_STATUS : STORED_KIND;
    const byStored = new Map(Object.entries(words).map(([word, stored]) => [stored, word]));
    return rows
      .map((r) => byStored.get(String(r.value).replace(/^(STATUS_CODE|SPAN_KIND)_/, '').toLowerCase().replace(/^./, (c) => c.toUpperCase())))
      .filter((w): w is string => w !== undefined)
      .map((value) => ({ type: 'keyword', value }));
  }
  return rows.map((r) => ({ type: 'string', value: r.value as string }));
}

function isTraceLevel(c: SpanCondition): boolean {
  return c.scope === 'intrinsic' && TRACE_LEVEL.has(c.key);
}

/** Tenant, time range and the span-level conditions (trace-level ones are applied after aggregation). */
function baseWhere(p: Params, tenant: string, range: TimeRange | undefined, conditions: SpanCondition[]): string {
  const parts = [`TenantId = ${p.add('String', tenant)}`];
  if (range) {
    parts.push(`Timestamp >= fromUnixTimestamp64Nano(${p.add('Int64', range.start.toString())})`);
    parts.push(`Timestamp <= fromUnixTimestamp64Nano(${p.add('Int64', range.end.toString())})`);
  }
  for (const c of conditions) if (!isTraceLevel(c)) parts.push(spanCondition(c, p));
  return parts.join(' AND ');
}

function spanCondition(c: SpanCondition, p: Params): string {
  if (c.scope !== 'intrinsic') return attributeCondition(c, p);
  switch (c.key) {
    case 'name':
      return stringCondition('SpanName', c, p);
    case 'statusMessage':
      return stringCondition('StatusMessage', c, p);
    case 'status':
      return enumCondition('StatusCode', STORED_STATUS, c, p);
    case 'kind':
      return enumCondition('SpanKind', STORED_KIND, c, p);
    case 'duration':
      return numberCondition('toInt64(Duration)', c, p);
    default:
      // An intrinsic this storage does not know matches nothing rather than everything.
      return '0';
  }
}

function traceCondition(c: SpanCondition, p: Params): string {
  if (c.key === 'traceDuration') return numberCondition('DurationNs', c, p);
  return stringCondition(c.key === 'rootName' ? 'RootName' : 'RootServiceName', c, p);
}

function stringCondition(column: string, c: SpanCondition, p: Params): string {
  if (Array.isArray(c.value)) return `has(${p.add('Array(String)', c.value.map(String))}, ${column})`;
  if (c.op === '=~' || c.op === '!~') return `${c.op === '!~' ? 'NOT ' : ''}match(${column}, ${p.add('String', anchored(String(c.value)))})`;
  return `${column} ${c.op} ${p.add('String', String(c.value))}`;
}

function enumCondition(column: string, stored: Record<string, string>, c: SpanCondition, p: Params): string {
  const values = (Array.isArray(c.value) ? c.value : [c.value]).map((v) => stored[String(v)] ?? String(v));
  const set = `has(${p.add('Array(String)', values)}, ${column})`;
  return c.op === '!=' ? `NOT ${set}` : set;
}

function numberCondition(expr: string, c: SpanCondition, p: Params): string {
  if (Array.isArray(c.value)) return `has(${p.add('Array(Int64)', c.value.map((v) => Math.round(Number(v)).toString()))}, ${expr})`;
  return `${expr} ${c.op} ${p.add('Int64', Math.round(Number(c.value)).toString())}`;
}

/** TraceQL regexes match the whole value. */
function anchored(pattern: string): string {
  return `^(?:${pattern})$`;
}

function attributeCondition(c: SpanCondition, p: Params): string {
  const k = p.add('String', c.key);
  let exists: string;
  let text: string;
  let type: string;
  if (c.scope === 'any') {
    const onSpan = `mapContains(SpanAttributes, ${k})`;
    exists = `(${onSpan} OR mapContains(ResourceAttributes, ${k}))`;
    text = `if(${onSpan}, SpanAttributes[${k}], ResourceAttributes[${k}])`;
    type = `if(${onSpan}, SpanAttributeTypes[${k}], ResourceAttributeTypes[${k}])`;
  } else {
    const prefix = c.scope === 'span' ? 'Span' : 'Resource';
    exists = `mapContains(${prefix}Attributes, ${k})`;
    text = `${prefix}Attributes[${k}]`;
    type = `${prefix}AttributeTypes[${k}]`;
  }
  if (c.value === null) return c.op === '!=' ? exists : `NOT ${exists}`;
  if (Array.isArray(c.value)) {
    const anyOf: string[] = [];
    const strings = c.value.filter((v): v is string => typeof v === 'string');
    const numbers = c.value.filter((v): v is number => typeof v === 'number');
    const booleans = c.value.filter((v): v is boolean => typeof v === 'boolean');
    if (strings.length > 0) anyOf.push(`(${type} = '' AND has(${p.add('Array(String)', strings)}, ${text}))`);
    if (numbers.length > 0) {
      anyOf.push(`(${type} IN ('int', 'double') AND has(${p.add('Array(Float64)', numbers)}, toFloat64OrZero(${text})))`);
    }
    if (booleans.length > 0) anyOf.push(`(${type} = 'bool' AND has(${p.add('Array(String)', booleans.map(String))}, ${text}))`);
    return `(${exists} AND (${anyOf.join(' OR ') || '0'}))`;
  }
  return `(${exists} AND ${typedComparison(text, type, c.op, c.value, p)})`;
}

function typedComparison(text: string, type: string, op: SpanCondition['op'], value: SpanConditionValue, p: Params): string {
  if (typeof value === 'number') {
    return `${type} IN ('int', 'double') AND toFloat64OrNull(${text}) ${op} ${p.add('Float64', value)}`;
  }
  if (typeof value === 'boolean') return `${type} = 'bool' AND ${text} ${op} ${p.add('String', String(value))}`;
  if (op === '=~' || op === '!~') {
    return `${type} = '' AND ${op === '!~' ? 'NOT ' : ''}match(${text}, ${p.add('String', anchored(value))})`;
  }
  return `${type} = '' AND ${text} ${op} ${p.add('String', value)}`;
}
