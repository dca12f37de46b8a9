/**
 * /loki/api/v1/detected_fields and /loki/api/v1/detected_field/<name>/values, as Loki's query
 * frontend computes them (pkg/querier/queryrange/detected_fields.go): the newest `line_limit`
 * entries of the query are read; fields are their structured metadata and what Loki's json
 * parser (else its logfmt parser) extracts from the line, with the type of the value seen last.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { LogqlValue } from '../../logql/index.js';
import type { Labels } from '../../model/index.js';
import { allParams } from './index-routes.js';
import { badParam, param, parseBounds, type Params } from './params.js';
import type { LokiQueryEngine } from './query.js';

type FieldType = 'string' | 'int' | 'float' | 'boolean' | 'duration' | 'bytes';

const GO_INT = /^[+-]?\d+$/;
const GO_FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)$/i;
const GO_BOOL = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']);
const GO_DURATION = /^[+-]?(?:0|(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/;
const BYTES = /^([\d.,]+)\s*(b|kib|kb|ki|k|mib|mb|mi|m|gib|gb|gi|g|tib|tb|ti|t|pib|pb|pi|p|eib|eb|ei|e)?$/i;

/** Loki's determineType: int, float, boolean, duration, bytes, else string, tried in that order. */
export function fieldType(value: string): FieldType {
  if (GO_INT.test(value) && BigInt(value) <= 9223372036854775807n && BigInt(value) >= -9223372036854775808n) return 'int';
  if (GO_FLOAT.test(value)) return 'float';
  if (GO_BOOL.has(value)) return 'boolean';
  if (GO_DURATION.test(value)) return 'duration';
  const bytes = BYTES.exec(value.trim());
  if (bytes && /\d/.test(bytes[1]!) && !Number.isNaN(Number(bytes[1]!.replace(/,/g, '')))) return 'bytes';
  return 'string';
}

function sanitize(key: string): string {
  return key.replace(/[^a-zA-Z0-9_]/g, '_');
}

/** Loki's json parser: nested objects flattened with `_`, arrays skipped; the JSON path of each field. */
export function parseJsonFields(line: string): Map<string, { value: string; path: string[] }> | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const out = new Map<string, { value: string; path: string[] }>();
  const walk = (object: Record<string, unknown>, prefix: string, path: string[]) => {
    for (const [key, value] of Object.entries(object)) {
      const name = prefix === '' ? sanitize(key) : `${prefix}_${sanitize(key)}`;
      if (Array.isArray(value)) continue;
      if (typeof value === 'object' && value !== null) walk(value as Record<string, unknown>, name, [...path, key]);
      else if (value === null) out.set(name, { value: '', path: [...path, key] });
      else out.set(name, { value: String(value), path: [...path, key] });
    }
  };
  walk(parsed as Record<string, unknown>, '', []);
  return out;
}

const LOGFMT_PAIR = /([^\s="]+)(?:=("(?:[^"\\]|\\.)*"|\S*))?/g;

/** Loki's logfmt parser (non-strict): key=value and key="quoted" pairs; undefined when none. */
export function parseLogfmtFields(line: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  for (const m of line.matchAll(LOGFMT_PAIR)) {
    if (m[2] === undefined) continue;
    const raw = m[2];
    const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c)) : raw;
    out.set(sanitize(m[1]!), value);
  }
  return out.size > 0 ? out : undefined;
}

interface Field {
  type: FieldType;
  values: Set<string>;
  parsers: string[] | null;
  jsonPath?: string[];
}

const ERROR_LABELS = new Set(['__error__', '__error_details__', '__preserve_error__']);

/** The fields of a streams result (entries carry their own stream labels, metadata and parsed labels). */
export function detectFields(value: LogqlValue, fieldLimit: number): Map<string, Field> {
  const fields = new Map<string, Field>();
  if (value.type !== 'streams') return fields;
  const add = (name: string, values: string[], parsers: string[] | null, jsonPath?: string[]) => {
    if (ERROR_LABELS.has(name)) return;
    let field = fields.get(name);
    if (!field) {
      if (fields.size >= fieldLimit) return;
      fields.set(name, (field = { type: 'string', values: new Set(), parsers: parsers === null ? null : [...parsers] }));
    }
    if (parsers !== null) for (const p of parsers) if (!(field.parsers ?? (field.parsers = [])).includes(p)) field.parsers.push(p);
    if (jsonPath) field.jsonPath = jsonPath;
    if (values.length > 0) field.type = fieldType(values[0]!);
    for (const v of values) field.values.add(v);
  };
  for (const { stream, entries } of value.streams) {
    for (const entry of entries) {
      for (const [name, v] of Object.entries(entry.structuredMetadata)) add(name, [v], null);
      // Labels the query's own parsers produced, then what json (else logfmt) finds in the line.
      for (const [name, v] of Object.entries(entry.parsed)) add(name, [v], []);
      const own: Labels = {};
      for (const [name, v] of Object.entries(stream)) if (!Object.hasOwn(entry.structuredMetadata, name) && !Object.hasOwn(entry.parsed, name)) own[name] = v;
      const rename = (name: string) => (Object.hasOwn(own, name) ? `${name}_extracted` : name);
      const json = parseJsonFields(entry.line);
      if (json) {
        for (const [name, { value: v, path }] of json) add(rename(name), [v], ['json'], path);
        continue;
      }
      const logfmt = parseLogfmtFields(entry.line);
      if (logfmt) for (const [name, v] of logfmt) add(rename(name), [v], ['logfmt']);
    }
  }
  return fields;
}

function parseLimit(all: Params, names: string[], fallback: number): number {
  for (const name of names) {
    const text = param(all, name);
    if (text === '') continue;
    if (!/^[+-]?\d+$/.test(text)) throw badParam(`strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax`);
    const n = Number(text);
    if (n <= 0) throw badParam('limit must be a positive value');
    return n;
  }
  return fallback;
}

export interface DetectedFieldsOptions extends LokiQueryEngine {
  tenantOf: (request: FastifyRequest) => string;
  maxEntriesLimitPerQuery: number;
}

export function lokiDetectedFieldsRoutes(options: DetectedFieldsOptions): FastifyPluginAsync {
  const { engine, classify, tenantOf } = options;
  const run = async (request: FastifyRequest) => {
    const all = allParams(request);
    const query = param(all, 'query');
    if (classify(query) !== 'log') throw badParam('only log selector is supported');
    const fieldLimit = parseLimit(all, ['limit', 'field_limit'], 1000);
    const lineLimit = parseLimit(all, ['line_limit'], 1000);
    if (options.maxEntriesLimitPerQuery > 0 && lineLimit > options.maxEntriesLimitPerQuery) {
      throw badParam(`max entries limit per query exceeded, limit > max_entries_limit_per_query (${lineLimit} > ${options.maxEntriesLimitPerQuery})`);
    }
    const { startNs, endNs } = parseBounds(all);
    const result = await engine.query({ tenant: tenantOf(request), query, startNs, endNs, limit: lineLimit, direction: 'backward' });
    return { fields: detectFields(result.value, fieldLimit), fieldLimit };
  };
  return async (app) => {
    app.route({
      method: ['GET', 'POST'],
      url: '/loki/api/v1/detected_fields',
      handler: async (request, reply) => {
        const { fields, fieldLimit } = await run(request);
        const list = [...fields].map(([label, f]) => ({
          label,
          type: f.type,
          cardinality: f.values.size,
          parsers: f.parsers,
          ...(f.jsonPath ? { jsonPath: f.jsonPath } : {}),
        }));
        list.sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
        // Loki omits empty fields and the limit (proto omitempty).
        return reply.type('application/json; charset=utf-8').send(list.length === 0 ? '{}\n' : `${JSON.stringify({ fields: list, limit: fieldLimit })}\n`);
      },
    });
    app.route({
      method: ['GET', 'POST'],
      url: '/loki/api/v1/detected_field/:name/values',
      handler: async (request, reply) => {
        const { name } = request.params as { name: string };
        const { fields, fieldLimit } = await run(request);
        const values = [...(fields.get(name)?.values ?? [])].sort().slice(0, fieldLimit);
        return reply.type('application/json; charset=utf-8').send(values.length === 0 ? '{}\n' : `${JSON.stringify({ values, limit: fieldLimit })}\n`);
      },
    });
  };
}
