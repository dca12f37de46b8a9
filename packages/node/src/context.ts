/**
 * The per-request context (request id) and the correlation fields every log line carries. The
 * request id lives in its own AsyncLocalStorage; trace and span ids come from the active
 * OpenTelemetry span, so they are right inside any span the application or an instrumentation
 * starts, not only the request's server span.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isSpanContextValid, trace } from '@opentelemetry/api';

export interface RequestContext {
  requestId: string;
}

export const requestContextStorage = new AsyncLocalStorage<RequestContext>();

/**
 * Request ids of requests in progress by trace id. Body parsers and other stream callbacks run
 * in the context OpenTelemetry bound to the request emitter, which predates the middleware's
 * AsyncLocalStorage entry; the active span's trace id still finds the request there.
 */
const requestIdsByTrace = new Map<string, string>();

export function bindRequestToTrace(traceId: string, requestId: string): () => void {
  requestIdsByTrace.set(traceId, requestId);
  return () => {
    if (requestIdsByTrace.get(traceId) === requestId) requestIdsByTrace.delete(traceId);
  };
}

export function currentRequestId(): string | undefined {
  const stored = requestContextStorage.getStore()?.requestId;
  if (stored !== undefined) return stored;
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext ? requestIdsByTrace.get(spanContext.traceId) : undefined;
}

/** Runs `fn` with the given request id as the current request context. */
export function withRequestId<T>(requestId: string, fn: () => T): T {
  return requestContextStorage.run({ requestId }, fn);
}

export interface Correlation {
  trace_id?: string;
  span_id?: string;
  request_id?: string;
}

export function currentCorrelation(): Correlation {
  const out: Correlation = {};
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (spanContext && isSpanContextValid(spanContext)) {
    out.trace_id = spanContext.traceId;
    out.span_id = spanContext.spanId;
  }
  const requestId = requestContextStorage.getStore()?.requestId ?? (out.trace_id === undefined ? undefined : requestIdsByTrace.get(out.trace_id));
  if (requestId !== undefined) out.request_id = requestId;
  return out;
}

const REQUEST_ID = Symbol.for('lookout.request_id');

/**
 * The request id of an incoming request, decided once: the HTTP instrumentation asks first (to
 * put it on the server span), the middleware later gets the same one.
 */
export function requestIdOf(request: IncomingMessage): string {
  const holder = request as unknown as Record<symbol, string | undefined>;
  return (holder[REQUEST_ID] ??= acceptOrCreateRequestId(request.headers['x-request-id']));
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * An incoming X-Request-Id is kept when it looks like an id (bounded length, no spaces or
 * control characters: it is echoed into logs and response headers); otherwise a new one is made.
 */
export function acceptOrCreateRequestId(incoming: string | string[] | undefined): string {
  const value = Array.isArray(incoming) ? incoming[0] : incoming;
  if (value !== undefined && REQUEST_ID_PATTERN.test(value)) return value;
  return randomUUID();
}
