/**
 * Loki push benchmark: POST /loki/api/v1/push (snappy protobuf and JSON) through a real Lookout
 * process, next to the raw chDB insert rate of the very same rows measured in the same run
 * (Lookout's storage pool inserting what the embedded storage inserts: Native blocks of a
 * write-ahead log segment's size, one insert at a time). Lookout's rate counts lines stored in
 * chDB in the window (the write-ahead log's counter), not appends acknowledged. The ratio is
 * the figure; absolute numbers depend on the shared machine.
 *
 *   node --import tsx bench/loki-push.ts [--formats=protobuf,json] [--duration=10] [--warmup=3]
 *        [--connections=8] [--batch=1000] [--requests=100] [--streams=10] [--body=150] [--rounds=1]
 *
 * Data: `--requests` push requests of `--batch` lines each over `--streams` streams per request
 * (labels app, namespace, pod, level; 8 services), logfmt-style lines of about `--body` bytes,
 * half of them with a trace_id as structured metadata. On every resend the timestamps move one
 * second forward, so stored rows are distinct (the lines themselves repeat, as in
 * bench/ingest.ts). Bytes on disk are read from Lookout's own directory after it stopped.
 */
import { request as httpRequest, Agent } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import snappy from 'snappy';
import { startLookoutProcess } from '../test/support/lookout-process.js';
import { convertPush, decodePushJson, decodePushProtobuf, DEFAULT_LOKI_PUSH_LIMITS, PushRequestType, type PushStream } from '../packages/server/src/ingest/loki-push/index.js';
import type { LogRecord } from '../packages/server/src/model/index.js';
import { logRowsText } from '../packages/server/src/storage/clickhouse/rows.js';
import { logRowsNative } from '../packages/server/src/storage/clickhouse/native-rows.js';
import { DEFAULT_SEGMENT_ROWS } from '../packages/server/src/storage/clickhouse/wal.js';
import { MIGRATIONS } from '../packages/server/src/storage/clickhouse/migrations.js';
import { machineLine, openBenchPool, rawLoop, readOption, RETENTION, rng, scrape, serverFigures, tableStats, waitForIdle } from './ingest.js';

type Format = 'protobuf' | 'json';

interface Options {
  formats: Format[];
  duration: number;
  warmup: number;
  connections: number;
  batch: number;
  requests: number;
  streams: number;
  body: number;
  rounds: number;
}

function options(argv: readonly string[]): Options {
  const num = (name: string, fallback: number) => {
    const text = readOption(argv, name);
    const n = text === undefined ? fallback : Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${JSON.stringify(text)}`);
    return n;
  };
  const formats = (readOption(argv, 'formats') ?? 'protobuf,json').split(',').map((f) => f.trim());
  for (const f of formats) if (f !== 'protobuf' && f !== 'json') throw new Error(`--formats: unknown format ${JSON.stringify(f)}`);
  return {
    formats: formats as Format[],
    duration: num('duration', 10),
    warmup: num('warmup', 3),
    connections: Math.round(num('connections', 8)),
    batch: Math.round(num('batch', 1000)),
    requests: Math.round(num('requests', 100)),
    streams: Math.round(num('streams', 10)),
    body: Math.round(num('body', 150)),
    rounds: Math.round(num('rounds', 1)),
  };
}

// ---------------------------------------------------------------------------------------------
// Requests: encoded once; each resend rewrites only the timestamps' seconds.

const SERVICES = ['frontend', 'checkout', 'cart', 'payments', 'orders', 'inventory', 'auth', 'search'];
const LEVELS = ['debug', 'info', 'info', 'info', 'info', 'warn', 'error'];

interface Entry {
  nanos: number;
  line: string;
  traceId?: string;
}

interface Request {
  lines: number;
  streams: { labels: Record<string, string>; entries: Entry[] }[];
}

function generate(o: Options, seed: number): Request[] {
  const r = rng(seed);
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
  let nanos = 0;
  const requests: Request[] = [];
  for (let q = 0; q < o.requests; q++) {
    const streams: Request['streams'] = [];
    const perStream = Math.ceil(o.batch / o.streams);
    for (let s = 0; s < o.streams; s++) {
      const service = SERVICES[(q + s) % SERVICES.length]!;
      const level = LEVELS[Math.floor(r() * LEVELS.length)]!;
      const labels = { app: service, namespace: 'shop-prod', pod: `${service}-7d9f8c-${['x2k9q', 'p8m3z', 'r7t2w'][s % 3]}`, level };
      const entries: Entry[] = [];
      for (let i = 0; i < perStream && streams.reduce((n, x) => n + x.entries.length, 0) + entries.length < o.batch; i++) {
        let line = `ts=${new Date(1_700_000_000_000 + nanos).toISOString()} level=${level} msg="${['request served', 'cache miss', 'order reserved', 'payment declined', 'retrying call'][Math.floor(r() * 5)]}" route=/api/v1/${['orders', 'cart', 'users', 'search'][Math.floor(r() * 4)]}/${Math.floor(r() * 1e6)} status=${[200, 200, 201, 404, 500][Math.floor(r() * 5)]} duration_ms=${(r() * 400).toFixed(1)}`;
        while (line.length < o.body * (0.7 + r() * 0.6)) line += ` request_id=${hex(16)}`;
        entries.push({ nanos: nanos++ * 1000, line, ...(r() < 0.5 ? { traceId: hex(32) } : {}) });
      }
      streams.push({ labels, entries });
    }
    requests.push({ lines: streams.reduce((n, s) => n + s.entries.length, 0), streams });
  }
  return requests;
}

/** Go's quoting is not needed: label values here are plain ASCII. */
function labelText(labels: Record<string, string>): string {
  return `{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(', ')}}`;
}

interface Encoded {
  raw: Buffer;
  /** Offsets of the 5-byte seconds varints (protobuf) or the 10-digit seconds (JSON). */
  offsets: Uint32Array;
  lines: number;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
}

function encodeProtobuf(request: Request, baseSeconds: number): Encoded {
  const message = PushRequestType.fromObject({
    streams: request.streams.map((s) => ({
      labels: labelText(s.labels),
      entries: s.entries.map((e) => ({
        timestamp: { seconds: baseSeconds, nanos: e.nanos },
        line: e.line,
        structuredMetadata: e.traceId ? [{ name: 'trace_id', value: e.traceId }] : [],
      })),
    })),
  });
  const raw = Buffer.from(PushRequestType.encode(message).finish());
  // Timestamp.seconds is field 1 (tag 0x08) followed by a 5-byte varint; lines are ASCII, so
  // the pattern (bytes ≥ 0x80) cannot occur inside them.
  const pattern = Buffer.concat([Buffer.from([0x08]), varint(baseSeconds)]);
  if (pattern.length !== 6) throw new Error('seconds must encode in 5 bytes');
  const offsets: number[] = [];
  for (let at = raw.indexOf(pattern); at >= 0; at = raw.indexOf(pattern, at + pattern.length)) offsets.push(at + 1);
  if (offsets.length !== request.lines) throw new Error(`found ${offsets.length} timestamps, expected ${request.lines}`);
  return { raw, offsets: Uint32Array.from(offsets), lines: request.lines };
}

function encodeJson(request: Request, baseSeconds: number): Encoded {
  const offsets: number[] = [];
  let text = '{"streams":[';
  request.streams.forEach((s, i) => {
    text += `${i ? ',' : ''}{"stream":${JSON.stringify(s.labels)},"values":[`;
    s.entries.forEach((e, j) => {
      text += j ? ',["' : '["';
      offsets.push(Buffer.byteLength(text));
      text += `${baseSeconds}${String(e.nanos).padStart(9, '0')}",${JSON.stringify(e.line)}${e.traceId ? `,{"trace_id":"${e.traceId}"}` : ''}]`;
    });
    text += ']}';
  });
  text += ']}';
  return { raw: Buffer.from(text), offsets: Uint32Array.from(offsets), lines: request.lines };
}

function bodyForPass(format: Format, encoded: Encoded, seconds: number): Buffer {
  const out = Buffer.from(encoded.raw);
  if (format === 'protobuf') {
    const bytes = varint(seconds);
    for (const at of encoded.offsets) bytes.copy(out, at);
    return snappy.compressSync(out) as Buffer;
  }
  const digits = String(seconds);
  for (const at of encoded.offsets) out.write(digits, at, 'latin1');
  return out;
}

// ---------------------------------------------------------------------------------------------

function post(agent: Agent, url: URL, body: Buffer, format: Format): Promise<{ status: number; text: string; retryAfter: number }> {
  return new Promise((resolvePost, reject) => {
    const req = httpRequest(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: '/loki/api/v1/push',
        method: 'POST',
        headers: { 'content-type': format === 'json' ? 'application/json' : 'application/x-protobuf', 'content-length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolvePost({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8').slice(0, 200), retryAfter: Number(res.headers['retry-after'] ?? 1) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function load(url: string, format: Format, encoded: Encoded[], o: Options, firstSecond: { next: number }) {
  const base = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: o.connections });
  const start = performance.now();
  const windowStart = start + o.warmup * 1000;
  const end = windowStart + o.duration * 1000;
  let lines = 0;
  let sent = 0;
  const failures = new Map<string, number>();
  let before: Map<string, number> | undefined;
  const marker = setTimeout(() => void scrape(url).then((m) => (before = m)), windowStart - start);
  const worker = async () => {
    while (performance.now() < end) {
      const i = sent++;
      const request = encoded[i % encoded.length]!;
      // Each pass over the set moves its timestamps one second on.
      const body = bodyForPass(format, request, firstSecond.next + Math.floor(i / encoded.length));
      const result = await post(agent, base, body, format);
      const done = performance.now();
      if (result.status === 204) {
        if (done >= windowStart && done <= end) lines += request.lines;
      } else {
        const key = `HTTP ${result.status} ${result.text}`;
        failures.set(key, (failures.get(key) ?? 0) + 1);
        if (result.status === 429 || result.status === 503) await new Promise((r) => setTimeout(r, result.retryAfter * 1000));
      }
    }
  };
  const workers = Array.from({ length: o.connections }, () => worker());
  const after = await new Promise<Map<string, number>>((resolve) => setTimeout(() => resolve(scrape(url)), end - start));
  await Promise.all(workers);
  clearTimeout(marker);
  agent.destroy();
  firstSecond.next += Math.ceil(sent / encoded.length) + 1;
  const b = serverFigures(before ?? new Map(), 'otel_logs');
  const a = serverFigures(after, 'otel_logs');
  const inserts = a.inserts - b.inserts;
  // With the write-ahead log an acknowledgement is an append: count what reached the table.
  const stored = a.walStoredRows === undefined ? lines : a.walStoredRows - (b.walStoredRows ?? 0);
  return {
    rate: stored / o.duration,
    ackedRate: lines / o.duration,
    batch: inserts > 0 ? Math.round((a.insertedRows - b.insertedRows) / inserts) : 0,
    cpuPerLineUs: ((a.cpuSeconds - b.cpuSeconds) / Math.max(1, stored)) * 1e6,
    failures,
  };
}

function decodeAll(format: Format, encoded: Encoded[], seconds: number): PushStream[][] {
  return encoded.map((e) => {
    const body = bodyForPass(format, e, seconds);
    return format === 'json' ? decodePushJson(body) : decodePushProtobuf(body, 64 << 20);
  });
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-');

async function main() {
  const o = options(process.argv.slice(2));
  const log = (text = '') => process.stdout.write(`${text}\n`);
  log(`Loki push benchmark — ${machineLine()}`);
  log(`${o.requests} requests × ${o.batch} lines, ${o.streams} streams/request, ~${o.body} B lines; ${o.connections} connections, ${o.warmup}+${o.duration} s per phase, ${o.rounds} round(s)\n`);
  const requests = generate(o, 7);
  const baseSeconds = Math.floor(Date.now() / 1000) - 120;
  const encodings = new Map<Format, Encoded[]>();
  for (const format of o.formats) encodings.set(format, requests.map((r) => (format === 'json' ? encodeJson(r, baseSeconds) : encodeProtobuf(r, baseSeconds))));
  for (const format of o.formats) {
    const bytes = encodings.get(format)!.reduce((n, e) => n + bodyForPass(format, e, baseSeconds).length, 0);
    log(`${format}: ${fmt(bytes / (o.requests * o.batch), 1)} bytes/line on the wire`);
  }

  const work = mkdtempSync(join(tmpdir(), 'lookout-bench-loki-'));
  const lookoutDir = join(work, 'lookout');
  const lookout = await startLookoutProcess({ dataDir: lookoutDir });
  const clock = { next: baseSeconds };
  const rows: string[] = [];
  try {
    for (let round = 1; round <= o.rounds; round++) {
      for (const format of o.formats) {
        const encoded = encodings.get(format)!;
        // Each phase starts once Lookout and this process are idle (background merges done).
        log(`  (waited ${fmt(await waitForIdle([lookout.child.pid, process.pid]), 0)} s for both processes to be idle)`);
        const through = await load(lookout.url, format, encoded, o, clock);
        if (through.failures.size > 0) log(`  ${format} failures: ${JSON.stringify([...through.failures])}`);

        // The same rows through the raw pool as the embedded storage inserts them: Native blocks
        // of a write-ahead log segment (wal.ts).
        log(`  ${format}: Lookout ${fmt(through.rate)} lines/s stored, ${fmt(through.ackedRate)}/s acknowledged`);
        const t0 = performance.now();
        const streams = decodeAll(format, encoded, baseSeconds);
        const t1 = performance.now();
        const records: LogRecord[] = [];
        for (const s of streams) records.push(...convertPush(s, { tenant: 'default', nowNs: BigInt(Date.now()) * 1_000_000n, limits: DEFAULT_LOKI_PUSH_LIMITS }).records);
        const t2 = performance.now();
        const batch = Math.min(records.length, DEFAULT_SEGMENT_ROWS);
        const blocks: { block: Buffer; columns: string[] }[] = [];
        for (let i = 0; i + batch <= records.length; i += batch) blocks.push(logRowsNative(records.slice(i, i + batch)));
        const t3 = performance.now();
        // For comparison with the JSONEachRow path (a ClickHouse server's): its serialisation cost.
        for (let i = 0; i + batch <= records.length; i += batch) logRowsText(records.slice(i, i + batch));
        const t4 = performance.now();
        const rawDir = join(work, `raw-${format}-${round}`);
        const pool = await openBenchPool(rawDir);
        for (const statement of MIGRATIONS.flatMap((m) => m.statements(RETENTION, { embedded: true }))) await pool.command(statement);
        log(`  (waited ${fmt(await waitForIdle([lookout.child.pid, process.pid]), 0)} s for both processes to be idle)`);
        const raw = await rawLoop(async (i) => {
          const { block, columns } = blocks[i % blocks.length]!;
          await pool.insertNative!('otel_logs', columns, block);
          return batch;
        }, o);
        log(`  ${format}: raw pool ${fmt(raw.rate)} rows/s (Native, ${fmt(batch)}-row inserts); JSONEachRow serialisation ${fmt(((t4 - t3) * 1000) / records.length, 2)} µs/line`);
        await pool.close();
        rmSync(rawDir, { recursive: true, force: true });
        const perLine = (ms: number) => (ms * 1000) / records.length;
        rows.push(
          `| ${format} | ${fmt(through.rate)} | ${fmt(raw.rate)} | **${fmt(through.rate / raw.rate, 2)}×** | ${fmt(batch)} | ${fmt(through.cpuPerLineUs, 1)} | ${fmt(perLine(t1 - t0), 2)} | ${fmt(perLine(t2 - t1), 2)} | ${fmt(perLine(t3 - t2), 2)} |`,
        );
        log(rows.at(-1)!);
      }
    }
  } finally {
    await lookout.stop();
  }
  const pool = await openBenchPool(lookoutDir);
  const [asLeft] = await tableStats(pool, ['otel_logs']);
  await pool.command('OPTIMIZE TABLE otel_logs FINAL');
  const [optimized] = await tableStats(pool, ['otel_logs']);
  await pool.close();
  rmSync(work, { recursive: true, force: true });

  log('\n| format | Lookout lines/s (stored) | raw pool rows/s (Native) | ratio | rows per raw insert | Lookout CPU µs/line | decode µs/line | convert µs/line | Native encode µs/line |');
  log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) log(row);
  if (asLeft && optimized) {
    log(`\nBytes on disk per line (otel_logs, ${fmt(asLeft.rows)} lines): ${fmt(asLeft.bytesOnDisk / asLeft.rows, 1)} B as left (${asLeft.parts} parts), ${fmt(optimized.bytesOnDisk / optimized.rows, 1)} B after OPTIMIZE FINAL`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:loki-push failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
