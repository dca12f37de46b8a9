/**
 * Durability of acknowledged data: (a) across a clean restart, (b) across kill -9 in the
 * middle of sustained ingest, (c) across SIGTERM in the middle of sustained ingest. A 200 from
 * Lookout is a promise that the records are stored; each scenario checks it record by record.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { openStorage, type Storage } from '../packages/server/src/storage/index.js';
import { startLookoutProcess, tempDir, type LookoutProcess } from './support/lookout-process.js';
import { waitFor as waitUntil } from './support/wait.js';

const RETENTION = { logs: 7, traces: 7, metrics: 30 };
const JSON_TYPE = { 'content-type': 'application/json' };
const FAR_FUTURE = BigInt(Date.now() + 86_400_000) * 1_000_000n;

const running = new Set<LookoutProcess>();
const dataDirs = new Set<string>();
async function start(dataDir?: string): Promise<LookoutProcess> {
  const lookout = await startLookoutProcess(dataDir === undefined ? {} : { dataDir });
  running.add(lookout);
  dataDirs.add(lookout.dataDir);
  return lookout;
}

function logsRequest(service: string, bodies: string[]): string {
  const ts = String(BigInt(Date.now()) * 1_000_000n);
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeLogs: [
          {
            scope: { name: 'durability' },
            logRecords: bodies.map((body) => ({
              timeUnixNano: ts,
              severityNumber: 9,
              body: { stringValue: body },
              attributes: [{ key: 'seq', value: { stringValue: body } }],
            })),
          },
        ],
      },
    ],
  });
}

async function postLogs(lookout: LookoutProcess, service: string, bodies: string[]): Promise<number> {
  const response = await fetch(`${lookout.url}/v1/logs`, { method: 'POST', body: logsRequest(service, bodies), headers: JSON_TYPE });
  await response.arrayBuffer();
  return response.status;
}

async function withStorage<T>(dataDir: string, use: (storage: Storage) => Promise<T>): Promise<T> {
  const storage = await openStorage({ dataDir, retention: RETENTION });
  try {
    return await use(storage);
  } finally {
    await storage.close();
  }
}

/** Every stored log body of the default tenant (asserting the count first). */
async function storedBodies(storage: Storage): Promise<string[]> {
  const count = await storage.logs.countLogs('default');
  const records = await storage.logs.queryLogs({ tenant: 'default', range: { start: 0n, end: FAR_FUTURE }, limit: count + 1 });
  assert.equal(records.length, count, 'queryLogs returns as many records as countLogs counts');
  return records.map((r) => r.body);
}

/** Span ids in a Tempo trace-by-id JSON answer (v1 `batches` or OTLP `resourceSpans`), as hex. */
function spanIdsOf(trace: unknown): string[] {
  const ids: string[] = [];
  const visit = (node: unknown, inSpans: boolean): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item, inSpans);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const object = node as Record<string, unknown>;
    if (inSpans && typeof object.spanId === 'string') {
      const id = object.spanId;
      ids.push(/^[0-9a-f]{16}$/.test(id) ? id : Buffer.from(id, 'base64').toString('hex'));
      return;
    }
    for (const [key, value] of Object.entries(object)) visit(value, key === 'spans');
  };
  visit(trace, false);
  return ids;
}

async function getTraceSpanIds(lookout: LookoutProcess, traceId: string): Promise<string[]> {
  const response = await fetch(`${lookout.url}/api/traces/${traceId}`, { headers: { accept: 'application/json' } });
  const text = await response.text();
  assert.equal(response.status, 200, `GET /api/traces/${traceId}: ${response.status} ${text.slice(0, 300)}`);
  return spanIdsOf(JSON.parse(text)).sort();
}

interface IngestRun {
  /** Request ids answered 200. */
  acked: Set<number>;
  /** Every request id sent. */
  sent: number;
  statuses: Map<number, number>;
  /** Requests that failed at the connection level. */
  connectionErrors: number;
  /** Connection-level failures by cause (ECONNRESET, ECONNREFUSED, …). */
  errorCauses: Map<string, number>;
  stop(): void;
  done: Promise<void>;
}

const RECORDS_PER_BATCH = 100;
const bodyOf = (request: number, i: number) => `seq-${request}-${i}`;

/** Concurrent writers, each sending batches of uniquely numbered records back to back. */
function sustainedIngest(lookout: LookoutProcess, writers: number): IngestRun {
  let next = 1;
  let stopped = false;
  const run: IngestRun = {
    acked: new Set(),
    sent: 0,
    statuses: new Map(),
    connectionErrors: 0,
    errorCauses: new Map(),
    stop: () => {
      stopped = true;
    },
    done: Promise.resolve(),
  };
  async function writer(): Promise<void> {
    while (!stopped) {
      const id = next++;
      run.sent = id;
      const bodies = Array.from({ length: RECORDS_PER_BATCH }, (_, i) => bodyOf(id, i));
      try {
        const status = await postLogs(lookout, 'durability-ingest', bodies);
        run.statuses.set(status, (run.statuses.get(status) ?? 0) + 1);
        if (status === 200) run.acked.add(id);
      } catch (error) {
        run.connectionErrors++;
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        const key = cause?.code ?? cause?.message ?? (error as Error).message;
        run.errorCauses.set(key, (run.errorCauses.get(key) ?? 0) + 1);
        // The server is going away: stop once it no longer accepts connections.
        if (lookout.child.exitCode !== null || lookout.child.signalCode !== null) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
  run.done = Promise.all(Array.from({ length: writers }, () => writer())).then(() => undefined);
  return run;
}

const waitFor = async (condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> => {
  await waitUntil(what, condition, { timeoutMs, intervalMs: 50 });
};

/** Checks that every record of every acknowledged request is stored once; returns the stored count. */
function assertAcknowledgedStored(bodies: string[], run: IngestRun): void {
  const stored = new Set(bodies);
  assert.equal(stored.size, bodies.length, 'no record stored twice');
  const missing: string[] = [];
  for (const id of run.acked) {
    for (let i = 0; i < RECORDS_PER_BATCH; i++) if (!stored.has(bodyOf(id, i))) missing.push(bodyOf(id, i));
  }
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} acknowledged records missing`);
  // Whatever else is there must come from a request that was actually sent.
  for (const body of bodies) {
    const m = /^seq-(\d+)-(\d+)$/.exec(body);
    assert.ok(m && Number(m[1]) <= run.sent && Number(m[2]) < RECORDS_PER_BATCH, `unexpected record ${body}`);
  }
  assert.ok(bodies.length >= run.acked.size * RECORDS_PER_BATCH);
}

describe('durability', { timeout: 300_000 }, () => {
  after(async () => {
    for (const lookout of running) {
      if (lookout.child.exitCode === null && lookout.child.signalCode === null) await lookout.stop('SIGKILL');
    }
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps logs and spans across a restart', async () => {
    const dataDir = tempDir('durability-restart');
    const first = await start(dataDir);
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const spanIds = ['b7ad6b7169203331', '00f067aa0ba902b7', 'c1d2e3f405060708'];
    const startNs = BigInt(Date.now()) * 1_000_000n;
    const traces = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'durability-restart' } }] },
          scopeSpans: [
            {
              scope: { name: 'durability' },
              spans: spanIds.map((spanId, i) => ({
                traceId,
                spanId,
                ...(i === 0 ? {} : { parentSpanId: spanIds[0] }),
                name: `op-${i}`,
                kind: 2,
                startTimeUnixNano: String(startNs + BigInt(i) * 1_000_000n),
                endTimeUnixNano: String(startNs + BigInt(i + 5) * 1_000_000n),
              })),
            },
          ],
        },
      ],
    };
    const spanResponse = await fetch(`${first.url}/v1/traces`, { method: 'POST', body: JSON.stringify(traces), headers: JSON_TYPE });
    assert.equal(spanResponse.status, 200, await spanResponse.text());
    const firstBodies = Array.from({ length: 20 }, (_, i) => `before-restart-${i}`);
    assert.equal(await postLogs(first, 'durability-restart', firstBodies), 200);
    assert.deepEqual(await getTraceSpanIds(first, traceId), [...spanIds].sort(), 'trace readable before the restart');

    assert.equal(await first.stop('SIGTERM'), 0, `exit code after SIGTERM:\n${first.output()}`);
    running.delete(first);

    const second = await start(dataDir);
    assert.deepEqual(await getTraceSpanIds(second, traceId), [...spanIds].sort(), 'trace readable after the restart');
    const secondBodies = Array.from({ length: 10 }, (_, i) => `after-restart-${i}`);
    assert.equal(await postLogs(second, 'durability-restart', secondBodies), 200);
    assert.equal(await second.stop('SIGTERM'), 0, `exit code after SIGTERM:\n${second.output()}`);
    running.delete(second);

    const bodies = await withStorage(dataDir, storedBodies);
    assert.deepEqual(bodies.sort(), [...firstBodies, ...secondBodies].sort());
  });

  it('keeps every acknowledged record across kill -9 during sustained ingest', async (t) => {
    const lookout = await start();
    const run = sustainedIngest(lookout, 6);
    const began = performance.now();
    // Mid-stream: ingest has been going for a while and plenty has been acknowledged.
    await waitFor(() => performance.now() - began > 3_000 && run.acked.size >= 20, 'acknowledged requests');
    const ackedAtKill = run.acked.size;
    const sentAtKill = run.sent;
    lookout.child.kill('SIGKILL');
    const code = await lookout.stop('SIGKILL');
    running.delete(lookout);
    assert.equal(code, null);
    assert.equal(lookout.child.signalCode, 'SIGKILL');
    run.stop();
    await run.done;
    t.diagnostic(
      `at kill: ${sentAtKill} requests sent, ${ackedAtKill} acknowledged; finally ${run.sent} sent, ${run.acked.size} acknowledged, ` +
        `statuses ${JSON.stringify([...run.statuses])}, connection errors ${JSON.stringify([...run.errorCauses])}`,
    );
    // It really was mid-stream: requests were in flight when the process died.
    assert.ok(run.connectionErrors >= 1, 'some requests were cut off by the kill');
    assert.deepEqual([...run.statuses.keys()].filter((s) => s !== 200 && s !== 503), [], 'only 200 and 503 answers');

    const bodies = await withStorage(lookout.dataDir, storedBodies);
    t.diagnostic(`stored ${bodies.length} records; acknowledged ${run.acked.size * RECORDS_PER_BATCH}`);
    assertAcknowledgedStored(bodies, run);

    // And Lookout itself comes back on the crashed data directory and takes writes again.
    const restarted = await start(lookout.dataDir);
    assert.equal(await postLogs(restarted, 'durability-ingest', ['after-crash']), 200);
    assert.equal(await restarted.stop('SIGTERM'), 0, `exit code after SIGTERM:\n${restarted.output()}`);
    running.delete(restarted);
    const afterRestart = await withStorage(lookout.dataDir, storedBodies);
    assert.equal(afterRestart.length, bodies.length + 1);
    assert.ok(afterRestart.includes('after-crash'));
  });

  it('stores every acknowledged record and exits 0 on SIGTERM during sustained ingest', async (t) => {
    const lookout = await start();
    const run = sustainedIngest(lookout, 6);
    const began = performance.now();
    await waitFor(() => performance.now() - began > 2_000 && run.acked.size >= 20, 'acknowledged requests');
    const code = await lookout.stop('SIGTERM');
    running.delete(lookout);
    run.stop();
    await run.done;
    t.diagnostic(
      `${run.sent} requests sent, ${run.acked.size} acknowledged, statuses ${JSON.stringify([...run.statuses])}, ` +
        `connection errors ${JSON.stringify([...run.errorCauses])}`,
    );
    assert.equal(code, 0, `exit code after SIGTERM:\n${lookout.output()}`);
    assert.doesNotMatch(lookout.output(), /"level":(50|60)/, 'no error-level log lines');
    assert.deepEqual([...run.statuses.keys()].filter((s) => s !== 200 && s !== 503), [], 'only 200 and 503 answers');

    const bodies = await withStorage(lookout.dataDir, storedBodies);
    t.diagnostic(`stored ${bodies.length} records; acknowledged ${run.acked.size * RECORDS_PER_BATCH}`);
    assertAcknowledgedStored(bodies, run);
  });
});
