/**
 * Request context for Express, Fastify and node:http: accept or create X-Request-Id, return it,
 * put it in the log context and on the server span, record http.server.request.duration by
 * route template, write one access line, and answer /health, /ready and (if enabled) /metrics.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { trace, type Span } from '@opentelemetry/api';
import { bindRequestToTrace, requestContextStorage, requestIdOf } from './context.js';
import { answerHealth, health, type HealthRegistry } from './health.js';
import { getLogger, type LogLevel } from './logger.js';
import { recordHttpServerRequest } from './metrics.js';
import { runtime } from './runtime.js';

export interface MiddlewareOptions {
  /** Level of the access line, or false for none. Default: init()'s accessLog (info). */
  accessLog?: LogLevel | false;
  /** Liveness path, or false to not serve it. Default /health. */
  healthPath?: string | false;
  /** Readiness path, or false. Default /ready. */
  readyPath?: string | false;
  /** Prometheus text path when init({ prometheus: true }), or false. Default /metrics. */
  metricsPath?: string | false;
  /** The registry behind the health paths. Default: the shared `health`. */
  health?: HealthRegistry;
}

export interface HttpHandlerOptions extends MiddlewareOptions {
  /** The route template for a request (`/orders/:id`); without it the metric has no http.route. */
  route?: (req: IncomingMessage) => string | undefined;
}

interface RequestState {
  requestId: string;
  started: number;
  method: string;
  path: string;
  span: Span | undefined;
  traceId: string | undefined;
  spanId: string | undefined;
  unbind: () => void;
  finished: boolean;
}

function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function begin(req: IncomingMessage, setHeader: (name: string, value: string) => void): RequestState {
  const requestId = requestIdOf(req);
  setHeader('X-Request-Id', requestId);
  const span = trace.getActiveSpan();
  const spanContext = span?.spanContext();
  let unbind = (): void => {};
  if (span && spanContext) {
    span.setAttribute('request.id', requestId);
    unbind = bindRequestToTrace(spanContext.traceId, requestId);
  }
  return {
    requestId,
    started: performance.now(),
    method: req.method ?? 'GET',
    path: pathOf(req.url),
    span,
    traceId: spanContext?.traceId,
    spanId: spanContext?.spanId,
    unbind,
    finished: false,
  };
}

const accessLogger = getLogger('http');

function finish(state: RequestState, route: string | undefined, status: number, level: LogLevel | false): void {
  if (state.finished) return;
  state.finished = true;
  state.unbind();
  const seconds = (performance.now() - state.started) / 1000;
  if (route !== undefined && state.span?.isRecording()) {
    state.span.setAttribute('http.route', route);
  }
  recordHttpServerRequest(state.method, route, status, seconds);
  if (level === false || level === 'silent') return;
  const fields: Record<string, unknown> = {
    request_id: state.requestId,
    method: state.method,
    route,
    path: state.path,
    status,
    duration_ms: Math.round(seconds * 100_000) / 100,
  };
  if (state.traceId) {
    fields.trace_id = state.traceId;
    fields.span_id = state.spanId;
  }
  accessLogger[level](fields, `${state.method} ${route ?? state.path} ${status}`);
}

type Endpoint = 'live' | 'ready' | 'metrics';

function endpointFor(method: string | undefined, path: string, options: MiddlewareOptions): Endpoint | undefined {
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  if (path === (options.healthPath ?? '/health') && options.healthPath !== false) return 'live';
  if (path === (options.readyPath ?? '/ready') && options.readyPath !== false) return 'ready';
  if (path === (options.metricsPath ?? '/metrics') && options.metricsPath !== false && runtime.prometheusHandler) return 'metrics';
  return undefined;
}

function serveEndpoint(endpoint: Endpoint, req: IncomingMessage, res: ServerResponse, options: MiddlewareOptions): void {
  if (endpoint === 'metrics') {
    runtime.prometheusHandler!(req, res);
    return;
  }
  answerHealth(options.health ?? health, endpoint).then(
    (answer) => {
      res.statusCode = answer.statusCode;
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Cache-Control', 'no-store');
      res.end(JSON.stringify(answer.body));
    },
    (error: unknown) => {
      res.statusCode = 503;
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.end(JSON.stringify({ status: 'fail', checks: {}, error: String(error) }));
    },
  );
}

/**
 * Request body events are emitted from the connection's context, not the middleware's: run
 * the request emitter's listeners inside the request context (as OpenTelemetry's
 * context.bind does for its own context).
 */
function bindRequestEmitter(req: IncomingMessage, requestId: string): void {
  const emit = req.emit;
  const store = { requestId };
  req.emit = function boundEmit(this: IncomingMessage, ...args: Parameters<IncomingMessage['emit']>) {
    return requestContextStorage.run(store, () => emit.apply(this, args));
  } as IncomingMessage['emit'];
}

function wrapEnd(res: ServerResponse, onEnd: () => void): void {
  const end = res.end;
  // Before the real end(): the server span is still open (http.route lands on it) and the
  // status code is final.
  res.end = function patchedEnd(this: ServerResponse, ...args: unknown[]) {
    onEnd();
    return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse['end'];
}

/** Minimal shape of an Express request (no dependency on express's types). */
interface ExpressRequest extends IncomingMessage {
  route?: { path?: unknown };
  baseUrl?: string;
}

function expressRoute(req: ExpressRequest): string | undefined {
  const path = req.route?.path;
  if (typeof path !== 'string') return undefined;
  return `${req.baseUrl ?? ''}${path}` || '/';
}

/** `app.use(lookoutExpress())`, first, before routes and body parsers. */
export function expressMiddleware(options: MiddlewareOptions = {}) {
  return function lookoutRequestContext(req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void {
    const endpoint = endpointFor(req.method, pathOf(req.url), options);
    if (endpoint) return serveEndpoint(endpoint, req, res, options);
    const state = begin(req, (name, value) => res.setHeader(name, value));
    const level = options.accessLog ?? runtime.accessLog;
    const done = (): void => finish(state, expressRoute(req as ExpressRequest), res.statusCode, level);
    wrapEnd(res, done);
    res.once('close', done);
    bindRequestEmitter(req, state.requestId);
    requestContextStorage.run({ requestId: state.requestId }, next);
  };
}

/** `http.createServer(lookoutHttp(handler, { route }))`. */
export function httpHandler(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  options: HttpHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  return function lookoutHttpHandler(req, res) {
    const endpoint = endpointFor(req.method, pathOf(req.url), options);
    if (endpoint) return serveEndpoint(endpoint, req, res, options);
    const state = begin(req, (name, value) => res.setHeader(name, value));
    const route = options.route?.(req);
    if (route !== undefined) state.span?.setAttribute('http.route', route);
    const level = options.accessLog ?? runtime.accessLog;
    const done = (): void => finish(state, route, res.statusCode, level);
    wrapEnd(res, done);
    res.once('close', done);
    bindRequestEmitter(req, state.requestId);
    requestContextStorage.run({ requestId: state.requestId }, () => handler(req, res));
  };
}

/** Minimal structural types for Fastify (no dependency on fastify). */
interface FastifyRequestLike {
  raw: IncomingMessage;
  routeOptions?: { url?: string };
}
interface FastifyReplyLike {
  raw: ServerResponse;
  statusCode: number;
  header(name: string, value: string): unknown;
  code(status: number): FastifyReplyLike;
  type(contentType: string): FastifyReplyLike;
  send(payload?: unknown): unknown;
  hijack(): unknown;
}
type Handler = (this: unknown, request: FastifyRequestLike, reply: FastifyReplyLike) => unknown;
interface FastifyLike {
  addHook(name: string, hook: (...args: never[]) => unknown): unknown;
  get(path: string, handler: (request: FastifyRequestLike, reply: FastifyReplyLike) => unknown): unknown;
}

const STATE = Symbol('lookout.request');

/**
 * Fastify plugin: `await app.register(lookoutFastify)` before declaring routes. Marked to skip
 * encapsulation (like fastify-plugin) so its hooks see every route.
 */
export function fastifyPlugin(app: FastifyLike, options: MiddlewareOptions, done: (error?: Error) => void): void {
  const own = new Set<string>();
  const paths: Array<[string | false | undefined, string, Endpoint]> = [
    [options.healthPath, '/health', 'live'],
    [options.readyPath, '/ready', 'ready'],
    [options.metricsPath, '/metrics', 'metrics'],
  ];
  app.addHook('onRoute', ((routeOptions: { url: string; handler: Handler }) => {
    if (own.has(routeOptions.url)) return;
    const handler = routeOptions.handler;
    // Body parsing resumes in a stream callback, outside the onRequest hook's context:
    // entering the request context again around the handler keeps request_id on its logs.
    routeOptions.handler = function lookoutHandler(this: unknown, request, reply) {
      const state = (request as unknown as Record<symbol, RequestState | undefined>)[STATE];
      if (!state) return handler.call(this, request, reply);
      return requestContextStorage.run({ requestId: state.requestId }, () => handler.call(this, request, reply));
    };
  }) as never);
  app.addHook('onRequest', ((request: FastifyRequestLike, reply: FastifyReplyLike, next: () => void) => {
    if (request.routeOptions?.url !== undefined && own.has(request.routeOptions.url)) return next();
    const state = begin(request.raw, (name, value) => reply.header(name, value));
    (request as unknown as Record<symbol, RequestState>)[STATE] = state;
    const route = request.routeOptions?.url;
    if (route !== undefined) state.span?.setAttribute('http.route', route);
    bindRequestEmitter(request.raw, state.requestId);
    requestContextStorage.run({ requestId: state.requestId }, next);
  }) as never);
  app.addHook('onResponse', ((request: FastifyRequestLike, reply: FastifyReplyLike, next: () => void) => {
    const state = (request as unknown as Record<symbol, RequestState | undefined>)[STATE];
    if (state) finish(state, request.routeOptions?.url, reply.statusCode, options.accessLog ?? runtime.accessLog);
    next();
  }) as never);
  for (const [configured, fallback, endpoint] of paths) {
    if (configured === false) continue;
    const path = configured ?? fallback;
    own.add(path);
    app.get(path, async (request, reply) => {
      if (endpoint === 'metrics') {
        if (!runtime.prometheusHandler) return reply.code(404).send({ error: 'Prometheus output is off: init({ prometheus: true })' });
        reply.hijack();
        runtime.prometheusHandler(request.raw, reply.raw);
        return;
      }
      const answer = await answerHealth(options.health ?? health, endpoint);
      reply.header('Cache-Control', 'no-store');
      return reply.code(answer.statusCode).type('application/json; charset=utf-8').send(answer.body);
    });
  }
  done();
}
(fastifyPlugin as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')] = true;
(fastifyPlugin as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')] = '@lookout/node';
