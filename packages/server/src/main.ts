/**
 * Composition root: configuration → logger, storage, pipeline, servers. Nothing else builds
 * subsystems; everything is passed down explicitly.
 */
import { pino, type Logger } from 'pino';
import { buildHttpServer, scrapeConfigYaml, startOtlpGrpcServer, type RunningGrpcServer } from './api/index.js';
import type { LookoutConfig } from './config/index.js';
import { createWritePipeline } from './pipeline/index.js';
import { createLogqlEngine, parseLogql, parseLogSelector } from './logql/index.js';
import { createPromqlEngine, formatPromql, parsePromql, parsePromqlSelector, promqlAstToJson } from './promql/index.js';
import { openStorage, type Storage } from './storage/index.js';
import { createTailManager } from './tail/index.js';
import { createServerMetrics } from './telemetry/index.js';
import { createScrapeManager } from './scrape/index.js';
import { VERSION as LOOKOUT_VERSION } from './version.js';
import { formatPromDuration } from './model/index.js';

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
  /** Applies a re-read configuration's reloadable parts (SIGHUP): the `tail:` section. */
  reload(config: LookoutConfig): Promise<void>;
}

export interface StartOptions {
  /** Re-reads the configuration (files, environment, flags) for POST /-/reload. */
  reloadConfig?: () => LookoutConfig;
}

export function createLogger(level: LookoutConfig['logLevel']): Logger {
  return pino({ level, base: { service: 'lookout' }, timestamp: pino.stdTimeFunctions.isoTime });
}

export async function startLookout(config: LookoutConfig, logger: Logger = createLogger(config.logLevel), options: StartOptions = {}): Promise<RunningLookout> {
  const storage = await openStorage({
    dataDir: config.dataDir,
    retention: config.retention,
    readPoolSize: config.readPoolSize,
    head: config.metricHead,
    ...(config.clickhouseUrl === undefined ? {} : { clickhouseUrl: config.clickhouseUrl }),
  });
  const metrics = createServerMetrics({ ...(storage.writeAheadLog ? { writeAheadLog: storage.writeAheadLog.bind(storage) } : {}) });
  const parseQuery = (query: string) => parsePromql(query, { enableExperimentalFunctions: config.promql.enableExperimentalFunctions });
  const pipeline = createWritePipeline({ appender: storage.appender, metrics, limits: config.pipeline });
  let accepting = true;
  const ready = async () => accepting && (await storage.ready());
  const scrape = createScrapeManager({
    pipeline,
    logger: logger.child({ component: 'scrape' }),
    userAgent: `Lookout/${LOOKOUT_VERSION}`,
    appendExemplars: (tenant, exemplars) => storage.appender.appendExemplars(tenant, exemplars),
  });
  // POST /-/reload as in Prometheus: a configuration that fails to load leaves the running one.
  const reloadTarget: { apply?: (next: LookoutConfig) => Promise<void> } = {};
  const reloadFromSource = async () => {
    if (!options.reloadConfig || !reloadTarget.apply) throw new Error('no configuration source to reload from');
    await reloadTarget.apply(options.reloadConfig());
  };
  const tail = createTailManager({ pipeline, dataDir: config.dataDir, logger: logger.child({ component: 'tail' }), metrics });
  try {
    await tail.applyConfig(config.tail);
  } catch (error) {
    await pipeline.close();
    await storage.close();
    throw error;
  }

  // What /api/v1/status/config shows: the scrape configuration last applied.
  let scrapeConfigsInEffect = config.scrapeConfigs;
  const app = await buildHttpServer({
    logger: logger.child({ component: 'http' }),
    metrics,
    pipeline,
    spans: storage.spans,
    ready,
    maxBodyBytes: config.maxBodyBytes,
    reload: reloadFromSource,
    loki: {
      // Rows older than the logs retention would be dropped by the table's TTL on insert:
      // refuse them with Loki's "too old" message instead of acknowledging them.
      limits: { ...config.loki, rejectOldSamplesMaxAgeMs: Math.min(config.loki.rejectOldSamplesMaxAgeMs, config.retention.logs * 86_400_000) },
      logStreams: storage.logStreams,
      logql: {
        engine: createLogqlEngine({ logs: storage.logs, maxEntries: config.loki.maxEntriesLimitPerQuery, maxSeries: config.loki.maxQuerySeries }),
        classify: (query) => (parseLogql(query).kind === 'log' ? 'log' : 'metric'),
        parseSelector: (query) => parseLogSelector(query).matchers,
      },
    },
    prometheus: {
      series: storage.series,
      appendExemplars: (tenant, exemplars) => storage.appender.appendExemplars(tenant, exemplars),
      targets: scrape,
      flags: prometheusFlags(config),
      configYaml: () => scrapeConfigYaml(scrapeConfigsInEffect),
      engine: createPromqlEngine({
        querier: storage.series,
        lookbackDeltaMs: config.promql.lookbackDeltaMs,
        timeoutMs: config.promql.timeoutMs,
        maxSamples: config.promql.maxSamples,
        enableExperimentalFunctions: config.promql.enableExperimentalFunctions,
        parse: parseQuery,
      }),
      parsing: {
        parse: parseQuery,
        format: (query) => formatPromql(parseQuery(query)),
        astJson: (query) => promqlAstToJson(parseQuery(query)),
        parseSelector: (selector) => parsePromqlSelector(selector),
      },
    },
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
    await scrape.applyConfig(config.scrapeConfigs);
  } catch (error) {
    await scrape.stop();
    await app.close();
    await tail.stop();
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
  const running: RunningLookout = {
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
        // Scrapes in flight finish or are abandoned before the pipeline flushes.
        await scrape.stop();
        // Tailing writes through the pipeline: stop it (saving positions) before the pipeline closes.
        await tail.stop();
        await pipeline.close();
        await storage.close();
        logger.info('lookout stopped');
      })();
      return stopping;
    },
    async reload(next) {
      await tail.applyConfig(next.tail);
      await scrape.applyConfig(next.scrapeConfigs);
      scrapeConfigsInEffect = next.scrapeConfigs;
      logger.info('configuration reloaded');
    },
  };
  reloadTarget.apply = (next) => running.reload(next);
  return running;
}

/** /api/v1/status/flags: Lookout's effective settings under their configuration names. */
function prometheusFlags(config: LookoutConfig): Record<string, string> {
  return {
    'server.host': config.host,
    'server.port': String(config.port),
    'server.grpcPort': String(config.grpcPort),
    'storage.dataDir': config.clickhouseUrl === undefined ? config.dataDir : '',
    'retention.metrics': `${config.retention.metrics}d`,
    'log.level': config.logLevel,
    'query.lookback-delta': formatPromDuration(config.promql.lookbackDeltaMs),
    'query.timeout': formatPromDuration(config.promql.timeoutMs),
    'query.max-samples': String(config.promql.maxSamples),
  };
}
