/**
 * The HTTP server: one Fastify instance on one port, one plugin per API surface.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { WritePipeline } from '../pipeline/index.js';
import type { SpanQuerier } from '../storage/index.js';
import type { ServerMetrics } from '../telemetry/index.js';
import { lookoutApi } from './lookout/index.js';
import { otlpHttpApi } from './otlp/index.js';
import { tempoApi } from './tempo/index.js';
import { lokiApi, type LokiApiOptions } from './loki/index.js';
import { prometheusApi, type PrometheusApiOptions } from './prometheus/index.js';
import { tenantFromHeader } from './common/tenant.js';

export { startOtlpGrpcServer, type RunningGrpcServer } from './otlp/index.js';
export { LOKI_API_VERSION, type LokiQueryEngine } from './loki/index.js';
export { EMPTY_TARGETS, scrapeConfigYaml, type PromqlParsing, type ScrapeTargetsView } from './prometheus/index.js';

export interface HttpServerOptions {
  logger: Logger;
  metrics: ServerMetrics;
  pipeline: WritePipeline;
  spans: SpanQuerier;
  ready: () => Promise<boolean>;
  maxBodyBytes: number;
  /** Loki push, query, index and tail API. */
  loki?: Omit<LokiApiOptions, 'pipeline' | 'metrics' | 'maxBodyBytes' | 'tenantOf'>;
  /** Re-reads and applies the configuration (POST/PUT /-/reload); rejects with the reason. */
  reload?: () => Promise<void>;
  /** Prometheus HTTP API and remote-write receiver (reads, engine, targets). */
  prometheus?: Omit<PrometheusApiOptions, 'pipeline' | 'metrics' | 'maxBodyBytes' | 'tenantOf'>;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export async function buildHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // Honour a caller's X-Request-Id so one id follows a request across services.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // One access line per request is written by the onResponse hook below, with the route.
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    bodyLimit: options.maxBodyBytes,
    // On shutdown, idle keep-alive sockets close at once; requests in flight finish and get
    // their answer (their rows are stored either way, so cutting them off would invite
    // duplicate retries).
    forceCloseConnections: 'idle',
  });

  app.addHook('onRequest', async (request, reply) => {
    void reply.header('X-Request-Id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.requestDuration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    if (reply.statusCode >= 500 && reply.statusCode !== 503) request.log.warn({ route, status: reply.statusCode, ms: reply.elapsedTime }, 'request failed');
    else request.log.debug({ route, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
  });

  await app.register(lookoutApi({ metrics: options.metrics, ready: options.ready, ...(options.reload ? { reload: options.reload } : {}) }));
  await app.register(otlpHttpApi({ pipeline: options.pipeline, metrics: options.metrics, maxBodyBytes: options.maxBodyBytes }));
  await app.register(tempoApi({ spans: options.spans, tenantOf: (request) => tenantFromHeader(request.headers['x-scope-orgid']) }));
  if (options.loki) {
    await app.register(
      lokiApi({
        ...options.loki,
        pipeline: options.pipeline,
        metrics: options.metrics,
        maxBodyBytes: options.maxBodyBytes,
        tenantOf: (request) => tenantFromHeader(request.headers['x-scope-orgid']),
      }),
    );
  }
  if (options.prometheus) {
    await app.register(
      prometheusApi({
        ...options.prometheus,
        pipeline: options.pipeline,
        metrics: options.metrics,
        maxBodyBytes: options.maxBodyBytes,
        tenantOf: (request) => tenantFromHeader(request.headers['x-scope-orgid']),
      }),
    );
  }
  return app;
}
