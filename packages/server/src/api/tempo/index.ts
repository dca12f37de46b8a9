/**
 * Tempo's query API, so Grafana's Tempo datasource (and Tempo's own clients) work against
 * Lookout: trace by id (v1, v2; JSON or protobuf by Accept), TraceQL and tag search, tag names
 * and values, echo and build info.
 *
 * Parameters are checked the way Tempo checks them and bad ones get Tempo's 400 text
 * ("invalid start: ...", "invalid TraceQL query: parse error at line 1, col 12: ...") as
 * text/plain. An unknown trace is a 404 with an empty body on v1 and an empty trace with 200 on
 * v2, as Tempo answers since 2.7 (Grafana handles both).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { isLookoutError, LookoutError, toLookoutError } from '../../errors.js';
import { VERSION } from '../../version.js';
import { encodeTracesData } from '../../ingest/index.js';
import type { SpanCondition, SpanQuerier, TimeRange } from '../../storage/index.js';
import {
  INTRINSIC_TAGS,
  searchResponseJson,
  tagNamesV1Json,
  tagNamesV2Json,
  tagValuesV1Json,
  tagValuesV2Json,
  toResourceSpans,
  traceV1Json,
  traceV2Json,
  virtualTagValuesV1,
  virtualTagValuesV2,
  wrapTraceByIdResponse,
} from '../../traces/index.js';
import { parseGoDurationNs } from '../../model/index.js';
import { extractConditionsLenient, parseTempoTags, parseTraceQL } from '../../traces/index.js';

export interface TempoApiOptions {
  spans: SpanQuerier;
  /** The tenant of a request (X-Scope-OrgID); may throw a LookoutError for a bad header. */
  tenantOf: (request: FastifyRequest) => string;
  /** Reported by /api/status/buildinfo; defaults to the server package's version. */
  version?: string;
}

const DEFAULT_LIMIT = 20;
const DEFAULT_SPANS_PER_SPAN_SET = 3;
// Tempo's query-frontend default (search.max_spans_per_span_set).
const MAX_SPANS_PER_SPAN_SET = 100;
const NS_PER_SECOND = 1_000_000_000n;
const NS_PER_MS = 1_000_000n;
// DateTime64(9) ends in 2262; an open end of a range is "far in the future" rather than infinity.
const FAR_FUTURE_NS = 9_000_000_000_000_000_000n;
const TEXT = 'text/plain; charset=utf-8';
const PROTOBUF = 'application/protobuf';
const JSON_TYPE = 'application/json';

// Parameters Tempo reserves; any other query parameter is a tag in the oldest search form.
const SEARCH_PARAMS = new Set(['q', 'tags', 'minDuration', 'maxDuration', 'limit', 'spss', 'start', 'end']);
const ATTRIBUTE_SCOPES = new Set(['resource', 'span', 'event', 'link', 'instrumentation']);
// v1 tag names are unscoped; Tempo's block search reads these from span and trace columns.
const V1_TAG_COLUMNS: Record<string, string | undefined> = { name: 'name', 'root.name': 'rootName', 'root.service.name': 'rootServiceName' };

type Query = Record<string, string | undefined>;

const str = { type: 'string' } as const;
const traceSchema = {
  params: { type: 'object', properties: { traceId: str }, required: ['traceId'] },
  querystring: { type: 'object', properties: { start: str, end: str } },
} as const;
const searchSchema = {
  querystring: {
    type: 'object',
    properties: { q: str, tags: str, minDuration: str, maxDuration: str, limit: str, spss: str, start: str, end: str },
  },
} as const;
const tagsSchema = {
  querystring: { type: 'object', properties: { scope: str, q: str, start: str, end: str, limit: str, maxStaleValues: str } },
} as const;
const tagValuesSchema = {
  params: { type: 'object', properties: { tag: str }, required: ['tag'] },
  querystring: { type: 'object', properties: { q: str, start: str, end: str, limit: str, maxStaleValues: str } },
} as const;

export function tempoApi(options: TempoApiOptions): FastifyPluginAsync {
  const { spans } = options;
  const version = options.version ?? VERSION;

  return async (app) => {
    app.setErrorHandler((error: Error & { validation?: unknown; validationContext?: string; statusCode?: number }, request, reply) => {
      let failure: LookoutError;
      if (error.validation !== undefined) {
        failure = new LookoutError('LOOKOUT_ERR_QUERY_BAD_PARAM', `invalid request: ${error.message}`);
      } else if (!isLookoutError(error) && error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
        failure = new LookoutError('LOOKOUT_ERR_QUERY_BAD_PARAM', error.message);
      } else {
        failure = toLookoutError(error);
      }
      if (failure.httpStatus >= 500) request.log.error({ err: error }, 'tempo api request failed');
      void reply.code(failure.httpStatus).type(TEXT).send(failure.message);
    });

    app.get<{ Params: { traceId: string }; Querystring: Query }>('/api/traces/:traceId', { schema: traceSchema }, async (request, reply) => {
      const { traceId, range } = traceRequest(request);
      const found = await spans.getTrace(options.tenantOf(request), traceId, range);
      // Tempo answers an unknown trace on v1 with 404 and no body.
      if (found.length === 0) return reply.code(404).send();
      if (wantsProtobuf(request)) {
        const trace = encodeTracesData({ resourceSpans: toResourceSpans(found) });
        return reply.header('content-type', PROTOBUF).send(Buffer.from(trace));
      }
      return sendJson(reply, traceV1Json(found));
    });

    app.get<{ Params: { traceId: string }; Querystring: Query }>('/api/v2/traces/:traceId', { schema: traceSchema }, async (request, reply) => {
      const { traceId, range } = traceRequest(request);
      const found = await spans.getTrace(options.tenantOf(request), traceId, range);
      if (wantsProtobuf(request)) {
        const trace = encodeTracesData({ resourceSpans: toResourceSpans(found) });
        return reply.header('content-type', PROTOBUF).send(Buffer.from(wrapTraceByIdResponse(trace)));
      }
      return sendJson(reply, traceV2Json(found));
    });

    app.get<{ Querystring: Query }>('/api/search', { schema: searchSchema }, async (request, reply) => {
      const query = request.query;
      const start = parseUnixSeconds(query.start, 'start');
      const end = parseUnixSeconds(query.end, 'end');
      const q = nonEmpty(query.q);
      let tags = nonEmpty(query.tags);
      if (q !== undefined && tags !== undefined) throw badParam("invalid request: can't specify tags and q in the same query");
      let conditions: SpanCondition[] = [];
      if (q !== undefined) {
        conditions = withPrefix('invalid TraceQL query: ', () => parseTraceQL(q));
      } else {
        // The first Grafana versions sent each tag as its own query parameter; Tempo still reads
        // them when nothing else says what to search for.
        if (tags === undefined && start === 0 && end === 0) tags = legacyTags(query);
        if (tags !== undefined) conditions = parseTempoTags(tags);
      }
      // Tempo keeps durations in whole milliseconds, and applies them only to tag searches:
      // its TraceQL engine ignores minDuration and maxDuration.
      const minMs = durationMs(query.minDuration, 'minDuration');
      const maxMs = durationMs(query.maxDuration, 'maxDuration');
      if (minMs !== 0n && maxMs !== 0n && minMs > maxMs) throw badParam('invalid maxDuration: must be greater than minDuration');
      const limit = parseUnsigned(query.limit, 'limit') ?? DEFAULT_LIMIT;
      if (limit === 0) throw badParam('invalid limit: must be a positive number');
      let spss = parseUnsigned(query.spss, 'spss') ?? DEFAULT_SPANS_PER_SPAN_SET;
      if (spss > MAX_SPANS_PER_SPAN_SET) throw badParam(`spans per span set exceeds ${MAX_SPANS_PER_SPAN_SET}. received ${spss}`);
      // Tempo's engine reads 0 as its default.
      if (spss === 0) spss = DEFAULT_SPANS_PER_SPAN_SET;
      if ((start !== 0 || end !== 0) && end <= start) {
        throw badParam(`http parameter start must be before end. received start=${start} end=${end}`);
      }
      const traces = await spans.searchTraces({
        tenant: options.tenantOf(request),
        ...(start !== 0 ? { range: { start: BigInt(start) * NS_PER_SECOND, end: BigInt(end) * NS_PER_SECOND } } : {}),
        conditions,
        ...(q === undefined && minMs !== 0n ? { minDurationNs: minMs * NS_PER_MS } : {}),
        ...(q === undefined && maxMs !== 0n ? { maxDurationNs: maxMs * NS_PER_MS } : {}),
        limit,
        spansPerTrace: spss,
      });
      return sendJson(reply, searchResponseJson(traces, conditions));
    });

    app.get<{ Querystring: Query }>('/api/search/tags', { schema: tagsSchema }, async (request, reply) => {
      const scope = tagScope(request.query.scope);
      const limit = parseUnsigned(request.query.limit, 'limit');
      const names = await tagNamesByScope(request, scope);
      // Tempo's v1 lists intrinsics only when asked for them by scope.
      const list = scope === '' ? [...names.resource, ...names.span] : scope === 'unindexed' ? [] : names[scope];
      return sendJson(reply, tagNamesV1Json(cut(dedupeSorted(list), limit)));
    });

    app.get<{ Querystring: Query }>('/api/v2/search/tags', { schema: tagsSchema }, async (request, reply) => {
      const scope = tagScope(request.query.scope);
      const limit = parseUnsigned(request.query.limit, 'limit');
      const names = await tagNamesByScope(request, scope);
      const wanted = scope === '' ? (['resource', 'span', 'intrinsic'] as const) : scope === 'unindexed' ? [] : [scope];
      const scopes = wanted.map((name) => ({ name, tags: cut(dedupeSorted(names[name]), limit) }));
      return sendJson(reply, tagNamesV2Json(scopes));
    });

    app.get<{ Params: { tag: string }; Querystring: Query }>(
      '/api/search/tag/:tag/values',
      { schema: tagValuesSchema },
      async (request, reply) => {
        const tag = request.params.tag;
        if (tag === '') throw badParam('please provide a non-empty tagName');
        const { range, limit } = tagRequest(request.query);
        const tenant = options.tenantOf(request);
        const values = [...virtualTagValuesV1(tag)];
        const column = V1_TAG_COLUMNS[tag];
        const stored =
          tag === 'status.code'
            ? []
            : column
              ? await spans.tagValues(tenant, 'intrinsic', column, range, limit)
              : await spans.tagValues(tenant, 'any', tag, range, limit);
        for (const v of stored) if (v.type === 'string') values.push(v.value);
        return sendJson(reply, tagValuesV1Json(cut(values, limit)));
      },
    );

    app.get<{ Params: { tag: string }; Querystring: Query }>(
      '/api/v2/search/tag/:tag/values',
      { schema: tagValuesSchema },
      async (request, reply) => {
        const tag = request.params.tag;
        if (tag === '') throw badParam('please provide a non-empty tagName');
        const { range, limit } = tagRequest(request.query);
        const tenant = options.tenantOf(request);
        const send = (values: { type: string; value: string }[]) =>
          sendJson(reply, tagValuesV2Json(cut(values, limit)));
        const virtual = virtualTagValuesV2(tag);
        if (virtual !== undefined) return send(virtual);
        const field = tagField(tag);
        if (field === undefined) return send([]);
        // Tempo reads what it can out of q (which may be half typed) and ignores the rest.
        const q = nonEmpty(request.query.q);
        const conditions = q === undefined ? [] : extractConditionsLenient(q);
        return send(await spans.tagValues(tenant, field.scope, field.key, range, limit, conditions));
      },
    );

    app.get('/api/echo', async (_request, reply) => reply.type(TEXT).send('echo\n'));

    app.get('/api/status/buildinfo', async (_request, reply) => {
      const info = { version, revision: '', branch: '', buildUser: '', buildDate: '', goVersion: process.version };
      return sendJson(reply, info, '\n');
    });

    async function tagNamesByScope(
      request: FastifyRequest<{ Querystring: Query }>,
      scope: TagScope,
    ): Promise<{ resource: string[]; span: string[]; intrinsic: string[] }> {
      const { range } = tagRequest(request.query);
      const tenant = options.tenantOf(request);
      if (scope === 'intrinsic' || scope === 'unindexed') return { resource: [], span: [], intrinsic: INTRINSIC_TAGS };
      const stored = await spans.tagNames(tenant, range);
      return { ...stored, intrinsic: INTRINSIC_TAGS };
    }
  };
}

type TagScope = '' | 'resource' | 'span' | 'intrinsic' | 'unindexed';

/** Tempo's scope parameter; '' is all scopes. Event, link, instrumentation and trace tags are not indexed here. */
function tagScope(value: string | undefined): TagScope {
  const scope = value ?? '';
  if (scope === '' || scope === 'none') return '';
  if (scope === 'resource' || scope === 'span' || scope === 'intrinsic') return scope;
  if (scope === 'event' || scope === 'link' || scope === 'instrumentation' || scope === 'trace') return 'unindexed';
  throw badParam(`invalid scope: ${scope}`);
}

/**
 * A v2 tag name (a TraceQL identifier such as resource.service.name, .http.method, name,
 * span:name) as a storage field; undefined for identifiers with no stored values here.
 */
function tagField(tag: string): { scope: SpanCondition['scope']; key: string } | undefined {
  const prefix = /^([a-z]+)[.:]/.exec(tag)?.[1];
  if (prefix !== undefined && prefix !== 'span' && prefix !== 'resource' && prefix !== 'trace' && ATTRIBUTE_SCOPES.has(prefix)) {
    return undefined;
  }
  let conditions: SpanCondition[];
  try {
    conditions = parseTraceQL(`{${tag} =~ ".*"}`);
  } catch (error) {
    // Valid identifiers that hold no strings (trace:duration) or that Lookout does not query
    // (trace:id) have no values to list.
    if (isLookoutError(error) && /invalid comparison|unsupported construct: intrinsic/.test(error.message)) return undefined;
    const detail = isLookoutError(error) ? error.message : String(error);
    throw badParam(`please provide a valid tagName: failed to parse identifier ${tag}: ${detail}`);
  }
  const [c] = conditions;
  if (conditions.length !== 1 || !c || c.op !== '=~' || c.value !== '.*') {
    throw badParam(`please provide a valid tagName: failed to parse identifier ${tag}`);
  }
  return { scope: c.scope, key: c.key };
}

function traceRequest(request: FastifyRequest<{ Params: { traceId: string }; Querystring: Query }>): {
  traceId: string;
  range: TimeRange | undefined;
} {
  const traceId = normaliseTraceId(request.params.traceId);
  const start = parseSigned(request.query.start, 'start');
  const end = parseSigned(request.query.end, 'end');
  if (start !== undefined && end !== undefined && end <= start) {
    throw badParam(`http parameter start must be before end. received start=${start} end=${end}`);
  }
  if (start === undefined && end === undefined) return { traceId, range: undefined };
  const startNs = start === undefined || start < 0n ? 0n : start * NS_PER_SECOND;
  const endNs = end === undefined ? FAR_FUTURE_NS : end < 0n ? 0n : end * NS_PER_SECOND;
  return { traceId, range: { start: startNs, end: endNs } };
}

/** Tempo's HexStringToTraceID: 1-32 hex digits, left-padded with zeros to 128 bits. */
export function normaliseTraceId(raw: string): string {
  if (raw === '') throw badParam('please provide a traceID');
  for (let i = 0; i < raw.length; i++) {
    if (!/[0-9a-fA-F]/.test(raw[i]!)) {
      throw badParam(`trace IDs can only contain hex characters: invalid character '${raw[i]}' at position ${i + 1}`);
    }
  }
  const even = raw.length % 2 === 1 ? `0${raw}` : raw;
  if (even.length > 32) throw badParam("trace IDs can't be larger than 128 bits");
  return even.toLowerCase().padStart(32, '0');
}

function tagRequest(query: Query): { range: TimeRange | undefined; limit: number | undefined } {
  const start = parseSigned(query.start, 'start', 32);
  const end = parseSigned(query.end, 'end', 32);
  const limit = parseUnsigned(query.limit, 'limit');
  parseUnsigned(query.maxStaleValues, 'maxStaleValues');
  const range =
    start !== undefined && end !== undefined && start > 0n && end > start
      ? { start: start * NS_PER_SECOND, end: end * NS_PER_SECOND }
      : undefined;
  return { range, limit: limit === undefined || limit === 0 ? undefined : limit };
}

function wantsProtobuf(request: FastifyRequest): boolean {
  // Tempo looks for the media type anywhere in Accept, protobuf first.
  return (request.headers.accept ?? '').includes(PROTOBUF);
}

function legacyTags(query: Query): string | undefined {
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (SEARCH_PARAMS.has(key) || typeof value !== 'string' || value === '') continue;
    pairs.push(`${logfmtWord(key)}=${logfmtWord(value)}`);
  }
  return pairs.length === 0 ? undefined : pairs.join(' ');
}

function logfmtWord(text: string): string {
  return /^[^\s="\\]+$/.test(text) ? text : JSON.stringify(text);
}

function durationMs(value: string | undefined, name: string): bigint {
  const text = nonEmpty(value);
  if (text === undefined) return 0n;
  let ns: bigint;
  try {
    ns = parseGoDurationNs(text);
  } catch (error) {
    throw badParam(`invalid ${name}: ${(error as Error).message}`);
  }
  return ns <= 0n ? 0n : ns / NS_PER_MS;
}

/** strconv.ParseUint(s, 10, 32), as Tempo reads start and end of a search; 0 when absent. */
function parseUnixSeconds(value: string | undefined, name: string): number {
  return parseUnsigned(value, name) ?? 0;
}

/** strconv.ParseUint(s, 10, 32) with Go's error text. */
function parseUnsigned(value: string | undefined, name: string): number | undefined {
  const text = nonEmpty(value);
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text)) throw badParam(`invalid ${name}: strconv.ParseUint: parsing ${JSON.stringify(text)}: invalid syntax`);
  const n = BigInt(text);
  if (n >= 1n << 32n) throw badParam(`invalid ${name}: strconv.ParseUint: parsing ${JSON.stringify(text)}: value out of range`);
  return Number(n);
}

/** strconv.ParseInt(s, 10, bits) with Go's error text. */
function parseSigned(value: string | undefined, name: string, bits: 32 | 64 = 64): bigint | undefined {
  const text = nonEmpty(value);
  if (text === undefined) return undefined;
  if (!/^[+-]?[0-9]+$/.test(text)) throw badParam(`invalid ${name}: strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax`);
  const n = BigInt(text);
  const bound = 1n << BigInt(bits - 1);
  if (n >= bound || n < -bound) throw badParam(`invalid ${name}: strconv.ParseInt: parsing ${JSON.stringify(text)}: value out of range`);
  return n;
}

/** Go's url.Values.Get treats an empty value like a missing one. */
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function withPrefix<T>(prefix: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (isLookoutError(error)) throw new LookoutError(error.code, `${prefix}${error.message}`, { cause: error });
    throw error;
  }
}

function dedupeSorted(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

function cut<T>(values: T[], limit: number | undefined): T[] {
  return limit === undefined || limit === 0 ? values : values.slice(0, limit);
}

// A Buffer is sent as-is; a string would get "; charset=utf-8" appended, which Tempo does not send.
function sendJson(reply: FastifyReply, body: unknown, suffix = ''): FastifyReply {
  return reply.header('content-type', JSON_TYPE).send(Buffer.from(`${JSON.stringify(body)}${suffix}`));
}

function badParam(message: string): LookoutError {
  return new LookoutError('LOOKOUT_ERR_QUERY_BAD_PARAM', message);
}
