/**
 * End to end: Lookout and the two example services (examples/api on Express calling
 * examples/orders on Fastify over HTTP), both instrumented with @lookout/node through
 * `node --import @lookout/node/register`. One request must give one trace spanning both
 * services (Tempo API), log lines in both services with the same trace_id and request_id (on
 * stdout, through the Loki API, and in Lookout's storage after it stops), the
 * http.server.request.duration histogram by route template (PromQL API and storage), and /ready
 * must turn 503 when the API's dependency (the orders service) stops.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { openStorage } from '../packages/server/src/storage/index.js';
import { startLookoutProcess, type LookoutProcess } from './support/lookout-process.js';
import { buildNodeSdk, startService, waitFor, type ServiceProcess } from './node-sdk-support.js';

let lookout: LookoutProcess;
let orders: ServiceProcess;
let api: ServiceProcess;
const startedMs = Date.now();

before(async () => {
  buildNodeSdk();
  lookout = await startLookoutProcess();
  orders = await startService({ name: 'orders', script: 'examples/orders/server.js', env: { LOOKOUT_ENDPOINT: lookout.url } });
  api = await startService({ name: 'api', script: 'examples/api/server.js', env: { LOOKOUT_ENDPOINT: lookout.url, ORDERS_URL: orders.url } });
});

after(async () => {
  await api?.stop();
  await orders?.stop();
  await lookout?.stop();
});

interface OtlpJsonAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number };
}
interface TempoBatch {
  resource: { attributes: OtlpJsonAttribute[] };
  scopeSpans: { scope?: { name?: string }; spans: { name: string; kind: string; spanId: string; parentSpanId?: string; attributes?: OtlpJsonAttribute[] }[] }[];
}

function attribute(attributes: OtlpJsonAttribute[] | undefined, key: string): string | undefined {
  const found = attributes?.find((a) => a.key === key)?.value;
  return found === undefined ? undefined : String(found.stringValue ?? found.intValue);
}

test('one request: one trace across both services, correlated logs, duration histogram by route, readiness', async () => {
  const requestId = `e2e-${randomUUID()}`;
  const response = await fetch(`${api.url}/checkout/1`, { headers: { 'X-Request-Id': requestId } });
  assert.equal(response.status, 200, await response.clone().text());
  assert.equal(response.headers.get('x-request-id'), requestId, 'the request id is returned');
  assert.equal(((await response.json()) as { status: string }).status, 'paid');
  // Traffic for the histogram: another route, errors, not-found.
  for (const path of ['/checkout/2', '/checkout/404', '/checkout/boom', '/checkout/3']) await (await fetch(`${api.url}${path}`)).arrayBuffer();
  const created = await fetch(`${api.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ item: 'mug', amount: 9 }) });
  assert.equal(created.status, 201);

  // stdout: both services logged the request with the same ids.
  const apiLines = await waitFor('api access line', async () => {
    const lines = api.records().filter((r) => r.request_id === requestId);
    return lines.some((r) => r.module === 'http') ? lines : undefined;
  });
  const access = apiLines.find((r) => r.module === 'http')!;
  assert.equal(access.route, '/checkout/:orderId');
  assert.equal(access.status, 200);
  assert.equal(access.method, 'GET');
  assert.equal(typeof access.duration_ms, 'number');
  const traceId = access.trace_id as string;
  assert.match(traceId, /^[0-9a-f]{32}$/);
  for (const line of apiLines) assert.equal(line.trace_id, traceId, JSON.stringify(line));
  assert.ok(apiLines.some((r) => r.msg === 'checkout started' && r.service === 'api'));
  const ordersLines = await waitFor('orders lines', async () => {
    const lines = orders.records().filter((r) => r.request_id === requestId);
    return lines.some((r) => r.msg === 'order fetched') && lines.some((r) => r.module === 'http') ? lines : undefined;
  });
  for (const line of ordersLines) {
    assert.equal(line.trace_id, traceId, 'the orders service logs the same trace id');
    assert.equal(line.service, 'orders');
  }
  assert.equal(ordersLines.find((r) => r.module === 'http')!.route, '/orders/:id');

  // Tempo API: one trace with server spans of both services, the orders server span a descendant of the API's.
  const batches = await waitFor('the trace in Lookout', async () => {
    const found = await fetch(`${lookout.url}/api/traces/${traceId}`);
    if (found.status !== 200) return undefined;
    const body = (await found.json()) as { batches: TempoBatch[] };
    const services = new Set(body.batches.map((b) => attribute(b.resource.attributes, 'service.name')));
    return services.has('api') && services.has('orders') ? body.batches : undefined;
  });
  const spans = batches.flatMap((b) => b.scopeSpans.flatMap((s) => s.spans.map((span) => ({ ...span, service: attribute(b.resource.attributes, 'service.name') }))));
  const apiServer = spans.find((s) => s.service === 'api' && s.kind === 'SPAN_KIND_SERVER');
  const ordersServer = spans.find((s) => s.service === 'orders' && s.kind === 'SPAN_KIND_SERVER');
  assert.ok(apiServer && ordersServer, JSON.stringify(spans.map((s) => [s.service, s.kind, s.name])));
  assert.equal(attribute(apiServer.attributes, 'http.route'), '/checkout/:orderId');
  assert.equal(attribute(apiServer.attributes, 'request.id'), requestId, 'the request id is on the server span');
  assert.equal(attribute(ordersServer.attributes, 'request.id'), requestId, 'and propagated to the downstream service');
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  let cursor: (typeof spans)[number] | undefined = ordersServer;
  while (cursor && cursor !== apiServer) cursor = cursor.parentSpanId ? byId.get(cursor.parentSpanId) : undefined;
  assert.equal(cursor, apiServer, 'the orders server span descends from the API server span');
  // Framework instrumentations contributed their spans (Express via the require hook, Fastify via @fastify/otel).
  const scopes = new Set(batches.flatMap((b) => b.scopeSpans.map((ss) => `${attribute(b.resource.attributes, 'service.name')} ${ss.scope?.name}`)));
  for (const scope of ['api @opentelemetry/instrumentation-express', 'api @opentelemetry/instrumentation-http', 'api @opentelemetry/instrumentation-undici', 'orders @fastify/otel']) {
    assert.ok(scopes.has(scope), `${scope} in ${[...scopes].join(', ')}`);
  }
  const resource = batches.find((b) => attribute(b.resource.attributes, 'service.name') === 'api')!.resource.attributes;
  for (const key of ['host.name', 'process.pid', 'telemetry.distro.name']) assert.ok(attribute(resource, key), `resource attribute ${key}`);

  // The duration histogram by route through Lookout's Prometheus API (PromQL).
  const byRoute = await waitFor('the duration histogram in PromQL', async () => {
    const query = 'sum by (http_route) (http_server_request_duration_seconds_count{job="api"})';
    const answer = await fetch(`${lookout.url}/api/v1/query?query=${encodeURIComponent(query)}`);
    if (answer.status !== 200) return undefined;
    const body = (await answer.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    const found = new Map(body.data.result.map((r) => [r.metric.http_route, Number(r.value[1])]));
    return (found.get('/checkout/:orderId') ?? 0) >= 5 ? found : undefined;
  });
  assert.ok(byRoute.has('/orders'), `routes: ${[...byRoute.keys()].join(', ')}`);

  // The request's log lines through Lookout's Loki API: both services, same trace_id and request_id.
  const lokiLines = await waitFor('the request\'s logs in the Loki API', async () => {
    const params = new URLSearchParams({
      query: '{service_name=~"api|orders"}',
      start: `${startedMs - 60_000}000000`,
      end: `${Date.now() + 60_000}000000`,
      limit: '1000',
    });
    const answer = await fetch(`${lookout.url}/loki/api/v1/query_range?${params}`);
    if (answer.status !== 200) return undefined;
    const body = (await answer.json()) as { data: { result: { stream: Record<string, string>; values: [string, string][] }[] } };
    const lines = body.data.result
      .filter((r) => r.stream.request_id === requestId)
      .flatMap((r) => r.values.map(([, line]) => ({ service: r.stream.service_name, trace: r.stream.trace_id, line })));
    return lines.some((l) => l.service === 'api' && l.line === 'checkout started') && lines.some((l) => l.service === 'orders' && l.line === 'order fetched')
      ? lines
      : undefined;
  });
  for (const entry of lokiLines) assert.equal(entry.trace, traceId, `${entry.service}: ${entry.line}`);

  // Readiness follows the critical dependency.
  const ready = await fetch(`${api.url}/ready`);
  assert.equal(ready.status, 200);
  assert.equal(((await ready.json()) as { checks: Record<string, { status: string }> }).checks.orders!.status, 'pass');
  assert.equal(await orders.stop(), 'SIGTERM', 'SIGTERM: the orders service flushes, then ends by the signal as it would uninstrumented');
  const notReady = await fetch(`${api.url}/ready`);
  assert.equal(notReady.status, 503);
  const report = (await notReady.json()) as { status: string; checks: Record<string, { status: string; duration_ms: number; error?: string }> };
  assert.equal(report.status, 'fail');
  assert.equal(report.checks.orders!.status, 'fail');
  assert.match(report.checks.orders!.error!, /ECONNREFUSED|socket hang up/);
  assert.equal((await fetch(`${api.url}/health`)).status, 200, 'liveness does not depend on the dependency');
  assert.ok(orders.records().some((r) => r.msg === 'service stopping' && r.reason === 'SIGTERM'), 'shutdown is logged with its reason');

  // Stop the API (flushes its telemetry), then read Lookout's storage.
  await new Promise((r) => setTimeout(r, 1500)); // one more metric export with the readiness result
  assert.equal(await api.stop(), 'SIGTERM');
  assert.equal(await lookout.stop(), 0);
  const storage = await openStorage({ dataDir: lookout.dataDir, retention: { logs: 7, traces: 7, metrics: 30 } });
  try {
    const range = { start: BigInt(startedMs - 60_000) * 1_000_000n, end: BigInt(Date.now() + 60_000) * 1_000_000n };
    const logs = await storage.logs.queryLogs({ tenant: 'default', range, traceId, limit: 100 });
    const attr = (record: (typeof logs)[number], key: string) => {
      const value = record.attributes.find((a) => a.key === key)?.value as { stringValue?: string } | undefined;
      return value?.stringValue;
    };
    const apiLogs = logs.filter((l) => l.serviceName === 'api');
    const ordersLogs = logs.filter((l) => l.serviceName === 'orders');
    assert.ok(apiLogs.some((l) => l.body === 'checkout started'), JSON.stringify(logs.map((l) => [l.serviceName, l.body])));
    assert.ok(ordersLogs.some((l) => l.body === 'order fetched'), JSON.stringify(logs.map((l) => [l.serviceName, l.body])));
    for (const record of [...apiLogs, ...ordersLogs]) {
      assert.equal(record.traceId, traceId);
      assert.equal(attr(record, 'request_id'), requestId, `${record.serviceName} ${record.body}`);
      assert.match(record.spanId, /^[0-9a-f]{16}$/);
    }
    assert.equal(ordersLogs.find((l) => l.body === 'order fetched')!.severityText, 'INFO');

    const buckets = await storage.series.select({
      tenant: 'default',
      matchers: [
        { type: '=', name: '__name__', value: 'http_server_request_duration_seconds_bucket' },
        { type: '=', name: 'job', value: 'api' },
      ],
      startMs: startedMs - 60_000,
      endMs: Date.now() + 60_000,
    });
    const routes = new Set(buckets.map((s) => s.labels.http_route));
    assert.ok(routes.has('/checkout/:orderId') && routes.has('/orders'), `routes: ${[...routes].join(', ')}`);
    for (const series of buckets) assert.ok(!String(series.labels.http_route).match(/\/checkout\/\d/), 'raw paths never become labels');
    const statuses = new Set(buckets.filter((s) => s.labels.http_route === '/checkout/:orderId').map((s) => s.labels.http_response_status_code));
    assert.ok(statuses.has('200') && statuses.has('404') && statuses.has('500') || statuses.has('502'), `statuses: ${[...statuses].join(', ')}`);
    const inf = buckets.find((s) => s.labels.http_route === '/checkout/:orderId' && s.labels.http_response_status_code === '200' && s.labels.le === '+Inf');
    assert.ok(inf && inf.samples.at(-1)!.value >= 3, `count of 200s by +Inf bucket: ${JSON.stringify(inf?.samples.at(-1))}`);

    const healthSeries = await storage.series.select({
      tenant: 'default',
      matchers: [{ type: '=~', name: '__name__', value: 'health_check_status.*' }, { type: '=', name: 'job', value: 'api' }],
      startMs: startedMs - 60_000,
      endMs: Date.now() + 60_000,
    });
    const orderCheck = healthSeries.find((s) => s.labels.health_check === 'orders');
    assert.ok(orderCheck, `health metric: ${JSON.stringify(healthSeries.map((s) => s.labels))}`);
    assert.equal(orderCheck.samples.at(-1)!.value, 0, 'the last exported health result is the failure');
  } finally {
    await storage.close();
  }
});
