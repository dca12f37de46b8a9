/**
 * Lookout down: an instrumented service (examples/orders) keeps serving with bounded memory
 * and no unhandled errors while every export fails; it reports the drops; when Lookout comes
 * back, new telemetry flows again. "Lookout" is reached through a TCP forwarder in this test
 * on a fixed port: closed while Lookout is "down", forwarding to a real Lookout once "up".
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { freePort, REPO_ROOT, startLookoutProcess, type LookoutProcess } from './support/lookout-process.js';
import { buildNodeSdk, startService, waitFor, type ServiceProcess } from './node-sdk-support.js';

let lookout: LookoutProcess | undefined;
let service: ServiceProcess;
let forwarder: Server | undefined;
const sockets = new Set<Socket>();
let endpointPort: number;

/** The service's heap after a full collection (kB): what it really holds. */
async function liveHeapKb(): Promise<number> {
  const seen = service.records().filter((r) => r.msg === 'memory').length;
  service.child.kill('SIGUSR2');
  const report = await waitFor('the memory report', async () => service.records().filter((r) => r.msg === 'memory')[seen]);
  return report.heapUsedKb as number;
}

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
    // The orders example, plus a way to read its live heap: on SIGUSR2 it collects garbage and
    // prints heapUsed. RSS alone cannot tell retained memory from garbage V8 has not collected.
    nodeArgs: ['--expose-gc'],
    eval: `
      process.on('SIGUSR2', () => {
        globalThis.gc();
        globalThis.gc();
        console.log(JSON.stringify({ msg: 'memory', heapUsedKb: Math.round(process.memoryUsage().heapUsed / 1024) }));
      });
      await import(${JSON.stringify(join(REPO_ROOT, 'examples/orders/server.js'))});
    `,
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

test('Lookout down: the service serves with bounded memory, drops are reported; Lookout back: data flows', async (t) => {
  // Warm up, including the failing-export path (a few export rounds with Lookout down), so the
  // heap has reached its working size; then measure resident memory across a long outage.
  assert.ok((await load(service.url, 2500)).every((s) => s === 200));
  const baseline = rssKb(service.child.pid!);
  const heapBefore = await liveHeapKb();
  const statuses = await load(service.url, 4000);
  assert.equal(statuses.length, 4000);
  assert.ok(statuses.every((s) => s === 200), 'every request served while Lookout is down');
  const afterOutage = rssKb(service.child.pid!);
  t.diagnostic(`RSS ${baseline} kB after warm-up, ${afterOutage} kB after 4000 requests with Lookout down`);
  const heapAfter = await liveHeapKb();
  t.diagnostic(`live heap ${heapBefore} kB before, ${heapAfter} kB after the outage's 4000 requests`);
  // Unbounded buffering of 4000 traces, ~8000 log records and their metric points would hold far more.
  assert.ok(heapAfter - heapBefore < 10_000, `live heap grew ${heapAfter - heapBefore} kB during the outage`);
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
