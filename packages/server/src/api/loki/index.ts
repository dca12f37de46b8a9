/**
 * The Loki API surface: push (ingest/loki-push), the query API over the LogQL engine, the index
 * endpoints over stream labels, and live tail. Errors are plain text with Loki's status codes.
 */
import formbody from '@fastify/formbody';
import websocket from '@fastify/websocket';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { LookoutError, toLookoutError } from '../../errors.js';
import { compileRe2 } from '../../model/index.js';
import { parseSelector, type LokiPushLimits, StreamOrderTracker } from '../../ingest/index.js';
import type { WritePipeline } from '../../pipeline/index.js';
import type { LabelMatcher, LogStreamQuerier } from '../../storage/index.js';
import type { ServerMetrics } from '../../telemetry/index.js';
import { VERSION } from '../../version.js';
import { lokiDetectedFieldsRoutes } from './detected-fields.js';
import { lokiIndexRoutes, type SelectorParser } from './index-routes.js';
import { lokiPushApi } from './push.js';
import { lokiQueryRoutes, type LokiQueryEngine } from './query.js';
import { registerLokiTail } from './tail.js';

export type { LokiQueryEngine } from './query.js';

/** The Loki release whose HTTP API Lookout follows (reported by status/buildinfo; Grafana gates features on it). */
export const LOKI_API_VERSION = '3.5.0';

export interface LokiApiOptions {
  pipeline: WritePipeline;
  metrics: ServerMetrics;
  maxBodyBytes: number;
  limits: LokiPushLimits & { maxEntriesLimitPerQuery: number };
  logStreams: LogStreamQuerier;
  tenantOf: (request: FastifyRequest) => string;
  /** The LogQL engine; without it query, query_range and tail are not served. */
  logql?: LokiQueryEngine & { parseSelector?: SelectorParser };
  /** Live tail poll interval (tests shorten it). */
  tailPollIntervalMs?: number;
}

/**
 * Loki's rule for selectors of index requests: at least one matcher that cannot match the empty
 * string, so a request cannot select every stream by accident.
 */
function requireNonEmptyMatcher(matchers: LabelMatcher[]): LabelMatcher[] {
  const ok = matchers.some((m) => {
    if (m.type === '=') return m.value !== '';
    if (m.type === '=~') {
      try {
        return !compileRe2(m.value, { anchored: true, dotAll: true }).test('');
      } catch {
        return true;
      }
    }
    return false;
  });
  if (!ok) {
    throw new LookoutError(
      'LOOKOUT_ERR_QUERY_PARSE',
      'parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will',
    );
  }
  return matchers;
}

/** Label-syntax selectors (`{a="b", c=~"d"}`) when no LogQL parser is given. */
function basicSelectorParser(query: string): LabelMatcher[] {
  try {
    return requireNonEmptyMatcher(parseSelector(query));
  } catch (error) {
    if (error instanceof LookoutError) throw error;
    throw new LookoutError('LOOKOUT_ERR_QUERY_PARSE', (error as Error).message);
  }
}

export function lokiApi(options: LokiApiOptions): FastifyPluginAsync {
  return async (app) => {
    await app.register(lokiPushApi({ pipeline: options.pipeline, metrics: options.metrics, maxBodyBytes: options.maxBodyBytes, limits: options.limits, order: new StreamOrderTracker() }));

    await app.register(async (queries) => {
      await queries.register(formbody);
      await queries.register(websocket);
      queries.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
        let status: number;
        let message: string;
        if (!(error instanceof LookoutError) && error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
          status = error.statusCode;
          message = error.message;
        } else {
          const e = toLookoutError(error);
          status = e.httpStatus;
          message = e.message;
          if (status >= 500) request.log.error({ err: e }, 'Loki API request failed');
        }
        // Loki's query errors are plain text.
        return reply.code(status).type('text/plain; charset=utf-8').send(`${message}\n`);
      });
      const parse = options.logql?.parseSelector ?? basicSelectorParser;
      await queries.register(
        lokiIndexRoutes({ logStreams: options.logStreams, parseSelector: parse, tenantOf: options.tenantOf, lokiVersion: LOKI_API_VERSION, lookoutVersion: VERSION }),
      );
      if (options.logql) {
        await queries.register(
          lokiQueryRoutes({ ...options.logql, tenantOf: options.tenantOf, maxEntriesLimitPerQuery: options.limits.maxEntriesLimitPerQuery }),
        );
        await queries.register(
          lokiDetectedFieldsRoutes({ ...options.logql, tenantOf: options.tenantOf, maxEntriesLimitPerQuery: options.limits.maxEntriesLimitPerQuery }),
        );
        const logql = options.logql;
        await queries.register(async (tailScope) =>
          registerLokiTail(tailScope, { ...logql, tenantOf: options.tenantOf, ...(options.tailPollIntervalMs === undefined ? {} : { pollIntervalMs: options.tailPollIntervalMs }) }),
        );
      }
    });
  };
}
