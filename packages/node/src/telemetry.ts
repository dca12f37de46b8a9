/**
 * The OpenTelemetry pieces init() assembles: exporters wrapped to count what is exported and
 * what is dropped, a span processor that redacts before the batch processor queues, and the log
 * sink that ships pino records as OTLP logs with their trace context.
 */
import { ROOT_CONTEXT, TraceFlags, trace, type Attributes, type AttributeValue, type Context } from '@opentelemetry/api';
import { logs, SeverityNumber, type AnyValueMap } from '@opentelemetry/api-logs';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { LogRecordJson, LogSink } from './logger.js';
import type { Redactor } from './redact.js';
import { SDK_NAME, SDK_VERSION } from './version.js';

export interface TelemetryStats {
  exported: { spans: number; logs: number; metricBatches: number };
  /** Items whose export failed (Lookout down, refused, timed out): they are not retried further. */
  dropped: { spans: number; logs: number; metricBatches: number };
  /** Time of the last failed export, if any. */
  lastFailure: string | undefined;
  lastError: string | undefined;
}

export const stats: TelemetryStats = {
  exported: { spans: 0, logs: 0, metricBatches: 0 },
  dropped: { spans: 0, logs: 0, metricBatches: 0 },
  lastFailure: undefined,
  lastError: undefined,
};

type Signal = 'spans' | 'logs' | 'metricBatches';
type Reporter = (signal: Signal, count: number, error: Error | undefined) => void;

let onDrop: Reporter = () => {};
export function setDropReporter(reporter: Reporter): void {
  onDrop = reporter;
}

function account(signal: Signal, count: number, result: ExportResult): void {
  if (result.code === ExportResultCode.SUCCESS) {
    stats.exported[signal] += count;
    return;
  }
  stats.dropped[signal] += count;
  stats.lastFailure = new Date().toISOString();
  stats.lastError = result.error?.message;
  try {
    onDrop(signal, count, result.error);
  } catch {
    // reporting must never throw into the exporter
  }
}

export class CountingSpanExporter implements SpanExporter {
  constructor(private readonly inner: SpanExporter) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      account('spans', spans.length, result);
      done(result);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

export class CountingLogExporter implements LogRecordExporter {
  constructor(private readonly inner: LogRecordExporter) {}
  export(records: ReadableLogRecord[], done: (result: ExportResult) => void): void {
    this.inner.export(records, (result) => {
      account('logs', records.length, result);
      done(result);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

export class CountingMetricExporter implements PushMetricExporter {
  readonly selectAggregationTemporality: PushMetricExporter['selectAggregationTemporality'];
  readonly selectAggregation: PushMetricExporter['selectAggregation'];
  constructor(private readonly inner: PushMetricExporter) {
    this.selectAggregationTemporality = inner.selectAggregationTemporality?.bind(inner);
    this.selectAggregation = inner.selectAggregation?.bind(inner);
  }
  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    this.inner.export(metrics, (result) => {
      account('metricBatches', 1, result);
      done(result);
    });
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

function redactAttributeValue(redactor: Redactor, value: AttributeValue | undefined): AttributeValue | undefined {
  if (typeof value === 'string') return redactor.redactString(value);
  if (Array.isArray(value)) return value.map((item) => (typeof item === 'string' ? redactor.redactString(item) : item)) as AttributeValue;
  return value;
}

// Attributes this SDK sets itself from validated ids: scanning unique ids would only cost time.
const TRUSTED_ATTRIBUTES = new Set(['request.id']);

function redactAttributes(redactor: Redactor, attributes: Attributes): void {
  for (const key in attributes) {
    const value = attributes[key];
    if (redactor.isSensitiveKey(key)) attributes[key] = '[REDACTED]';
    else if (typeof value === 'string') {
      if (!TRUSTED_ATTRIBUTES.has(key)) attributes[key] = redactor.redactString(value);
    } else if (Array.isArray(value)) attributes[key] = redactAttributeValue(redactor, value);
  }
}

/**
 * Redacts span attributes, event attributes (exception messages and stacks) and the status
 * message when a span ends, before the batch processor after it queues the span. The span
 * objects are the SDK's own; their attribute maps are plain objects, rewritten in place.
 */
export class RedactingSpanProcessor implements SpanProcessor {
  constructor(private readonly redactor: Redactor) {}
  onStart(_span: Span, _parentContext: Context): void {}
  onEnd(span: ReadableSpan): void {
    if (!this.redactor.enabled) return;
    redactAttributes(this.redactor, span.attributes as Attributes);
    for (const event of span.events) if (event.attributes) redactAttributes(this.redactor, event.attributes as Attributes);
    for (const link of span.links) if (link.attributes) redactAttributes(this.redactor, link.attributes as Attributes);
    if (span.status.message) (span.status as { message?: string }).message = this.redactor.redactString(span.status.message);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const SEVERITY: Record<string, SeverityNumber> = {
  trace: SeverityNumber.TRACE,
  debug: SeverityNumber.DEBUG,
  info: SeverityNumber.INFO,
  warn: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
  fatal: SeverityNumber.FATAL,
};

// Fields that become the record's own parts (time, severity, body, trace context) or the resource.
const NOT_ATTRIBUTES = new Set(['time', 'level', 'msg', 'trace_id', 'span_id', 'service']);

/** Ships pino records (already redacted) as OTLP log records through the global LoggerProvider. */
export function createOtlpLogSink(): LogSink {
  const otelLogger = logs.getLogger(SDK_NAME, SDK_VERSION);
  return {
    write(_line: string, record: LogRecordJson): void {
      const attributes: AnyValueMap = {};
      for (const [key, value] of Object.entries(record)) {
        if (NOT_ATTRIBUTES.has(key) || value === undefined) continue;
        if (key === 'err' && value !== null && typeof value === 'object') {
          const err = value as { type?: string; message?: string; stack?: string };
          if (err.type) attributes['exception.type'] = err.type;
          if (err.message) attributes['exception.message'] = err.message;
          if (err.stack) attributes['exception.stacktrace'] = err.stack;
          continue;
        }
        attributes[key] = value as AnyValueMap[string];
      }
      let context: Context = ROOT_CONTEXT;
      if (typeof record.trace_id === 'string' && typeof record.span_id === 'string') {
        context = trace.setSpanContext(ROOT_CONTEXT, { traceId: record.trace_id, spanId: record.span_id, traceFlags: TraceFlags.SAMPLED, isRemote: false });
      }
      const time = Date.parse(record.time);
      otelLogger.emit({
        timestamp: Number.isNaN(time) ? Date.now() : time,
        severityNumber: SEVERITY[record.level] ?? SeverityNumber.UNSPECIFIED,
        severityText: record.level.toUpperCase(),
        body: typeof record.msg === 'string' ? record.msg : '',
        attributes,
        context,
      });
    },
  };
}
