/**
 * The real OpenTelemetry JS SDK against a running Lookout, over each OTLP transport
 * (http/protobuf, http/json, grpc): a small trace, log records and metrics go out through the
 * SDK's own providers and exporters, and come back through the Tempo API (/api/traces/<id>,
 * /api/v2/traces/<id>, the protobuf form, /api/search) and the storage queriers.
 *
 * Providers are used directly (no global registration), one set per transport, each with its
 * own service name, so the three runs cannot see each other's data by accident.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT_CONTEXT, SeverityNumber, SpanKind, SpanStatusCode, trace, type HrTime, type Span } from '@opentelemetry/api';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as GrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';
import { loadConfig } from '../packages/server/src/config/index.js';
import { startLookout, type RunningLookout } from '../packages/server/src/main.js';
import type { KeyValue } from '../packages/server/src/model/index.js';
import { REPO_ROOT, tempDir } from './support/lookout-process.js';

// ---------------------------------------------------------------------------------------------
// Transports

interface Transport {
  /** OTEL_EXPORTER_OTLP_PROTOCOL spelling. */
  name: 'http/protobuf' | 'http/json' | 'grpc';
  /** Suffix of the service name, so each transport has its own data. */
  tag: string;
  traces(lookout: RunningLookout): SpanExporter;
  logs(lookout: RunningLookout): LogRecordExporter;
  metrics(lookout: RunningLookout): PushMetricExporter;
}

const grpcUrl = (lookout: RunningLookout) => `http://127.0.0.1:${lookout.grpcPort}`;

const TRANSPORTS: Transport[] = [
  {
    name: 'http/protobuf',
    tag: 'proto',
    traces: (l) => new ProtoTraceExporter({ url: `${l.httpUrl}/v1/traces` }),
    logs: (l) => new ProtoLogExporter({ url: `${l.httpUrl}/v1/logs` }),
    metrics: (l) => new ProtoMetricExporter({ url: `${l.httpUrl}/v1/metrics` }),
  },
  {
    name: 'http/json',
    tag: 'json',
    traces: (l) => new JsonTraceExporter({ url: `${l.httpUrl}/v1/traces` }),
    logs: (l) => new JsonLogExporter({ url: `${l.httpUrl}/v1/logs` }),
    metrics: (l) => new JsonMetricExporter({ url: `${l.httpUrl}/v1/metrics` }),
  },
  {
    name: 'grpc',
    tag: 'grpc',
    traces: (l) => new GrpcTraceExporter({ url: grpcUrl(l) }),
    logs: (l) => new GrpcLogExporter({ url: grpcUrl(l) }),
    metrics: (l) => new GrpcMetricExporter({ url: grpcUrl(l) }),
  },
];

/** What the SDK's exporters report for each export call; failures are otherwise only logged. */
interface ExportOutcome {
  code: number;
  error?: Error;
}

/** Records the result of every export() of an exporter (the SDK would swallow failures). */
function recordOutcomes<T extends { export(items: never, done: (result: ExportOutcome) => void): void }>(
  exporter: T,
  outcomes: ExportOutcome[],
): T {
  type ExportFn = (items: unknown, done: (result: ExportOutcome) => void) => void;
  const target = exporter as unknown as { export: ExportFn };
  const original = target.export.bind(exporter);
  target.export = (items, done) =>
    original(items, (result) => {
      outcomes.push(result);
      done(result);
    });
  return exporter;
}

function assertExportsSucceeded(what: string, outcomes: ExportOutcome[]): void {
  assert.ok(outcomes.length > 0, `${what}: the SDK exported nothing`);
  for (const outcome of outcomes) {
    assert.equal(outcome.code, 0, `${what}: export failed: ${outcome.error?.stack ?? outcome.error?.message ?? 'no error given'}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Time and values

const NS_PER_S = 1_000_000_000n;

function hr(ns: bigint): HrTime {
  return [Number(ns / NS_PER_S), Number(ns % NS_PER_S)];
}

/** Attribute values the way OTLP/Tempo JSON writes them (int64 as decimal strings). */
type Typed =
  | { stringValue: string }
  | { intValue: string }
  | { doubleValue: number }
  | { boolValue: boolean }
  | { arrayValue: { values: Typed[] } }
  | { kvlistValue: { values: { key: string; value: Typed }[] } };

const str = (v: string): Typed => ({ stringValue: v });
const int = (v: number): Typed => ({ intValue: String(v) });
const dbl = (v: number): Typed => ({ doubleValue: v });
const bool = (v: boolean): Typed => ({ boolValue: v });
const arr = (...values: Typed[]): Typed => ({ arrayValue: { values } });

/** The OTLP value the SDK's transformer makes of a plain JS attribute value. */
function typedFromJs(value: unknown): Typed {
  if (typeof value === 'string') return str(value);
  if (typeof value === 'boolean') return bool(value);
  if (typeof value === 'number') return Number.isInteger(value) ? int(value) : dbl(value);
  if (Array.isArray(value)) return arr(...value.map(typedFromJs));
  throw new Error(`unexpected attribute value ${String(value)}`);
}

function typedMapFromJs(attributes: Record<string, unknown>): Record<string, Typed> {
  return sortedRecord(Object.entries(attributes).map(([k, v]) => [k, typedFromJs(v)]));
}

function sortedRecord<V>(entries: [string, V][]): Record<string, V> {
  const out: Record<string, V> = {};
  for (const [k, v] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    assert.ok(!(k in out), `duplicate attribute key ${k}`);
    out[k] = v;
  }
  return out;
}

/** A wire/JSON AnyValue, checked to carry exactly one typed field, in the Typed shape. */
function typedFromWire(value: unknown, where: string): Typed {
  assert.ok(value !== null && typeof value === 'object', `${where}: value is not an object: ${JSON.stringify(value)}`);
  const entries = Object.entries(value as Record<string, unknown>);
  assert.equal(entries.length, 1, `${where}: expected exactly one typed field in ${JSON.stringify(value)}`);
  const [field, v] = entries[0]!;
  switch (field) {
    case 'stringValue':
    case 'doubleValue':
    case 'boolValue':
      return { [field]: v } as Typed;
    case 'intValue':
      // int64 is a decimal string in Tempo's (and protobuf-JSON's) output.
      assert.equal(typeof v, 'string', `${where}: intValue must be a decimal string, got ${JSON.stringify(v)}`);
      return { intValue: v as string };
    case 'arrayValue': {
      const values = ((v as { values?: unknown[] }).values ?? []).map((x, i) => typedFromWire(x, `${where}[${i}]`));
      return { arrayValue: { values } };
    }
    case 'kvlistValue': {
      const values = ((v as { values?: { key: string; value: unknown }[] }).values ?? []).map((kv) => ({
        key: kv.key,
        value: typedFromWire(kv.value, `${where}.${kv.key}`),
      }));
      return { kvlistValue: { values } };
    }
    default:
      assert.fail(`${where}: unexpected AnyValue field ${field}`);
  }
}

function typedMapFromWire(list: unknown, where: string): Record<string, Typed> {
  if (list === undefined) return {};
  assert.ok(Array.isArray(list), `${where}: attributes are not a list`);
  return sortedRecord(
    (list as { key: string; value: unknown }[]).map((kv) => [kv.key, typedFromWire(kv.value, `${where}.${kv.key}`)]),
  );
}

/** Lookout's model KeyValue[] (storage read side) in the Typed shape. */
function typedMapFromModel(list: readonly KeyValue[], where: string): Record<string, Typed> {
  return typedMapFromWire(list, where);
}

// ---------------------------------------------------------------------------------------------
// The trace each transport sends

interface SentTrace {
  service: string;
  traceId: string;
  rootSpanId: string;
  child1SpanId: string;
  child2SpanId: string;
  rootStartNs: bigint;
  rootEndNs: bigint;
  /** The spans as Tempo should return them, in the normalised view. */
  expected: SpanView[];
  resource: Resource;
}

interface SpanView {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, Typed>;
  events: { name: string; timeUnixNano: string; attributes: Record<string, Typed> }[];
  links: { traceId: string; spanId: string; attributes: Record<string, Typed> }[];
  status: { code: string; message: string };
  resource: Record<string, Typed>;
  scope: { name: string; version: string };
}

const TRACER = { name: 'checkout-tracer', version: '2.0.0' };

function resourceFor(tag: string): Resource {
  // The SDK's default resource (telemetry.sdk.*) merged with ours, as an application would.
  return defaultResource().merge(
    resourceFromAttributes({
      'service.name': `checkout-${tag}`,
      'service.version': '1.4.2',
      'service.instance.id': `instance-${tag}`,
      'deployment.environment.name': 'test',
      'host.cpu.count': 8,
      'feature.flags.on': true,
      'sample.ratio': 0.75,
    }),
  );
}

function resourceAttributesOf(resource: Resource): Record<string, unknown> {
  return { ...resource.attributes };
}

const ROOT_ATTRIBUTES = (tag: string) => ({
  'http.request.method': 'POST',
  'http.route': '/checkout',
  'http.status_code': 503,
  'test.protocol': tag,
  'test.string': 'hello "world" ✓',
  'test.int': 42,
  'test.negative_int': -7,
  'test.double': 3.25,
  'test.bool': true,
  'test.false': false,
  'test.string_array': ['a', 'b', 'c'],
  'test.int_array': [1, 2, 3],
  'test.double_array': [0.5, 1.5],
  'test.bool_array': [true, false],
});

async function sendTrace(lookout: RunningLookout, transport: Transport, baseNs: bigint): Promise<SentTrace> {
  const outcomes: ExportOutcome[] = [];
  const resource = resourceFor(transport.tag);
  const provider = new TracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor({ exporter: recordOutcomes(transport.traces(lookout), outcomes) })],
  });
  const tracer = provider.getTracer(TRACER.name, TRACER.version);
  const service = `checkout-${transport.tag}`;

  const linkedTraceId = 'f'.repeat(8) + Buffer.from(`${transport.tag}-linked`).toString('hex').padEnd(24, '0').slice(0, 24);
  const linkedSpanId = '0123456789abcdef';

  const rootStartNs = baseNs + 123_456_789n;
  const rootEndNs = rootStartNs + 1_500_000_000n; // exactly 1.5 s
  const root = tracer.startSpan('POST /checkout', {
    kind: SpanKind.SERVER,
    startTime: hr(rootStartNs),
    attributes: ROOT_ATTRIBUTES(transport.tag),
    links: [
      {
        context: { traceId: linkedTraceId, spanId: linkedSpanId, traceFlags: 1 },
        attributes: { 'link.reason': 'retry-of', 'link.attempt': 2 },
      },
    ],
  });
  const rootContext = trace.setSpan(ROOT_CONTEXT, root);

  const child1StartNs = rootStartNs + 100_000_001n;
  const child1EndNs = rootStartNs + 700_000_003n;
  const event1Ns = child1StartNs + 50_000_007n;
  const event2Ns = child1StartNs + 500_000_011n;
  const child1 = tracer.startSpan(
    'charge card',
    { kind: SpanKind.CLIENT, startTime: hr(child1StartNs), attributes: { 'peer.service': 'payments', 'rpc.attempts': 2 } },
    rootContext,
  );
  child1.addEvent('retry', { 'retry.attempt': 2, 'retry.reason': 'timeout', 'retry.backoff_ms': 12.5, 'retry.final': false }, hr(event1Ns));
  child1.addEvent('card.declined', hr(event2Ns));
  child1.setStatus({ code: SpanStatusCode.OK });
  child1.end(hr(child1EndNs));

  const child2StartNs = rootStartNs + 800_000_000n;
  const child2EndNs = rootStartNs + 1_200_000_999n;
  const child2 = tracer.startSpan(
    'publish order.failed',
    { kind: SpanKind.PRODUCER, startTime: hr(child2StartNs), attributes: { 'messaging.system': 'kafka' } },
    rootContext,
  );
  child2.end(hr(child2EndNs));

  root.setStatus({ code: SpanStatusCode.ERROR, message: 'payment declined' });
  root.end(hr(rootEndNs));

  await provider.forceFlush();
  await provider.shutdown();
  assertExportsSucceeded(`${transport.name} traces`, outcomes);

  const traceId = root.spanContext().traceId;
  const ids = (span: Span) => span.spanContext().spanId;
  const resourceView = typedMapFromJs(resourceAttributesOf(resource));
  const common = { traceId, resource: resourceView, scope: { ...TRACER } };
  const expected: SpanView[] = [
    {
      ...common,
      spanId: ids(root),
      parentSpanId: '',
      name: 'POST /checkout',
      kind: 'SPAN_KIND_SERVER',
      startTimeUnixNano: rootStartNs.toString(),
      endTimeUnixNano: rootEndNs.toString(),
      attributes: sortedRecord<Typed>([
        ['http.request.method', str('POST')],
        ['http.route', str('/checkout')],
        ['http.status_code', int(503)],
        ['test.protocol', str(transport.tag)],
        ['test.string', str('hello "world" ✓')],
        ['test.int', int(42)],
        ['test.negative_int', int(-7)],
        ['test.double', dbl(3.25)],
        ['test.bool', bool(true)],
        ['test.false', bool(false)],
        ['test.string_array', arr(str('a'), str('b'), str('c'))],
        ['test.int_array', arr(int(1), int(2), int(3))],
        ['test.double_array', arr(dbl(0.5), dbl(1.5))],
        ['test.bool_array', arr(bool(true), bool(false))],
      ]),
      events: [],
      links: [
        {
          traceId: linkedTraceId,
          spanId: linkedSpanId,
          attributes: sortedRecord<Typed>([
            ['link.reason', str('retry-of')],
            ['link.attempt', int(2)],
          ]),
        },
      ],
      status: { code: 'STATUS_CODE_ERROR', message: 'payment declined' },
    },
    {
      ...common,
      spanId: ids(child1),
      parentSpanId: ids(root),
      name: 'charge card',
      kind: 'SPAN_KIND_CLIENT',
      startTimeUnixNano: child1StartNs.toString(),
      endTimeUnixNano: child1EndNs.toString(),
      attributes: sortedRecord<Typed>([
        ['peer.service', str('payments')],
        ['rpc.attempts', int(2)],
      ]),
      events: [
        {
          name: 'retry',
          timeUnixNano: event1Ns.toString(),
          attributes: sortedRecord<Typed>([
            ['retry.attempt', int(2)],
            ['retry.reason', str('timeout')],
            ['retry.backoff_ms', dbl(12.5)],
            ['retry.final', bool(false)],
          ]),
        },
        { name: 'card.declined', timeUnixNano: event2Ns.toString(), attributes: {} },
      ],
      links: [],
      status: { code: 'STATUS_CODE_OK', message: '' },
    },
    {
      ...common,
      spanId: ids(child2),
      parentSpanId: ids(root),
      name: 'publish order.failed',
      kind: 'SPAN_KIND_PRODUCER',
      startTimeUnixNano: child2StartNs.toString(),
      endTimeUnixNano: child2EndNs.toString(),
      attributes: { 'messaging.system': str('kafka') },
      events: [],
      links: [],
      status: { code: 'STATUS_CODE_UNSET', message: '' },
    },
  ];
  // The literal expectations above must agree with what the SDK itself will have sent.
  assert.deepEqual(expected[0]!.attributes, typedMapFromJs(ROOT_ATTRIBUTES(transport.tag)));
  assert.equal(new Set(expected.map((s) => s.spanId)).size, 3);

  return {
    service,
    traceId,
    rootSpanId: ids(root),
    child1SpanId: ids(child1),
    child2SpanId: ids(child2),
    rootStartNs,
    rootEndNs,
    expected,
    resource,
  };
}

// ---------------------------------------------------------------------------------------------
// Reading Tempo's trace format

/** Tempo writes ids as base64 (gogo jsonpb bytes); hex is accepted too when it is unambiguous. */
function idToHex(id: unknown, bytes: number, where: string): string {
  if (id === undefined || id === '') return '';
  assert.equal(typeof id, 'string', `${where}: id is not a string: ${JSON.stringify(id)}`);
  const text = id as string;
  if (text.length === bytes * 2 && /^[0-9a-fA-F]+$/.test(text)) return text.toLowerCase();
  const decoded = Buffer.from(text, 'base64');
  assert.equal(decoded.length, bytes, `${where}: id ${text} is neither ${bytes}-byte hex nor base64`);
  return decoded.toString('hex');
}

interface WireSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: string;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes?: unknown;
  events?: { timeUnixNano?: string; name?: string; attributes?: unknown }[];
  links?: { traceId?: string; spanId?: string; attributes?: unknown }[];
  status?: { code?: string; message?: string };
}

interface WireBatch {
  resource?: { attributes?: unknown };
  scopeSpans?: { scope?: { name?: string; version?: string }; spans?: WireSpan[] }[];
}

/** Every span of Tempo-shaped batches, flattened with its resource and scope, sorted by start time. */
function spansFromBatches(batches: unknown, where: string): SpanView[] {
  assert.ok(Array.isArray(batches), `${where}: no batches array in the response`);
  const out: SpanView[] = [];
  for (const batch of batches as WireBatch[]) {
    const resource = typedMapFromWire(batch.resource?.attributes, `${where} resource`);
    assert.ok(Array.isArray(batch.scopeSpans), `${where}: batch without scopeSpans`);
    for (const scopeSpans of batch.scopeSpans) {
      const scope = { name: scopeSpans.scope?.name ?? '', version: scopeSpans.scope?.version ?? '' };
      for (const span of scopeSpans.spans ?? []) {
        const at = `${where} span ${span.name}`;
        assert.equal(typeof span.startTimeUnixNano, 'string', `${at}: startTimeUnixNano must be a decimal string`);
        assert.equal(typeof span.endTimeUnixNano, 'string', `${at}: endTimeUnixNano must be a decimal string`);
        out.push({
          traceId: idToHex(span.traceId, 16, `${at} traceId`),
          spanId: idToHex(span.spanId, 8, `${at} spanId`),
          parentSpanId: idToHex(span.parentSpanId, 8, `${at} parentSpanId`),
          name: span.name ?? '',
          kind: span.kind ?? 'SPAN_KIND_UNSPECIFIED',
          startTimeUnixNano: span.startTimeUnixNano!,
          endTimeUnixNano: span.endTimeUnixNano!,
          attributes: typedMapFromWire(span.attributes, `${at} attributes`),
          events: (span.events ?? []).map((e) => ({
            name: e.name ?? '',
            timeUnixNano: e.timeUnixNano ?? '',
            attributes: typedMapFromWire(e.attributes, `${at} event ${e.name}`),
          })),
          links: (span.links ?? []).map((l) => ({
            traceId: idToHex(l.traceId, 16, `${at} link traceId`),
            spanId: idToHex(l.spanId, 8, `${at} link spanId`),
            attributes: typedMapFromWire(l.attributes, `${at} link attributes`),
          })),
          status: { code: span.status?.code ?? 'STATUS_CODE_UNSET', message: span.status?.message ?? '' },
          resource,
          scope,
        });
      }
    }
  }
  return out.sort((a, b) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1));
}

type ProtoMessageType = {
  decode(bytes: Uint8Array): unknown;
  toObject(message: unknown, options: Record<string, unknown>): Record<string, unknown>;
};

function tracesDataType(): ProtoMessageType {
  // Resolved from the server package, which pins the otlp-transformer that still ships the decoders.
  const require = createRequire(join(REPO_ROOT, 'packages/server/package.json'));
  const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
    opentelemetry: { proto: { trace: { v1: { TracesData: ProtoMessageType } } } };
  };
  return root.opentelemetry.proto.trace.v1.TracesData;
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

async function getJson(lookout: RunningLookout, path: string): Promise<{ status: number; body: unknown; type: string }> {
  const response = await fetch(`${lookout.httpUrl}${path}`, { headers: { Accept: 'application/json' } });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // left as text for the assertion message
  }
  return { status: response.status, body, type: response.headers.get('content-type') ?? '' };
}

interface SearchTrace {
  traceID: string;
  rootServiceName?: string;
  rootTraceName?: string;
  startTimeUnixNano?: string;
  durationMs?: number;
  spanSet?: { spans?: { spanID: string; durationNanos?: string; startTimeUnixNano?: string }[]; matched?: number };
  spanSets?: { spans?: { spanID: string; durationNanos?: string; startTimeUnixNano?: string }[]; matched?: number }[];
}

/** Tempo trims leading zeros of ids in search results; both spellings name the same trace. */
const padId = (id: string, bytes: number) => id.toLowerCase().padStart(bytes * 2, '0');

async function search(lookout: RunningLookout, sent: SentTrace, params: Record<string, string>): Promise<SearchTrace[]> {
  const query = new URLSearchParams({
    start: String(sent.rootStartNs / NS_PER_S - 600n),
    end: String(sent.rootEndNs / NS_PER_S + 600n),
    limit: '50',
    ...params,
  });
  const { status, body } = await getJson(lookout, `/api/search?${query.toString()}`);
  assert.equal(status, 200, `GET /api/search?${query.toString()} → ${status}: ${JSON.stringify(body)}`);
  const traces = (body as { traces?: SearchTrace[] }).traces;
  assert.ok(Array.isArray(traces), `search answer without a traces array: ${JSON.stringify(body)}`);
  return traces;
}

function idsOf(traces: SearchTrace[]): string[] {
  return traces.map((t) => padId(t.traceID, 16));
}

// ---------------------------------------------------------------------------------------------
// The test

describe('OpenTelemetry JS SDK → Lookout (OTLP over http/protobuf, http/json, grpc)', { timeout: 240_000 }, () => {
  let lookout: RunningLookout;
  let dataDir: string;
  const testStartMs = Date.now();
  // Whole seconds, 30 s in the past: span times are set explicitly, to the nanosecond.
  const baseNs = (BigInt(Date.now()) / 1000n - 30n) * NS_PER_S;

  before(async () => {
    dataDir = tempDir('otlp-sdk');
    const config = loadConfig({ host: '127.0.0.1', port: '0', grpcPort: '0', dataDir, logLevel: 'warn' }, {});
    lookout = await startLookout(config);
  });

  after(async () => {
    await lookout?.stop('test finished');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  for (const [index, transport] of TRANSPORTS.entries()) {
    describe(transport.name, () => {
      let sent: SentTrace;

      before(async () => {
        // Each transport's trace starts 5 s after the previous one's.
        sent = await sendTrace(lookout, transport, baseNs + BigInt(index) * 5n * NS_PER_S);
      });

      test('GET /api/traces/<id> returns every span, attribute, event, link and the resource', async () => {
        const { status, body } = await getJson(lookout, `/api/traces/${sent.traceId}`);
        assert.equal(status, 200, JSON.stringify(body));
        const spans = spansFromBatches((body as { batches?: unknown }).batches, '/api/traces');
        assert.deepEqual(spans, sent.expected);
      });

      test('GET /api/v2/traces/<id> returns the same trace', async () => {
        const { status, body } = await getJson(lookout, `/api/v2/traces/${sent.traceId}`);
        assert.equal(status, 200, JSON.stringify(body));
        const traceObject = (body as { trace?: { batches?: unknown; resourceSpans?: unknown } }).trace;
        assert.ok(traceObject, `v2 answer without "trace": ${JSON.stringify(body)}`);
        const spans = spansFromBatches(traceObject.resourceSpans ?? traceObject.batches, '/api/v2/traces');
        assert.deepEqual(spans, sent.expected);
      });

      test('GET /api/traces/<id> with Accept: application/protobuf decodes as OTLP TracesData', async () => {
        const response = await fetch(`${lookout.httpUrl}/api/traces/${sent.traceId}`, { headers: { Accept: 'application/protobuf' } });
        const bytes = new Uint8Array(await response.arrayBuffer());
        assert.equal(response.status, 200, Buffer.from(bytes).toString());
        assert.match(response.headers.get('content-type') ?? '', /^application\/(x-)?protobuf/);
        const TracesData = tracesDataType();
        const object = TracesData.toObject(TracesData.decode(bytes), { longs: String, enums: String, bytes: String });
        const spans = spansFromBatches(object.resourceSpans, 'protobuf');
        assert.deepEqual(spans, sent.expected);
      });

      test('GET /api/traces/<unknown id> is 404', async () => {
        const unknown = sent.traceId.split('').reverse().join('');
        const { status } = await getJson(lookout, `/api/traces/${unknown}`);
        assert.equal(status, 404);
      });

      test('/api/search finds the trace by service, attribute and duration, and only when it matches', async () => {
        const service = sent.service;
        const traceId = sent.traceId;
        const q = (traceql: string) => ({ q: traceql });

        // By service: exactly this trace, with Tempo's summary fields.
        const byService = await search(lookout, sent, q(`{ resource.service.name = "${service}" }`));
        assert.deepEqual(idsOf(byService), [traceId]);
        const summary = byService[0]!;
        assert.equal(summary.rootServiceName, service);
        assert.equal(summary.rootTraceName, 'POST /checkout');
        assert.equal(summary.startTimeUnixNano, sent.rootStartNs.toString());
        assert.equal(summary.durationMs, 1500);

        // By span attribute: the root span is the match.
        const byStatus = await search(lookout, sent, q(`{ span.http.status_code >= 500 && resource.service.name = "${service}" }`));
        assert.deepEqual(idsOf(byStatus), [traceId]);
        const spanSets = byStatus[0]!.spanSets ?? (byStatus[0]!.spanSet ? [byStatus[0]!.spanSet] : []);
        assert.equal(spanSets.length, 1, JSON.stringify(byStatus[0]));
        assert.deepEqual(
          spanSets[0]!.spans?.map((s) => [padId(s.spanID, 8), s.durationNanos]),
          [[sent.rootSpanId, '1500000000']],
        );
        assert.equal(spanSets[0]!.matched, 1);

        // An attribute only this transport's trace has, without naming the service.
        assert.deepEqual(idsOf(await search(lookout, sent, q(`{ span.test.protocol = "${transport.tag}" }`))), [traceId]);
        // A span attribute on a child span: the child's own kind and name.
        assert.deepEqual(
          idsOf(await search(lookout, sent, q(`{ span.peer.service = "payments" && resource.service.name = "${service}" && kind = client }`))),
          [traceId],
        );
        // All three transports' traces have status code 503 on their root.
        assert.ok(idsOf(await search(lookout, sent, q('{ span.http.status_code >= 500 }'))).includes(traceId));

        // Conditions that do not hold.
        for (const miss of [
          `{ resource.service.name = "${service}-nope" }`,
          `{ span.http.status_code = 404 && resource.service.name = "${service}" }`,
          `{ span.http.status_code < 500 && resource.service.name = "${service}" }`,
          `{ span.test.protocol = "${transport.tag}" && name = "charge card" }`,
        ]) {
          assert.ok(!idsOf(await search(lookout, sent, q(miss))).includes(traceId), `${miss} should not find the trace`);
        }

        // Duration, the Tempo tags way (trace duration is 1.5 s) ...
        const tags = { tags: `service.name=${service}` };
        assert.deepEqual(idsOf(await search(lookout, sent, tags)), [traceId]);
        assert.deepEqual(idsOf(await search(lookout, sent, { ...tags, minDuration: '1s' })), [traceId]);
        assert.deepEqual(idsOf(await search(lookout, sent, { ...tags, maxDuration: '2s' })), [traceId]);
        assert.deepEqual(idsOf(await search(lookout, sent, { ...tags, minDuration: '1499ms', maxDuration: '1501ms' })), [traceId]);
        assert.deepEqual(idsOf(await search(lookout, sent, { ...tags, minDuration: '2s' })), []);
        assert.deepEqual(idsOf(await search(lookout, sent, { ...tags, maxDuration: '1s' })), []);
        assert.deepEqual(idsOf(await search(lookout, sent, { tags: 'http.status_code=503 test.protocol=' + transport.tag })), [traceId]);
        assert.deepEqual(idsOf(await search(lookout, sent, { tags: `service.name=${service}-nope` })), []);

        // ... and the TraceQL way (span duration of the root).
        assert.deepEqual(idsOf(await search(lookout, sent, q(`{ resource.service.name = "${service}" && duration >= 1s }`))), [traceId]);
        assert.deepEqual(idsOf(await search(lookout, sent, q(`{ resource.service.name = "${service}" && duration > 1500ms }`))), []);

        // A time range that ends before the trace does not find it.
        const before = await search(lookout, sent, {
          ...q(`{ resource.service.name = "${service}" }`),
          start: String(sent.rootStartNs / NS_PER_S - 3600n),
          end: String(sent.rootStartNs / NS_PER_S - 1800n),
        });
        assert.deepEqual(idsOf(before), []);
      });

      test('log records arrive with trace context, severity, body and typed attributes', async () => {
        const outcomes: ExportOutcome[] = [];
        const resource = resourceFor(transport.tag);
        const provider = new LoggerProvider({
          resource,
          processors: [new BatchLogRecordProcessor({ exporter: recordOutcomes(transport.logs(lookout), outcomes) })],
        });
        const logger = provider.getLogger('checkout-logger', '1.0.0');
        // Inside the child span: the SDK takes trace and span id from the given context.
        const spanContext = { traceId: sent.traceId, spanId: sent.child1SpanId, traceFlags: 1 };
        const inSpan = trace.setSpanContext(ROOT_CONTEXT, spanContext);
        const declinedNs = sent.rootStartNs + 400_000_013n;
        logger.emit({
          timestamp: hr(declinedNs),
          observedTimestamp: hr(declinedNs + 17n),
          severityNumber: SeverityNumber.ERROR,
          severityText: 'ERROR',
          body: 'card declined by issuer',
          attributes: { 'order.id': 'o-123', amount: 12.5, attempt: 2, retry: true, tags: ['vip', 'eu'] },
          context: inSpan,
        });
        const finishedNs = sent.rootEndNs + 1_000n;
        logger.emit({
          timestamp: hr(finishedNs),
          observedTimestamp: hr(finishedNs + 1n),
          severityNumber: SeverityNumber.INFO,
          severityText: 'INFO',
          body: { msg: 'checkout finished', items: 3 },
          attributes: { component: 'cart' },
        });
        await provider.forceFlush();
        await provider.shutdown();
        assertExportsSucceeded(`${transport.name} logs`, outcomes);

        const range = { start: sent.rootStartNs - 60n * NS_PER_S, end: sent.rootEndNs + 60n * NS_PER_S };
        const resourceView = typedMapFromJs(resourceAttributesOf(resource));

        const inTrace = await lookout.storage.logs.queryLogs({ tenant: 'default', range, traceId: sent.traceId, limit: 100 });
        assert.equal(inTrace.length, 1, JSON.stringify(inTrace, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
        const declined = inTrace[0]!;
        assert.equal(declined.traceId, sent.traceId);
        assert.equal(declined.spanId, sent.child1SpanId);
        assert.equal(declined.flags & 0xff, 1, 'sampled flag of the span context');
        assert.equal(declined.timestamp, declinedNs);
        assert.equal(declined.observedTimestamp, declinedNs + 17n);
        assert.equal(declined.severityNumber, 17);
        assert.equal(declined.severityText, 'ERROR');
        assert.equal(declined.body, 'card declined by issuer');
        assert.equal(declined.bodyType, '');
        assert.equal(declined.serviceName, sent.service);
        assert.deepEqual(
          typedMapFromModel(declined.attributes, 'log attributes'),
          sortedRecord<Typed>([
            ['order.id', str('o-123')],
            ['amount', dbl(12.5)],
            ['attempt', int(2)],
            ['retry', bool(true)],
            ['tags', arr(str('vip'), str('eu'))],
          ]),
        );
        assert.deepEqual(typedMapFromModel(declined.resource.attributes, 'log resource'), resourceView);
        assert.equal(declined.scope.name, 'checkout-logger');
        assert.equal(declined.scope.version, '1.0.0');

        const ofService = await lookout.storage.logs.queryLogs({ tenant: 'default', range, serviceName: sent.service, limit: 100 });
        assert.equal(ofService.length, 2);
        // Newest first.
        const [finished, first] = ofService;
        assert.equal(first!.timestamp, declinedNs);
        assert.equal(finished!.timestamp, finishedNs);
        assert.equal(finished!.traceId, '');
        assert.equal(finished!.spanId, '');
        assert.equal(finished!.severityNumber, 9);
        assert.equal(finished!.severityText, 'INFO');
        assert.equal(finished!.bodyType, 'kvlist');
        assert.deepEqual(typedFromWire({ kvlistValue: { values: JSON.parse(finished!.body) as unknown } }, 'kvlist body'), {
          kvlistValue: {
            values: [
              { key: 'msg', value: str('checkout finished') },
              { key: 'items', value: int(3) },
            ],
          },
        });
        assert.deepEqual(typedMapFromModel(finished!.attributes, 'log attributes'), { component: str('cart') });
        assert.equal(finished!.serviceName, sent.service);
      });

      test('metrics arrive as Prometheus series with the right names, labels and values', async () => {
        const outcomes: ExportOutcome[] = [];
        const resource = resourceFor(transport.tag);
        const reader = new PeriodicExportingMetricReader({
          exporter: recordOutcomes(transport.metrics(lookout), outcomes),
          exportIntervalMillis: 3_600_000,
        });
        const provider = new MeterProvider({ resource, readers: [reader] });
        const meter = provider.getMeter('checkout-meter', '3.0.0');

        const requests = meter.createCounter('requests', { description: 'Checkout requests', unit: '{request}' });
        requests.add(1, { route: '/checkout' });
        requests.add(2, { route: '/checkout' });
        requests.add(2, { route: '/cart' });

        const duration = meter.createHistogram('http.server.duration', {
          description: 'Server duration',
          unit: 's',
          advice: { explicitBucketBoundaries: [0.1, 0.5, 1] },
        });
        for (const v of [0.0625, 0.25, 0.75, 2]) duration.record(v, { 'http.route': '/checkout' });

        const queue = meter.createUpDownCounter('queue.size', { description: 'Orders waiting' });
        queue.add(5);
        queue.add(-2);

        const temperature = meter.createGauge('cpu.temperature', { description: 'CPU temperature', unit: 'Cel' });
        temperature.record(21.5, { core: 0 });

        await provider.forceFlush();
        await provider.shutdown();
        assertExportsSucceeded(`${transport.name} metrics`, outcomes);
        const endMs = Date.now();

        const job = `checkout-${transport.tag}`;
        const identity = {
          job,
          instance: `instance-${transport.tag}`,
          otel_scope_name: 'checkout-meter',
          otel_scope_version: '3.0.0',
        };
        const select = async (name: string, extra: Record<string, string> = {}) => {
          const series = await lookout.storage.series.selectSeries({
            tenant: 'default',
            equals: { __name__: name, job, ...extra },
            startMs: testStartMs - 60_000,
            endMs: endMs + 60_000,
          });
          return series.sort((a, b) => (JSON.stringify(a.labels) < JSON.stringify(b.labels) ? -1 : 1));
        };
        /** One series with exactly these labels, every sample (one per export) with this value. */
        const expectSeries = async (name: string, labels: Record<string, string>, value: number) => {
          const found = await select(name, labels);
          assert.equal(found.length, 1, `${name}${JSON.stringify(labels)}: ${JSON.stringify(found)}`);
          const series = found[0]!;
          assert.deepEqual(series.labels, { __name__: name, ...identity, ...labels });
          assert.ok(series.samples.length >= 1, `${name}${JSON.stringify(labels)} has no samples`);
          for (const sample of series.samples) {
            assert.equal(sample.value, value, `${name}${JSON.stringify(labels)}`);
            assert.equal(sample.stale, false);
            assert.ok(sample.timestampMs >= testStartMs && sample.timestampMs <= endMs, `sample time ${sample.timestampMs}`);
          }
        };

        assert.equal((await select('requests_total')).length, 2);
        await expectSeries('requests_total', { route: '/checkout' }, 3);
        await expectSeries('requests_total', { route: '/cart' }, 2);

        const buckets = await select('http_server_duration_seconds_bucket');
        assert.deepEqual(buckets.map((s) => s.labels.le).sort(), ['+Inf', '0.1', '0.5', '1']);
        for (const [le, count] of [['0.1', 1], ['0.5', 2], ['1', 3], ['+Inf', 4]] as const) {
          await expectSeries('http_server_duration_seconds_bucket', { http_route: '/checkout', le }, count);
        }
        await expectSeries('http_server_duration_seconds_count', { http_route: '/checkout' }, 4);
        await expectSeries('http_server_duration_seconds_sum', { http_route: '/checkout' }, 3.0625);

        await expectSeries('queue_size', {}, 3);
        await expectSeries('cpu_temperature_celsius', { core: '0' }, 21.5);

        // target_info carries the other resource attributes as labels.
        const targetInfo = await select('target_info');
        assert.equal(targetInfo.length, 1, JSON.stringify(targetInfo));
        const expectedTargetLabels: Record<string, string> = { __name__: 'target_info', job, instance: `instance-${transport.tag}` };
        for (const [key, value] of Object.entries(resourceAttributesOf(resource))) {
          if (key === 'service.name' || key === 'service.instance.id') continue;
          expectedTargetLabels[key.replace(/[^a-zA-Z0-9]/g, '_')] = String(value);
        }
        assert.equal(expectedTargetLabels.host_cpu_count, '8');
        assert.equal(expectedTargetLabels.feature_flags_on, 'true');
        assert.deepEqual(targetInfo[0]!.labels, expectedTargetLabels);
        assert.ok(targetInfo[0]!.samples.every((s) => s.value === 1));

        const metadata = await lookout.storage.series.metricMetadata('default');
        const family = (name: string) => metadata.find((m) => m.metricFamilyName === name);
        assert.deepEqual(family('requests_total'), { metricFamilyName: 'requests_total', type: 'counter', help: 'Checkout requests', unit: '' });
        assert.deepEqual(family('http_server_duration_seconds'), {
          metricFamilyName: 'http_server_duration_seconds',
          type: 'histogram',
          help: 'Server duration',
          unit: 'seconds',
        });
        assert.deepEqual(family('queue_size'), { metricFamilyName: 'queue_size', type: 'gauge', help: 'Orders waiting', unit: '' });
        assert.deepEqual(family('cpu_temperature_celsius'), {
          metricFamilyName: 'cpu_temperature_celsius',
          type: 'gauge',
          help: 'CPU temperature',
          unit: 'celsius',
        });
      });
    });
  }
});
