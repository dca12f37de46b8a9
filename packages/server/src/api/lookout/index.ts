/** Lookout's own endpoints: liveness, readiness, and its metrics in Prometheus text format. */
import type { FastifyPluginAsync } from 'fastify';
import { LookoutError } from '../../errors.js';
import type { ServerMetrics } from '../../telemetry/index.js';

export interface LookoutApiOptions {
  metrics: ServerMetrics;
  /** Storage reachable and migrations applied. */
  ready: () => Promise<boolean>;
  /** Re-reads and applies the configuration; POST/PUT /-/reload as Prometheus. */
  reload?: () => Promise<void>;
}

export function lookoutApi(options: LookoutApiOptions): FastifyPluginAsync {
  return async (app) => {
    app.get('/health', async () => ({ status: 'ok' }));
    app.get('/ready', async (_request, reply) => {
      const ready = await options.ready().catch(() => false);
      // Loki and Vector clients probe /ready and read "ready" as text.
      return reply.code(ready ? 200 : 503).type('text/plain').send(ready ? 'ready\n' : 'not ready: storage unavailable\n');
    });
    const reload = options.reload;
    if (reload) {
      // Prometheus's lifecycle endpoint: 200 with an empty body, or "failed to reload config: ..."
      // while the previous configuration stays in effect. Prometheus answers 500 for both; an
      // invalid configuration file is the caller's to fix, so it is a 400 here.
      app.route({
        method: ['POST', 'PUT'],
        url: '/-/reload',
        handler: async (_request, reply) => {
          try {
            await reload();
            return reply.code(200).type('text/plain').send('');
          } catch (error) {
            const status = error instanceof LookoutError ? error.httpStatus : 500;
            return reply.code(status).type('text/plain').send(`failed to reload config: ${(error as Error).message}\n`);
          }
        },
      });
    }
    app.get('/metrics', async (_request, reply) => {
      const text = await options.metrics.registry.metrics();
      return reply.type(options.metrics.registry.contentType).send(text);
    });
  };
}
