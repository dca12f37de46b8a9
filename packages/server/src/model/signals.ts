import type { KeyValue } from './attributes.js';

/** Timestamps are nanoseconds since the epoch as bigint: OTLP's fixed64 does not fit a double. */
export type UnixNanos = bigint;

export interface Resource {
  attributes: KeyValue[];
  droppedAttributesCount: number;
  schemaUrl: string;
}

export interface Scope {
  name: string;
  version: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  schemaUrl: string;
}

export interface LogRecord {
  tenant: string;
  timestamp: UnixNanos;
  observedTimestamp: UnixNanos;
  /** Lower-case hex; empty when the record has no trace context. */
  traceId: string;
  spanId: string;
  flags: number;
  severityText: string;
  severityNumber: number;
  /** `service.name` of the resource, denormalised for the primary key. */
  serviceName: string;
  /**
   * Loki stream labels (index labels). Logs pushed in Loki format keep theirs; OTLP logs get
   * them the way Loki 3 maps OTLP (`service_name` from `service.name`, ...).
   */
  streamLabels: Labels;
  /** The body as text; non-string bodies are stored as their OTLP JSON with bodyType set. */
  body: string;
  bodyType: '' | 'int' | 'double' | 'bool' | 'bytes' | 'array' | 'kvlist' | 'empty';
  eventName: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  resource: Resource;
  scope: Scope;
}

/** OTLP span kind numbers (opentelemetry.proto.trace.v1.Span.SpanKind). */
export const SPAN_KINDS = ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'] as const;
/** OTLP status codes (opentelemetry.proto.trace.v1.Status.StatusCode). */
export const STATUS_CODES = ['Unset', 'Ok', 'Error'] as const;

export interface SpanEvent {
  timestamp: UnixNanos;
  name: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  traceState: string;
  flags: number;
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

export interface Span {
  tenant: string;
  /** Lower-case hex, 32 characters. */
  traceId: string;
  /** Lower-case hex, 16 characters. */
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  traceState: string;
  flags: number;
  name: string;
  /** Index into SPAN_KINDS. */
  kind: number;
  startTime: UnixNanos;
  endTime: UnixNanos;
  serviceName: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  events: SpanEvent[];
  droppedEventsCount: number;
  links: SpanLink[];
  droppedLinksCount: number;
  /** Index into STATUS_CODES. */
  statusCode: number;
  statusMessage: string;
  resource: Resource;
  scope: Scope;
}

/** A Prometheus-style sample of one series. Labels include `__name__`. */
export interface Sample {
  labels: Labels;
  /** Milliseconds since the epoch, as Prometheus stores them. */
  timestampMs: number;
  value: number;
  /** A staleness marker (Prometheus's special NaN): the series ended here. */
  stale?: boolean;
}

/** Label name → value. Always contains `__name__` for a metric series. */
export type Labels = Record<string, string>;

/** Prometheus metric metadata (TYPE/HELP/UNIT) for a metric family. */
export interface MetricMetadata {
  metricFamilyName: string;
  type: 'counter' | 'gauge' | 'histogram' | 'gaugehistogram' | 'summary' | 'info' | 'stateset' | 'unknown';
  help: string;
  unit: string;
}

export const DEFAULT_TENANT = 'default';
