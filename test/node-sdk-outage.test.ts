/**
 * Lookout down: an instrumented service (examples/orders) keeps serving with bounded memory
 * and no unhandled errors while every export fails; it reports the drops; when Lookout comes
 * back, new telemetry flows again. "Lookout" is reached through a TCP forwarder in this test
 * on a fixed port: closed while Lookout is "down", forwarding to a real Lookout once "up".
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { freePort, startLookoutProcess, type LookoutProcess } from './support/lookout-process.js';
import { buildNodeSdk, startService, waitFor, type ServiceProcess } from './node-sdk-support.js';

let lookout: LookoutProcess | undefined;
let service: ServiceProcess;
let forwarder: Server | undefined;
const sockets = new Set<Socket>();
let endpointPort: number;

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

async function load(url: string, requests: number, concurrency = 16): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        const i = next++;
        const response = await fetch(`${url}/orders/${(i % 3) + 1}`);
        await response.arrayBuffer();
        statuses.push(response.status);
      }
    }),
  );
  return statuses;
}

before(async () => {
  buildNodeSdk();
  endpointPort = await freePort();
  service = await startService({
    name: 'orders-outage',
    script: 'examples/orders/server.js',
    env: {
      LOOKOUT_ENDPOINT: `http://127.0.0.1:${endpointPort}`,
      LOOKOUT_MAX_QUEUE: '256',
      OTEL_METRIC_EXPORT_INTERVAL: '500',
      LOOKOUT_ACCESS_LOG: 'info',
    },
  });
});

after(async () => {
  await service?.stop();
  for (const socket of sockets) socket.destroy();
  forwarder?.close();
  await lookout?.stop();
});

test('Lookout down: the service serves, memory stays bounded, drops are reported; Lookout back: data flows', async (t) => {
  // Warm up, then measure resident memory across a long outage.
  assert.ok((await load(service.url, 500)).every((s) => s === 200));
  const baseline = rssKb(service.child.pid!);
  const statuses = await load(service.url, 4000);
  assert.equal(statuses.length, 4000);
  assert.ok(statuses.every((s) => s === 200), 'every request served while Lookout is down');
  const afterOutage = rssKb(service.child.pid!);
  t.diagnostic(`RSS ${baseline} kB after warm-up, ${afterOutage} kB after 4000 requests with Lookout down`);
  // Unbounded buffering of ~4000 traces and ~8000 log records would grow far beyond this.
  assert.ok(afterOutage - baseline < 20_000, `RSS grew ${afterOutage - baseline} kB during the outage (baseline ${baseline} kB)`);
  assert.equal(service.child.exitCode, null, 'still running');

  const warning = await waitFor('the drop report', async () =>
    service.records().find((r) => r.msg === 'telemetry export to Lookout failing; dropping data (the service is unaffected)'),
  );
  assert.equal(warning.level, 'warn');
  assert.ok(Object.values(warning.dropped as Record<string, number>).some((n) => n > 0), JSON.stringify(warning));
  assert.ok(!service.records().some((r) => r.level === 'fatal'), 'no uncaught exception or unhandled rejection');
  assert.ok(!/Unhandled|uncaught/i.test(service.output().split('--- stderr ---')[1] ?? ''), 'nothing on stderr about unhandled errors');

  // Lookout comes back on the endpoint the service was configured with.
  lookout = await startLookoutProcess();
  const target = lookout.port;
  forwarder = createServer((client) => {
    const upstream = createConnection(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => forwarder!.listen(endpointPort, '127.0.0.1', resolve));

  const requestId = `after-outage-${Date.now()}`;
  const response = await fetch(`${service.url}/orders/2`, { headers: { 'x-request-id': requestId } });
  assert.equal(response.status, 200);
  const traceId = await waitFor('the access line', async () => service.records().find((r) => r.request_id === requestId && r.module === 'http')?.trace_id as string | undefined);
  await waitFor(
    'the new trace in Lookout',
    async () => ((await fetch(`${lookout!.url}/api/traces/${traceId}`)).status === 200 ? true : undefined),
    30_000,
  );
  assert.equal(service.child.exitCode, null);
});
