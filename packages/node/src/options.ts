/**
 * init() options and their environment-variable equivalents. Precedence: options passed in
 * code, then `LOOKOUT_*`, then the standard `OTEL_*` variables, then defaults.
 */
import { createHash } from 'node:crypto';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import type { FileLogOptions, LogLevel } from './logger.js';
import type { RedactOptions } from './redact.js';

export interface InitOptions {
  /** service.name. Env: LOOKOUT_SERVICE, OTEL_SERVICE_NAME. Default: package name from npm, else "unknown_service:node". */
  service?: string;
  /** service.version. Env: LOOKOUT_VERSION, npm_package_version. */
  version?: string;
  /** deployment.environment.name. Env: LOOKOUT_ENVIRONMENT, NODE_ENV. */
  environment?: string;
  /** OTLP/HTTP base URL (signals go to /v1/traces, /v1/metrics, /v1/logs). Env: LOOKOUT_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT. Default http://localhost:4318. */
  endpoint?: string;
  /** Extra HTTP headers on every export (e.g. a tenant). Env: OTEL_EXPORTER_OTLP_HEADERS (k=v,k=v). */
  headers?: Record<string, string>;
  /** Extra resource attributes. Env: OTEL_RESOURCE_ATTRIBUTES (k=v,k=v). */
  resourceAttributes?: Record<string, string>;
  /** Export traces / metrics / logs (each default true). Env: OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER, OTEL_LOGS_EXPORTER = none turns one off. */
  traces?: boolean;
  metrics?: boolean;
  logs?: boolean;
  /** Everything off (loggers still write to stdout). Env: OTEL_SDK_DISABLED=true. */
  disabled?: boolean;
  /** Fraction of traces kept (parent-based). Env: LOOKOUT_TRACE_SAMPLE_RATIO. Default 1. */
  traceSampleRatio?: number;
  /** Instrumentations added to the built-in set. */
  instrumentations?: Instrumentation[];
  /** Built-in instrumentations to leave out: http, undici, express, fastify, pg, mysql2, ioredis, redis. Env: LOOKOUT_DISABLE_INSTRUMENTATIONS (comma list). */
  disableInstrumentations?: string[];
  /** LOG_LEVEL syntax: `info` or `info,db=debug,http=warn`. Env: LOG_LEVEL. Default info. */
  logLevel?: string;
  /** Write JSON lines to stdout (default true). Env: LOOKOUT_LOG_STDOUT=false. */
  logStdout?: boolean;
  /** Rotating file output. Env: LOOKOUT_LOG_FILE, LOOKOUT_LOG_FILE_SIZE, LOOKOUT_LOG_FILE_FREQUENCY, LOOKOUT_LOG_FILE_COUNT. */
  logFile?: FileLogOptions | string;
  /** Level of the one access line per request, or false for none. Env: LOOKOUT_ACCESS_LOG. Default info. */
  accessLog?: LogLevel | false;
  /** Redaction of log fields and span attributes (on by default). Env: LOOKOUT_REDACT=false, LOOKOUT_REDACT_KEYS (extra keys), LOOKOUT_REDACT_EMAILS=true. */
  redact?: RedactOptions;
  /** Serve Prometheus text at /metrics from the middleware. Env: LOOKOUT_PROMETHEUS=true. Default false. */
  prometheus?: boolean;
  /** Metric export interval. Env: OTEL_METRIC_EXPORT_INTERVAL. Default 15000. */
  metricExportIntervalMs?: number;
  /** Bound on queued spans and log records each (drops beyond it are counted). Env: LOOKOUT_MAX_QUEUE. Default 2048. */
  maxQueueSize?: number;
  /** Per-export timeout. Env: OTEL_EXPORTER_OTLP_TIMEOUT. Default 10000. */
  exportTimeoutMs?: number;
  /** Flush and log on SIGTERM/SIGINT (default true). */
  handleSignals?: boolean;
  /** Log uncaught exceptions and unhandled rejections with their stack, flush, exit 1 (default true). */
  handleExceptions?: boolean;
  /** Upper bound on flushing at shutdown. Default 5000. */
  shutdownTimeoutMs?: number;
}

export interface ResolvedOptions {
  service: string;
  version: string | undefined;
  environment: string | undefined;
  endpoint: string;
  tracesUrl: string;
  metricsUrl: string;
  logsUrl: string;
  headers: Record<string, string>;
  resourceAttributes: Record<string, string>;
  traces: boolean;
  metrics: boolean;
  logs: boolean;
  disabled: boolean;
  traceSampleRatio: number;
  instrumentations: Instrumentation[];
  disableInstrumentations: Set<string>;
  logLevel: string;
  logStdout: boolean;
  logFile: FileLogOptions | undefined;
  accessLog: LogLevel | false;
  redact: RedactOptions;
  prometheus: boolean;
  metricExportIntervalMs: number;
  maxQueueSize: number;
  exportTimeoutMs: number;
  handleSignals: boolean;
  handleExceptions: boolean;
  shutdownTimeoutMs: number;
  /** Short hash of the effective configuration, logged at start-up to tell deployments apart. */
  configHash: string;
}

type Env = Record<string, string | undefined>;

function bool(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new Error(`expected a boolean, got "${value}"`);
}

function num(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: expected a non-negative number, got "${value}"`);
  return n;
}

/** `k=v,k2=v2` with percent-decoding, as OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS use. */
export function parseKeyValueList(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!value) return out;
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = decodeURIComponent(part.slice(0, eq).trim());
    out[key] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

function exporterOff(value: string | undefined): boolean {
  return value !== undefined && value.split(',').map((s) => s.trim()).includes('none');
}

function signalUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

function validateUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${name}: not a URL: "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${name}: expected http(s), got "${value}"`);
  return value;
}

export function resolveOptions(options: InitOptions = {}, env: Env = process.env): ResolvedOptions {
  const endpoint = validateUrl('endpoint', options.endpoint ?? env.LOOKOUT_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318');
  const explicitEndpoint = options.endpoint ?? env.LOOKOUT_ENDPOINT;
  // Per-signal OTEL variables are full URLs (the spec), used unless an endpoint was given in code or LOOKOUT_ENDPOINT.
  const perSignal = (name: string, path: string): string =>
    explicitEndpoint === undefined && env[name] ? validateUrl(name, env[name]!) : signalUrl(endpoint, path);

  const resourceAttributes = { ...parseKeyValueList(env.OTEL_RESOURCE_ATTRIBUTES), ...options.resourceAttributes };
  const service =
    options.service ?? env.LOOKOUT_SERVICE ?? env.OTEL_SERVICE_NAME ?? resourceAttributes['service.name'] ?? env.npm_package_name ?? 'unknown_service:node';
  const version = options.version ?? env.LOOKOUT_VERSION ?? resourceAttributes['service.version'] ?? env.npm_package_version;
  const environment = options.environment ?? env.LOOKOUT_ENVIRONMENT ?? resourceAttributes['deployment.environment.name'] ?? env.NODE_ENV;

  let logFile: FileLogOptions | undefined;
  if (typeof options.logFile === 'string') logFile = { path: options.logFile };
  else if (options.logFile) logFile = options.logFile;
  else if (env.LOOKOUT_LOG_FILE) {
    const frequency = env.LOOKOUT_LOG_FILE_FREQUENCY;
    logFile = {
      path: env.LOOKOUT_LOG_FILE,
      size: env.LOOKOUT_LOG_FILE_SIZE,
      frequency: frequency === undefined ? undefined : frequency === 'daily' || frequency === 'hourly' ? frequency : num('LOOKOUT_LOG_FILE_FREQUENCY', frequency),
      count: num('LOOKOUT_LOG_FILE_COUNT', env.LOOKOUT_LOG_FILE_COUNT),
    };
  }

  let accessLog: LogLevel | false = options.accessLog ?? 'info';
  if (options.accessLog === undefined && env.LOOKOUT_ACCESS_LOG) {
    const v = env.LOOKOUT_ACCESS_LOG.toLowerCase();
    accessLog = v === 'off' || v === 'false' ? false : (v as LogLevel);
  }

  const redact: RedactOptions = { ...options.redact };
  if (redact.enabled === undefined) redact.enabled = bool(env.LOOKOUT_REDACT) ?? true;
  if (redact.emails === undefined) redact.emails = bool(env.LOOKOUT_REDACT_EMAILS) ?? false;
  if (env.LOOKOUT_REDACT_KEYS) redact.extraKeys = [...(redact.extraKeys ?? []), ...env.LOOKOUT_REDACT_KEYS.split(',').map((k) => k.trim()).filter(Boolean)];

  const resolved: Omit<ResolvedOptions, 'configHash'> = {
    service,
    version,
    environment,
    endpoint,
    tracesUrl: perSignal('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', '/v1/traces'),
    metricsUrl: perSignal('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', '/v1/metrics'),
    logsUrl: perSignal('OTEL_EXPORTER_OTLP_LOGS_ENDPOINT', '/v1/logs'),
    headers: { ...parseKeyValueList(env.OTEL_EXPORTER_OTLP_HEADERS), ...options.headers },
    resourceAttributes,
    traces: options.traces ?? !exporterOff(env.OTEL_TRACES_EXPORTER),
    metrics: options.metrics ?? !exporterOff(env.OTEL_METRICS_EXPORTER),
    logs: options.logs ?? !exporterOff(env.OTEL_LOGS_EXPORTER),
    disabled: options.disabled ?? bool(env.OTEL_SDK_DISABLED) ?? false,
    traceSampleRatio: options.traceSampleRatio ?? num('LOOKOUT_TRACE_SAMPLE_RATIO', env.LOOKOUT_TRACE_SAMPLE_RATIO) ?? 1,
    instrumentations: options.instrumentations ?? [],
    disableInstrumentations: new Set(
      options.disableInstrumentations ?? (env.LOOKOUT_DISABLE_INSTRUMENTATIONS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    ),
    logLevel: options.logLevel ?? env.LOG_LEVEL ?? 'info',
    logStdout: options.logStdout ?? bool(env.LOOKOUT_LOG_STDOUT) ?? true,
    logFile,
    accessLog,
    redact,
    prometheus: options.prometheus ?? bool(env.LOOKOUT_PROMETHEUS) ?? false,
    metricExportIntervalMs: options.metricExportIntervalMs ?? num('OTEL_METRIC_EXPORT_INTERVAL', env.OTEL_METRIC_EXPORT_INTERVAL) ?? 15_000,
    maxQueueSize: options.maxQueueSize ?? num('LOOKOUT_MAX_QUEUE', env.LOOKOUT_MAX_QUEUE) ?? 2048,
    exportTimeoutMs: options.exportTimeoutMs ?? num('OTEL_EXPORTER_OTLP_TIMEOUT', env.OTEL_EXPORTER_OTLP_TIMEOUT) ?? 10_000,
    handleSignals: options.handleSignals ?? true,
    handleExceptions: options.handleExceptions ?? true,
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? 5000,
  };
  if (resolved.traceSampleRatio > 1) throw new Error(`traceSampleRatio: expected 0..1, got ${resolved.traceSampleRatio}`);
  const hashed = JSON.stringify({ ...resolved, headers: Object.keys(resolved.headers), instrumentations: resolved.instrumentations.map((i) => i.instrumentationName), disableInstrumentations: [...resolved.disableInstrumentations] });
  return { ...resolved, configHash: createHash('sha256').update(hashed).digest('hex').slice(0, 12) };
}
