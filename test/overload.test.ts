/**
 * Overload: many concurrent OTLP/HTTP clients push logs as fast as they can for 12+ s against
 * a small write queue. Lookout must shed load with 503 + Retry-After (never 500, never a
 * dropped connection), stay up with bounded memory, and store exactly the records of the
 * requests it acknowledged (200): nothing acknowledged lost, nothing refused stored.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { openStorage } from '../packages/server/src/storage/index.js';
import { openPool } from '../packages/server/src/storage/clickhouse/pool.js';
import { REPO_ROOT, startLookoutProcess, tempDir, type LookoutProcess } from './support/lookout-process.js';

const MAX_PENDING_ROWS = 20_000;
const MAX_BATCH_ROWS = 5_000;
const CLIENTS = 48;
const RECORDS_PER_REQUEST = 1_000;
/**
 * Warm-up lasts from the first 503 until this many bytes have been refused and at least
 * WARM_UP_MIN_MS have passed: by then the queue has been full for a while and the heap has
 * grown to its working size, however busy or idle the machine is (on an idle machine 100 MiB
 * are refused within a second, while the young generation is still growing to its
 * --max-semi-space-size). The highest RSS seen during warm-up is the baseline.
 */
const WARM_UP_REFUSED_BYTES = 100 * 1024 * 1024;
const WARM_UP_MIN_MS = 3_000;
/**
 * The load runs at least MIN_LOAD_MS and, after warm-up, until twice RSS_GROWTH_BOUND worth of
 * requests has been refused (so the memory bound means something even on a busy machine);
 * at most MAX_LOAD_MS.
 */
const MIN_LOAD_MS = 12_000;
const MAX_LOAD_MS = 50_000;
/**
 * Allowed RSS growth from warm-up to the peak. What Lookout may legitimately hold at once: the
 * pending queue (20 000 model records with their attribute arrays, ~1-2 KiB each: ~40 MiB),
 * the requests being decoded (48 × ~470 KiB of protobuf, a few times that as decoded objects:
 * ~100 MiB), one insert's JSONEachRow text (5 000 rows: ~5 MiB), the engine's insert buffers
 * (tens of MiB), and V8 heap slack. 300 MiB covers that; a server that kept what it refused
 * would exceed it, since more than twice as many bytes are refused (at wire size, smaller
 * than decoded) as the bound — asserted below.
 */
const RSS_GROWTH_BOUND = 300 * 1024 * 1024;
/** Makes each record ~0.5 KiB, the size of a typical access-log line with its context. */
const FILLER = 'user_agent="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36" '.repeat(3);

/** Request ids are written into the template as fixed-width decimal digits. */
const ID_WIDTH = 9;
const ID_PLACEHOLDER = '#'.repeat(ID_WIDTH);

interface Codec {
  fromObject(o: Record<string, unknown>): unknown;
  encode(m: unknown): { finish(): Uint8Array };
}
const LogsRequest = (
  createRequire(join(REPO_ROOT, 'packages/server/package.json'))('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
    opentelemetry: { proto: { collector: { logs: { v1: { ExportLogsServiceRequest: Codec } } } } };
  }
).opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;

/**
 * One request as OTLP protobuf with a fixed-width placeholder for its request id, and where
 * the placeholder sits: stamping an id is a copy and a few byte writes, so the clients spend
 * their CPU on sending rather than on encoding.
 */
function requestTemplate(): { bytes: Buffer; offsets: number[] } {
  const ts = String(BigInt(Date.now()) * 1_000_000n);
  const logRecords = Array.from({ length: RECORDS_PER_REQUEST }, (_, i) => ({
    timeUnixNano: ts,
    severityNumber: 9,
    severityText: 'INFO',
    body: { stringValue: `overload request ${ID_PLACEHOLDER} record ${i} GET /api/items?page=${i} 200 12ms ${FILLER}` },
    attributes: [
      { key: 'req', value: { stringValue: ID_PLACEHOLDER } },
      { key: 'i', value: { intValue: String(i) } },
      { key: 'http.route', value: { stringValue: '/api/items' } },
    ],
  }));
  const message = LogsRequest.fromObject({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'overload-test' } }] },
        scopeLogs: [{ scope: { name: 'overload' }, logRecords }],
      },
    ],
  });
  const bytes = Buffer.from(LogsRequest.encode(message).finish());
  const offsets: number[] = [];
  for (let at = bytes.indexOf(ID_PLACEHOLDER); at !== -1; at = bytes.indexOf(ID_PLACEHOLDER, at + ID_WIDTH)) offsets.push(at);
  assert.equal(offsets.length, 2 * RECORDS_PER_REQUEST, 'the placeholder appears twice per record');
  return { bytes, offsets };
}

function stamp(template: { bytes: Buffer; offsets: number[] }, id: number): Uint8Array<ArrayBuffer> {
  const out = Buffer.alloc(template.bytes.length);
  template.bytes.copy(out);
  const digits = String(id).padStart(ID_WIDTH, '0');
  for (const at of template.offsets) out.write(digits, at, 'latin1');
  return out;
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

const MiB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

describe('overload', { timeout: 180_000 }, () => {
  let lookout: LookoutProcess | undefined;
  let configDir: string | undefined;

  after(async () => {
    if (lookout && lookout.child.exitCode === null && lookout.child.signalCode === null) await lookout.stop('SIGKILL');
    for (const dir of [lookout?.dataDir, configDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sheds load with 503 + Retry-After, stays bounded, and stores exactly what it acknowledged', async (t) => {
    configDir = tempDir('overload-config');
    const configFile = join(configDir, 'lookout.yml');
    writeFileSync(configFile, `pipeline:\n  maxPendingRows: ${MAX_PENDING_ROWS}\n  maxBatchRows: ${MAX_BATCH_ROWS}\n`);
    lookout = await startLookoutProcess({ args: ['--config', configFile] });
    const server = lookout;
    const pid = server.child.pid!;

    const template = requestTemplate();
    const url = `${server.url}/v1/logs`;
    const headers = { 'content-type': 'application/x-protobuf' };

    const acked = new Set<number>();
    const refused = new Set<number>();
    const otherStatuses: string[] = [];
    const connectionErrors: string[] = [];
    let missingRetryAfter = 0;
    let nextId = 1;
    let offeredRecords = 0;
    let offeredBytes = 0;
    let refusedBytes = 0;
    let firstRefusedAt: number | undefined;
    let warmUpEndAt: number | undefined;
    let refusedBytesAtWarmUp = 0;

    // RSS sampling during the run.
    const idleRss = rssBytes(pid);
    const samples: { at: number; rss: number }[] = [];
    const started = performance.now();
    const sampler = setInterval(() => {
      try {
        samples.push({ at: performance.now() - started, rss: rssBytes(pid) });
      } catch {
        // process gone: the liveness assertion reports it
      }
    }, 100);

    async function client(): Promise<void> {
      for (;;) {
        const elapsed = performance.now() - started;
        const refusedSinceWarmUp = warmUpEndAt === undefined ? 0 : refusedBytes - refusedBytesAtWarmUp;
        if (elapsed >= MAX_LOAD_MS || (elapsed >= MIN_LOAD_MS && refusedSinceWarmUp >= 2 * RSS_GROWTH_BOUND)) break;
        const id = nextId++;
        const body = stamp(template, id);
        offeredRecords += RECORDS_PER_REQUEST;
        offeredBytes += body.length;
        let response: Response;
        try {
          response = await fetch(url, { method: 'POST', body, headers });
          await response.arrayBuffer();
        } catch (error) {
          connectionErrors.push(`request ${id}: ${(error as Error).message} ${String((error as { cause?: unknown }).cause ?? '')}`);
          continue;
        }
        if (response.status === 200) acked.add(id);
        else if (response.status === 503) {
          refused.add(id);
          refusedBytes += body.length;
          firstRefusedAt ??= performance.now() - started;
          const now = performance.now() - started;
          if (warmUpEndAt === undefined && refusedBytes >= WARM_UP_REFUSED_BYTES && now - firstRefusedAt >= WARM_UP_MIN_MS) {
            warmUpEndAt = performance.now() - started;
            refusedBytesAtWarmUp = refusedBytes;
          }
          const retryAfter = response.headers.get('retry-after');
          if (retryAfter === null || !/^\d+$/.test(retryAfter) || Number(retryAfter) < 1) missingRetryAfter++;
        } else otherStatuses.push(`request ${id}: ${response.status}`);
      }
    }
    await Promise.all(Array.from({ length: CLIENTS }, () => client()));
    const elapsedS = (performance.now() - started) / 1000;
    clearInterval(sampler);

    const ackedRecords = acked.size * RECORDS_PER_REQUEST;
    const absorbedRate = ackedRecords / elapsedS;
    const offeredRate = offeredRecords / elapsedS;
    assert.ok(firstRefusedAt !== undefined && warmUpEndAt !== undefined, `warm-up never ended: ${MiB(refusedBytes)} refused`);
    const warmUpFrom = firstRefusedAt;
    const warmUpTo = warmUpEndAt;
    const warmUp = samples.filter((s) => s.at >= warmUpFrom && s.at <= warmUpTo);
    const rest = samples.filter((s) => s.at > warmUpTo);
    assert.ok(warmUp.length > 0 && rest.length > 0, 'RSS samples during and after warm-up');
    const refusedAfterWarmUp = refusedBytes - refusedBytesAtWarmUp;
    const afterWarmUp = { rss: Math.max(...warmUp.map((s) => s.rss)) };
    const peak = Math.max(...rest.map((s) => s.rss));
    const growth = peak - afterWarmUp.rss;
    const timeline = samples.filter((_, i) => i % 10 === 0).map((s) => `${(s.at / 1000).toFixed(1)}s:${Math.round(s.rss / 1048576)}`);
    t.diagnostic(`RSS (MiB) over the run: ${timeline.join(' ')}`);
    t.diagnostic(
      `requests: ${nextId - 1} sent, ${acked.size} acknowledged, ${refused.size} refused (503), ` +
        `${otherStatuses.length} other, ${connectionErrors.length} connection errors`,
    );
    t.diagnostic(
      `offered ${Math.round(offeredRate)} records/s (${MiB(offeredBytes / elapsedS)}/s, ${MiB(offeredBytes)} total), ` +
        `absorbed ${Math.round(absorbedRate)} records/s: offered/absorbed = ${(offeredRate / absorbedRate).toFixed(2)}`,
    );
    t.diagnostic(
      `RSS idle ${MiB(idleRss)}, warm-up (${(warmUpFrom / 1000).toFixed(1)}-${(warmUpTo / 1000).toFixed(1)} s) ${MiB(afterWarmUp.rss)}, ` +
        `peak after ${MiB(peak)}, growth ${MiB(growth)}; after warm-up ${MiB(refusedAfterWarmUp)} refused ` +
        `(${MiB(offeredBytes)} offered in all; growth = ${((growth / offeredBytes) * 100).toFixed(1)}% of it)`,
    );

    // Correct load shedding.
    assert.deepEqual(otherStatuses.slice(0, 10), [], 'only 200 and 503 answers');
    assert.deepEqual(connectionErrors.slice(0, 10), [], 'no connection errors');
    assert.ok(refused.size > 0, 'some requests were refused with 503');
    assert.equal(missingRetryAfter, 0, '503 answers without a valid Retry-After');
    assert.ok(acked.size > 0, 'some requests were acknowledged');
    // The run really was an overload: at least twice what Lookout absorbed was offered.
    assert.ok(offeredRate >= 2 * absorbedRate, `offered ${offeredRate} records/s is not ≥ 2 × absorbed ${absorbedRate}`);

    // Still up, and memory bounded rather than growing with the offered load.
    assert.equal(server.child.exitCode, null, `lookout exited during the run:\n${server.output()}`);
    assert.equal(server.child.signalCode, null, `lookout was killed during the run:\n${server.output()}`);
    assert.ok(growth < RSS_GROWTH_BOUND, `RSS grew by ${MiB(growth)} after warm-up (bound ${MiB(RSS_GROWTH_BOUND)})`);
    // The bound means something only if keeping what was refused (even at its wire size, which
    // is less than its decoded size) would have broken it, with a margin.
    assert.ok(
      refusedAfterWarmUp >= 2 * RSS_GROWTH_BOUND,
      `only ${MiB(refusedAfterWarmUp)} refused after warm-up: too little to tell bounded from buffered`,
    );

    // Once the load is gone the queue drains and requests are taken again.
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200);
    let recovered: Response | undefined;
    const recoveryId = nextId++;
    for (let attempt = 0; attempt < 50; attempt++) {
      recovered = await fetch(url, { method: 'POST', body: stamp(template, recoveryId), headers });
      await recovered.arrayBuffer();
      if (recovered.status !== 503) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(recovered?.status, 200, 'a request after the load is acknowledged');
    acked.add(recoveryId);

    const code = await server.stop('SIGTERM');
    assert.equal(code, 0, `exit code after SIGTERM:\n${server.output()}`);
    // Lookout logs each overload refusal at error level (reported separately); anything else
    // at error level would be a real fault.
    const errorLines = server
      .output()
      .split('\n')
      .filter((line) => /"level":(50|60)/.test(line) && !line.includes('"code":"LOOKOUT_ERR_PIPELINE_OVERLOADED"'));
    assert.deepEqual(errorLines.slice(0, 3), [], 'no error-level log lines other than overload refusals');

    // Exactly the acknowledged records are stored.
    const storage = await openStorage({ dataDir: server.dataDir, retention: { logs: 7, traces: 7, metrics: 30 } });
    const pool = openPool({ dataDir: server.dataDir, size: 1 });
    try {
      const count = await storage.logs.countLogs('default');
      t.diagnostic(`stored ${count} records; acknowledged ${acked.size * RECORDS_PER_REQUEST}`);
      assert.equal(count, acked.size * RECORDS_PER_REQUEST, 'stored records = records of acknowledged requests');
      const perRequest = await pool.select<{ req: string; n: string; distinct_i: string }>(
        `SELECT LogAttributes['req'] AS req, count() AS n, uniqExact(LogAttributes['i']) AS distinct_i
         FROM otel_logs WHERE TenantId = 'default' GROUP BY req`,
      );
      const storedIds = new Set(perRequest.map((r) => Number(r.req)));
      const incomplete = perRequest.filter((r) => Number(r.n) !== RECORDS_PER_REQUEST || Number(r.distinct_i) !== RECORDS_PER_REQUEST);
      assert.deepEqual(incomplete.slice(0, 5), [], 'every stored request is stored whole, each record once');
      const lost = [...acked].filter((id) => !storedIds.has(id));
      assert.deepEqual(lost.slice(0, 10), [], `acknowledged requests missing (${lost.length})`);
      const leaked = [...storedIds].filter((id) => !acked.has(id));
      assert.deepEqual(leaked.slice(0, 10), [], `unacknowledged requests stored (${leaked.length})`);
      assert.equal(storedIds.size, acked.size);
    } finally {
      await pool.close();
      await storage.close();
    }
  });
});
