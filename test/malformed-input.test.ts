/**
 * Malformed input against one running Lookout: every kind of broken OTLP request gets the
 * right 4xx (gRPC: INVALID_ARGUMENT / RESOURCE_EXHAUSTED) with a message naming the fault,
 * never a 5xx; the process stays up; good batches sent before, between and after are all
 * stored, and nothing from a refused request is.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { gzipSync, deflateSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import protobufjs from 'protobufjs';
import { openStorage } from '../packages/server/src/storage/index.js';
import { REPO_ROOT, startLookoutProcess, tempDir, type LookoutProcess } from './support/lookout-process.js';

const requireFromServer = createRequire(join(REPO_ROOT, 'packages/server/package.json'));

interface Codec {
  fromObject(o: Record<string, unknown>): unknown;
  encode(m: unknown): { finish(): Uint8Array };
  decode(b: Uint8Array): unknown;
  toObject(m: unknown, o?: Record<string, unknown>): Record<string, unknown>;
}
const otlp = requireFromServer('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
  opentelemetry: {
    proto: {
      collector: {
        logs: { v1: { ExportLogsServiceRequest: Codec; ExportLogsServiceResponse: Codec } };
        trace: { v1: { ExportTraceServiceRequest: Codec; ExportTraceServiceResponse: Codec } };
      };
    };
  };
};
const LogsRequest = otlp.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
const LogsResponse = otlp.opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse;
const TraceRequest = otlp.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const TraceResponse = otlp.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;

// google.rpc.Status (code = 1, message = 2), the OTLP/HTTP error body.
const StatusType = new protobufjs.Type('Status')
  .add(new protobufjs.Field('code', 1, 'int32'))
  .add(new protobufjs.Field('message', 2, 'string'));

const LOGS_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const TRACES_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const MAX_BODY = 65_536;
const SERVICE = 'malformed-input-test';
const TRACE_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

// ---------- request builders ----------

const nowNs = () => String(BigInt(Date.now()) * 1_000_000n);

/** An OTLP/JSON logs request; bodies are `${tag}-${i}`. `extra` records are appended verbatim. */
function logsJson(tag: string, count: number, extra: Record<string, unknown>[] = []): Record<string, unknown> {
  const logRecords: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    logRecords.push({
      timeUnixNano: nowNs(),
      severityNumber: 9,
      severityText: 'INFO',
      body: { stringValue: `${tag}-${i}` },
      attributes: [{ key: 'batch', value: { stringValue: tag } }],
    });
  }
  logRecords.push(...extra);
  return {
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: SERVICE } }] },
        scopeLogs: [{ scope: { name: 'malformed' }, logRecords }],
      },
    ],
  };
}

/** OTLP/JSON ids are hex; the protobufjs object form wants bytes. */
function hexIdsToBytes(object: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(object), (key, value: unknown) =>
    (key === 'traceId' || key === 'spanId' || key === 'parentSpanId') && typeof value === 'string' ? Buffer.from(value, 'hex') : value,
  ) as Record<string, unknown>;
}

function logsProtobuf(object: Record<string, unknown>): Buffer {
  return Buffer.from(LogsRequest.encode(LogsRequest.fromObject(hexIdsToBytes(object))).finish());
}

function tracesProtobuf(object: Record<string, unknown>): Buffer {
  return Buffer.from(TraceRequest.encode(TraceRequest.fromObject(hexIdsToBytes(object))).finish());
}

function span(traceId: string, spanId: string, name: string): Record<string, unknown> {
  const start = BigInt(Date.now()) * 1_000_000n;
  return {
    traceId,
    spanId,
    name,
    kind: 2,
    startTimeUnixNano: String(start),
    endTimeUnixNano: String(start + 5_000_000n),
  };
}

function tracesJson(spans: Record<string, unknown>[]): Record<string, unknown> {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: SERVICE } }] },
        scopeSpans: [{ scope: { name: 'malformed' }, spans }],
      },
    ],
  };
}

/** Deterministic pseudo-random bytes (mulberry32). */
function pseudoRandomBytes(seed: number, length: number): Buffer {
  let a = seed >>> 0;
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

function decodes(codec: Codec, bytes: Uint8Array): boolean {
  try {
    codec.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

// ---------- HTTP helpers ----------

interface Sent {
  status: number;
  headers: Headers;
  body: Buffer;
}

async function post(lookout: LookoutProcess, path: string, body: BodyInit | Uint8Array, headers: Record<string, string> = {}): Promise<Sent> {
  const response = await fetch(`${lookout.url}${path}`, { method: 'POST', body: body as BodyInit, headers });
  return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
}

/** The google.rpc.Status of an error response, decoded per its Content-Type. */
function statusOf(sent: Sent): { code: number; message: string } {
  const type = sent.headers.get('content-type') ?? '';
  if (type.startsWith('application/x-protobuf')) {
    const decoded = StatusType.toObject(StatusType.decode(sent.body), { defaults: true }) as { code: number; message: string };
    return decoded;
  }
  assert.match(type, /^application\/json/, `error body type ${type}`);
  const parsed = JSON.parse(sent.body.toString('utf8')) as { code?: number; message?: string };
  return { code: parsed.code ?? 0, message: parsed.message ?? '' };
}

/** Asserts the status, the envelope's encoding, and that the message names the fault. */
function assertRefused(sent: Sent, status: number, message: RegExp, encoding: 'json' | 'protobuf' = 'json'): void {
  assert.equal(sent.status, status, `expected ${status}, got ${sent.status}: ${sent.body.toString('utf8').slice(0, 300)}`);
  const type = sent.headers.get('content-type') ?? '';
  assert.match(type, encoding === 'json' ? /^application\/json/ : /^application\/x-protobuf/, `error body content-type "${type}"`);
  const rpcStatus = statusOf(sent);
  assert.match(rpcStatus.message, message);
  // google.rpc.Status.code: INVALID_ARGUMENT (3) for a client fault; a body over the limit may
  // also be RESOURCE_EXHAUSTED (8), which is what the gRPC endpoint answers for it.
  if (status === 413) assert.ok(rpcStatus.code === 3 || rpcStatus.code === 8, `Status.code ${rpcStatus.code}`);
  else assert.equal(rpcStatus.code, 3, `Status.code ${rpcStatus.code}`);
}

const JSON_TYPE = { 'content-type': 'application/json' };
const PB_TYPE = { 'content-type': 'application/x-protobuf' };

// ---------- gRPC helpers ----------

function grpcExport(
  client: grpc.Client,
  path: string,
  payload: Buffer,
  metadata = new grpc.Metadata(),
): Promise<{ error: grpc.ServiceError | null; response: Buffer | undefined }> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (value: Buffer) => value,
      (value: Buffer) => value,
      payload,
      metadata,
      { deadline: Date.now() + 30_000 },
      (error, response) => resolve({ error, response }),
    );
  });
}

// ---------- the test ----------

describe('malformed OTLP input', { timeout: 240_000 }, () => {
  let lookout: LookoutProcess;
  let grpcClient: grpc.Client;
  /** Bodies of every good log record that got a 200, i.e. must be stored. */
  const expectedBodies = new Set<string>();
  /** Span ids that must be stored under TRACE_ID. */
  const expectedSpanIds = new Set<string>();
  /** Log bodies in requests that were refused as a whole. */
  const refusedBodies = new Set<string>();

  async function sendGood(tag: string, how: 'json' | 'protobuf' | 'gzip-json' | 'grpc'): Promise<void> {
    const request = logsJson(tag, 5);
    if (how === 'grpc') {
      const { error, response } = await grpcExport(grpcClient, LOGS_PATH, logsProtobuf(request));
      assert.equal(error, null, `good gRPC batch ${tag}: ${error?.message}`);
      assert.deepEqual(LogsResponse.toObject(LogsResponse.decode(response!)), {}, 'no partial success for a good batch');
    } else {
      const body = how === 'protobuf' ? logsProtobuf(request) : Buffer.from(JSON.stringify(request));
      const headers: Record<string, string> = how === 'protobuf' ? { ...PB_TYPE } : { ...JSON_TYPE };
      const sent = await post(lookout, '/v1/logs', how === 'gzip-json' ? gzipSync(body) : body, {
        ...headers,
        ...(how === 'gzip-json' ? { 'content-encoding': 'gzip' } : {}),
      });
      assert.equal(sent.status, 200, `good batch ${tag} (${how}): ${sent.body.toString('utf8')}`);
      if (how === 'protobuf') assert.deepEqual(LogsResponse.toObject(LogsResponse.decode(sent.body)), {});
      else assert.deepEqual(JSON.parse(sent.body.toString('utf8')), {});
    }
    for (let i = 0; i < 5; i++) expectedBodies.add(`${tag}-${i}`);
  }

  /** A logs request whose records must never be stored (its tag is remembered). */
  function badLogs(tag: string): Record<string, unknown> {
    for (let i = 0; i < 3; i++) refusedBodies.add(`${tag}-${i}`);
    return logsJson(tag, 3);
  }

  async function assertAlive(): Promise<void> {
    assert.equal(lookout.child.exitCode, null, `lookout exited:\n${lookout.output()}`);
    assert.equal(lookout.child.signalCode, null, `lookout was killed:\n${lookout.output()}`);
    const health = await fetch(`${lookout.url}/health`);
    assert.equal(health.status, 200);
  }

  before(async () => {
    configDir = tempDir('malformed-config');
    const configFile = join(configDir, 'lookout.yml');
    writeFileSync(configFile, `server:\n  maxBodyBytes: ${MAX_BODY}\n`);
    lookout = await startLookoutProcess({ args: ['--config', configFile] });
    grpcClient = new grpc.Client(`127.0.0.1:${lookout.grpcPort}`, grpc.credentials.createInsecure());
  });

  let configDir: string | undefined;

  after(async () => {
    grpcClient?.close();
    if (lookout && lookout.child.exitCode === null && lookout.child.signalCode === null) await lookout.stop('SIGKILL');
    for (const dir of [lookout?.dataDir, configDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('accepts good batches before the bad ones', async () => {
    await sendGood('before-json', 'json');
    await sendGood('before-pb', 'protobuf');
    await sendGood('before-gzip', 'gzip-json');
    await sendGood('before-grpc', 'grpc');
  });

  it('refuses a truncated protobuf body with 400', async () => {
    const full = logsProtobuf(badLogs('bad-truncated'));
    const truncated = full.subarray(0, full.length - 7);
    assert.equal(decodes(LogsRequest, truncated), false, 'precondition: the truncated body does not decode');
    const sent = await post(lookout, '/v1/logs', truncated, PB_TYPE);
    assertRefused(sent, 400, /invalid OTLP logs protobuf/i, 'protobuf');
  });

  it('refuses random bytes as protobuf with 400', async () => {
    let seed = 1;
    let garbage = pseudoRandomBytes(seed, 2048);
    // (a few seeds give bytes that happen to parse; take the first that is invalid for both signals)
    while (decodes(LogsRequest, garbage) || decodes(TraceRequest, garbage)) garbage = pseudoRandomBytes(++seed, 2048);
    const sent = await post(lookout, '/v1/logs', garbage, PB_TYPE);
    assertRefused(sent, 400, /invalid OTLP logs protobuf/i, 'protobuf');
    const traces = await post(lookout, '/v1/traces', garbage, { 'content-type': 'application/protobuf' });
    assertRefused(traces, 400, /invalid OTLP traces protobuf/i, 'protobuf');
  });

  it('refuses invalid JSON with 400', async () => {
    const text = JSON.stringify(badLogs('bad-json-syntax'));
    for (const body of [text.slice(0, text.length - 5), '{"resourceLogs": [', '', 'not json at all']) {
      const sent = await post(lookout, '/v1/logs', body, JSON_TYPE);
      assertRefused(sent, 400, /invalid OTLP logs JSON/i);
    }
  });

  it('refuses valid JSON that is not an OTLP request with 400', async () => {
    const cases: [string, RegExp][] = [
      ['[]', /must be a JSON object/],
      ['null', /must be a JSON object/],
      ['"resourceLogs"', /must be a JSON object/],
      ['42', /must be a JSON object/],
      ['{"resourceLogs": 5}', /resourceLogs/],
      ['{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": "plain string"}]}]}]}', /body/],
      ['{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "not-hex!", "body": {"stringValue": "bad-nonhex"}}]}]}]}', /traceId.*not hex/],
      ['{"resourceSpans": "x"}', /resourceSpans/],
    ];
    refusedBodies.add('bad-nonhex');
    for (const [body, message] of cases) {
      const path = body.includes('resourceSpans') ? '/v1/traces' : '/v1/logs';
      const sent = await post(lookout, path, body, JSON_TYPE);
      assertRefused(sent, 400, message);
      assert.match(statusOf(sent).message, /invalid OTLP (logs|traces) JSON/);
    }
  });

  it('refuses an unsupported or missing Content-Type with 415', async () => {
    const body = JSON.stringify(badLogs('bad-content-type'));
    const textPlain = await post(lookout, '/v1/logs', body, { 'content-type': 'text/plain' });
    assertRefused(textPlain, 415, /unsupported Content-Type "text\/plain".*application\/x-protobuf.*application\/json/);
    const formUrl = await post(lookout, '/v1/logs', body, { 'content-type': 'application/x-www-form-urlencoded' });
    assertRefused(formUrl, 415, /unsupported Content-Type/);
    // a Uint8Array body makes fetch send no Content-Type at all
    const none = await post(lookout, '/v1/logs', new Uint8Array(Buffer.from(body)));
    assertRefused(none, 415, /unsupported Content-Type ""/);
  });

  it('refuses an unknown Content-Encoding with 415', async () => {
    const body = JSON.stringify(badLogs('bad-encoding'));
    for (const encoding of ['br', 'zstd', 'x-made-up']) {
      const sent = await post(lookout, '/v1/logs', body, { ...JSON_TYPE, 'content-encoding': encoding });
      assertRefused(sent, 415, new RegExp(`unsupported Content-Encoding "${encoding}"`));
    }
  });

  it('refuses corrupt gzip and deflate bodies with 400', async () => {
    const plain = Buffer.from(JSON.stringify(badLogs('bad-gzip')));
    const gz = gzipSync(plain);
    // truncated stream
    const truncated = await post(lookout, '/v1/logs', gz.subarray(0, Math.floor(gz.length / 2)), {
      ...JSON_TYPE,
      'content-encoding': 'gzip',
    });
    assertRefused(truncated, 400, /invalid gzip body/);
    // garbage after a valid gzip header
    const garbled = Buffer.concat([gz.subarray(0, 10), pseudoRandomBytes(7, 200)]);
    const garbledSent = await post(lookout, '/v1/logs', garbled, { ...JSON_TYPE, 'content-encoding': 'gzip' });
    assertRefused(garbledSent, 400, /invalid gzip body/);
    // not compressed at all
    const notGzip = await post(lookout, '/v1/logs', plain, { ...PB_TYPE, 'content-encoding': 'gzip' });
    assertRefused(notGzip, 400, /invalid gzip body/, 'protobuf');
    const notDeflate = await post(lookout, '/v1/logs', plain, { ...JSON_TYPE, 'content-encoding': 'deflate' });
    assertRefused(notDeflate, 400, /invalid deflate body/);
  });

  it('refuses oversize bodies with 413, plain, chunked and as a compression bomb', async () => {
    const big = logsJson('bad-oversize', 1);
    ((big.resourceLogs as Record<string, unknown>[])[0]!.scopeLogs as Record<string, unknown>[])[0]!.logRecords = Array.from(
      { length: 400 },
      (_, i) => ({ body: { stringValue: `bad-oversize-${i}-${'x'.repeat(300)}` } }),
    );
    for (let i = 0; i < 400; i++) refusedBodies.add(`bad-oversize-${i}-${'x'.repeat(300)}`);
    const bigText = Buffer.from(JSON.stringify(big));
    assert.ok(bigText.length > MAX_BODY * 1.5, 'precondition: body well over the limit');

    const plain = await post(lookout, '/v1/logs', bigText, JSON_TYPE);
    assertRefused(plain, 413, new RegExp(`larger than the limit of ${MAX_BODY} bytes`));

    // without Content-Length: the limit must hold while streaming
    const chunks = [bigText.subarray(0, 30_000), bigText.subarray(30_000, 60_000), bigText.subarray(60_000)];
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(new Uint8Array(chunk));
        controller.close();
      },
    });
    const response = await fetch(`${lookout.url}/v1/logs`, {
      method: 'POST',
      body: stream,
      headers: JSON_TYPE,
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    const chunked: Sent = { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
    assertRefused(chunked, 413, new RegExp(`larger than the limit of ${MAX_BODY} bytes`));

    // A bomb: ~16 MiB of JSON whitespace inside a valid request compresses to ~16 KiB.
    const bombText = Buffer.concat([Buffer.from(JSON.stringify(badLogs('bad-bomb')).slice(0, -1)), Buffer.alloc(16 * 1024 * 1024, 0x20), Buffer.from('}')]);
    const bomb = gzipSync(bombText, { level: 9 });
    assert.ok(bomb.length < MAX_BODY, `precondition: compressed bomb (${bomb.length} bytes) is under the limit`);
    const bombSent = await post(lookout, '/v1/logs', bomb, { ...JSON_TYPE, 'content-encoding': 'gzip' });
    assertRefused(bombSent, 413, new RegExp(`decompressed request body is larger than the limit of ${MAX_BODY} bytes`));
    const deflateBomb = deflateSync(bombText, { level: 9 });
    const deflateSent = await post(lookout, '/v1/logs', deflateBomb, { ...PB_TYPE, 'content-encoding': 'deflate' });
    assertRefused(deflateSent, 413, /decompressed request body is larger than the limit/, 'protobuf');
  });

  it('refuses a bad X-Scope-OrgID with 400', async () => {
    const body = JSON.stringify(badLogs('bad-tenant'));
    for (const tenant of ['..', 'a/b', 'has space', 'x'.repeat(151), 'semi;colon']) {
      const sent = await post(lookout, '/v1/logs', body, { ...JSON_TYPE, 'x-scope-orgid': tenant });
      assertRefused(sent, 400, /invalid X-Scope-OrgID/);
    }
  });

  it('stores the good records of a batch with bad ids and reports partial success', async () => {
    // Spans: two good, one with a 4-byte trace id, one with an all-zero trace id, one missing its span id.
    const goodA = span(TRACE_ID, '1111111111111111', 'good-a');
    const goodB = span(TRACE_ID, '2222222222222222', 'good-b');
    const shortTrace = span('deadbeef', '3333333333333333', 'bad-short-trace');
    const zeroTrace = span('00000000000000000000000000000000', '4444444444444444', 'bad-zero-trace');
    const noSpanId = { ...span(TRACE_ID, '', 'bad-no-span-id') };
    delete noSpanId.spanId;
    const sent = await post(lookout, '/v1/traces', JSON.stringify(tracesJson([goodA, shortTrace, goodB, zeroTrace, noSpanId])), JSON_TYPE);
    assert.equal(sent.status, 200, sent.body.toString('utf8'));
    const json = JSON.parse(sent.body.toString('utf8')) as { partialSuccess?: { rejectedSpans?: string | number; errorMessage?: string } };
    assert.equal(Number(json.partialSuccess?.rejectedSpans), 3, JSON.stringify(json));
    assert.match(json.partialSuccess?.errorMessage ?? '', /trace_id must be 16 bytes, got 4/);
    assert.match(json.partialSuccess?.errorMessage ?? '', /trace_id is all zeros/);
    assert.match(json.partialSuccess?.errorMessage ?? '', /span_id is missing/);
    expectedSpanIds.add('1111111111111111').add('2222222222222222');

    // The same over protobuf: the response is a protobuf ExportTraceServiceResponse.
    const goodC = span(TRACE_ID, '5555555555555555', 'good-c');
    const badC = span('0102', '6666666666666666', 'bad-c');
    const pb = await post(lookout, '/v1/traces', tracesProtobuf(tracesJson([badC, goodC])), PB_TYPE);
    assert.equal(pb.status, 200);
    const decoded = TraceResponse.toObject(TraceResponse.decode(pb.body), { longs: Number }) as {
      partialSuccess?: { rejectedSpans?: number; errorMessage?: string };
    };
    assert.equal(decoded.partialSuccess?.rejectedSpans, 1, JSON.stringify(decoded));
    assert.match(decoded.partialSuccess?.errorMessage ?? '', /span 0: trace_id must be 16 bytes, got 2/);
    expectedSpanIds.add('5555555555555555');

    // Logs: a present trace id of the wrong length rejects the record, the rest are stored.
    const mixed = logsJson('partial-logs', 4, [
      { body: { stringValue: 'bad-log-trace-id' }, traceId: 'abcdef' },
      { body: { stringValue: 'bad-log-span-id' }, spanId: '0102030405' },
    ]);
    refusedBodies.add('bad-log-trace-id').add('bad-log-span-id');
    const logs = await post(lookout, '/v1/logs', logsProtobuf(mixed), PB_TYPE);
    assert.equal(logs.status, 200);
    const logsDecoded = LogsResponse.toObject(LogsResponse.decode(logs.body), { longs: Number }) as {
      partialSuccess?: { rejectedLogRecords?: number; errorMessage?: string };
    };
    assert.equal(logsDecoded.partialSuccess?.rejectedLogRecords, 2, JSON.stringify(logsDecoded));
    assert.match(logsDecoded.partialSuccess?.errorMessage ?? '', /log record 4: trace_id must be 16 bytes, got 3/);
    assert.match(logsDecoded.partialSuccess?.errorMessage ?? '', /log record 5: span_id must be 8 bytes, got 5/);
    for (let i = 0; i < 4; i++) expectedBodies.add(`partial-logs-${i}`);
  });

  it('refuses bad gRPC payloads with INVALID_ARGUMENT (RESOURCE_EXHAUSTED when too large)', async () => {
    const full = logsProtobuf(badLogs('bad-grpc-truncated'));
    const truncated = await grpcExport(grpcClient, LOGS_PATH, full.subarray(0, full.length - 5));
    assert.equal(truncated.error?.code, grpc.status.INVALID_ARGUMENT, `truncated: ${truncated.error?.message}`);
    assert.match(truncated.error.details, /invalid OTLP logs protobuf/);

    let seed = 100;
    let garbage = pseudoRandomBytes(seed, 1024);
    while (decodes(LogsRequest, garbage)) garbage = pseudoRandomBytes(++seed, 1024);
    const random = await grpcExport(grpcClient, LOGS_PATH, garbage);
    assert.equal(random.error?.code, grpc.status.INVALID_ARGUMENT, `random: ${random.error?.message}`);
    assert.match(random.error.details, /invalid OTLP logs protobuf/);

    const metadata = new grpc.Metadata();
    metadata.set('x-scope-orgid', '../../etc');
    const tenant = await grpcExport(grpcClient, LOGS_PATH, logsProtobuf(badLogs('bad-grpc-tenant')), metadata);
    assert.equal(tenant.error?.code, grpc.status.INVALID_ARGUMENT, `tenant: ${tenant.error?.message}`);
    assert.match(tenant.error.details, /invalid X-Scope-OrgID/);

    const big = logsProtobuf(logsJson('bad-grpc-big', 2000));
    for (let i = 0; i < 2000; i++) refusedBodies.add(`bad-grpc-big-${i}`);
    assert.ok(big.length > MAX_BODY, `precondition: ${big.length} bytes over the limit`);
    const tooLarge = await grpcExport(grpcClient, LOGS_PATH, big);
    assert.equal(tooLarge.error?.code, grpc.status.RESOURCE_EXHAUSTED, `too large: ${tooLarge.error?.message}`);

    // Bad span ids over gRPC: partial success, not an error.
    const traces = await grpcExport(
      grpcClient,
      TRACES_PATH,
      tracesProtobuf(tracesJson([span(TRACE_ID, '7777777777777777', 'good-grpc'), span('ff', '8888888888888888', 'bad-grpc-span')])),
    );
    assert.equal(traces.error, null, traces.error?.message);
    const decoded = TraceResponse.toObject(TraceResponse.decode(traces.response!), { longs: Number }) as {
      partialSuccess?: { rejectedSpans?: number; errorMessage?: string };
    };
    assert.equal(decoded.partialSuccess?.rejectedSpans, 1);
    assert.match(decoded.partialSuccess?.errorMessage ?? '', /trace_id must be 16 bytes, got 1/);
    expectedSpanIds.add('7777777777777777');
  });

  it('is still alive and accepts good batches afterwards', async () => {
    await assertAlive();
    await sendGood('after-json', 'json');
    await sendGood('after-pb', 'protobuf');
    await sendGood('after-gzip', 'gzip-json');
    await sendGood('after-grpc', 'grpc');
    await assertAlive();
    assert.doesNotMatch(lookout.output(), /"level":(50|60)/, 'no error-level log lines');
  });

  it('stored every good record and nothing from a refused request', async () => {
    const code = await lookout.stop('SIGTERM');
    assert.equal(code, 0, `exit code after SIGTERM:\n${lookout.output()}`);

    const storage = await openStorage({ dataDir: lookout.dataDir, retention: { logs: 7, traces: 7, metrics: 30 } });
    try {
      assert.equal(await storage.logs.countLogs('default'), expectedBodies.size);
      const stored = await storage.logs.queryLogs({
        tenant: 'default',
        range: { start: 0n, end: BigInt(Date.now() + 86_400_000) * 1_000_000n },
        limit: 100_000,
      });
      const bodies = stored.map((record) => record.body);
      assert.equal(new Set(bodies).size, bodies.length, 'no record stored twice');
      assert.deepEqual(new Set(bodies), expectedBodies);
      for (const body of bodies) assert.ok(!refusedBodies.has(body), `record of a refused request stored: ${body}`);
      assert.ok(stored.every((record) => record.serviceName === SERVICE));

      const spans = await storage.spans.getTrace('default', TRACE_ID);
      assert.deepEqual(new Set(spans.map((s) => s.spanId)), expectedSpanIds);
      assert.equal(spans.length, expectedSpanIds.size);

      // Nothing under any other tenant either: the table totals equal the default tenant's.
      const stats = new Map((await storage.tableStats()).map((s) => [s.table, s.rows]));
      assert.equal(stats.get('otel_logs'), expectedBodies.size);
      assert.equal(stats.get('otel_traces'), expectedSpanIds.size);
    } finally {
      await storage.close();
    }
  });
});
