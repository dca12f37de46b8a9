/**
 * The request-context middleware in real Express, Fastify and node:http servers: X-Request-Id
 * accepted or created and returned, request_id on every log line of the request (also after
 * body parsing), one access line with the route template, /health and /ready; and Prometheus
 * text at /metrics from a service started with LOOKOUT_PROMETHEUS=true.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { configureLogging } from '../packages/node/src/logger.js';
import { captureLogs, getLogger, health, lookoutExpress, lookoutFastify, lookoutHttp, type LogCapture } from '../packages/node/src/index.js';
import { buildNodeSdk, startService, type ServiceProcess } from './node-sdk-support.js';

configureLogging({ stdout: false });
const log = getLogger('handler');

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function checkRequest(capture: LogCapture, requestId: string, route: string, status: number): void {
  const lines = capture.find((r) => r.request_id === requestId);
  assert.ok(lines.some((r) => r.msg === 'in handler'), `handler line: ${JSON.stringify(capture.records)}`);
  assert.ok(lines.some((r) => r.msg === 'after body'), `line after body parsing: ${JSON.stringify(capture.records)}`);
  const access = lines.filter((r) => r.module === 'http');
  assert.equal(access.length, 1, 'one access line per request');
  assert.equal(access[0]!.route, route);
  assert.equal(access[0]!.status, status);
  assert.equal(access[0]!.method, 'POST');
  assert.equal(access[0]!.path, '/items/42', 'the path without its query string');
}

async function exercise(base: string, route: string, capture: LogCapture): Promise<void> {
  capture.clear();
  // Accepted and returned.
  const sent = await fetch(`${base}/items/42?q=1`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'client-id-1' }, body: '{"a":1}' });
  assert.equal(sent.status, 201);
  assert.equal(sent.headers.get('x-request-id'), 'client-id-1');
  checkRequest(capture, 'client-id-1', route, 201);
  // Created when absent or unusable.
  for (const header of [undefined, 'bad id with spaces', 'x'.repeat(200)]) {
    const made = await fetch(`${base}/items/42`, { method: 'POST', headers: { 'content-type': 'application/json', ...(header ? { 'x-request-id': header } : {}) }, body: '{"a":1}' });
    const id = made.headers.get('x-request-id')!;
    assert.match(id, /^[0-9a-f-]{36}$/);
    checkRequest(capture, id, route, 201);
  }
  // Health endpoints, not access-logged.
  const before = capture.records.length;
  const live = await fetch(`${base}/health`);
  assert.equal(live.status, 200);
  assert.deepEqual(await live.json(), { status: 'ok', checks: {} });
  const ready = await fetch(`${base}/ready`);
  assert.equal(ready.status, 503);
  const body = (await ready.json()) as { status: string; checks: Record<string, { status: string; error: string }> };
  assert.equal(body.checks.database!.status, 'fail');
  assert.equal(body.checks.database!.error, 'connection refused');
  assert.equal(capture.records.length, before);
}

describe('request context middleware', () => {
  let capture: LogCapture;
  const servers: Array<{ close(): unknown }> = [];
  before(() => {
    capture = captureLogs();
    health.register('database', () => Promise.reject(new Error('connection refused')), { timeout: 500 });
  });
  after(() => {
    capture.stop();
    health.unregister('database');
    for (const server of servers) server.close();
  });

  test('Express', async () => {
    const app = express();
    app.use(lookoutExpress());
    app.use(express.json());
    app.post('/items/:id', (_req, res) => {
      log.info('in handler');
      setTimeout(() => {
        log.info('after body');
        res.status(201).json({ ok: true });
      }, 5);
    });
    const server = createServer(app);
    servers.push(server);
    await exercise(await listen(server), '/items/:id', capture);
  });

  test('Fastify', async () => {
    const app = Fastify();
    await app.register(lookoutFastify);
    app.post('/items/:id', async (_request, reply) => {
      log.info('in handler');
      await new Promise((r) => setTimeout(r, 5));
      log.info('after body');
      return reply.code(201).send({ ok: true });
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    servers.push(app);
    await exercise(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, '/items/:id', capture);
  });

  test('node:http', async () => {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      log.info('in handler');
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        log.info({ bytes: body.length }, 'after body');
        res.statusCode = 201;
        res.end('{}');
      });
    };
    const server = createServer(lookoutHttp(handler, { route: (req) => (req.url?.startsWith('/items/') ? '/items/:id' : undefined) }));
    servers.push(server);
    await exercise(await listen(server), '/items/:id', capture);
  });

  test('the access line level is configurable, or off', async () => {
    const app = express();
    app.use(lookoutExpress({ accessLog: 'debug' }));
    app.get('/x', (_req, res) => void res.send('x'));
    const quiet = express();
    quiet.use(lookoutExpress({ accessLog: false }));
    quiet.get('/y', (_req, res) => void res.send('y'));
    const a = createServer(app);
    const b = createServer(quiet);
    servers.push(a, b);
    configureLogging({ level: 'info,http=debug' });
    await (await fetch(`${await listen(a)}/x`)).text();
    await (await fetch(`${await listen(b)}/y`)).text();
    configureLogging({ level: 'info' });
    const access = capture.find((r) => r.module === 'http' && (r.route === '/x' || r.route === '/y'));
    assert.deepEqual(access.map((r) => [r.route, r.level]), [['/x', 'debug']]);
  });
});

describe('Prometheus text at /metrics', () => {
  let service: ServiceProcess;
  before(async () => {
    buildNodeSdk();
    // No Lookout at all: the OTLP exporters fail quietly, /metrics still answers.
    service = await startService({ name: 'orders-prom', script: 'examples/orders/server.js', env: { LOOKOUT_PROMETHEUS: 'true', LOOKOUT_ENDPOINT: 'http://127.0.0.1:9' } });
  });
  after(async () => {
    await service?.stop();
  });

  test('the duration histogram by route template and business metrics', async () => {
    for (const id of ['1', '2', 'missing']) await (await fetch(`${service.url}/orders/${id}`)).text();
    await (await fetch(`${service.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"item":"mug","amount":7}' })).text();
    const response = await fetch(`${service.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    const text = await response.text();
    assert.match(text, /# TYPE http_server_request_duration histogram/);
    const sample = (name: string, labels: string[]) =>
      text.split('\n').find((line) => line.startsWith(`${name}{`) && labels.every((label) => line.includes(label)))?.split(' ').at(-1);
    assert.equal(sample('http_server_request_duration_count', ['http_route="/orders/:id"', 'http_response_status_code="200"', 'http_request_method="GET"']), '2');
    assert.equal(sample('http_server_request_duration_count', ['http_route="/orders/:id"', 'http_response_status_code="404"']), '1');
    assert.equal(sample('http_server_request_duration_count', ['http_route="/orders"', 'http_request_method="POST"', 'http_response_status_code="201"']), '1');
    assert.doesNotMatch(text, /http_route="\/orders\/1"/, 'never the raw path');
    assert.equal(sample('orders_created_total', ['item="mug"']), '1');
  });
});
