/**
 * Loki compatibility with real clients against a running Lookout process: pino-loki (JSON push),
 * winston-loki (snappy protobuf push), the OpenTelemetry JS SDK (OTLP logs found by their Loki
 * labels), partial acceptance of bad pushes, the index endpoints, and the live tail WebSocket.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT_CONTEXT, SeverityNumber, trace } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { pino } from 'pino';
import { pinoLoki } from 'pino-loki';
import winston from 'winston';
import LokiTransport from 'winston-loki';
import { startLookoutProcess, tempDir, type LookoutProcess } from './support/lookout-process.js';

interface TailSocket {
  on(event: 'message', listener: (data: Buffer) => void): void;
  on(event: 'open' | 'close', listener: () => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  on(event: 'unexpected-response', listener: (request: unknown, response: { statusCode: number }) => void): void;
  close(): void;
}
// `ws` ships no type declarations; this is the part used here.
const { WebSocket } = createRequire(import.meta.url)('ws') as { WebSocket: new (url: string, options?: { headers?: Record<string, string> }) => TailSocket };

type Stream = { stream: Record<string, string>; values: [string, string, { structuredMetadata?: Record<string, string>; parsed?: Record<string, string> }?][] };

let lookout: LookoutProcess;

before(async () => {
  lookout = await startLookoutProcess();
});
after(async () => {
  await lookout?.stop();
});

async function get(path: string, tenant?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; json: () => unknown }> {
  const response = await fetch(`${lookout.url}${path}`, { headers: { ...(tenant ? { 'X-Scope-OrgID': tenant } : {}), ...headers } });
  const body = await response.text();
  return { status: response.status, body, json: () => JSON.parse(body) };
}

async function queryRange(query: string, tenant: string, options: { categorize?: boolean; extra?: string } = {}): Promise<Stream[]> {
  const start = (BigInt(Date.now() - 10 * 60_000) * 1_000_000n).toString();
  const end = (BigInt(Date.now() + 60_000) * 1_000_000n).toString();
  const res = await get(
    `/loki/api/v1/query_range?query=${encodeURIComponent(query)}&start=${start}&end=${end}&limit=1000&direction=forward${options.extra ?? ''}`,
    tenant,
    options.categorize ? { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' } : {},
  );
  assert.equal(res.status, 200, res.body);
  const body = res.json() as { status: string; data: { resultType: string; result: Stream[] } };
  assert.equal(body.status, 'success');
  assert.equal(body.data.resultType, 'streams');
  return body.data.result;
}

/** Retries until `check` passes (writes are visible once the client's push has been answered). */
async function eventually<T>(check: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const entries = (streams: Stream[]) => streams.flatMap((s) => s.values.map((v) => ({ stream: s.stream, ts: v[0], line: v[1], meta: v[2] })));

describe('Loki push with real clients', () => {
  test('pino-loki (JSON): lines come back through query_range with labels and timestamps', async () => {
    const tenant = 'pino-tenant';
    const transport = pinoLoki({
      host: lookout.url,
      labels: { app: 'pino-app', env: 'test' },
      batching: false,
      headers: { 'X-Scope-OrgID': tenant },
    });
    const logger = pino({ level: 'info' }, transport);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    logger.info({ meta: { trace_id: traceId, user: 'u-1' } }, 'pino first line');
    logger.error({ orderId: 42 }, 'pino second line');

    const streams = await eventually(async () => {
      const result = await queryRange('{app="pino-app"}', tenant, { categorize: true });
      assert.equal(entries(result).length, 2);
      return result;
    });
    const got = entries(streams);
    for (const e of got) {
      const record = JSON.parse(e.line) as { time: number; msg: string; level: number };
      // pino-loki sends pino's millisecond time as nanoseconds.
      assert.equal(e.ts, (BigInt(record.time) * 1_000_000n).toString());
      assert.equal(e.stream.app, 'pino-app');
      assert.equal(e.stream.env, 'test');
      // Loki 3's service_name discovery takes `app`.
      assert.equal(e.stream.service_name, 'pino-app');
    }
    const first = got.find((e) => e.line.includes('pino first line'))!;
    assert.equal(first.stream.level, 'info');
    assert.equal(first.meta?.structuredMetadata?.trace_id, traceId);
    assert.equal(first.meta?.structuredMetadata?.user, 'u-1');
    assert.equal(first.meta?.structuredMetadata?.detected_level, 'info');
    const second = got.find((e) => e.line.includes('pino second line'))!;
    assert.equal(second.stream.level, 'error');

    // Without categorize-labels, metadata joins the stream labels (Loki's default shape).
    const merged = entries(await queryRange('{app="pino-app"}', tenant));
    assert.equal(merged.find((e) => e.line.includes('pino first line'))!.stream.trace_id, traceId);
    // Another tenant sees nothing.
    assert.deepEqual(await queryRange('{app="pino-app"}', 'someone-else'), []);

    // Grafana's logs-volume query over the pushed lines.
    const now = Date.now();
    const volume = await get(
      `/loki/api/v1/query_range?query=${encodeURIComponent('sum by (level, detected_level) (count_over_time({app="pino-app"} | drop __error__[1m]))')}&start=${now - 600_000}000000&end=${now + 60_000}000000&step=60`,
      tenant,
    );
    assert.equal(volume.status, 200, volume.body);
    const series = (volume.json() as { data: { resultType: string; result: { metric: Record<string, string>; values: [number, string][] }[] } }).data;
    assert.equal(series.resultType, 'matrix');
    const total = (level: string) => series.result.filter((r) => r.metric.level === level).reduce((n, r) => n + r.values.reduce((m, v) => m + Number(v[1]), 0), 0);
    assert.equal(total('info'), 1);
    assert.equal(total('error'), 1);

    // Grafana's field discovery: metadata and the JSON the lines carry.
    const fields = (await get(`/loki/api/v1/detected_fields?query=${encodeURIComponent('{app="pino-app"}')}`, tenant)).json() as { fields: { label: string; type: string; parsers: string[] | null }[] };
    assert.deepEqual(fields.fields.find((f) => f.label === 'user'), { label: 'user', type: 'string', cardinality: 1, parsers: null });
    assert.deepEqual(fields.fields.find((f) => f.label === 'orderId'), { label: 'orderId', type: 'int', cardinality: 1, parsers: ['json'], jsonPath: ['orderId'] });
  });

  test('winston-loki (protobuf + snappy): lines come back with labels and timestamps', async () => {
    const tenant = 'winston-tenant';
    const transport = new LokiTransport({
      host: lookout.url,
      labels: { app: 'winston-app', region: 'eu' },
      json: false,
      batching: false,
      replaceTimestamp: false,
      headers: { 'X-Scope-OrgID': tenant },
      onConnectionError: (error: unknown) => console.error('winston-loki', error),
    });
    const logger = winston.createLogger({ transports: [transport] });
    const t1 = new Date(Date.now() - 5000);
    const t2 = new Date(Date.now() - 4000);
    logger.warn({ message: 'winston first', timestamp: t1.toISOString() });
    logger.info({ message: 'winston second', timestamp: t2.toISOString() });

    const got = await eventually(async () => {
      const result = entries(await queryRange('{app="winston-app"}', tenant));
      assert.equal(result.length, 2);
      return result;
    });
    assert.deepEqual(
      got.map((e) => [e.line, e.ts, e.stream.level, e.stream.region, e.stream.service_name]),
      [
        // winston-loki appends the remaining meta as JSON to the message.
        ['winston first {"level":"warn"}', (BigInt(t1.getTime()) * 1_000_000n).toString(), 'warn', 'eu', 'winston-app'],
        ['winston second {"level":"info"}', (BigInt(t2.getTime()) * 1_000_000n).toString(), 'info', 'eu', 'winston-app'],
      ],
    );
    logger.close();
  });

  test('a push with bad entries: 400 naming the entry, the valid entries stored', async () => {
    const tenant = 'partial';
    const now = BigInt(Date.now()) * 1_000_000n;
    const old = now - 30n * 86_400n * 1_000_000_000n;
    const response = await fetch(`${lookout.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Scope-OrgID': tenant },
      body: JSON.stringify({
        streams: [
          { stream: { job: 'mixed' }, values: [[now.toString(), 'valid line'], [old.toString(), 'ancient line']] },
          { stream: { job: 'mixed', long: 'v'.repeat(3000) }, values: [[now.toString(), 'bad labels']] },
        ],
      }),
    });
    assert.equal(response.status, 400);
    const text = await response.text();
    assert.match(text, /entry for stream '\{job="mixed", service_name="mixed"\}' has timestamp too old/);
    assert.match(text, /has label value too long/);
    const got = entries(await queryRange('{job="mixed"}', tenant));
    assert.deepEqual(got.map((e) => e.line), ['valid line']);
  });

  test('an OTLP log from the OpenTelemetry JS SDK is found by {service_name="…"}', async () => {
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'otel-checkout', 'deployment.environment': 'staging', 'host.name': 'box-1' }),
      processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${lookout.url}/v1/logs` }) })],
    });
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const spanId = 'b7ad6b7169203331';
    const context = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: 1 });
    provider.getLogger('checkout').emit({ body: 'payment accepted', severityNumber: SeverityNumber.INFO, severityText: 'INFO', attributes: { 'order.id': 'o-7' }, context });
    await provider.forceFlush();
    await provider.shutdown();

    const got = await eventually(async () => {
      const result = entries(await queryRange('{service_name="otel-checkout"}', 'default', { categorize: true }));
      assert.equal(result.length, 1);
      return result;
    });
    const [e] = got;
    assert.equal(e!.line, 'payment accepted');
    assert.deepEqual(e!.stream, { deployment_environment: 'staging', service_name: 'otel-checkout' });
    assert.equal(e!.meta?.structuredMetadata?.trace_id, traceId);
    assert.equal(e!.meta?.structuredMetadata?.span_id, spanId);
    assert.equal(e!.meta?.structuredMetadata?.order_id, 'o-7');
    assert.equal(e!.meta?.structuredMetadata?.host_name, 'box-1');
  });
});

describe('Loki index endpoints over pushed streams', () => {
  test('labels, label values, series, index stats, volume', async () => {
    const tenant = 'index-tenant';
    const now = BigInt(Date.now()) * 1_000_000n;
    const push = await fetch(`${lookout.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Scope-OrgID': tenant },
      body: JSON.stringify({
        streams: [
          { stream: { app: 'api', pod: 'p1' }, values: [[now.toString(), 'aaaa'], [(now - 1000n).toString(), 'bb']] },
          { stream: { app: 'web', pod: 'p2' }, values: [[now.toString(), 'c']] },
        ],
      }),
    });
    assert.equal(push.status, 204);
    assert.deepEqual((await get('/loki/api/v1/labels', tenant)).json(), { status: 'success', data: ['app', 'pod', 'service_name'] });
    assert.deepEqual((await get('/loki/api/v1/label/app/values', tenant)).json(), { status: 'success', data: ['api', 'web'] });
    assert.deepEqual((await get(`/loki/api/v1/series?match[]=${encodeURIComponent('{app="web"}')}`, tenant)).json(), {
      status: 'success',
      data: [{ app: 'web', pod: 'p2', service_name: 'web' }],
    });
    assert.deepEqual((await get(`/loki/api/v1/index/stats?query=${encodeURIComponent('{app=~"api|web"}')}`, tenant)).json(), { streams: 2, chunks: 2, entries: 3, bytes: 7 });
    const volume = (await get(`/loki/api/v1/index/volume?query=${encodeURIComponent('{app=~".+"}')}`, tenant)).json() as { data: { result: { metric: object; value: [number, string] }[] } };
    assert.deepEqual(volume.data.result.map((r) => [r.metric, r.value[1]]), [[{ app: 'api' }, '6'], [{ app: 'web' }, '1']]);
    const health = (await get(`/loki/api/v1/query?query=${encodeURIComponent('vector(1)+vector(1)')}`)).json() as { data: { resultType: string; result: { value: [number, string] }[] } };
    assert.equal(health.data.resultType, 'vector');
    assert.equal(health.data.result[0]!.value[1], '2');
  });
});

describe('live tail', () => {
  test('a pushed line reaches the tail WebSocket within 2 s', async () => {
    const tenant = 'tail-tenant';
    const socket = new WebSocket(`${lookout.url.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent('{app="tailed"} |= "needle"')}`, {
      headers: { 'X-Scope-OrgID': tenant },
    });
    const messages: { streams: Stream[] }[] = [];
    await new Promise<void>((resolve, reject) => {
      socket.on('open', () => resolve());
      socket.on('error', reject);
    });
    socket.on('message', (data) => messages.push(JSON.parse(data.toString()) as { streams: Stream[] }));
    // Let the first poll (history) pass, then push.
    await new Promise((r) => setTimeout(r, 700));
    const ts = (BigInt(Date.now()) * 1_000_000n).toString();
    const pushedAt = Date.now();
    const push = await fetch(`${lookout.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Scope-OrgID': tenant },
      body: JSON.stringify({ streams: [{ stream: { app: 'tailed' }, values: [[ts, 'hay'], [ts, 'the needle']] }] }),
    });
    assert.equal(push.status, 204);
    const received = await new Promise<Stream>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no tail message within 2 s of the push; got ${JSON.stringify(messages)}`)), 2000 - (Date.now() - pushedAt));
      const check = setInterval(() => {
        const stream = messages.flatMap((m) => m.streams).find((s) => s.values.some((v) => v[1] === 'the needle'));
        if (stream) {
          clearTimeout(timer);
          clearInterval(check);
          resolve(stream);
        }
      }, 20);
    });
    assert.equal(received.stream.app, 'tailed');
    assert.deepEqual(received.values.map((v) => [v[0], v[1]]), [[ts, 'the needle']]);
    assert.ok(!messages.flatMap((m) => m.streams).some((s) => s.values.some((v) => v[1] === 'hay')));
    socket.close();
  });

  test('a bad tail query is refused before the upgrade', async () => {
    const socket = new WebSocket(`${lookout.url.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent('{app=')}`);
    const status = await new Promise<number>((resolve) => {
      socket.on('unexpected-response', (_req, response) => resolve(response.statusCode));
      socket.on('error', () => resolve(-1));
    });
    assert.equal(status, 400);
  });
});

describe('limits from lookout.yml', () => {
  let limited: LookoutProcess;
  before(async () => {
    const dir = tempDir('loki-limits');
    const configFile = join(dir, 'lookout.yml');
    // A write queue of two rows refuses any three-line push; lines over 10 bytes are refused.
    writeFileSync(configFile, 'pipeline:\n  maxPendingRows: 2\nloki:\n  maxLineSize: 10\n');
    limited = await startLookoutProcess({ args: ['--config', configFile] });
  });
  after(async () => {
    await limited?.stop();
  });

  const push = (values: [string, string][]) =>
    fetch(`${limited.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ streams: [{ stream: { app: 'limits' }, values }] }),
    });

  test('a full write queue answers 429 with Retry-After', async () => {
    const ts = (BigInt(Date.now()) * 1_000_000n).toString();
    const response = await push([[ts, 'one'], [ts, 'two'], [ts, 'three']]);
    assert.equal(response.status, 429);
    assert.equal(response.headers.get('retry-after'), '1');
    assert.match(await response.text(), /ingestion rate limit exceeded/);
  });

  test('the configured line size limit applies', async () => {
    const ts = (BigInt(Date.now()) * 1_000_000n).toString();
    const response = await push([[ts, 'short'], [ts, 'much longer than ten bytes']]);
    assert.equal(response.status, 400);
    assert.match(await response.text(), /max entry size '10' bytes exceeded for stream '\{app="limits", service_name="limits"\}' while adding an entry with length '26' bytes/);
  });
});
