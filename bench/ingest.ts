/**
 * Ingest benchmark: OTLP/HTTP logs and spans through a real Lookout process, next to the raw
 * chDB insert rate of the very same rows measured in the same run. The ratio is the figure;
 * absolute numbers depend on the (shared, noisy) machine. See docs/BENCHMARKS.md.
 *
 *   npm run bench:ingest -- [--rounds=3] [--duration=10] [--warmup=3] [--connections=8]
 *                           [--batch=1000] [--requests=200] [--log-attrs=6] [--body=150]
 *                           [--span-attrs=8] [--resource-attrs=8] [--signals=logs,spans]
 *                           [--raw-batch=server|<rows>] [--native=1] [--lookout=1]
 *                           [--profile=<dir>] [--keep=1]
 *
 * Every option can also be given as an environment variable: BENCH_ROUNDS, BENCH_DURATION, …
 *
 * 1. Generate realistic log records and spans, pre-encoded as OTLP protobuf requests of
 *    --batch records (--requests distinct requests per signal), and convert them once with
 *    Lookout's own decoders (the rows of the raw phase; also the per-stage CPU costs).
 * 2. Start `lookout up` as a child process on a fresh data directory. Then --rounds times,
 *    per signal, three phases that never overlap (the machine has 2 cores):
 *    a. Lookout: send the requests over --connections keep-alive connections for --warmup +
 *       --duration seconds; count records acknowledged (HTTP 200) in the measured window.
 *       Each resend of a request has its timestamps moved forward by the time span of the set
 *       and its trace/span ids changed, so stored rows are distinct (compression is not
 *       flattered by duplicates). Lookout's /metrics give the batch size it inserted with and
 *       its process CPU time.
 *    b. Raw pool: Lookout's storage/clickhouse/pool.ts on another directory, tables from
 *       MIGRATIONS, back-to-back inserts of the same rows, one at a time, as the embedded
 *       storage inserts them: Native blocks (logRowsNative/spanRowsNative) of a write-ahead
 *       log segment's size (--raw-batch=server), or JSONEachRow texts in batches of the size
 *       Lookout used where a signal does not go through the write-ahead log. This is the raw
 *       insert rate the ratio is taken against.
 *    c. Raw chdb (--native=1): the same bytes through chDB's own Buffer insert
 *       (Session.insert, format JSONEachRow), the engine's limit without the client layer.
 *    Lookout stays up (idle) during b and c; the bench process holds one chDB directory at a
 *    time and closes it before the next phase.
 * 3. Bytes on disk: after Lookout stopped, its data directory is opened in this process and
 *    system.parts read (as left by the run, and after OPTIMIZE FINAL).
 * --profile=<dir> preloads an inspector CPU profiler into the server and summarises where its
 * main thread spends time (decode, convert, serialize, insert call, GC …).
 */
import { request as httpRequest, Agent } from 'node:http';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { startLookoutProcess, REPO_ROOT } from '../test/support/lookout-process.js';
import { decodeProtobufRequest } from '../packages/server/src/ingest/otlp/proto.js';
import { convertLogs } from '../packages/server/src/ingest/otlp/logs.js';
import { convertTraces } from '../packages/server/src/ingest/otlp/traces.js';
import type { LogRecord, Span } from '../packages/server/src/model/index.js';
// rows.ts and migrations.ts do not load chDB; pool.ts does, so it is imported lazily.
import { logRowsText, spanRowsText } from '../packages/server/src/storage/clickhouse/rows.js';
import { MIGRATIONS } from '../packages/server/src/storage/clickhouse/migrations.js';
import * as nativeRows from '../packages/server/src/storage/clickhouse/native-rows.js';
import { DEFAULT_SEGMENT_ROWS } from '../packages/server/src/storage/clickhouse/wal.js';
import type { Pool } from '../packages/server/src/storage/clickhouse/pool.js';

// ---------------------------------------------------------------------------------------------
// Options

export interface BenchOptions {
  duration: number;
  warmup: number;
  connections: number;
  batch: number;
  requests: number;
  logAttrs: number;
  body: number;
  spanAttrs: number;
  resourceAttrs: number;
  rawBatch: 'server' | number;
  signals: ('logs' | 'spans')[];
  native: boolean;
  profile: string | undefined;
  keep: boolean;
  rounds: number;
  /** 0: skip the Lookout phase (raw inserts and stage costs only). */
  lookout: boolean;
}

/** `--name=value`, `--name value` or BENCH_NAME=value (argv wins). */
export function readOption(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === `--${name}`) {
      const next = argv[i + 1];
      return next === undefined || next.startsWith('--') ? '1' : next;
    }
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3);
  }
  return process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
}

function numberOption(argv: readonly string[], name: string, fallback: number): number {
  const text = readOption(argv, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${JSON.stringify(text)}`);
  return n;
}

function parseOptions(argv: readonly string[]): BenchOptions {
  const rawBatch = readOption(argv, 'raw-batch') ?? 'server';
  const signals = (readOption(argv, 'signals') ?? 'logs,spans').split(',').map((s) => s.trim());
  for (const s of signals) if (s !== 'logs' && s !== 'spans') throw new Error(`--signals: unknown signal ${JSON.stringify(s)}`);
  const flag = (name: string, fallback: boolean) => {
    const v = readOption(argv, name);
    return v === undefined ? fallback : v !== '0' && v !== 'false';
  };
  return {
    duration: numberOption(argv, 'duration', 10),
    warmup: numberOption(argv, 'warmup', 3),
    connections: Math.round(numberOption(argv, 'connections', 8)),
    batch: Math.round(numberOption(argv, 'batch', 1000)),
    requests: Math.round(numberOption(argv, 'requests', 200)),
    logAttrs: Math.round(numberOption(argv, 'log-attrs', 6)),
    body: Math.round(numberOption(argv, 'body', 150)),
    spanAttrs: Math.round(numberOption(argv, 'span-attrs', 8)),
    resourceAttrs: Math.round(numberOption(argv, 'resource-attrs', 8)),
    rawBatch: rawBatch === 'server' ? 'server' : Math.round(Number(rawBatch)),
    signals: signals as ('logs' | 'spans')[],
    native: flag('native', true),
    profile: readOption(argv, 'profile'),
    keep: flag('keep', false),
    lookout: flag('lookout', true),
    rounds: Math.round(numberOption(argv, 'rounds', 3)),
  };
}

// ---------------------------------------------------------------------------------------------
// Data generation (deterministic)

/** mulberry32: small, fast, seedable. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rand, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
const hexBytes = (r: Rand, n: number): Buffer => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
};
const hexText = (r: Rand, chars: number) => hexBytes(r, Math.ceil(chars / 2)).toString('hex').slice(0, chars);

const SERVICES = [
  { name: 'frontend', version: '2.14.1', lang: 'nodejs' },
  { name: 'checkout', version: '1.8.0', lang: 'go' },
  { name: 'cart', version: '3.2.7', lang: 'dotnet' },
  { name: 'payments', version: '0.19.3', lang: 'java' },
  { name: 'orders', version: '5.0.2', lang: 'nodejs' },
  { name: 'inventory', version: '1.1.12', lang: 'python' },
  { name: 'auth', version: '4.3.0', lang: 'go' },
  { name: 'search', version: '2.0.0-rc.3', lang: 'java' },
] as const;

const ROUTES = ['/api/v1/orders/{id}', '/api/v1/cart', '/api/v1/products/{id}', '/api/v1/checkout', '/api/v1/users/{id}/sessions', '/healthz', '/api/v1/search'];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const SEVERITIES: [number, string, number][] = [
  // [cumulative probability, text, number]
  [0.1, 'DEBUG', 5],
  [0.8, 'INFO', 9],
  [0.92, 'WARN', 13],
  [1, 'ERROR', 17],
];

function stringAttr(key: string, value: string) {
  return { key, value: { stringValue: value } };
}
function intAttr(key: string, value: number) {
  return { key, value: { intValue: value } };
}
function doubleAttr(key: string, value: number) {
  return { key, value: { doubleValue: value } };
}
function boolAttr(key: string, value: boolean) {
  return { key, value: { boolValue: value } };
}

/**
 * The resource of one SDK instance. The first 8 attributes are what an SDK with the usual
 * detectors sends; the rest are what the Collector's k8sattributes processor adds.
 */
function resourceOf(r: Rand, serviceIndex: number, pod: number, count: number) {
  const s = SERVICES[serviceIndex % SERVICES.length]!;
  const podName = `${s.name}-7d9f8c${serviceIndex}b4-${['x2k9q', 'p8m3z', 'r7t2w'][pod % 3]}`;
  const attributes = [
    stringAttr('service.name', s.name),
    stringAttr('service.version', s.version),
    stringAttr('service.instance.id', `${hexText(r, 8)}-${hexText(r, 4)}-4${hexText(r, 3)}-a${hexText(r, 3)}-${hexText(r, 12)}`),
    stringAttr('host.name', podName),
    stringAttr('deployment.environment.name', 'production'),
    stringAttr('telemetry.sdk.name', 'opentelemetry'),
    stringAttr('telemetry.sdk.language', s.lang),
    stringAttr('telemetry.sdk.version', '1.38.0'),
    stringAttr('service.namespace', 'shop'),
    stringAttr('k8s.namespace.name', 'shop-prod'),
    stringAttr('k8s.pod.name', podName),
    stringAttr('k8s.node.name', `ip-10-0-${serviceIndex}-${40 + pod}.eu-west-1.compute.internal`),
    intAttr('process.pid', 1 + pod * 7),
    stringAttr('k8s.deployment.name', s.name),
    stringAttr('cloud.region', 'eu-west-1'),
    stringAttr('cloud.availability_zone', `eu-west-1${'abc'[pod % 3]}`),
  ];
  return { attributes: attributes.slice(0, Math.max(1, count)) };
}

/** A log body of about `target` bytes (±1/3) with varying numbers, ids and words. */
function logBody(r: Rand, target: number, severity: string): string {
  const route = pick(r, ROUTES).replace('{id}', String(int(r, 1, 999_999)));
  const templates = [
    () => `${pick(r, METHODS)} ${route} -> ${pick(r, [200, 200, 200, 201, 204, 304, 404, 500])} in ${(r() * 400).toFixed(1)}ms (bytes=${int(r, 80, 90_000)})`,
    () => `order ${int(r, 100_000, 999_999)} for customer c-${int(r, 1, 80_000)} reserved ${int(r, 1, 12)} items from warehouse wh-${int(r, 1, 9)}; total=${(r() * 500).toFixed(2)} EUR`,
    () => `cache miss for key product:${int(r, 1, 50_000)}:v${int(r, 1, 9)}; loaded from postgres in ${(r() * 40).toFixed(2)}ms ttl=${pick(r, [60, 300, 3600])}s`,
    () => `connection pool stats: active=${int(r, 0, 50)} idle=${int(r, 0, 20)} waiting=${int(r, 0, 9)} max=50 acquire_p99=${(r() * 30).toFixed(1)}ms`,
    () => `failed to call ${pick(r, SERVICES).name} ${route}: ${pick(r, ['ECONNRESET', 'ETIMEDOUT', 'status 503', 'deadline exceeded'])} after ${int(r, 5, 3000)}ms (attempt ${int(r, 1, 3)}/3)`,
    () => `user u-${int(r, 1, 80_000)} signed in from 10.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)} with ${pick(r, ['password', 'sso', 'passkey', 'magic-link'])}; session s-${hexText(r, 12)}`,
    () => `kafka consumer group ${pick(r, ['orders', 'billing', 'emails'])} partition ${int(r, 0, 31)} lag=${int(r, 0, 20_000)} committed offset ${int(r, 1_000_000, 9_999_999)}`,
  ];
  let text = severity === 'ERROR' && r() < 0.5 ? `unhandled error: ${templates[4]!()}` : pick(r, templates)();
  const want = Math.round(target * (0.67 + r() * 0.66));
  const extra = ['request_id', 'span', 'region', 'attempt', 'shard', 'elapsed_us', 'queue', 'worker'];
  while (text.length < want) {
    const key = pick(r, extra);
    text += ` ${key}=${key === 'request_id' ? hexText(r, 16) : key === 'region' ? pick(r, ['eu-west-1', 'us-east-2']) : int(r, 0, 99_999)}`;
  }
  return text.length > want + 20 ? text.slice(0, want + 20) : text;
}

function logAttributes(r: Rand, count: number, severity: string) {
  const all = [
    () => stringAttr('http.request.method', pick(r, METHODS)),
    () => stringAttr('http.route', pick(r, ROUTES)),
    () => intAttr('http.response.status_code', severity === 'ERROR' ? 500 : pick(r, [200, 200, 201, 204, 304, 404])),
    () => stringAttr('user.id', `u-${int(r, 1, 80_000)}`),
    () => stringAttr('request.id', hexText(r, 16)),
    () => doubleAttr('duration_ms', Math.round(r() * 400_000) / 1000),
    () => stringAttr('code.function', pick(r, ['handleRequest', 'reserveStock', 'chargeCard', 'loadCart', 'renderPage', 'search'])),
    () => intAttr('thread.id', int(r, 1, 64)),
    () => boolAttr('feature_flag.new_checkout', r() < 0.3),
    () => stringAttr('tenant.plan', pick(r, ['free', 'pro', 'enterprise'])),
    () => intAttr('retry.count', int(r, 0, 3)),
  ];
  const out = [];
  for (let i = 0; i < count && i < all.length; i++) out.push(all[i]!());
  return out;
}

export interface EncodedRequest {
  body: Buffer;
  records: number;
  /** Byte offsets of the fixed64 timestamps in `body`, to shift them on resend. */
  timeOffsets: Uint32Array;
  /** Byte offsets of the trace and span ids in `body`, to make them unique per resend. */
  idOffsets: Uint32Array;
}

export interface EncodedSet {
  signal: 'logs' | 'traces';
  requests: EncodedRequest[];
  /** How far the timestamps move on each pass over the set (the set's time span). */
  passShiftNs: bigint;
  records: number;
  bytes: number;
  /** Requests sent so far, over all phases: a later phase continues with the next pass. */
  sent: number;
}

export interface GenerateOptions {
  requests: number;
  resourceAttrs: number;
  batch: number;
  logAttrs: number;
  body: number;
  spanAttrs: number;
}

const requireFromServer = createRequire(join(REPO_ROOT, 'packages/server/package.json'));
interface PbType {
  fromObject(o: Record<string, unknown>): unknown;
  encode(m: unknown): { finish(): Uint8Array };
}
const otlpRoot = requireFromServer('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { logs: { v1: { ExportLogsServiceRequest: PbType } }; trace: { v1: { ExportTraceServiceRequest: PbType } } } } };
};
const LogsRequest = otlpRoot.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
const TraceRequest = otlpRoot.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

/** Records per second of data-set time: timestamps advance at about the rate they are sent. */
const RECORD_SPACING_NS = 10_000n;

function startNs(): bigint {
  // Ten minutes ago: well inside any retention, and passes move forward from there.
  return (BigInt(Date.now()) - 600_000n) * 1_000_000n;
}

/**
 * Finds the fixed64 timestamp fields in an encoded request: positions whose 8 bytes equal one
 * of the timestamps we put in and whose preceding byte is the field's tag.
 */
function timestampOffsets(body: Buffer, values: Set<bigint>, tags: ReadonlySet<number>): Uint32Array {
  let min = 2n ** 64n;
  let max = 0n;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const hiMin = Number(min >> 32n);
  const hiMax = Number(max >> 32n);
  const offsets: number[] = [];
  for (let p = 1; p + 8 <= body.length; p++) {
    const hi = body.readUInt32LE(p + 4);
    if (hi < hiMin || hi > hiMax || !tags.has(body[p - 1]!)) continue;
    if (values.has(body.readBigUInt64LE(p))) {
      offsets.push(p);
      p += 7;
    }
  }
  return Uint32Array.from(offsets);
}

/**
 * Finds the trace/span id fields (bytes of length 16 or 8) in an encoded request: positions
 * preceded by one of the field's tag and length bytes whose content is an id we put in.
 */
function idOffsets(body: Buffer, ids: Set<string>, tags: ReadonlyMap<number, number>): Uint32Array {
  const offsets: number[] = [];
  for (let p = 2; p < body.length; p++) {
    const length = tags.get(body[p - 2]!);
    if (length === undefined || body[p - 1] !== length || p + length > body.length) continue;
    if (ids.has(body.toString('hex', p, p + length))) {
      offsets.push(p);
      p += length - 1;
    }
  }
  return Uint32Array.from(offsets);
}

/**
 * The request as sent on pass `pass` over the set: every timestamp moved forward by
 * `pass × passShiftNs`, and every trace/span id XORed with a value of the pass (the same id
 * maps to the same new id, so parent links stay intact). Pass 0 is the request as generated.
 */
export function forPass(request: EncodedRequest, pass: number, passShiftNs: bigint): Buffer {
  if (pass === 0) return request.body;
  const copy = Buffer.allocUnsafe(request.body.length);
  request.body.copy(copy);
  const shift = BigInt(pass) * passShiftNs;
  const times = request.timeOffsets;
  for (let i = 0; i < times.length; i++) {
    const o = times[i]!;
    copy.writeBigUInt64LE(copy.readBigUInt64LE(o) + shift, o);
  }
  // Every 4-byte word of an id gets its own mask: a partial change would leave long common
  // substrings between passes, which the compressor would find.
  const masks = [0x9e3779b1, 0x85ebca6b, 0xc2b2ae35, 0x27d4eb2f].map((m) => Math.imul(pass, m) >>> 0 || 1);
  const ids = request.idOffsets;
  for (let i = 0; i < ids.length; i++) {
    const o = ids[i]!;
    const words = copy[o - 1] === 16 ? 4 : 2;
    for (let w = 0; w < words; w++) copy.writeUInt32LE((copy.readUInt32LE(o + 4 * w) ^ masks[w]!) >>> 0, o + 4 * w);
  }
  return copy;
}

// Tags (field << 3 | wire type 2) → length of LogRecord.trace_id (9) and span_id (10).
const LOG_ID_TAGS = new Map([
  [0x4a, 16],
  [0x52, 8],
]);
// Span.trace_id (1), span_id (2), parent_span_id (4).
const SPAN_ID_TAGS = new Map([
  [0x0a, 16],
  [0x12, 8],
  [0x22, 8],
]);

// Tags (field << 3 | wire type 1) of LogRecord.time_unix_nano (1), observed_time_unix_nano (11).
const LOG_TIME_TAGS = new Set([0x09, 0x59]);
// Span.start_time_unix_nano (7), end_time_unix_nano (8), Span.Event.time_unix_nano (1).
const SPAN_TIME_TAGS = new Set([0x39, 0x41, 0x09]);

export function generateLogs(options: GenerateOptions, seed = 1): EncodedSet {
  const r = rng(seed);
  const base = startNs();
  const requests: EncodedRequest[] = [];
  let bytes = 0;
  let n = 0;
  for (let q = 0; q < options.requests; q++) {
    const serviceIndex = q % SERVICES.length;
    const scopeName = pick(r, ['@opentelemetry/instrumentation-pino', '@opentelemetry/instrumentation-winston', 'app']);
    const times = new Set<bigint>();
    const ids = new Set<string>();
    const logRecords = [];
    let traceId: Buffer | undefined;
    for (let i = 0; i < options.batch; i++) {
      const t = base + BigInt(n++) * RECORD_SPACING_NS + BigInt(int(r, 0, 9_999));
      const observed = t + BigInt(int(r, 50_000, 2_000_000));
      times.add(t);
      times.add(observed);
      const u = r();
      const [, severityText, severityNumber] = SEVERITIES.find(([p]) => u < p)!;
      // About 60 % of records are written inside a span; consecutive ones often share a trace.
      const inTrace = r() < 0.6;
      if (inTrace && (traceId === undefined || r() < 0.3)) traceId = hexBytes(r, 16);
      const spanId = hexBytes(r, 8);
      if (inTrace) {
        ids.add(traceId!.toString('hex'));
        ids.add(spanId.toString('hex'));
      }
      const attrCount = Math.max(1, options.logAttrs - 1 + int(r, 0, 3));
      logRecords.push({
        timeUnixNano: t.toString(),
        observedTimeUnixNano: observed.toString(),
        severityNumber,
        severityText,
        body: { stringValue: logBody(r, options.body, severityText) },
        attributes: logAttributes(r, attrCount, severityText),
        ...(inTrace ? { traceId: traceId!, spanId, flags: 1 } : {}),
      });
    }
    const message = LogsRequest.fromObject({
      resourceLogs: [
        {
          resource: resourceOf(r, serviceIndex, q % 3, options.resourceAttrs),
          schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
          scopeLogs: [{ scope: { name: scopeName, version: '0.49.0' }, logRecords }],
        },
      ],
    });
    const body = Buffer.from(LogsRequest.encode(message).finish());
    const timeOffsets = timestampOffsets(body, times, LOG_TIME_TAGS);
    if (timeOffsets.length !== options.batch * 2) throw new Error(`found ${timeOffsets.length} log timestamps, expected ${options.batch * 2}`);
    requests.push({ body, records: options.batch, timeOffsets, idOffsets: idOffsets(body, ids, LOG_ID_TAGS) });
    bytes += body.length;
  }
  return { signal: 'logs', requests, passShiftNs: BigInt(n) * RECORD_SPACING_NS + 1_000_000n, records: n, bytes, sent: 0 };
}

const SERVER_SPANS = ['GET /api/v1/orders/{id}', 'POST /api/v1/checkout', 'GET /api/v1/cart', 'GET /api/v1/products/{id}', 'GET /api/v1/search'];
const DB_STATEMENTS = [
  'SELECT id, status, total, created_at FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20',
  'UPDATE inventory SET reserved = reserved + $1 WHERE sku = $2 AND warehouse_id = $3',
  'INSERT INTO payments (order_id, amount, currency, provider, status) VALUES ($1, $2, $3, $4, $5)',
  'SELECT p.id, p.name, p.price FROM products p JOIN stock s ON s.product_id = p.id WHERE p.id = ANY($1)',
];

function spanAttributes(r: Rand, kind: 'server' | 'db' | 'cache' | 'client' | 'internal', max: number, route: string) {
  const attrs =
    kind === 'server'
      ? [
          stringAttr('http.request.method', route.split(' ')[0]!),
          stringAttr('http.route', route.split(' ')[1]!),
          stringAttr('url.path', route.split(' ')[1]!.replace('{id}', String(int(r, 1, 999_999)))),
          stringAttr('url.scheme', 'http'),
          intAttr('http.response.status_code', pick(r, [200, 200, 200, 201, 404, 500])),
          stringAttr('server.address', 'shop.example.com'),
          intAttr('server.port', 8080),
          stringAttr('client.address', `10.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)}`),
          stringAttr('user_agent.original', pick(r, ['Mozilla/5.0 (X11; Linux x86_64) Firefox/131.0', 'okhttp/4.12.0', 'Go-http-client/1.1'])),
          stringAttr('network.protocol.version', '1.1'),
        ]
      : kind === 'db'
        ? [
            stringAttr('db.system', 'postgresql'),
            stringAttr('db.namespace', 'shop'),
            stringAttr('db.operation.name', pick(r, ['SELECT', 'UPDATE', 'INSERT'])),
            stringAttr('db.query.text', pick(r, DB_STATEMENTS)),
            stringAttr('server.address', 'postgres-primary.shop-prod.svc'),
            intAttr('server.port', 5432),
            stringAttr('db.collection.name', pick(r, ['orders', 'inventory', 'payments', 'products'])),
            intAttr('db.response.returned_rows', int(r, 0, 50)),
          ]
        : kind === 'cache'
          ? [
              stringAttr('db.system', 'redis'),
              stringAttr('db.operation.name', pick(r, ['GET', 'SET', 'MGET'])),
              stringAttr('db.query.text', `GET product:${int(r, 1, 50_000)}`),
              stringAttr('server.address', 'redis.shop-prod.svc'),
              intAttr('server.port', 6379),
              boolAttr('cache.hit', r() < 0.8),
            ]
          : kind === 'client'
            ? [
                stringAttr('http.request.method', 'POST'),
                stringAttr('url.full', `http://${pick(r, SERVICES).name}.shop-prod.svc:8080/internal/v1/${pick(r, ['reserve', 'charge', 'notify'])}`),
                intAttr('http.response.status_code', pick(r, [200, 200, 202, 503])),
                stringAttr('server.address', `${pick(r, SERVICES).name}.shop-prod.svc`),
                intAttr('server.port', 8080),
                stringAttr('network.peer.address', `10.0.${int(r, 0, 9)}.${int(r, 2, 250)}`),
                intAttr('http.request.body.size', int(r, 100, 9000)),
              ]
            : [
                stringAttr('code.function', pick(r, ['validateCart', 'computeTotals', 'applyDiscounts', 'renderConfirmation'])),
                stringAttr('code.namespace', 'shop.checkout'),
                intAttr('items.count', int(r, 1, 12)),
                doubleAttr('cart.total', Math.round(r() * 50_000) / 100),
                stringAttr('user.id', `u-${int(r, 1, 80_000)}`),
              ];
  // 5-10 attributes at the default width; --span-attrs caps the longest lists.
  return attrs.slice(0, Math.max(1, Math.min(attrs.length, max + (attrs.length > 8 ? 2 : 0))));
}

export function generateSpans(options: GenerateOptions, seed = 2): EncodedSet {
  const r = rng(seed);
  const base = startNs();
  const requests: EncodedRequest[] = [];
  let bytes = 0;
  let n = 0;
  for (let q = 0; q < options.requests; q++) {
    const serviceIndex = q % SERVICES.length;
    const times = new Set<bigint>();
    const ids = new Set<string>();
    const spans: Record<string, unknown>[] = [];
    while (spans.length < options.batch) {
      const traceId = hexBytes(r, 16);
      const route = pick(r, SERVER_SPANS);
      const rootStart = base + BigInt(n) * RECORD_SPACING_NS + BigInt(int(r, 0, 9_999));
      const rootDuration = BigInt(int(r, 2_000_000, 300_000_000));
      const rootId = hexBytes(r, 8);
      ids.add(traceId.toString('hex'));
      const size = Math.min(options.batch - spans.length, int(r, 3, 10));
      const error = r() < 0.05;
      for (let k = 0; k < size; k++) {
        const root = k === 0;
        const kind = root ? 'server' : pick(r, ['db', 'db', 'cache', 'client', 'internal'] as const);
        const start = root ? rootStart : rootStart + BigInt(Math.floor(Number(rootDuration) * r() * 0.7));
        const end = root ? rootStart + rootDuration : start + BigInt(Math.floor(Number(rootDuration) * r() * 0.3)) + 1000n;
        times.add(start);
        times.add(end);
        const name =
          kind === 'server' ? route : kind === 'db' ? `${pick(r, ['SELECT', 'UPDATE', 'INSERT'])} shop.${pick(r, ['orders', 'inventory', 'payments'])}` : kind === 'cache' ? 'redis GET' : kind === 'client' ? 'POST' : pick(r, ['validateCart', 'computeTotals', 'renderConfirmation']);
        const events = [];
        if ((error && root) || r() < 0.08) {
          const t = start + (end - start) / 2n;
          times.add(t);
          events.push(
            error && root
              ? {
                  timeUnixNano: t.toString(),
                  name: 'exception',
                  attributes: [
                    stringAttr('exception.type', pick(r, ['TimeoutError', 'PaymentDeclined', 'ConnectionResetError'])),
                    stringAttr('exception.message', `upstream ${pick(r, SERVICES).name} did not answer within ${int(r, 500, 5000)}ms`),
                    stringAttr('exception.stacktrace', `Error: timeout\n    at Client.call (client.ts:${int(r, 10, 300)}:11)\n    at Checkout.pay (checkout.ts:${int(r, 10, 300)}:5)\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)`),
                  ],
                }
              : { timeUnixNano: t.toString(), name: pick(r, ['cache.miss', 'retry', 'message.sent']), attributes: [intAttr('attempt', int(r, 1, 3))] },
          );
        }
        const spanId = root ? rootId : hexBytes(r, 8);
        ids.add(spanId.toString('hex'));
        spans.push({
          traceId,
          spanId,
          ...(root ? {} : { parentSpanId: rootId }),
          name,
          kind: kind === 'server' ? 2 : kind === 'internal' ? 1 : 3,
          startTimeUnixNano: start.toString(),
          endTimeUnixNano: end.toString(),
          attributes: spanAttributes(r, kind, options.spanAttrs, route),
          events,
          status: error && root ? { code: 2, message: 'upstream timeout' } : { code: 0 },
        });
      }
      n += size;
    }
    const message = TraceRequest.fromObject({
      resourceSpans: [
        {
          resource: resourceOf(r, serviceIndex, q % 3, options.resourceAttrs),
          schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
          scopeSpans: [{ scope: { name: '@opentelemetry/instrumentation-http', version: '0.57.1' }, spans }],
        },
      ],
    });
    const body = Buffer.from(TraceRequest.encode(message).finish());
    const timeOffsets = timestampOffsets(body, times, SPAN_TIME_TAGS);
    requests.push({ body, records: spans.length, timeOffsets, idOffsets: idOffsets(body, ids, SPAN_ID_TAGS) });
    bytes += body.length;
  }
  return { signal: 'traces', requests, passShiftNs: BigInt(n) * RECORD_SPACING_NS + 1_000_000_000n, records: n, bytes, sent: 0 };
}

// ---------------------------------------------------------------------------------------------
// Conversion (the same path Lookout takes), for the raw phase and the per-stage costs

export interface StageCosts {
  /** Microseconds per record, single-threaded in this process. */
  decodeUs: number;
  convertUs: number;
  serializeUs: number;
  /** The Native encoder the embedded storage uses (native-rows.ts), 50k-row blocks. */
  nativeUs: number;
  /** JSONEachRow bytes per row. */
  jsonBytesPerRow: number;
}

export function convertLogSet(set: EncodedSet): { records: LogRecord[]; costs: StageCosts } {
  const decoded = [];
  const t0 = performance.now();
  for (const q of set.requests) decoded.push(decodeProtobufRequest('logs', q.body));
  const t1 = performance.now();
  const records: LogRecord[] = [];
  for (const d of decoded) for (const rec of convertLogs(d, 'default').records) records.push(rec);
  const t2 = performance.now();
  // Serialise per request-sized slice as a warm-up, then time the whole set.
  let chars = 0;
  for (let i = 0; i < records.length; i += 50_000) chars += logRowsText(records.slice(i, i + 50_000)).length;
  const t3 = performance.now();
  for (let i = 0; i < records.length; i += 50_000) nativeRows.logRowsNative(records.slice(i, i + 50_000));
  const t4 = performance.now();
  const us = (ms: number) => (ms * 1000) / records.length;
  return { records, costs: { decodeUs: us(t1 - t0), convertUs: us(t2 - t1), serializeUs: us(t3 - t2), nativeUs: us(t4 - t3), jsonBytesPerRow: chars / records.length } };
}

export function convertSpanSet(set: EncodedSet): { spans: Span[]; costs: StageCosts } {
  const decoded = [];
  const t0 = performance.now();
  for (const q of set.requests) decoded.push(decodeProtobufRequest('traces', q.body));
  const t1 = performance.now();
  const spans: Span[] = [];
  for (const d of decoded) for (const s of convertTraces(d, 'default').spans) spans.push(s);
  const t2 = performance.now();
  let chars = 0;
  for (let i = 0; i < spans.length; i += 50_000) chars += spanRowsText(spans.slice(i, i + 50_000)).length;
  const t3 = performance.now();
  for (let i = 0; i < spans.length; i += 50_000) nativeRows.spanRowsNative(spans.slice(i, i + 50_000));
  const t4 = performance.now();
  const us = (ms: number) => (ms * 1000) / spans.length;
  return { spans, costs: { decodeUs: us(t1 - t0), convertUs: us(t2 - t1), serializeUs: us(t3 - t2), nativeUs: us(t4 - t3), jsonBytesPerRow: chars / spans.length } };
}

export const RETENTION = { logs: 7, traces: 7, metrics: 30 };

export async function openBenchPool(dataDir: string, size = 1): Promise<Pool> {
  const { openPool } = await import('../packages/server/src/storage/clickhouse/pool.js');
  return openPool({ dataDir, size });
}

export async function createTables(pool: Pool): Promise<void> {
  // Every migration, as the embedded storage applies them (columns, codecs, settings).
  for (const migration of MIGRATIONS) for (const statement of migration.statements(RETENTION, { embedded: true })) await pool.command(statement);
}

// ---------------------------------------------------------------------------------------------
// Phase B: load through Lookout

interface LoadResult {
  /** Records stored in the window (acknowledged ones, where acknowledgement is storing). */
  records: number;
  ackedRecords: number;
  seconds: number;
  rate: number;
  requests: number;
  failures: Map<string, number>;
  /** Lookout's /metrics deltas over the measured window. */
  server: { insertedRows: number; inserts: number; insertSeconds: number; cpuSeconds: number };
  clientCpuSeconds: number;
  latencyMs: { p50: number; p99: number };
}

function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

export async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(`${url}/metrics`);
  return parseMetrics(await response.text());
}

export function serverFigures(metrics: Map<string, number>, table: string) {
  const get = (k: string) => metrics.get(k) ?? 0;
  return {
    insertedRows: get(`lookout_inserted_rows_total{table="${table}"}`),
    inserts: get(`lookout_insert_duration_seconds_count{table="${table}",outcome="ok"}`),
    insertSeconds: get(`lookout_insert_duration_seconds_sum{table="${table}",outcome="ok"}`),
    cpuSeconds: get('lookout_process_cpu_seconds_total'),
    /** Rows the write-ahead log moved into the table (undefined without a log: acks are inserts). */
    walStoredRows: metrics.get(`lookout_wal_stored_rows_total{table="${table}"}`),
  };
}

function post(agent: Agent, url: URL, path: string, body: Buffer): Promise<{ status: number; text: string; retryAfter: number }> {
  return new Promise((resolvePost, reject) => {
    const req = httpRequest(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolvePost({
            status: res.statusCode ?? 0,
            text: res.statusCode === 200 ? '' : Buffer.concat(chunks).toString('utf8').replace(/[^\x20-\x7e]+/g, ' '),
            retryAfter: Number(res.headers['retry-after'] ?? 1),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function load(url: string, set: EncodedSet, options: BenchOptions): Promise<LoadResult> {
  const base = new URL(url);
  const path = set.signal === 'logs' ? '/v1/logs' : '/v1/traces';
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const start = performance.now();
  const windowStart = start + options.warmup * 1000;
  const end = windowStart + options.duration * 1000;
  let records = 0;
  let requests = 0;
  const latencies: number[] = [];
  const failures = new Map<string, number>();
  let before: Map<string, number> | undefined;
  let cpuBefore: NodeJS.CpuUsage | undefined;
  const marker = setTimeout(() => {
    cpuBefore = process.cpuUsage();
    void scrape(url).then((m) => (before = m));
  }, windowStart - start);

  async function worker() {
    while (performance.now() < end) {
      const i = set.sent++;
      const request = set.requests[i % set.requests.length]!;
      const pass = Math.floor(i / set.requests.length);
      const body = forPass(request, pass, set.passShiftNs);
      const sent = performance.now();
      let result;
      try {
        result = await post(agent, base, path, body);
      } catch (error) {
        const key = `error ${(error as Error).message}`;
        failures.set(key, (failures.get(key) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const done = performance.now();
      if (result.status === 200) {
        if (done >= windowStart && done <= end) {
          records += request.records;
          requests++;
          latencies.push(done - sent);
        }
      } else {
        const key = `HTTP ${result.status} ${result.text.slice(0, 160)}`;
        failures.set(key, (failures.get(key) ?? 0) + 1);
        if (result.status === 503 || result.status === 429) await new Promise((r) => setTimeout(r, result.retryAfter * 1000));
      }
    }
  }

  const workers = Array.from({ length: options.connections }, () => worker());
  // The window closes at `end`; scrape then, before in-flight requests finish.
  const after = new Promise<Map<string, number>>((resolveAfter) => setTimeout(() => resolveAfter(scrape(url)), end - start));
  const afterMetrics = await after;
  const cpuAfter = process.cpuUsage(cpuBefore);
  await Promise.all(workers);
  clearTimeout(marker);
  agent.destroy();
  const table = set.signal === 'logs' ? 'otel_logs' : 'otel_traces';
  const b = serverFigures(before ?? new Map(), table);
  const a = serverFigures(afterMetrics, table);
  latencies.sort((x, y) => x - y);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  // With the write-ahead log an acknowledgement is an append; the figure is what reached the
  // table in the window (whole segments of up to 50k rows, so use windows of 10 s or more).
  const stored = a.walStoredRows === undefined ? records : a.walStoredRows - (b.walStoredRows ?? 0);
  return {
    records: stored,
    ackedRecords: records,
    seconds: options.duration,
    rate: stored / options.duration,
    requests,
    failures,
    server: {
      insertedRows: a.insertedRows - b.insertedRows,
      inserts: a.inserts - b.inserts,
      insertSeconds: a.insertSeconds - b.insertSeconds,
      cpuSeconds: a.cpuSeconds - b.cpuSeconds,
    },
    clientCpuSeconds: (cpuAfter.user + cpuAfter.system) / 1e6,
    latencyMs: { p50: q(0.5), p99: q(0.99) },
  };
}

// ---------------------------------------------------------------------------------------------
// Bytes on disk

export interface TableStats {
  table: string;
  rows: number;
  parts: number;
  bytesOnDisk: number;
  compressed: number;
  uncompressed: number;
}

export async function tableStats(pool: Pool, tables: readonly string[]): Promise<TableStats[]> {
  const rows = await pool.select<Record<string, string | number>>(
    `SELECT table, sum(rows) AS rows, count() AS parts, sum(bytes_on_disk) AS bytes,
       sum(data_compressed_bytes) AS compressed, sum(data_uncompressed_bytes) AS uncompressed
     FROM system.parts WHERE active AND database = currentDatabase() AND table IN {tables:Array(String)}
     GROUP BY table ORDER BY table`,
    { tables },
  );
  return rows.map((r) => ({
    table: String(r.table),
    rows: Number(r.rows),
    parts: Number(r.parts),
    bytesOnDisk: Number(r.bytes),
    compressed: Number(r.compressed),
    uncompressed: Number(r.uncompressed),
  }));
}

async function topColumns(pool: Pool, table: string, limit: number) {
  return pool.select<{ name: string; compressed: number; uncompressed: number }>(
    `SELECT name, data_compressed_bytes AS compressed, data_uncompressed_bytes AS uncompressed FROM system.columns
     WHERE database = currentDatabase() AND table = {table:String} ORDER BY data_compressed_bytes DESC LIMIT {limit:UInt32}`,
    { table, limit },
  );
}

// ---------------------------------------------------------------------------------------------
// Phase A: raw inserts

interface RawResult {
  rows: number;
  seconds: number;
  rate: number;
  inserts: number;
  cpuSeconds: number;
}

/** Back-to-back inserts, one at a time, for warmup + duration; counts the measured window. */
export async function rawLoop(insert: (i: number) => Promise<number>, options: Pick<BenchOptions, 'warmup' | 'duration'>): Promise<RawResult> {
  const start = performance.now();
  const windowStart = start + options.warmup * 1000;
  const end = windowStart + options.duration * 1000;
  let i = 0;
  while (performance.now() < windowStart) await insert(i++);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let rows = 0;
  let inserts = 0;
  while (performance.now() < end) {
    rows += await insert(i++);
    inserts++;
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { rows, seconds, rate: rows / seconds, inserts, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

// ---------------------------------------------------------------------------------------------
// CPU profile summary (--profile)

/** Preloaded into the server (--require): samples the main thread, writes the profile on exit. */
const PROFILE_HOOK = `const inspector = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');
const session = new inspector.Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.start');
process.on('exit', () => {
  session.post('Profiler.stop', (error, result) => {
    if (!error) fs.writeFileSync(path.join(__DIR__, 'lookout-' + process.pid + '.cpuprofile'), JSON.stringify(result.profile));
  });
});
`;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** Self time of the server's main thread by stage, from a .cpuprofile. */
export function summariseProfile(file: string): { stage: string; share: number }[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const hits = new Map<number, number>();
  for (const s of profile.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
  const stageOf = (id: number): string => {
    // The innermost frame that names a stage wins; walk up from the sampled frame.
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      const u = f.url;
      const fn = f.functionName;
      if (fn === '(garbage collector)') return 'gc';
      if (fn === '(idle)') return 'idle';
      if (fn === '(program)') return 'native/program';
      if (u.includes('otlp-transformer') || u.includes('protobufjs')) return 'protobuf decode';
      if (u.includes('/ingest/otlp/')) return 'convert (ingest/otlp)';
      if (u.includes('/storage/clickhouse/rows.ts')) return 'serialize (rows.ts)';
      if (u.includes('/storage/clickhouse/native')) return 'Native block (native-rows.ts)';
      if (u.includes('/storage/clickhouse/wal.ts')) return 'write-ahead log';
      if (u.includes('/chdb/') || u.includes('@clickhouse/client') || u.includes('/storage/clickhouse/pool.ts')) return 'insert call (pool/chdb JS)';
      if (u.includes('/pipeline/')) return 'pipeline/batcher';
      if (u.includes('fastify') || u.includes('find-my-way') || u.includes('avvio') || u.includes('light-my-request')) return 'fastify';
      if (u.includes('pino')) return 'logging';
      if (u.includes('prom-client')) return 'metrics';
      if (u.startsWith('node:') && (u.includes('http') || u.includes('net') || u.includes('stream'))) return 'node http/net/stream';
    }
    return 'other';
  };
  const totals = new Map<string, number>();
  let all = 0;
  for (const [id, count] of hits) {
    const stage = stageOf(id);
    if (stage === 'idle') continue;
    totals.set(stage, (totals.get(stage) ?? 0) + count);
    all += count;
  }
  return [...totals.entries()].map(([stage, n]) => ({ stage, share: n / all })).sort((a, b) => b.share - a.share);
}

/** The heaviest functions by self time. */
export function topFunctions(file: string, limit: number): { name: string; share: number }[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map<string, number>();
  let total = 0;
  for (const s of profile.samples) {
    const f = byId.get(s)!.callFrame;
    if (f.functionName === '(idle)') continue;
    total++;
    const where = f.url.replace(/^.*\/(node_modules|packages)\//, '').replace(/^file:\/\//, '');
    const key = `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].map(([name, n]) => ({ name, share: n / total })).sort((a, b) => b.share - a.share).slice(0, limit);
}

// ---------------------------------------------------------------------------------------------
// Report

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-');

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r, i) => {
    const line = r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
    return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

export function machineLine(): string {
  const list = cpus();
  return `${list.length} × ${list[0]?.model ?? 'unknown CPU'}, node ${process.version}, ${process.platform}/${process.arch}`;
}

function log(text = '') {
  process.stdout.write(`${text}\n`);
}

// ---------------------------------------------------------------------------------------------

interface NativeSession {
  queryAsync(sql: string, opts?: Record<string, unknown>): Promise<unknown>;
  insert(p: { table: string; values: Buffer; format: 'JSONEachRow'; settings?: Record<string, string | number> }): Promise<unknown>;
  close(): void;
}

const INSERT_SETTINGS = { async_insert: 0, date_time_input_format: 'best_effort' };

type NativeEncoder = (rows: readonly (LogRecord | Span)[]) => { block: Buffer; columns: string[] };

/** The Native encoder the embedded storage uses for a signal, if that signal goes through the WAL. */
function nativeEncoder(signal: 'logs' | 'spans'): NativeEncoder | undefined {
  const encoders = nativeRows as unknown as Record<string, NativeEncoder | undefined>;
  return signal === 'logs' ? encoders.logRowsNative : encoders.spanRowsNative;
}

/** Rows of one signal, serialised once in batches of the size Lookout used. */
interface RawRows {
  table: string;
  batch: number;
  /** Native blocks (what the embedded storage inserts), or absent: JSONEachRow texts. */
  blocks?: { block: Buffer; columns: string[] }[];
  texts: string[];
  buffers: Buffer[];
  rows: number[];
}

interface Round {
  lookout?: LoadResult;
  pool: RawResult;
  native?: RawResult;
}

function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU ticks (user + system, 1/100 s) a process has used, from /proc; undefined when unreadable. */
function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/**
 * Waits until each process uses under 3 % of a core over a second — an engine's background
 * merges of the previous phase done — so that no phase is measured while another one's work
 * still takes the machine's two cores. At most `maxSeconds`; returns the seconds waited.
 */
export async function waitForIdle(pids: readonly (number | undefined)[], maxSeconds = 120): Promise<number> {
  const start = performance.now();
  for (;;) {
    const before = pids.map((pid) => (pid === undefined ? undefined : cpuTicks(pid)));
    await pause(1000);
    const busy = pids.some((pid, i) => {
      const a = before[i];
      const b = pid === undefined ? undefined : cpuTicks(pid);
      return a !== undefined && b !== undefined && b - a > 3;
    });
    const waited = (performance.now() - start) / 1000;
    if (!busy || waited >= maxSeconds) return waited;
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const options = parseOptions(argv);
  const work = mkdtempSync(join(tmpdir(), 'lookout-bench-ingest-'));
  log(`# Lookout ingest benchmark — ${new Date().toISOString()}`);
  log(`machine: ${machineLine()}`);
  log(`command: npm run bench:ingest --${argv.length > 0 ? ` ${argv.join(' ')}` : ''}`);
  log(`options: ${JSON.stringify({ ...options, profile: options.profile ?? null })}`);
  log();

  const gen: GenerateOptions = {
    requests: options.requests,
    batch: options.batch,
    logAttrs: options.logAttrs,
    body: options.body,
    spanAttrs: options.spanAttrs,
    resourceAttrs: options.resourceAttrs,
  };
  const t0 = performance.now();
  const sets: EncodedSet[] = [];
  if (options.signals.includes('logs')) sets.push(generateLogs(gen));
  if (options.signals.includes('spans')) sets.push(generateSpans(gen));
  for (const set of sets) {
    log(`generated ${set.signal}: ${set.requests.length} requests, ${fmt(set.records)} records, ${fmt(set.bytes / set.records, 0)} protobuf bytes/record`);
  }
  // Lookout's own conversion of the same requests: the rows of the raw phase, and the
  // single-threaded cost of each stage.
  const costs = new Map<string, StageCosts>();
  const converted = new Map<string, LogRecord[] | Span[]>();
  for (const set of sets) {
    if (set.signal === 'logs') {
      const { records, costs: c } = convertLogSet(set);
      converted.set('logs', records);
      costs.set('logs', c);
    } else {
      const { spans, costs: c } = convertSpanSet(set);
      converted.set('traces', spans);
      costs.set('traces', c);
    }
  }
  log(`(generation and conversion took ${fmt((performance.now() - t0) / 1000, 1)} s, not timed)`);
  log();

  const lookoutDir = join(work, 'lookout-data');
  const poolDir = join(work, 'raw-pool');
  const nativeDir = join(work, 'raw-native');
  const profileDir = options.profile === undefined ? undefined : resolve(options.profile === '1' ? join(work, 'profile') : options.profile);
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  let env: Record<string, string> = {};
  if (profileDir) {
    // --cpu-prof is not allowed in NODE_OPTIONS; a preloaded inspector session does the same.
    const hook = join(profileDir, 'cpu-profile-hook.cjs');
    writeFileSync(hook, PROFILE_HOOK.replace('__DIR__', JSON.stringify(profileDir)));
    env = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${hook}`.trim() };
  }
  const lookout = options.lookout ? await startLookoutProcess({ dataDir: lookoutDir, env }) : undefined;

  const raws = new Map<string, RawRows>();
  const rounds = new Map<string, Round[]>();
  const chdbModule = options.native ? ((await import('chdb')) as unknown as { Session: new (path: string) => NativeSession }) : undefined;
  try {
    for (let round = 1; round <= options.rounds; round++) {
      for (const set of sets) {
        const signal = set.signal;
        const table = signal === 'logs' ? 'otel_logs' : 'otel_traces';
        log(`round ${round}/${options.rounds}, ${signal}:`);

        // Lookout over HTTP. The process stays up between phases (idle while the raw phases run:
        // each phase starts once both processes are idle, background merges included).
        let through: LoadResult | undefined;
        if (lookout) {
          log(`  (waited ${fmt(await waitForIdle([lookout.child.pid, process.pid]), 0)} s for both processes to be idle)`);
          through = await load(lookout.url, set, options);
          const avgBatch = through.server.inserts > 0 ? through.server.insertedRows / through.server.inserts : NaN;
          log(
            `  lookout   ${fmt(through.rate).padStart(8)} records/s stored (${fmt(through.ackedRecords / through.seconds)}/s acknowledged)  CPU ${fmt((through.server.cpuSeconds * 1e6) / through.records, 1)} µs/record ` +
              `(${fmt(through.server.cpuSeconds / through.seconds, 2)} cores; client ${fmt(through.clientCpuSeconds / through.seconds, 2)})  ` +
              `${fmt(through.server.inserts)} inserts of ${fmt(avgBatch)} rows, ${fmt((100 * through.server.insertSeconds) / through.seconds)} % of the time inserting  ` +
              `latency p50 ${fmt(through.latencyMs.p50)} ms p99 ${fmt(through.latencyMs.p99)} ms`,
          );
          for (const [key, count] of through.failures) log(`  ! ${count} × ${key}`);
        }

        // The same rows, serialised once, in batches of the size Lookout's storage inserts: on
        // the embedded engine, Native blocks of a write-ahead log segment (wal.ts) where the
        // signal goes through the log, else JSONEachRow at the batch size Lookout used.
        let rows = raws.get(signal);
        if (!rows) {
          const encodeNative = nativeEncoder(signal === 'logs' ? 'logs' : 'spans');
          let batch = options.rawBatch === 'server' ? DEFAULT_SEGMENT_ROWS : options.rawBatch;
          if (options.rawBatch === 'server' && !encodeNative && through && through.server.inserts > 0) {
            batch = Math.max(1, Math.round(through.server.insertedRows / through.server.inserts));
          }
          const list = converted.get(signal)!;
          batch = Math.min(batch, list.length);
          const texts: string[] = [];
          const blocks: { block: Buffer; columns: string[] }[] = [];
          const counts: number[] = [];
          for (let i = 0; i + batch <= list.length; i += batch) {
            const slice = list.slice(i, i + batch);
            texts.push(signal === 'logs' ? logRowsText(slice as LogRecord[]) : spanRowsText(slice as Span[]));
            if (encodeNative) {
              const { block, columns } = encodeNative(slice);
              blocks.push({ block: Buffer.from(block), columns });
            }
            counts.push(slice.length);
          }
          rows = {
            table,
            batch,
            ...(encodeNative ? { blocks } : {}),
            texts,
            buffers: options.native ? texts.map((t) => Buffer.from(t)) : [],
            rows: counts,
          };
          raws.set(signal, rows);
        }
        const r = rows;
        log(`  (waited ${fmt(await waitForIdle([lookout?.child.pid, process.pid]), 0)} s for both processes to be idle)`);

        // Raw: Lookout's pool, one insert at a time, as the batcher does.
        const pool = await openBenchPool(poolDir);
        await createTables(pool);
        const viaPool = await rawLoop(async (i) => {
          const k = i % r.texts.length;
          if (r.blocks) await pool.insertNative!(r.table, r.blocks[k]!.columns, r.blocks[k]!.block);
          else await pool.insertJsonEachRow(r.table, r.texts[k]!);
          return r.rows[k]!;
        }, options);
        await pool.close();
        log(`  raw pool  ${fmt(viaPool.rate).padStart(8)} rows/s     CPU ${fmt((viaPool.cpuSeconds * 1e6) / viaPool.rows, 1)} µs/row (${fmt(viaPool.cpuSeconds / viaPool.seconds, 2)} cores)  ${fmt(viaPool.inserts)} inserts of ${fmt(r.batch)} rows (${r.blocks ? 'Native' : 'JSONEachRow'})`);

        // Raw: chDB's own Buffer insert, the engine's limit for the same bytes.
        let viaNative: RawResult | undefined;
        if (chdbModule) {
          await pause(1000);
          const session = new chdbModule.Session(nativeDir);
          for (const statement of MIGRATIONS[0]!.statements(RETENTION)) await session.queryAsync(statement);
          viaNative = await rawLoop(async (i) => {
            const k = i % r.buffers.length;
            await session.insert({ table: r.table, values: r.buffers[k]!, format: 'JSONEachRow', settings: INSERT_SETTINGS });
            return r.rows[k]!;
          }, options);
          session.close();
          log(`  raw chdb  ${fmt(viaNative.rate).padStart(8)} rows/s     CPU ${fmt((viaNative.cpuSeconds * 1e6) / viaNative.rows, 1)} µs/row (${fmt(viaNative.cpuSeconds / viaNative.seconds, 2)} cores)`);
        }
        const list = rounds.get(signal) ?? [];
        list.push({ ...(through ? { lookout: through } : {}), pool: viaPool, ...(viaNative ? { native: viaNative } : {}) });
        rounds.set(signal, list);
        await pause(2000);
      }
    }
  } finally {
    if (lookout) {
      const code = await lookout.stop();
      if (code !== 0) log(`! lookout exited with ${code}:\n${lookout.output().slice(-2000)}`);
    }
  }
  log();

  // ---- bytes on disk, from Lookout's own data directory (the process has exited)
  const TABLES = ['otel_logs', 'otel_traces', 'otel_traces_trace_id_ts'];
  let asLeft: TableStats[] = [];
  let optimized: TableStats[] = [];
  const columns = new Map<string, { name: string; compressed: number; uncompressed: number }[]>();
  if (lookout) {
    const statsPool = await openBenchPool(lookoutDir);
    asLeft = await tableStats(statsPool, TABLES);
    for (const t of ['otel_logs', 'otel_traces']) if (asLeft.some((s) => s.table === t)) await statsPool.command(`OPTIMIZE TABLE ${t} FINAL`);
    optimized = await tableStats(statsPool, TABLES);
    for (const t of ['otel_logs', 'otel_traces']) if (asLeft.some((s) => s.table === t)) columns.set(t, await topColumns(statsPool, t, 10));
    await statsPool.close();
  }

  // ---- report
  const cores = cpus().length;
  log(`## Results (median of ${options.rounds} rounds; each phase ${options.warmup} s warm-up + ${options.duration} s measured)`);
  log();
  const header = ['signal', 'Lookout rec/s', 'raw pool rows/s', 'ratio', ...(options.native ? ['raw chdb rows/s', 'ratio'] : []), 'batch', 'target'];
  const resultRows: string[][] = [header];
  for (const set of sets) {
    const list = rounds.get(set.signal)!;
    const rate = median(list.map((x) => x.lookout?.rate ?? NaN));
    const poolRate = median(list.map((x) => x.pool.rate));
    const ratio = median(list.map((x) => (x.lookout?.rate ?? NaN) / x.pool.rate));
    const nativeRate = median(list.map((x) => x.native?.rate ?? NaN));
    const nativeRatio = median(list.map((x) => (x.lookout?.rate ?? NaN) / (x.native?.rate ?? NaN)));
    const pass = set.signal === 'logs' ? ratio >= 0.8 && rate >= 100_000 : rate >= 20_000;
    resultRows.push([
      set.signal,
      fmt(rate),
      fmt(poolRate),
      `${fmt(ratio, 2)}×`,
      ...(options.native ? [fmt(nativeRate), `${fmt(nativeRatio, 2)}×`] : []),
      fmt(raws.get(set.signal)?.batch ?? NaN),
      `${set.signal === 'logs' ? '≥0.8× and ≥100k/s' : '≥20k/s'}: ${Number.isNaN(rate) ? '-' : pass ? 'PASS' : 'FAIL'}`,
    ]);
  }
  log(table(resultRows));
  log();

  log(`CPU cost per record (µs of CPU time; less sensitive to a noisy machine than rates). "ceiling": ${cores} cores ÷ cost.`);
  const cpuRows: string[][] = [['signal', 'Lookout', 'ceiling/s', 'raw pool', 'ceiling/s', ...(options.native ? ['raw chdb', 'ceiling/s'] : []), 'decode', 'convert', 'serialize', 'Native', 'JSON B/row']];
  for (const set of sets) {
    const list = rounds.get(set.signal)!;
    const c = costs.get(set.signal)!;
    const lookoutUs = median(list.map((x) => (x.lookout ? (x.lookout.server.cpuSeconds * 1e6) / x.lookout.records : NaN)));
    const poolUs = median(list.map((x) => (x.pool.cpuSeconds * 1e6) / x.pool.rows));
    const nativeUs = median(list.map((x) => (x.native ? (x.native.cpuSeconds * 1e6) / x.native.rows : NaN)));
    const ceiling = (us: number) => fmt((cores * 1e6) / us);
    cpuRows.push([
      set.signal,
      fmt(lookoutUs, 1),
      ceiling(lookoutUs),
      fmt(poolUs, 1),
      ceiling(poolUs),
      ...(options.native ? [fmt(nativeUs, 1), ceiling(nativeUs)] : []),
      fmt(c.decodeUs, 1),
      fmt(c.convertUs, 1),
      fmt(c.serializeUs, 1),
      fmt(c.nativeUs, 1),
      fmt(c.jsonBytesPerRow),
    ]);
  }
  log(table(cpuRows));
  log('(Lookout: whole server process incl. chDB threads, per acknowledged record; raw: this process during the inserts;');
  log(' decode/convert/serialize/Native: protobufjs decode, ingest/otlp convert, rows.ts JSON text, native-rows.ts block; single-threaded here, µs per record)');
  log();

  if (lookout) {
    log('Bytes on disk (Lookout data directory after the run; "optimized" after OPTIMIZE TABLE … FINAL):');
    const diskRows: string[][] = [['table', 'rows', 'parts', 'bytes/row', 'parts (optimized)', 'bytes/row (optimized)', 'compression']];
    for (const s of asLeft) {
      const o = optimized.find((x) => x.table === s.table);
      diskRows.push([
        s.table,
        fmt(s.rows),
        fmt(s.parts),
        fmt(s.bytesOnDisk / s.rows, 1),
        o ? fmt(o.parts) : '-',
        o ? fmt(o.bytesOnDisk / o.rows, 1) : '-',
        o ? `${fmt(o.uncompressed / o.compressed, 1)}×` : '-',
      ]);
    }
    log(table(diskRows));
    const logsStats = optimized.find((s) => s.table === 'otel_logs');
    const spanStats = optimized.find((s) => s.table === 'otel_traces');
    const lookupStats = optimized.find((s) => s.table === 'otel_traces_trace_id_ts');
    if (logsStats) log(`bytes on disk per log record: ${fmt(logsStats.bytesOnDisk / logsStats.rows, 1)}`);
    if (spanStats) {
      const withLookup = spanStats.bytesOnDisk + (lookupStats?.bytesOnDisk ?? 0);
      log(`bytes on disk per span: ${fmt(spanStats.bytesOnDisk / spanStats.rows, 1)} (${fmt(withLookup / spanStats.rows, 1)} with the trace-id lookup table)`);
    }
    for (const [t, cols] of columns) {
      log();
      log(`largest columns of ${t} (optimized):`);
      const total = optimized.find((s) => s.table === t)!;
      log(table([['column', 'bytes/row', 'compression'], ...cols.map((c) => [c.name, fmt(c.compressed / total.rows, 1), `${fmt(c.uncompressed / Math.max(1, c.compressed), 1)}×`])]));
    }
  }

  if (profileDir) {
    const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
    for (const f of files) {
      const file = join(profileDir, f);
      log();
      log(`server CPU profile ${file} (main JS thread only, busy samples; chDB's own threads are not sampled):`);
      log(table([['stage', 'share of samples'], ...summariseProfile(file).map((s) => [s.stage, `${fmt(s.share * 100, 1)} %`])]));
      log();
      log(table([['function (self time)', 'share'], ...topFunctions(file, 20).map((s) => [s.name, `${fmt(s.share * 100, 1)} %`])]));
    }
  }

  if (!options.keep) rmSync(work, { recursive: true, force: true });
  else log(`\nkept ${work}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`bench:ingest failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
