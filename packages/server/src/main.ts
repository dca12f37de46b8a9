/**
 * Composition root: configuration → logger, storage, pipeline, servers. Nothing else builds
 * subsystems; everything is passed down explicitly.
 */
import { pino, type Logger } from 'pino';
import { buildHttpServer, startOtlpGrpcServer, type RunningGrpcServer } from './api/index.js';
import type { LookoutConfig } from './config/index.js';
import { createWritePipeline } from './pipeline/index.js';
import { openStorage, type Storage } from './storage/index.js';
import { createServerMetrics } from './telemetry/index.js';

export { VERSION } from './version.js';

export interface RunningLookout {
  /** Base URL of the HTTP port, e.g. http://127.0.0.1:4318 */
  httpUrl: string;
  httpPort: number;
  grpcPort: number;
  storage: Storage;
  logger: Logger;
  /** Stops accepting, stores everything acknowledged, closes storage. */
  stop(reason?: string): Promise<void>;
}

export function createLogger(level: LookoutConfig['logLevel']): Logger {
  return pino({ level, base: { service: 'lookout' }, timestamp: pino.stdTimeFunctions.isoTime });
}

export async function startLookout(config: LookoutConfig, logger: Logger = createLogger(config.logLevel)): Promise<RunningLookout> {
  const storage = await openStorage({
    dataDir: config.dataDir,
    retention: config.retention,
    readPoolSize: config.readPoolSize,
    ...(config.clickhouseUrl === undefined ? {} : { clickhouseUrl: config.clickhouseUrl }),
  });
  const metrics = createServerMetrics();
  const pipeline = createWritePipeline({ appender: storage.appender, metrics, limits: config.pipeline });
  let accepting = true;
  const ready = async () => accepting && (await storage.ready());

  const app = await buildHttpServer({
    logger: logger.child({ component: 'http' }),
    metrics,
    pipeline,
    spans: storage.spans,
    ready,
    maxBodyBytes: config.maxBodyBytes,
  });
  let grpcServer: RunningGrpcServer | undefined;
  try {
    await app.listen({ host: config.host, port: config.port });
    grpcServer = await startOtlpGrpcServer({
      host: config.host,
      port: config.grpcPort,
      maxBodyBytes: config.maxBodyBytes,
      pipeline,
      metrics,
      logger: logger.child({ component: 'grpc' }),
    });
  } catch (error) {
    await app.close();
    await pipeline.close();
    await storage.close();
    throw error;
  }
  const address = app.server.address();
  const httpPort = typeof address === 'object' && address ? address.port : config.port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const grpc = grpcServer;
  logger.info(
    { http_port: httpPort, grpc_port: grpc.port, storage: storage.kind, data_dir: storage.kind === 'embedded' ? config.dataDir : undefined },
    'lookout started',
  );

  let stopping: Promise<void> | undefined;
  return {
    httpUrl: `http://${shownHost}:${httpPort}`,
    httpPort,
    grpcPort: grpc.port,
    storage,
    logger,
    stop(reason = 'stop requested') {
      stopping ??= (async () => {
        logger.info({ reason }, 'lookout stopping: flushing accepted data');
        accepting = false;
        // Stop taking requests first, then store everything already acknowledged or in flight.
        await Promise.all([app.close(), grpc.close()]);
        await pipeline.close();
        await storage.close();
        logger.info('lookout stopped');
      })();
      return stopping;
    },
  };
}
