/** Lookout's own endpoints: liveness, readiness, and its metrics in Prometheus text format. */
import type { FastifyPluginAsync } from 'fastify';
import type { ServerMetrics } from '../../telemetry/index.js';

export interface LookoutApiOptions {
  metrics: ServerMetrics;
  /** Storage reachable and migrations applied. */
  ready: () => Promise<boolean>;
}

export function lookoutApi(options: LookoutApiOptions): FastifyPluginAsync {
  return async (app) => {
    app.get('/health', async () => ({ status: 'ok' }));
    app.get('/ready', async (_request, reply) => {
      const ready = await options.ready().catch(() => false);
      // Loki and Vector clients probe /ready and read "ready" as text.
      return reply.code(ready ? 200 : 503).type('text/plain').send(ready ? 'ready\n' : 'not ready: storage unavailable\n');
    });
    app.get('/metrics', async (_request, reply) => {
      const text = await options.metrics.registry.metrics();
      return reply.type(options.metrics.registry.contentType).send(text);
    });
  };
}
