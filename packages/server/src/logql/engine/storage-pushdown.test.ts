/**
 * The pushdown against real embedded storage: every query gives the same answer through the
 * ClickHouse querier (filters and counts in SQL) as through in-Node evaluation of the same
 * stored rows, and the structured metadata follows Loki 3's OTLP mapping.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LogRecord } from '../../model/index.js';
import { openStorage, type Storage } from '../../storage/index.js';
import type { LogqlQuery } from '../types.js';
import { createLogqlEngine } from './index.js';
import { memoryLogQuerier, type MemoryEntry } from './memory-querier.js';

const S = 1_000_000_000n;
// Recent, whole-minute aligned so windows are easy to reason about; inside the retention.
const T0 = (BigInt(Date.now()) / 60_000n - 10n) * 60_000n * 1_000_000n;
const tenant = 'pushdown';

function record(i: number, service: string, body: string, extra: Partial<LogRecord> = {}): LogRecord {
  return {
    tenant,
    timestamp: T0 + BigInt(i) * 250_000_000n,
    observedTimestamp: T0,
    traceId: i % 7 === 0 ? 'ab'.repeat(16) : '',
    spanId: i % 7 === 0 ? 'cd'.repeat(8) : '',
    flags: 0,
    severityText: i % 5 === 0 ? 'ERROR' : 'INFO',
    severityNumber: 9,
    serviceName: service,
    streamLabels: { service_name: service, env: i % 2 === 0 ? 'prod' : 'dev' },
    body,
    bodyType: '',
    eventName: '',
    attributes: [
      { key: 'http.method', value: { stringValue: i % 3 === 0 ? 'GET' : 'POST' } },
      // A structured-metadata label named like a JSON field: it wins over the parsed one.
      ...(service === 'search' && i % 2 === 0 ? [{ key: 'level', value: { stringValue: 'from-metadata' } }] : []),
    ],
    droppedAttributesCount: 0,
    resource: {
      attributes: [
        { key: 'service.name', value: { stringValue: service } },
        { key: 'host.name', value: { stringValue: 'h1' } },
      ],
      droppedAttributesCount: 0,
      schemaUrl: '',
    },
    scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
    ...extra,
  };
}

const LEVELS = ['info', 'warn', 'error', 'debug'];
const records: LogRecord[] = [];
for (let i = 0; i < 600; i++) {
  const service = ['checkout', 'cart', 'search'][i % 3]!;
  const level = LEVELS[i % 4]!;
  const body =
    i % 10 === 9
      ? `plain text line ${i} needle_${i % 4} from 10.1.${i % 4}.9`
      : JSON.stringify({ level, msg: `request ${i} Needle`, latency_ms: i % 50, user: { id: i % 13 } });
  records.push(record(i, service, body));
}
// Service `mixed`: `level` also as a stream label (one stream), a resource attribute, or
// metadata whose value starts with `l` (the tag of map values in the pushdown), and JSON levels
// that are not strings: precedence and decoding of the one-pass grouping.
const MIXED_LEVELS = ['"warn"', '3', 'true', 'null', '{"x":1}', '"{l-ish"', '-15.5', '[1]', '""', '"[x\\u00e9"'];
for (let i = 0; i < 240; i++) {
  const body = i % 25 === 24 ? `not json ${i}` : `{"level":${MIXED_LEVELS[i % MIXED_LEVELS.length]},"msg":"m ${i}"}`;
  const streamLevel = i % 5 === 1;
  records.push(
    record(i, 'mixed', body, {
      streamLabels: { service_name: 'mixed', env: i % 2 === 0 ? 'prod' : 'dev', ...(streamLevel ? { level: 'from-stream' } : {}) },
      attributes: i % 7 === 3 ? [{ key: 'level', value: { stringValue: 'low' } }] : [],
      resource: {
        attributes: [
          { key: 'service.name', value: { stringValue: 'mixed' } },
          ...(i % 9 === 2 && !streamLevel ? [{ key: 'level', value: { stringValue: 'from-resource' } }] : []),
        ],
        droppedAttributesCount: 0,
        schemaUrl: '',
      },
    }),
  );
}

// Service `scoped`: what Loki's OTLP mapping also keeps as metadata (record flags, dropped
// counts, the instrumentation scope), with a scope attribute `level` below every other source.
for (let i = 0; i < 120; i++) {
  records.push(
    record(i, 'scoped', `{"level":"${LEVELS[i % 4]}","n":${i}}`, {
      flags: i % 3 === 0 ? 1 : 0,
      droppedAttributesCount: i % 4 === 0 ? 2 : 0,
      attributes: i % 5 === 0 ? [{ key: 'flags', value: { stringValue: 'attr' } }] : [],
      scope: {
        name: i % 2 === 0 ? 'orders-lib' : '',
        version: i % 2 === 0 ? '1.2.3' : '',
        attributes: [
          { key: 'component', value: { stringValue: i % 4 < 2 ? 'db' : 'cache' } },
          ...(i % 6 === 1 ? [{ key: 'level', value: { stringValue: 'from-scope' } }] : []),
        ],
        droppedAttributesCount: i % 8 === 0 ? 1 : 0,
        schemaUrl: '',
      },
    }),
  );
}

// Services `numeric` and `bignum`: JSON numbers ClickHouse would print differently than written
// (1.0, -1.5e3, 2E1), numbers-as-strings, and numbers beyond 64 bits that its JSON parser
// refuses with the whole line, where Loki's parser takes them.
const NUMERIC_LEVELS = ['1.0', '-1.5e3', '2', '"2"', '2E1', ' 7', '"x"'];
for (let i = 0; i < 70; i++) records.push(record(i, 'numeric', `{"level":${NUMERIC_LEVELS[i % NUMERIC_LEVELS.length]},"n":${i}}`));
for (let i = 0; i < 40; i++) {
  const body = i % 4 === 0 ? `{"level":"info","id":123456789012345678901234567890${i},"big":1e400}` : i % 4 === 1 ? `{"level":"warn","n":${i}}` : `not json ${i}`;
  records.push(record(i, 'bignum', body));
}

// Service `sparse`: about three granules of JSON lines where only the newest rows carry `level`
// as metadata, so the key indexes leave a minority of granules and the `sum by` pushdown takes
// its two-statement form (line pass + correction pass); `mixed` and `search` take one pass.
for (let i = 0; i < 25_000; i++) {
  records.push(
    record(i, 'sparse', `{"level":"${LEVELS[i % 4]}","n":${i}}`, {
      timestamp: T0 + BigInt(i) * 100_000_000n,
      attributes: i >= 22_000 && i % 10 === 0 ? [{ key: 'level', value: { stringValue: 'meta' } }] : [],
    }),
  );
}

let storage: Storage;
let inNode: ReturnType<typeof memoryLogQuerier>;

before(async () => {
  storage = await openStorage({ dataDir: mkdtempSync(join(tmpdir(), 'lookout-logql-')), retention: { logs: 30, traces: 7, metrics: 7 } });
  await storage.appender.appendLogs(records);
  // The same rows, read back unfiltered, evaluated entirely in Node.
  const all: MemoryEntry[] = [];
  await storage.logs.selectLogEntries({ tenant, matchers: [], lineFilters: [], startNs: 0n, endNs: T0 + 3600n * S, direction: 'forward' }, (page) => {
    for (const e of page) all.push({ timestampNs: e.timestampNs, line: e.line, stream: e.streamLabels, metadata: e.structuredMetadata });
  });
  assert.equal(all.length, records.length);
  inNode = memoryLogQuerier(all);
});

after(async () => {
  await storage?.close();
});

/** The storage's querier, counting the lines it hands to Node (0 when a query is pushed down whole). */
function countingLogs() {
  let count = 0;
  const logs = { ...storage.logs };
  logs.selectLogEntries = (q, onPage) =>
    storage.logs.selectLogEntries(q, (page) => {
      count += page.length;
      return onPage(page);
    });
  return { logs, pulled: () => count };
}

function base(query: string, extra: Partial<LogqlQuery> = {}): LogqlQuery {
  return { tenant, query, startNs: T0, endNs: T0 + 200n * S, limit: 1000, direction: 'backward', ...extra };
}

async function both(q: LogqlQuery) {
  const viaStorage = await createLogqlEngine({ logs: storage.logs }).query(q);
  const viaNode = await createLogqlEngine({ logs: inNode, aggregatePushdown: false }).query(q);
  return { viaStorage, viaNode };
}

function normalise(value: unknown): unknown {
  // Float sums depend on the order series are added in; compare to 10 significant digits.
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : typeof v === 'number' ? Number(v.toPrecision(10)) : v)), (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    return v;
  });
}

function sortStreams(v: unknown): unknown {
  const value = v as { type: string; streams?: { stream: unknown }[]; series?: { labels: unknown }[]; samples?: { labels: unknown }[] };
  const key = (x: unknown) => JSON.stringify(normalise(x));
  if (value.streams) value.streams.sort((a, b) => (key(a.stream) < key(b.stream) ? -1 : 1));
  if (value.series) value.series.sort((a, b) => (key(a.labels) < key(b.labels) ? -1 : 1));
  if (value.samples) value.samples.sort((a, b) => (key(a.labels) < key(b.labels) ? -1 : 1));
  return normalise(value);
}

describe('LogQL pushdown against embedded storage', () => {
  it('structured metadata follows Loki 3: log attributes and unpromoted resource attributes, sanitised; trace ids', async () => {
    let first: { streamLabels: Record<string, string>; structuredMetadata: Record<string, string> } | undefined;
    await storage.logs.selectLogEntries({ tenant, matchers: [{ type: '=', name: 'service_name', value: 'checkout' }], lineFilters: [], startNs: T0, endNs: T0 + S, direction: 'forward', limit: 1 }, (page) => {
      first = page[0];
    });
    assert.deepEqual(first!.streamLabels, { service_name: 'checkout', env: 'prod' });
    assert.deepEqual(first!.structuredMetadata, { host_name: 'h1', http_method: 'GET', trace_id: 'ab'.repeat(16), span_id: 'cd'.repeat(8), severity_text: 'ERROR' });
  });

  it('structured metadata of OTLP records: flags, dropped counts and the scope, as Loki 3 keeps them', async () => {
    const seen: Record<string, string>[] = [];
    await storage.logs.selectLogEntries({ tenant, matchers: [{ type: '=', name: 'service_name', value: 'scoped' }], lineFilters: [], startNs: T0, endNs: T0 + 3n * S, direction: 'forward' }, (page) => {
      for (const e of page) seen.push(e.structuredMetadata);
    });
    // i = 0 (timestamps 250 ms apart): every field present; a log attribute `flags` wins.
    assert.deepEqual(seen[0], {
      host_name: 'h1',
      flags: 'attr',
      trace_id: 'ab'.repeat(16),
      span_id: 'cd'.repeat(8),
      severity_text: 'ERROR',
      dropped_attributes_count: '2',
      component: 'db',
      scope_name: 'orders-lib',
      scope_version: '1.2.3',
      scope_dropped_attributes_count: '1',
    });
    // i = 1: nothing but the scope's attributes (a scope `level` too).
    assert.deepEqual(seen[1], { host_name: 'h1', severity_text: 'INFO', component: 'db', level: 'from-scope' });
    // i = 3: flags from the record.
    assert.equal(seen[3]!.flags, '1');
  });

  const logQueries = [
    '{service_name="scoped"} | scope_name="orders-lib" | flags="1"',
    '{service_name="checkout"}',
    '{service_name="checkout"} |= "needle"',
    '{service_name=~"checkout|cart"} |= "Needle" != "request 3"',
    '{service_name!="search", env="dev"} |~ "(?i)NEEDLE_[13]"',
    '{env=~"d.*"} !~ "latency|needle_1"',
    '{service_name="cart"} |= "needle_1" or "needle_3"',
    '{service_name="search"} |> "plain text line <_> needle_<_> from <_>"',
    '{service_name="search"} |= ip("10.1.1.0/24")',
    '{service_name="cart"} | json | level="error" | line_format "{{.msg}}"',
    '{service_name="checkout"} |= "Needle" | json | latency_ms > 40 | keep level, latency_ms',
    '{env="dev", service_name!~"ca.*"} | json | __error__!="" ',
  ];
  for (const query of logQueries) {
    it(`log query ${query}`, async () => {
      for (const direction of ['forward', 'backward'] as const) {
        for (const limit of [7, 1000]) {
          const { viaStorage, viaNode } = await both(base(query, { direction, limit }));
          assert.deepEqual(sortStreams(viaStorage.value), sortStreams(viaNode.value), `${direction} limit ${limit}`);
          if (limit === 1000) assert.ok(viaStorage.value.type === 'streams' && viaStorage.value.streams.length > 0, 'query matches something');
        }
      }
    });
  }

  const metricQueries = [
    'count_over_time({service_name="checkout"}[10s])',
    'sum by (service_name) (count_over_time({env="prod"} |= "Needle" [30s]))',
    'sum(rate({service_name=~".+"} != "plain" [1m]))',
    'bytes_over_time({service_name="cart"} |~ "needle_[0-3]" [45s] offset 5s)',
    'sum by (env) (bytes_rate({service_name="search"}[20s]))',
    'sum by (level) (count_over_time({service_name="checkout"} | json | __error__="" [1m]))',
    'sum by (level) (count_over_time({service_name="checkout"} |= "Needle" | json [1m]))',
    'sum by (level, env) (rate({service_name=~"cart|search"} | json | __error__="" [30s]))',
    'sum by (level) (count_over_time({service_name="search"} | json | __error__="" [1m]))',
    'sum by (env) (count_over_time({service_name="cart"} |= "Needle" [1m]))',
    'sum by (level) (count_over_time({service_name="search"} | drop __error__ [1m]))',
    'sum by (http_method) (count_over_time({service_name="search"} | drop __error__ [1m]))',
    'sum by (level) (count_over_time({service_name="search"} | json | drop __error__, __error_details__ [1m]))',
    'sum by (level) (count_over_time({service_name="search"} | json | __error__="" | drop __error__ [1m]))',
    'sum by (level) (bytes_over_time({service_name="checkout"} |= "request" | json [20s] offset 10s))',
    'sum by (level) (count_over_time({service_name="mixed"} | json | __error__="" [1m]))',
    'sum by (level, env) (bytes_rate({service_name="mixed"} | json | drop __error__ [30s]))',
    'sum by (level) (count_over_time({service_name="mixed"} | drop __error__ [1m]))',
    'sum (count_over_time({service_name="mixed"} |= "m 1" | json | __error__="" [1m]))',
    'sum by (service_name) (sum_over_time({env="prod"} | json | __error__="" | unwrap latency_ms [30s])) / on (service_name) sum by (service_name) (count_over_time({env="prod"} |= "latency" [30s]))',
    'topk(2, sum by (service_name) (bytes_over_time({env=~".+"}[1m])))',
    'sum by (flags) (count_over_time({service_name="scoped"}[1m]))',
    'sum by (component, level) (count_over_time({service_name="scoped"} | json | __error__="" [1m]))',
    'sum by (level) (count_over_time({service_name="scoped"} [1m]))',
    'count_over_time({service_name="scoped"} |= "n" [30s])',
  ];
  for (const query of metricQueries) {
    it(`metric query ${query}`, async () => {
      for (const [stepMs, start, end] of [
        [10_000, T0, T0 + 150n * S],
        [7_000, T0 + 3n * S, T0 + 140n * S],
      ] as const) {
        const { viaStorage, viaNode } = await both(base(query, { stepMs, startNs: start, endNs: end }));
        assert.deepEqual(sortStreams(viaStorage.value), sortStreams(viaNode.value), `step ${stepMs}`);
        assert.ok(viaStorage.value.type === 'matrix' && viaStorage.value.series.length > 0, 'query matches something');
      }
      const instant = await both(base(query, { instant: true, startNs: T0 + 100n * S, endNs: T0 + 100n * S }));
      assert.deepEqual(sortStreams(instant.viaStorage.value), sortStreams(instant.viaNode.value), 'instant');
    });
  }

  it('count_over_time without a parser reads no lines into Node (bucket pushdown)', async () => {
    const { logs, pulled } = countingLogs();
    const r = await createLogqlEngine({ logs }).query(base('sum(count_over_time({service_name="checkout"} |= "Needle" [1m]))', { instant: true, startNs: T0 + 150n * S, endNs: T0 + 150n * S }));
    assert.equal(pulled(), 0);
    assert.equal(r.value.type, 'vector');
    if (r.value.type === 'vector') assert.equal(r.value.samples[0]!.value, records.filter((x, i) => i % 3 === 0 && x.body.includes('Needle') && x.timestamp > T0 + 90n * S && x.timestamp <= T0 + 150n * S).length);
  });

  it('sum by a JSON field is computed in storage, and a non-JSON line in range fails the query as Loki does', async () => {
    const { logs, pulled } = countingLogs();
    const e = createLogqlEngine({ logs });
    const at = { instant: true, startNs: T0 + 150n * S, endNs: T0 + 150n * S };
    const r = await e.query(base('sum by (level) (count_over_time({service_name="checkout"} |= "request" | json [2m]))', at));
    assert.equal(pulled(), 0);
    assert.equal(r.value.type, 'vector');
    await assert.rejects(e.query(base('sum by (level) (count_over_time({service_name="search"} | json [2m]))', at)), /pipeline error: 'JSONParserErr'/);
    assert.ok(pulled() > 0, 'the failing case was evaluated in Node');
  });

  it('sum by a label named in stream labels, metadata and JSON is one storage pass: precedence and JSON value decoding', async () => {
    const { logs, pulled } = countingLogs();
    const r = await createLogqlEngine({ logs }).query(base('sum by (level) (count_over_time({service_name="mixed"} | json | __error__="" [5m]))', { instant: true, startNs: T0 + 100n * S, endNs: T0 + 100n * S }));
    assert.equal(pulled(), 0);
    assert.equal(r.value.type, 'vector');
    const got = r.value.type === 'vector' ? Object.fromEntries(r.value.samples.map((x) => [x.labels.level ?? '', x.value])) : {};
    // Expected from the generator's rules: metadata, then stream label, then resource, then JSON.
    const want: Record<string, number> = {};
    for (let i = 0; i < 240; i++) {
      if (T0 + BigInt(i) * 250_000_000n > T0 + 100n * S || i % 25 === 24) continue;
      const json = JSON.parse(`{"level":${MIXED_LEVELS[i % MIXED_LEVELS.length]}}`).level as unknown;
      const parsed = json === null || typeof json === 'object' ? '' : typeof json === 'string' ? json : MIXED_LEVELS[i % MIXED_LEVELS.length]!;
      const level = i % 7 === 3 ? 'low' : i % 5 === 1 ? 'from-stream' : i % 9 === 2 ? 'from-resource' : parsed;
      want[level] = (want[level] ?? 0) + 1;
    }
    assert.deepEqual(got, want);
  });

  it('sum by a JSON number written non-canonically (1.0, -1.5e3) labels it as written: storage declines, the lines are read', async () => {
    const { logs, pulled } = countingLogs();
    const q = base('sum by (level) (count_over_time({service_name="numeric"} | json [5m]))', { instant: true, startNs: T0 + 100n * S, endNs: T0 + 100n * S });
    const r = await createLogqlEngine({ logs }).query(q);
    assert.ok(pulled() > 0, 'evaluated line by line');
    const got = r.value.type === 'vector' ? Object.fromEntries(r.value.samples.map((x) => [x.labels.level ?? '', x.value])) : {};
    assert.deepEqual(got, { '1.0': 10, '-1.5e3': 10, '2': 20, '2E1': 10, '7': 10, x: 10 });
    const { viaStorage, viaNode } = await both(q);
    assert.deepEqual(sortStreams(viaStorage.value), sortStreams(viaNode.value));
  });

  it('numbers as written, numbers as strings and integers stay in storage', async () => {
    const { logs, pulled } = countingLogs();
    // `n` is an integer in every line of `numeric`; `level` of `scoped` a string.
    const q = base('sum by (n) (count_over_time({service_name="numeric"} | json [5m]))', { instant: true, startNs: T0 + 100n * S, endNs: T0 + 100n * S });
    const r = await createLogqlEngine({ logs }).query(q);
    assert.equal(pulled(), 0);
    assert.equal(r.value.type === 'vector' ? r.value.samples.length : 0, 70);
    const { viaStorage, viaNode } = await both(q);
    assert.deepEqual(sortStreams(viaStorage.value), sortStreams(viaNode.value));
  });

  it('a JSON line with numbers beyond 64 bits is JSON, as in Loki: counted by its fields, not as an error', async () => {
    const q = base('sum by (level) (count_over_time({service_name="bignum"} | json | __error__="" [5m]))', { instant: true, startNs: T0 + 100n * S, endNs: T0 + 100n * S });
    const { viaStorage, viaNode } = await both(q);
    const got = viaStorage.value.type === 'vector' ? Object.fromEntries(viaStorage.value.samples.map((x) => [x.labels.level ?? '', x.value])) : {};
    assert.deepEqual(got, { info: 10, warn: 10 });
    assert.deepEqual(sortStreams(viaStorage.value), sortStreams(viaNode.value));
  });

  it('sum by a label that metadata names in few granules: line pass and correction pass agree with the lines', async () => {
    for (const at of [T0 + 2500n * S, T0 + 1500n * S]) {
      const q = base('sum by (level) (count_over_time({service_name="sparse"} | json [10m]))', { instant: true, startNs: at, endNs: at });
      const { viaStorage, viaNode } = await both(q);
      assert.deepEqual(sortStreams(viaStorage.value), sortStreams(viaNode.value));
      const levels = viaStorage.value.type === 'vector' ? viaStorage.value.samples.map((x) => x.labels.level).sort() : [];
      assert.deepEqual(levels, at === T0 + 2500n * S ? ['debug', 'error', 'info', 'meta', 'warn'] : ['debug', 'error', 'info', 'warn']);
    }
  });

  it('pages through more rows than one storage page in order, equal timestamps included', async () => {
    const many: LogRecord[] = [];
    for (let i = 0; i < 20_500; i++) many.push(record(i % 1000, 'bulk', `bulk line ${i}`, { timestamp: T0 + BigInt(Math.floor(i / 3)) * 1_000_000n }));
    await storage.appender.appendLogs(many);
    const seen: string[] = [];
    let last = -1n;
    await storage.logs.selectLogEntries({ tenant, matchers: [{ type: '=', name: 'service_name', value: 'bulk' }], lineFilters: [], startNs: T0, endNs: T0 + 3600n * S, direction: 'forward' }, (page) => {
      for (const e of page) {
        assert.ok(e.timestampNs >= last);
        last = e.timestampNs;
        seen.push(e.line);
      }
    });
    assert.equal(seen.length, many.length);
    assert.equal(new Set(seen).size, many.length);
  });

  it('binds user values: a quote-laden selector is data, not SQL', async () => {
    const r = await createLogqlEngine({ logs: storage.logs }).query(base(`{service_name="x' OR 1=1 --"} |= "'); DROP TABLE otel_logs; --" |~ "\\\\'"`));
    assert.deepEqual(r.value, { type: 'streams', streams: [] });
    assert.ok((await storage.logs.countLogs(tenant)) > 0);
  });
});
