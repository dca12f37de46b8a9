/**
 * init(): OpenTelemetry (traces, metrics, logs over OTLP/HTTP protobuf to Lookout), the
 * common instrumentations, logging configuration, lifecycle logs and shutdown flushing.
 * Exporting is asynchronous with bounded queues: when Lookout is down the application keeps
 * serving, failed batches are dropped and counted, and a warning is logged at most every 30 s.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { hostname } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { DiagLogLevel, createNoopMeter, diag } from '@opentelemetry/api';
import { W3CBaggagePropagator, W3CTraceContextPropagator, CompositePropagator } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { MySQL2Instrumentation } from '@opentelemetry/instrumentation-mysql2';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { RedisInstrumentation } from '@opentelemetry/instrumentation-redis';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { resourceFromAttributes, hostDetector, envDetector } from '@opentelemetry/resources';
import { BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { PeriodicExportingMetricReader, type IMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, AlwaysOnSampler, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { currentRequestId, requestIdOf } from './context.js';
import { health } from './health.js';
import { addSink, configureLogging, createFileSink, flushLogs, getLogger } from './logger.js';
import { refreshInstruments } from './metrics.js';
import { resolveOptions, type InitOptions, type ResolvedOptions } from './options.js';
import { Redactor } from './redact.js';
import { runtime } from './runtime.js';
import {
  CountingLogExporter,
  CountingMetricExporter,
  CountingSpanExporter,
  RedactingSpanProcessor,
  createOtlpLogSink,
  setDropReporter,
  stats,
  type TelemetryStats,
} from './telemetry.js';
import { SDK_NAME, SDK_VERSION } from './version.js';

export interface LookoutHandle {
  options: ResolvedOptions;
  /** Exports everything queued now. */
  flush(): Promise<void>;
  /** Flushes and stops exporting (bounded by shutdownTimeoutMs). */
  shutdown(reason?: string): Promise<void>;
  stats(): TelemetryStats;
}

let active: LookoutHandle | undefined;
let generation = 0;
const removers: Array<() => void> = [];

function builtInInstrumentations(options: ResolvedOptions): Instrumentation[] {
  const off = options.disableInstrumentations;
  const list: Instrumentation[] = [];
  if (!off.has('http')) {
    list.push(
      new HttpInstrumentation({
        // Carries the request id to downstream services (they accept X-Request-Id).
        requestHook: (span, request) => {
          if (!('setHeader' in request)) {
            // Incoming: the server span carries the request id the middleware will use.
            span.setAttribute('request.id', requestIdOf(request as IncomingMessage));
            return;
          }
          const outgoing = request as ClientRequest;
          const id = currentRequestId();
          if (id !== undefined && outgoing.getHeader('x-request-id') === undefined && !outgoing.headersSent) outgoing.setHeader('x-request-id', id);
        },
        ignoreIncomingRequestHook: (request: IncomingMessage) => {
          const url = request.url ?? '';
          return url === '/health' || url === '/ready' || url === '/metrics';
        },
      }),
    );
  }
  if (!off.has('undici')) {
    list.push(
      new UndiciInstrumentation({
        requestHook: (_span, request) => {
          const id = currentRequestId();
          const headers = request.headers;
          const has = Array.isArray(headers) ? headers.some((h) => String(h).toLowerCase() === 'x-request-id') : /(^|\r\n)x-request-id:/i.test(String(headers));
          if (id !== undefined && !has) request.addHeader('x-request-id', id);
        },
      }),
    );
  }
  if (!off.has('express')) list.push(new ExpressInstrumentation());
  if (!off.has('fastify')) list.push(new FastifyOtelInstrumentation({ registerOnInitialization: true, ignorePaths: (route) => ['/health', '/ready', '/metrics'].includes(route.url) }));
  if (!off.has('pg')) list.push(new PgInstrumentation());
  if (!off.has('mysql2')) list.push(new MySQL2Instrumentation());
  if (!off.has('ioredis')) list.push(new IORedisInstrumentation());
  if (!off.has('redis')) list.push(new RedisInstrumentation());
  return [...list, ...options.instrumentations];
}

/** Sets everything up. Call once, first thing (or load with `node --import @lookout/node/register`). */
export function init(options: InitOptions = {}): LookoutHandle {
  if (active) {
    getLogger('lookout').warn('init() called again; keeping the first configuration');
    return active;
  }
  const resolved = resolveOptions(options);
  const redactor = new Redactor(resolved.redact);
  configureLogging({ service: resolved.service, level: resolved.logLevel, redactor, stdout: resolved.logStdout });
  runtime.accessLog = resolved.accessLog;
  const log = getLogger('lookout');
  if (resolved.logFile) removers.push(addSink(createFileSink(resolved.logFile)));

  let sdk: NodeSDK | undefined;
  if (!resolved.disabled) {
    diag.setLogger(diagBridge(), DiagLogLevel.WARN);
    setDropReporter(dropReporter());
    const headers = resolved.headers;
    const timeoutMillis = resolved.exportTimeoutMs;
    const spanProcessors: SpanProcessor[] = [new RedactingSpanProcessor(redactor)];
    if (resolved.traces) {
      const traceExporter = new OTLPTraceExporter({ url: resolved.tracesUrl, headers, timeoutMillis, concurrencyLimit: 4 });
      spanProcessors.push(
        new BatchSpanProcessor(new CountingSpanExporter(traceExporter), {
          maxQueueSize: resolved.maxQueueSize,
          maxExportBatchSize: Math.min(512, resolved.maxQueueSize),
          exportTimeoutMillis: timeoutMillis,
        }),
      );
    }
    const metricReaders: IMetricReader[] = [];
    if (resolved.metrics) {
      metricReaders.push(
        new PeriodicExportingMetricReader({
          exporter: new CountingMetricExporter(new OTLPMetricExporter({ url: resolved.metricsUrl, headers, timeoutMillis, concurrencyLimit: 2 })),
          exportIntervalMillis: resolved.metricExportIntervalMs,
          exportTimeoutMillis: Math.min(timeoutMillis, resolved.metricExportIntervalMs),
        }),
      );
    }
    if (resolved.prometheus) {
      const prometheus = new PrometheusExporter({ preventServerStart: true });
      metricReaders.push(prometheus);
      runtime.prometheusHandler = (req, res) => prometheus.getMetricsRequestHandler(req, res);
    }
    const logExporter = resolved.logs ? new OTLPLogExporter({ url: resolved.logsUrl, headers, timeoutMillis, concurrencyLimit: 4 }) : undefined;
    const logRecordProcessors = logExporter
      ? [
          new BatchLogRecordProcessor(new CountingLogExporter(logExporter), {
            maxQueueSize: resolved.maxQueueSize,
            maxExportBatchSize: Math.min(512, resolved.maxQueueSize),
            exportTimeoutMillis: timeoutMillis,
          }),
        ]
      : [];
    const attributes: Record<string, string | number> = {
      ...resolved.resourceAttributes,
      'service.name': resolved.service,
      'host.name': hostname(),
      'process.pid': process.pid,
      'process.runtime.name': 'nodejs',
      'process.runtime.version': process.versions.node,
      'process.executable.name': process.title,
    };
    if (resolved.version !== undefined) attributes['service.version'] = resolved.version;
    if (resolved.environment !== undefined) attributes['deployment.environment.name'] = resolved.environment;
    attributes['telemetry.distro.name'] = SDK_NAME;
    attributes['telemetry.distro.version'] = SDK_VERSION;
    const sdkConfig = {
      resource: resourceFromAttributes(attributes),
      // Not processDetector: it exports process.command_args, where secrets passed as flags would leak.
      resourceDetectors: [envDetector, hostDetector],
      autoDetectResources: true,
      spanProcessors,
      metricReaders,
      logRecordProcessors,
      sampler: resolved.traceSampleRatio >= 1 ? new AlwaysOnSampler() : new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(resolved.traceSampleRatio) }),
      textMapPropagator: new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
    };
    const instrumentations = builtInInstrumentations(resolved);
    sdk = new NodeSDK({ ...sdkConfig, instrumentations });
    sdk.start();
    // instrumentation-http's duration metrics would duplicate the middleware's (which knows the
    // route template) and cost a histogram update per request: give it a no-op meter.
    for (const instrumentation of instrumentations) {
      if (instrumentation instanceof HttpInstrumentation) instrumentation.setMeterProvider({ getMeter: () => createNoopMeter() });
    }
    patchPreloadedBuiltins();
    preloadInstrumentedPackages(resolved.disableInstrumentations);
    generation++;
    refreshInstruments();
    health.observeWith(generation);
    if (resolved.logs) removers.push(addSink(createOtlpLogSink()));
  }

  const handle: LookoutHandle = {
    options: resolved,
    flush: async () => {
      flushLogs();
      if (!sdk) return;
      const internal = sdk as unknown as { _tracerProvider?: { forceFlush(): Promise<void> }; _meterProvider?: { forceFlush(): Promise<void> }; _loggerProvider?: { forceFlush(): Promise<void> } };
      await withTimeout(
        Promise.allSettled([internal._tracerProvider?.forceFlush(), internal._meterProvider?.forceFlush(), internal._loggerProvider?.forceFlush()]),
        resolved.shutdownTimeoutMs,
      );
    },
    shutdown: async (reason = 'shutdown') => {
      if (shuttingDown) return shuttingDown;
      shuttingDown = (async () => {
        log.info({ reason, exported: stats.exported, dropped: stats.dropped }, 'service stopping');
        if (sdk) await withTimeout(sdk.shutdown().catch(() => {}), resolved.shutdownTimeoutMs);
        for (const remove of removers.splice(0)) remove();
        flushLogs();
      })();
      return shuttingDown;
    },
    stats: () => structuredClone(stats),
  };
  let shuttingDown: Promise<void> | undefined;
  active = handle;

  if (resolved.handleSignals) installSignalHandlers(handle);
  if (resolved.handleExceptions) installExceptionHandlers(handle);

  log.info(
    {
      version: resolved.version,
      environment: resolved.environment,
      config_hash: resolved.configHash,
      endpoint: resolved.disabled ? undefined : resolved.endpoint,
      node: process.version,
      sdk: `${SDK_NAME}@${SDK_VERSION}`,
    },
    'service starting',
  );
  return handle;
}

/**
 * The OTLP exporters load `http` before the instrumentations are enabled, and an ES module's
 * `import http from 'node:http'` does not pass the require hook: requiring the built-ins once
 * more lets the HTTP instrumentation patch them (its server patch is on the shared
 * Server.prototype), and syncBuiltinESMExports() carries patched functions to ESM named imports.
 */
function patchPreloadedBuiltins(): void {
  const require = createRequire(import.meta.url);
  for (const name of ['http', 'https']) require(name);
  syncBuiltinESMExports();
}

/** npm packages patched through the require hook, by instrumentation name. */
const PATCHED_PACKAGES: Record<string, string[]> = {
  express: ['express'],
  pg: ['pg'],
  mysql2: ['mysql2'],
  ioredis: ['ioredis'],
  redis: ['@redis/client', 'redis'],
};

/**
 * An ES module importing a CommonJS package (express, pg, ioredis...) loads it without the
 * require hook the instrumentations rely on, and the ESM loader hook only reaches them when
 * every instrumentation shares one copy of import-in-the-middle (not so when npm nests
 * different @opentelemetry/instrumentation versions). Requiring the installed ones here, from
 * the application's directory, patches them in place; the application's later import gets the
 * same cached, patched module. Packages that are not installed are skipped.
 */
function preloadInstrumentedPackages(disabled: Set<string>): void {
  const from = process.argv[1] ? resolvePath(process.argv[1]) : join(process.cwd(), 'index.js');
  const require = createRequire(from);
  for (const [instrumentation, packages] of Object.entries(PATCHED_PACKAGES)) {
    if (disabled.has(instrumentation)) continue;
    for (const name of packages) {
      try {
        require(name);
      } catch {
        // not installed (or not loadable from here): nothing to patch
      }
    }
  }
}

/** The handle of the running init(), if any. */
export function current(): LookoutHandle | undefined {
  return active;
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms).unref()))]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

const REPORT_INTERVAL_MS = 30_000;

function dropReporter(): (signal: string, count: number, error: Error | undefined) => void {
  let lastReport = 0;
  return () => {
    const now = Date.now();
    if (now - lastReport < REPORT_INTERVAL_MS) return;
    lastReport = now;
    getLogger('lookout').warn({ dropped: stats.dropped, exported: stats.exported, error: stats.lastError }, 'telemetry export to Lookout failing; dropping data (the service is unaffected)');
  };
}

/** OpenTelemetry's own warnings (queue full, export errors) as rate-limited log lines. */
function diagBridge() {
  let lastAt = 0;
  let suppressed = 0;
  const emit = (level: 'warn' | 'error', message: string) => {
    const now = Date.now();
    if (now - lastAt < REPORT_INTERVAL_MS) {
      suppressed++;
      return;
    }
    lastAt = now;
    getLogger('opentelemetry')[level]({ suppressed_since_last: suppressed }, message);
    suppressed = 0;
  };
  const text = (message: string, args: unknown[]) => [message, ...args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : ''))].join(' ').trim();
  return {
    error: (message: string, ...args: unknown[]) => emit('error', text(message, args)),
    warn: (message: string, ...args: unknown[]) => emit('warn', text(message, args)),
    info: () => {},
    debug: () => {},
    verbose: () => {},
  };
}

let signalsInstalled = false;
function installSignalHandlers(handle: LookoutHandle): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const onSignal = (): void => {
      void handle.shutdown(signal).finally(() => {
        process.removeListener(signal, onSignal);
        // If nobody else handles the signal, behave as Node would have without us: exit by it.
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      });
    };
    process.on(signal, onSignal);
  }
  process.once('beforeExit', () => void handle.flush());
}

let exceptionsInstalled = false;
function installExceptionHandlers(handle: LookoutHandle): void {
  if (exceptionsInstalled) return;
  exceptionsInstalled = true;
  const die = (kind: string, event: 'uncaughtException' | 'unhandledRejection', error: unknown): void => {
    // With a handler of its own, the application decides whether to go on: log only.
    const exiting = process.listenerCount(event) <= 1;
    try {
      getLogger('lookout').fatal({ err: error instanceof Error ? error : new Error(String(error)), kind }, exiting ? `${kind}; exiting` : kind);
    } finally {
      flushLogs();
      if (exiting) void withTimeout(handle.shutdown(kind), 2000).finally(() => process.exit(1));
    }
  };
  process.on('uncaughtException', (error) => die('uncaught exception', 'uncaughtException', error));
  process.on('unhandledRejection', (reason) => die('unhandled rejection', 'unhandledRejection', reason));
  // process.exit() skips beforeExit: at least the buffered log lines get out.
  process.on('exit', () => flushLogs());
}

