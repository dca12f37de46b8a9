/**
 * Prometheus's HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/) and the
 * remote-write receiver, so Grafana's Prometheus datasource, promtool and remote-write senders
 * work against Lookout unchanged. GET and form-encoded POST, parameters parsed and errors
 * worded as web/api/v1/api.go does, JSON written as Prometheus's codec writes it (format.ts).
 */
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { isLookoutError, LookoutError } from '../../errors.js';
import { compileRe2 } from '../../model/index.js';
import type { DecodedExemplar } from '../../ingest/index.js';
import type { LabelMatcher, SeriesQuerier } from '../../storage/index.js';
import type { PromqlEngine, PromqlResult } from '../../promql/index.js';
import { Batcher, type WritePipeline } from '../../pipeline/index.js';
import type { ServerMetrics } from '../../telemetry/index.js';
import { VERSION } from '../../version.js';
import {
  ERROR_STATUS,
  errorJson,
  exemplarsJson,
  labelsJson,
  queryDataJson,
  successJson,
  type ApiErrorType,
  type QueryValue,
} from './format.js';
import { BadDataError, invalidParam, MAX_TIME_MS, MIN_TIME_MS, Params, parseDuration, parseLimit, parseTime, parseTimeParam } from './params.js';
import { handleRemoteWrite } from './remote-write.js';

export { formatGoFloat, formatTimestamp, queryDataJson } from './format.js';
export { parseDuration, parseTime } from './params.js';
export { scrapeConfigYaml, type ScrapeConfigView } from './config-yaml.js';

/** The parser half of PromQL as the API needs it (match[] selectors, format_query, parse_query). */
export interface PromqlParsing {
  /** Parses a query; throws an Error whose message is Prometheus's parse error text. */
  parse(query: string): unknown;
  /** Prometheus's Prettify output (/api/v1/format_query). */
  format?(query: string): string;
  /** Prometheus 3's /api/v1/parse_query JSON. */
  astJson?(query: string): unknown;
  /** A series selector (parser.ParseMetricSelector, for match[]): its matchers. */
  parseSelector?(selector: string): LabelMatcher[];
}

/** What the scrape subsystem exposes: targets already in /api/v1/targets JSON shape. */
export interface ScrapeTargetsView {
  activeTargets(): object[];
  droppedTargets(): object[];
}

export const EMPTY_TARGETS: ScrapeTargetsView = { activeTargets: () => [], droppedTargets: () => [] };

export interface PrometheusApiOptions {
  pipeline: WritePipeline;
  metrics: ServerMetrics;
  series: SeriesQuerier;
  appendExemplars: (tenant: string, exemplars: readonly DecodedExemplar[]) => Promise<void>;
  /** Absent until a PromQL engine is wired: query endpoints then answer 503 `unavailable`. */
  engine?: PromqlEngine;
  parsing?: PromqlParsing;
  targets?: ScrapeTargetsView;
  /** The scrape configuration as YAML (/api/v1/status/config). */
  configYaml?: () => string;
  /** Command-line flags and their values (/api/v1/status/flags). */
  flags?: Record<string, string>;
  maxBodyBytes: number;
  /** The tenant of a request (X-Scope-OrgID); may throw a LookoutError for a bad header. */
  tenantOf: (request: FastifyRequest) => string;
  /** Milliseconds since the epoch; tests fix it. */
  now?: () => number;
}

/** An error with the Prometheus API's errorType. */
class ApiError extends Error {
  constructor(
    readonly errorType: ApiErrorType,
    message: string,
  ) {
    super(message);
  }
}

const MAX_POINTS = 11_000;
const JSON_TYPE = 'application/json';

function paramsOf(request: FastifyRequest): Params {
  const body = request.body;
  return new Params(
    (request.query ?? {}) as Record<string, string | string[]>,
    body !== null && typeof body === 'object' && !Buffer.isBuffer(body) ? (body as Record<string, string | string[]>) : undefined,
  );
}

/** Whether a matcher matches the empty string (Prometheus requires one that does not). */
function matchesEmpty(m: LabelMatcher): boolean {
  if (m.type === '=') return m.value === '';
  if (m.type === '!=') return m.value !== '';
  let re: RegExp;
  try {
    re = compileRe2(m.value, { anchored: true, dotAll: true });
  } catch {
    return false;
  }
  return m.type === '=~' ? re.test('') : !re.test('');
}

interface SelectorNode {
  kind: 'VectorSelector';
  matchers: LabelMatcher[];
}

function isSelector(node: unknown): node is SelectorNode {
  return typeof node === 'object' && node !== null && (node as { kind?: unknown }).kind === 'VectorSelector';
}

/** Every vector selector of a parsed query (parser.ExtractSelectors). */
function extractSelectors(node: unknown, out: LabelMatcher[][] = []): LabelMatcher[][] {
  if (Array.isArray(node)) {
    for (const child of node) extractSelectors(child, out);
  } else if (typeof node === 'object' && node !== null) {
    if (isSelector(node)) out.push(node.matchers);
    else for (const [key, value] of Object.entries(node)) if (key !== 'pos' && typeof value === 'object') extractSelectors(value, out);
  }
  return out;
}

export function prometheusApi(options: PrometheusApiOptions): FastifyPluginAsync {
  const now = options.now ?? Date.now;
  const { series } = options;

  function parsing(): PromqlParsing {
    if (!options.parsing) throw new ApiError('unavailable', 'the PromQL parser is not available in this build');
    return options.parsing;
  }
  function engine(): PromqlEngine {
    if (!options.engine) throw new ApiError('unavailable', 'the PromQL engine is not available in this build');
    return options.engine;
  }

  /** match[] values → matcher sets (parseMatchersParam); errors carry Prometheus's text. */
  function matcherSets(values: string[]): LabelMatcher[][] {
    const sets: LabelMatcher[][] = [];
    for (const text of values) {
      const parser = parsing();
      if (parser.parseSelector) {
        // ParseMetricSelector: selector syntax only; the non-empty check below is match[]'s own.
        try {
          sets.push(parser.parseSelector(text));
        } catch (error) {
          throw new BadDataError((error as Error).message);
        }
        continue;
      }
      let node: unknown;
      try {
        node = parser.parse(text);
      } catch (error) {
        if (error instanceof ApiError) throw error;
        throw new BadDataError((error as Error).message);
      }
      if (!isSelector(node)) throw new BadDataError(`1:1: parse error: expected a vector selector in match[] ${JSON.stringify(text)}`);
      sets.push(node.matchers);
    }
    for (const set of sets) {
      if (set.every(matchesEmpty)) throw new BadDataError('match[] must contain at least one non-empty matcher');
    }
    return sets;
  }

  function rangeOf(params: Params): { startMs?: number; endMs?: number } {
    const startMs = parseTimeParam(params.get('start'), 'start', MIN_TIME_MS);
    const endMs = parseTimeParam(params.get('end'), 'end', MAX_TIME_MS);
    return {
      ...(startMs === MIN_TIME_MS ? {} : { startMs }),
      ...(endMs === MAX_TIME_MS ? {} : { endMs }),
    };
  }

  function send(reply: FastifyReply, dataJson: string, warnings: readonly string[] = [], infos: readonly string[] = []) {
    return reply.code(200).type(JSON_TYPE).send(successJson(dataJson, warnings, infos));
  }

  function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown) {
    let type: ApiErrorType;
    let message: string;
    if (error instanceof ApiError) {
      type = error.errorType;
      message = error.message;
    } else if (error instanceof BadDataError) {
      type = 'bad_data';
      message = error.message;
    } else if (error instanceof Error && typeof (error as { errorType?: unknown }).errorType === 'string') {
      // A PromqlError: its errorType is the API's.
      type = (error as unknown as { errorType: ApiErrorType }).errorType;
      message = error.message;
    } else if (isLookoutError(error)) {
      type = error.httpStatus === 400 ? 'bad_data' : error.httpStatus === 503 ? 'unavailable' : error.httpStatus === 404 ? 'not_found' : 'internal';
      message = error.message;
    } else {
      const e = error as { statusCode?: number; message?: string };
      if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
        type = 'bad_data';
        message = e.message ?? 'bad request';
      } else {
        type = 'internal';
        message = e.message ?? String(error);
      }
    }
    if (type === 'internal') request.log.error({ err: error }, 'Prometheus API request failed');
    return reply.code(ERROR_STATUS[type]).type(JSON_TYPE).send(errorJson(type, message));
  }

  /** Runs a query and turns the engine's errors into the API's. */
  async function runQuery(run: (signal: AbortSignal) => Promise<PromqlResult>, reply: FastifyReply): Promise<PromqlResult> {
    const controller = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) controller.abort();
    };
    reply.raw.once('close', onClose);
    try {
      return await run(controller.signal);
    } catch (error) {
      const type = (error as { errorType?: unknown }).errorType;
      if (type === 'bad_data') {
        const message = (error as Error).message;
        throw new BadDataError(message.startsWith('invalid parameter') ? message : `invalid parameter "query": ${message}`);
      }
      throw error;
    } finally {
      reply.raw.off('close', onClose);
    }
  }

  function truncate(value: QueryValue, limit: number): { value: QueryValue; truncated: boolean } {
    if (limit <= 0) return { value, truncated: false };
    if (value.type === 'vector' && value.samples.length > limit) return { value: { ...value, samples: value.samples.slice(0, limit) }, truncated: true };
    if (value.type === 'matrix' && value.series.length > limit) return { value: { ...value, series: value.series.slice(0, limit) }, truncated: true };
    return { value, truncated: false };
  }

  function queryOptions(params: Params): { timeoutMs?: number; lookbackDeltaMs?: number } {
    const out: { timeoutMs?: number; lookbackDeltaMs?: number } = {};
    const timeout = params.get('timeout');
    if (timeout !== undefined && timeout !== '') {
      try {
        out.timeoutMs = parseDuration(timeout);
      } catch (error) {
        throw invalidParam('timeout', (error as Error).message);
      }
    }
    const lookback = params.get('lookback_delta');
    if (lookback !== undefined && lookback !== '') {
      try {
        out.lookbackDeltaMs = parseDuration(lookback);
      } catch (error) {
        throw new BadDataError(`error parsing lookback delta duration: ${(error as Error).message}`);
      }
    }
    return out;
  }

  return async (app: FastifyInstance) => {
    // Prometheus sends exemplars with most requests: group them into few inserts, as samples are.
    const exemplarBatcher = new Batcher<{ tenant: string; exemplar: DecodedExemplar }>({
      name: 'exemplars',
      maxBatchRows: 50_000,
      maxPendingRows: 200_000,
      flush: async (rows) => {
        const byTenant = new Map<string, DecodedExemplar[]>();
        for (const { tenant, exemplar } of rows) {
          let list = byTenant.get(tenant);
          if (!list) byTenant.set(tenant, (list = []));
          list.push(exemplar);
        }
        for (const [tenant, list] of byTenant) await options.appendExemplars(tenant, list);
      },
    });
    app.addHook('onClose', async () => exemplarBatcher.close());
    const writeOptions = {
      ...options,
      appendExemplars: (tenant: string, exemplars: readonly DecodedExemplar[]) =>
        exemplarBatcher.submit(exemplars.map((exemplar) => ({ tenant, exemplar }))),
    };

    await app.register(formbody);
    // Remote-write bodies (and anything that is not a form) arrive raw; the handlers check
    // types, so a wrong Content-Type on /api/v1/write gets the specification's 415.
    app.removeContentTypeParser(['application/json', 'text/plain']);
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.maxBodyBytes }, (_request, body, done) => done(null, body));

    app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
      if (request.routeOptions.url === '/api/v1/write') return sendWriteError(request, reply, error, options.maxBodyBytes);
      return sendError(request, reply, error);
    });

    app.post('/api/v1/write', async (request, reply) => handleRemoteWrite(writeOptions, request, reply, options.tenantOf(request)));

    const both = (url: string, handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>) => {
      app.get(url, handler);
      app.post(url, handler);
    };

    both('/api/v1/query', async (request, reply) => {
      const params = paramsOf(request);
      const limit = parseLimit(params.get('limit'));
      const timeMs = parseTimeParam(params.get('time'), 'time', now());
      const extra = queryOptions(params);
      const tenant = options.tenantOf(request);
      const query = params.get('query') ?? '';
      const result = await runQuery((signal) => engine().instantQuery({ tenant, query, timeMs, signal, ...extra }), reply);
      const { value, truncated } = truncate(result.value, limit);
      return send(reply, queryDataJson(value), truncated ? [...result.warnings, 'results truncated due to limit'] : result.warnings, result.infos);
    });

    both('/api/v1/query_range', async (request, reply) => {
      const params = paramsOf(request);
      const limit = parseLimit(params.get('limit'));
      const startMs = parseOr('start', () => parseTime(params.get('start') ?? ''));
      const endMs = parseOr('end', () => parseTime(params.get('end') ?? ''));
      if (endMs < startMs) throw invalidParam('end', 'end timestamp must not be before start time');
      const stepMs = parseOr('step', () => parseDuration(params.get('step') ?? ''));
      if (stepMs <= 0) throw invalidParam('step', 'zero or negative query resolution step widths are not accepted. Try a positive integer');
      if (Math.floor((endMs - startMs) / stepMs) > MAX_POINTS) {
        throw new BadDataError('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
      }
      const extra = queryOptions(params);
      const tenant = options.tenantOf(request);
      const query = params.get('query') ?? '';
      const result = await runQuery(
        (signal) => engine().rangeQuery({ tenant, query, startMs, endMs, stepMs: Math.max(1, Math.trunc(stepMs)), signal, ...extra }),
        reply,
      );
      const { value, truncated } = truncate(result.value, limit);
      return send(reply, queryDataJson(value), truncated ? [...result.warnings, 'results truncated due to limit'] : result.warnings, result.infos);
    });

    both('/api/v1/series', async (request, reply) => {
      const params = paramsOf(request);
      const match = params.all('match[]');
      if (match.length === 0) throw new BadDataError('no match[] parameter provided');
      const limit = parseLimit(params.get('limit'));
      const range = rangeOf(params);
      let sets: LabelMatcher[][];
      try {
        sets = matcherSets(match);
      } catch (error) {
        if (error instanceof BadDataError) throw invalidParam('match[]', error.message);
        throw error;
      }
      const tenant = options.tenantOf(request);
      const found = await series.series({ tenant, matcherSets: sets, ...range, ...(limit > 0 ? { limit: limit + 1 } : {}) });
      const truncated = limit > 0 && found.length > limit;
      const list = truncated ? found.slice(0, limit) : found;
      return send(reply, `[${list.map(labelsJson).join(',')}]`, truncated ? ['results truncated due to limit'] : []);
    });

    both('/api/v1/labels', async (request, reply) => {
      const params = paramsOf(request);
      const limit = parseLimit(params.get('limit'));
      const range = rangeOf(params);
      const sets = matcherSets(params.all('match[]'));
      const tenant = options.tenantOf(request);
      const names = await series.labelNames({ tenant, matcherSets: sets, ...range, ...(limit > 0 ? { limit: limit + 1 } : {}) });
      const truncated = limit > 0 && names.length > limit;
      return send(reply, JSON.stringify(truncated ? names.slice(0, limit) : names), truncated ? ['results truncated due to limit'] : []);
    });

    app.get<{ Params: { name: string } }>('/api/v1/label/:name/values', async (request, reply) => {
      const name = request.params.name;
      if (name === '') throw new BadDataError(`invalid label name: ${JSON.stringify(name)}`);
      const params = paramsOf(request);
      const limit = parseLimit(params.get('limit'));
      const range = rangeOf(params);
      const sets = matcherSets(params.all('match[]'));
      const tenant = options.tenantOf(request);
      const values = await series.labelValues({ tenant, name, matcherSets: sets, ...range, ...(limit > 0 ? { limit: limit + 1 } : {}) });
      const truncated = limit > 0 && values.length > limit;
      return send(reply, JSON.stringify(truncated ? values.slice(0, limit) : values), truncated ? ['results truncated due to limit'] : []);
    });

    app.get('/api/v1/metadata', async (request, reply) => {
      const params = paramsOf(request);
      let limit = -1;
      const limitText = params.get('limit');
      if (limitText !== undefined && limitText !== '') {
        if (!/^[+-]?\d+$/.test(limitText)) throw new BadDataError('limit must be a number');
        limit = Number(limitText);
      }
      const limitPerMetricText = params.get('limit_per_metric');
      let limitPerMetric = -1;
      if (limitPerMetricText !== undefined && limitPerMetricText !== '') {
        if (!/^[+-]?\d+$/.test(limitPerMetricText)) throw new BadDataError('limit_per_metric must be a number');
        limitPerMetric = Number(limitPerMetricText);
      }
      const metric = params.get('metric');
      const tenant = options.tenantOf(request);
      if (limit === 0) return send(reply, '{}');
      const list = await series.metadata({
        tenant,
        ...(metric ? { metric } : {}),
        ...(limit > 0 ? { limit } : {}),
        ...(limitPerMetric > 0 ? { limitPerMetric } : {}),
      });
      const data: Record<string, { type: string; help: string; unit: string }[]> = {};
      for (const m of list) (data[m.metricFamilyName] ??= []).push({ type: m.type, help: m.help, unit: m.unit });
      return send(reply, JSON.stringify(data));
    });

    both('/api/v1/query_exemplars', async (request, reply) => {
      const params = paramsOf(request);
      const startMs = parseTimeParam(params.get('start'), 'start', MIN_TIME_MS);
      const endMs = parseTimeParam(params.get('end'), 'end', MAX_TIME_MS);
      if (endMs < startMs) throw new BadDataError('end timestamp must not be before start timestamp');
      let node: unknown;
      try {
        node = parsing().parse(params.get('query') ?? '');
      } catch (error) {
        if (error instanceof ApiError) throw error;
        throw new BadDataError((error as Error).message);
      }
      const selectors = extractSelectors(node);
      // Prometheus's handler answers 204 with no body when the query selects no series (data nil).
      if (selectors.length === 0) return reply.code(204).send();
      const tenant = options.tenantOf(request);
      const found = await series.exemplars({
        tenant,
        matcherSets: selectors,
        ...(startMs === MIN_TIME_MS ? {} : { startMs }),
        ...(endMs === MAX_TIME_MS ? {} : { endMs }),
      });
      return send(reply, exemplarsJson(found));
    });

    both('/api/v1/format_query', async (request, reply) => {
      const query = paramsOf(request).get('query') ?? '';
      const format = parsing().format;
      if (!format) throw new ApiError('unavailable', 'query formatting is not available in this build');
      let text: string;
      try {
        text = format(query);
      } catch (error) {
        throw invalidParam('query', (error as Error).message);
      }
      return send(reply, JSON.stringify(text));
    });

    both('/api/v1/parse_query', async (request, reply) => {
      const query = paramsOf(request).get('query') ?? '';
      const astJson = parsing().astJson;
      if (!astJson) throw new ApiError('unavailable', 'query parsing is not available in this build');
      let tree: unknown;
      try {
        tree = astJson(query);
      } catch (error) {
        throw invalidParam('query', (error as Error).message);
      }
      return send(reply, JSON.stringify(tree));
    });

    app.get('/api/v1/targets', async (request, reply) => {
      const state = (paramsOf(request).get('state') ?? 'any').toLowerCase();
      const pool = paramsOf(request).get('scrapePool');
      const view = options.targets ?? { activeTargets: () => [], droppedTargets: () => [] };
      const inPool = (t: object) => pool === undefined || pool === '' || (t as { scrapePool?: string }).scrapePool === pool;
      const active = state === 'active' || state === 'any' || state === '' ? view.activeTargets().filter(inPool) : [];
      const dropped = state === 'dropped' || state === 'any' || state === '' ? view.droppedTargets().filter(inPool) : [];
      return send(reply, JSON.stringify({ activeTargets: active, droppedTargets: dropped }));
    });

    app.get('/api/v1/status/buildinfo', async (_request, reply) =>
      send(
        reply,
        JSON.stringify({ version: VERSION, revision: '', branch: '', buildUser: '', buildDate: '', goVersion: `node${process.versions.node}` }),
      ),
    );
    app.get('/api/v1/status/config', async (_request, reply) => send(reply, JSON.stringify({ yaml: options.configYaml?.() ?? '' })));
    app.get('/api/v1/status/flags', async (_request, reply) => send(reply, JSON.stringify(options.flags ?? {})));
  };
}

function parseOr(name: string, parse: () => number): number {
  try {
    return parse();
  } catch (error) {
    throw invalidParam(name, (error as Error).message);
  }
}

function sendWriteError(request: FastifyRequest, reply: FastifyReply, error: Error & { statusCode?: number; code?: string }, maxBodyBytes: number) {
  let lookoutError: LookoutError;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    lookoutError = new LookoutError('LOOKOUT_ERR_INGEST_TOO_LARGE', `request body is larger than the limit of ${maxBodyBytes} bytes`);
  } else if (isLookoutError(error)) {
    lookoutError = error;
  } else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    lookoutError = new LookoutError('LOOKOUT_ERR_INGEST_UNDECODABLE', error.message);
  } else {
    lookoutError = new LookoutError('LOOKOUT_ERR_INTERNAL', error.message, { cause: error });
  }
  const status = lookoutError.httpStatus;
  if (status >= 500 && lookoutError.retryAfterSeconds === undefined) request.log.error({ err: error }, 'remote-write request failed');
  else request.log.debug({ code: lookoutError.code, reason: lookoutError.message }, 'remote-write request refused');
  // A 5xx is retried by senders: say when, so a fault does not become a retry storm.
  if (lookoutError.retryAfterSeconds !== undefined) void reply.header('Retry-After', String(lookoutError.retryAfterSeconds));
  else if (status >= 500) void reply.header('Retry-After', '1');
  return reply.code(status).type('text/plain; charset=utf-8').send(`${lookoutError.message}\n`);
}
