/**
 * /loki/api/v1/query and /loki/api/v1/query_range over the LogQL engine, with Loki's parameter
 * rules and response JSON (format.ts), including `X-Loki-Response-Encoding-Flags: categorize-labels`.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { LogqlEngine } from '../../logql/index.js';
import { badParam, parseInstantQuery, parseRangeQuery } from './params.js';
import { CATEGORIZE_LABELS, queryResponseJson } from './format.js';
import { allParams } from './index-routes.js';

export interface LokiQueryEngine {
  engine: LogqlEngine;
  /** Whether a query returns log lines or samples; throws the parse error otherwise. */
  classify(query: string): 'log' | 'metric';
}

export interface LokiQueryOptions extends LokiQueryEngine {
  tenantOf: (request: FastifyRequest) => string;
  maxEntriesLimitPerQuery: number;
}

export function wantsCategorizedLabels(request: FastifyRequest): boolean {
  const header = request.headers['x-loki-response-encoding-flags'];
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  return text.split(',').some((flag) => flag.trim() === CATEGORIZE_LABELS);
}

export function lokiQueryRoutes(options: LokiQueryOptions): FastifyPluginAsync {
  const { engine, classify, tenantOf, maxEntriesLimitPerQuery } = options;

  const checkLimit = (kind: 'log' | 'metric', limit: number) => {
    // The entry limit does not apply to metric queries (Loki's validateMaxEntriesLimits).
    if (kind === 'log' && maxEntriesLimitPerQuery > 0 && limit > maxEntriesLimitPerQuery) {
      throw badParam(`max entries limit per query exceeded, limit > max_entries_limit_per_query (${limit} > ${maxEntriesLimitPerQuery})`);
    }
  };

  return async (app) => {
    app.route({
      method: ['GET', 'POST'],
      url: '/loki/api/v1/query_range',
      handler: async (request, reply) => {
        const q = parseRangeQuery(allParams(request));
        const kind = classify(q.query);
        checkLimit(kind, q.limit);
        const controller = new AbortController();
        // The response closing before it was written means the client went away: stop the query.
        reply.raw.once('close', () => {
          if (!reply.raw.writableFinished) controller.abort();
        });
        const result = await engine.query({
          tenant: tenantOf(request),
          query: q.query,
          startNs: q.startNs,
          endNs: q.endNs,
          limit: q.limit,
          direction: q.direction,
          stepMs: Math.max(1, Number(q.stepNs / 1_000_000n)),
          ...(q.intervalNs > 0n ? { intervalMs: Number(q.intervalNs / 1_000_000n) } : {}),
          signal: controller.signal,
        });
        return reply.type('application/json; charset=utf-8').send(queryResponseJson(result, wantsCategorizedLabels(request)));
      },
    });

    app.route({
      method: ['GET', 'POST'],
      url: '/loki/api/v1/query',
      handler: async (request, reply) => {
        const q = parseInstantQuery(allParams(request));
        const kind = classify(q.query);
        if (kind === 'log') throw badParam('log queries are not supported as an instant query type, please change your query to a range query type');
        const result = await engine.query({
          tenant: tenantOf(request),
          query: q.query,
          startNs: q.timeNs,
          endNs: q.timeNs,
          limit: q.limit,
          direction: q.direction,
          instant: true,
        });
        return reply.type('application/json; charset=utf-8').send(queryResponseJson(result, wantsCategorizedLabels(request)));
      },
    });
  };
}
