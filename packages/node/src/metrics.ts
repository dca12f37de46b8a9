/**
 * HTTP server metrics (OpenTelemetry semantic conventions) and a small business-metrics API.
 * Instruments are resolved from the global MeterProvider on first use after each init(): the
 * API's meters are not proxies, so an instrument made before init() would stay a no-op forever.
 */
import { metrics, type Attributes, type Counter, type Gauge, type Histogram, type Meter } from '@opentelemetry/api';
import { SDK_NAME, SDK_VERSION } from './version.js';

let generation = 0;

/** Called by init() once the MeterProvider is registered. */
export function refreshInstruments(): void {
  generation++;
}

function meter(): Meter {
  return metrics.getMeter(SDK_NAME, SDK_VERSION);
}

function lazy<T>(create: (m: Meter) => T): () => T {
  let made: T | undefined;
  let madeAt = -1;
  return () => {
    if (made === undefined || madeAt !== generation) {
      made = create(meter());
      madeAt = generation;
    }
    return made;
  };
}

export interface InstrumentOptions {
  description?: string;
  unit?: string;
}

export interface BusinessCounter {
  add(value?: number, attributes?: Attributes): void;
}
export interface BusinessHistogram {
  record(value: number, attributes?: Attributes): void;
}
export interface BusinessGauge {
  set(value: number, attributes?: Attributes): void;
}

/** A monotonic counter (`orders.created`). Keep attribute values few: each combination is a series. */
export function counter(name: string, options: InstrumentOptions = {}): BusinessCounter {
  const get = lazy<Counter>((m) => m.createCounter(name, options));
  return { add: (value = 1, attributes) => get().add(value, attributes) };
}

export function histogram(name: string, options: InstrumentOptions & { buckets?: number[] } = {}): BusinessHistogram {
  const { buckets, ...rest } = options;
  const get = lazy<Histogram>((m) => m.createHistogram(name, buckets ? { ...rest, advice: { explicitBucketBoundaries: buckets } } : rest));
  return { record: (value, attributes) => get().record(value, attributes) };
}

/** The last value set wins, per attribute set (queue depth, pool size). */
export function gauge(name: string, options: InstrumentOptions = {}): BusinessGauge {
  const get = lazy<Gauge>((m) => m.createGauge(name, options));
  return { set: (value, attributes) => get().record(value, attributes) };
}

/** Semantic-conventions buckets for http.server.request.duration (seconds). */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

const httpServerDuration = lazy<Histogram>((m) =>
  m.createHistogram('http.server.request.duration', {
    description: 'Duration of HTTP server requests.',
    unit: 's',
    advice: { explicitBucketBoundaries: HTTP_DURATION_BUCKETS },
  }),
);

/** Records one finished request; `route` is the route template (never the raw path) or undefined. */
export function recordHttpServerRequest(method: string, route: string | undefined, status: number, seconds: number): void {
  const attributes: Attributes = {
    'http.request.method': normalizeMethod(method),
    'http.response.status_code': status,
  };
  if (route !== undefined) attributes['http.route'] = route;
  if (status >= 500) attributes['error.type'] = String(status);
  httpServerDuration().record(seconds, attributes);
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/** Unknown methods become `_OTHER` (semantic conventions): a method is client-chosen text. */
export function normalizeMethod(method: string | undefined): string {
  const upper = (method ?? '').toUpperCase();
  return KNOWN_METHODS.has(upper) ? upper : '_OTHER';
}
