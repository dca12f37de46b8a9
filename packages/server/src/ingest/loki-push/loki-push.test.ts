import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import snappy from 'snappy';
import {
  convertPush,
  decodePushJson,
  decodePushProtobuf,
  DEFAULT_LOKI_PUSH_LIMITS,
  formatLabels,
  parseLabelSet,
  parseSelector,
  PushRequestType,
  StreamOrderTracker,
  type LokiPushLimits,
} from './index.js';
import { levelFromPlainText, LevelDetector } from './levels.js';

const NOW = 1_800_000_000_000_000_000n;
const ctx = (limits: Partial<LokiPushLimits> = {}) => ({ tenant: 't1', nowNs: NOW, limits: { ...DEFAULT_LOKI_PUSH_LIMITS, ...limits } });

function protobufBody(request: object): Buffer {
  return snappy.compressSync(Buffer.from(PushRequestType.encode(PushRequestType.fromObject(request)).finish())) as Buffer;
}

describe('label syntax', () => {
  test('parses label sets with Go escapes and raw strings', () => {
    assert.deepEqual(parseLabelSet('{app="api", msg="a\\"b\\n\\u00e9", raw=`x\\y`}').labels, { app: 'api', msg: 'a"b\né', raw: 'x\\y' });
    assert.deepEqual(parseLabelSet('  { a = "1" , }  ').labels, { a: '1' });
    assert.equal(parseLabelSet('{a="1", a="2"}').duplicate, 'a');
  });
  test('rejects what Loki rejects, naming the column', () => {
    assert.throws(() => parseLabelSet('{a-b="1"}'), /col 3: syntax error/);
    assert.throws(() => parseLabelSet('{a="1"'), /expecting , or }/);
    assert.throws(() => parseLabelSet('{a=~"1"}'), /expecting =/);
    assert.throws(() => parseLabelSet('{a="1\\q"}'), /unknown escape/);
    assert.throws(() => parseLabelSet('a="1"'), /expecting \{/);
    assert.throws(() => parseLabelSet('{}'), /col 2: syntax error: unexpected "\}", expecting IDENTIFIER/);
    assert.throws(() => decodePushJson('{"streams":[{"stream":{},"values":[]}]}'), /couldn't parse labels/);
  });
  test('parses selectors with all matcher types', () => {
    assert.deepEqual(parseSelector('{a="1",b!="2",c=~"x.*",d!~`y`}'), [
      { type: '=', name: 'a', value: '1' },
      { type: '!=', name: 'b', value: '2' },
      { type: '=~', name: 'c', value: 'x.*' },
      { type: '!~', name: 'd', value: 'y' },
    ]);
  });
  test('formats labels as Prometheus does', () => {
    assert.equal(formatLabels({ b: 'x"y', a: '1\n' }), '{a="1\\n", b="x\\"y"}');
  });
});

describe('JSON push decoding', () => {
  test('decodes streams, nanosecond strings and structured metadata', () => {
    const streams = decodePushJson(
      JSON.stringify({ streams: [{ stream: { app: 'api' }, values: [['1700000000123456789', 'hello', { trace_id: 'abc' }], ['1700000000000000001', 'two']] }] }),
    );
    assert.equal(streams.length, 1);
    assert.deepEqual(streams[0]!.labels, { app: 'api' });
    assert.equal(streams[0]!.entries[0]!.timestampNs, 1700000000123456789n);
    assert.deepEqual(streams[0]!.entries[0]!.structuredMetadata, [['trace_id', 'abc']]);
    assert.deepEqual(streams[0]!.entries[1]!.structuredMetadata, []);
  });
  test('metadata values as Loki reads them: numbers as text, the categorized form', () => {
    const [stream] = decodePushJson('{"streams":[{"stream":{"a":"b"},"values":[["1","x",{"n":42,"ok":true}],["2","y",{"structuredMetadata":{"k":"v"},"parsed":{"p":"q"}}]]}]}');
    assert.deepEqual(stream!.entries[0]!.structuredMetadata, [['n', '42'], ['ok', 'true']]);
    assert.deepEqual(stream!.entries[1]!.structuredMetadata, [['k', 'v']]);
  });
  test('refuses malformed bodies with the position of the problem', () => {
    assert.throws(() => decodePushJson('{'), /invalid JSON/);
    assert.throws(() => decodePushJson('{"streams":{}}'), /"streams" must be an array/);
    assert.throws(() => decodePushJson('{"streams":[{"stream":{"a":"b"},"values":[[1700000000, "x"]]}]}'), /streams\[0\]\.values\[0\]\[0\]: timestamp must be a string/);
    assert.throws(() => decodePushJson('{"streams":[{"stream":{"a":"b"},"values":[["1", 5]]}]}'), /values\[0\]\[1\]: log line must be a string/);
    assert.throws(() => decodePushJson('{"streams":[{"stream":{"a":"b"},"values":[["1", "x", {"structuredMetadata": {"k": 1}}]]}]}'), /values must be strings/);
    assert.throws(() => decodePushJson('{"streams":[{"stream":{"a":"b"},"values":[["1", "x", "meta"]]}]}'), /structured metadata must be an object/);
    assert.throws(() => decodePushJson('{"streams":[{"stream":{"a-b":"c"},"values":[]}]}'), /invalid label name/);
    assert.throws(() => decodePushJson('{"streams":[{"stream":{"a":"b"},"values":[["99999999999999999999", "x"]]}]}'), /timestamp must be|int64/);
  });
});

describe('protobuf push decoding', () => {
  test('decodes snappy protobuf with label text and metadata', () => {
    const body = protobufBody({
      streams: [{ labels: '{job="w", env="prod"}', entries: [{ timestamp: { seconds: 1700000000, nanos: 42 }, line: 'l1', structuredMetadata: [{ name: 'user', value: 'u1' }] }] }],
    });
    const [stream] = decodePushProtobuf(body, 1 << 20);
    assert.deepEqual(stream!.labels, { job: 'w', env: 'prod' });
    assert.equal(stream!.entries[0]!.timestampNs, 1700000000000000042n);
    assert.deepEqual(stream!.entries[0]!.structuredMetadata, [['user', 'u1']]);
  });
  test('refuses bad snappy, bad protobuf, bad labels and oversize bodies', () => {
    assert.throws(() => decodePushProtobuf(Buffer.from('not snappy at all'), 1 << 20), /snappy|protobuf/);
    assert.throws(() => decodePushProtobuf(snappy.compressSync(Buffer.from([0x0a, 0xff, 0xff])) as Buffer, 1 << 20), /invalid protobuf/);
    assert.throws(() => decodePushProtobuf(protobufBody({ streams: [{ labels: 'app=x', entries: [] }] }), 1 << 20), /couldn't parse labels/);
    assert.throws(() => decodePushProtobuf(protobufBody({ streams: [{ labels: '{a="b"}', entries: [{ line: 'x'.repeat(5000) }] }] }), 1000), (e: Error & { code?: string }) => e.code === 'LOOKOUT_ERR_INGEST_TOO_LARGE');
  });
});

describe('validation and conversion', () => {
  const entry = (line: string, ts = NOW - 1_000_000_000n, structuredMetadata: [string, string][] = []) => ({ timestampNs: ts, line, structuredMetadata });

  test('keeps labels, discovers service_name and level, keeps trace ids', () => {
    const traceId = '0123456789abcdef0123456789abcdef';
    const { records, rejected } = convertPush(
      [{ labels: { app: 'shop', env: 'prod' }, entries: [entry('level=error msg=boom', undefined, [['trace_id', traceId], ['user.id', '7']])] }],
      ctx(),
    );
    assert.equal(rejected, 0);
    const r = records[0]!;
    assert.deepEqual(r.streamLabels, { app: 'shop', env: 'prod', service_name: 'shop' });
    assert.equal(r.serviceName, 'shop');
    assert.equal(r.tenant, 't1');
    assert.equal(r.traceId, traceId);
    assert.equal(r.severityText, '');
    assert.equal(r.severityNumber, 17);
    assert.equal(r.observedTimestamp, NOW);
    assert.deepEqual(r.attributes, [
      { key: 'trace_id', value: { stringValue: traceId } },
      { key: 'user_id', value: { stringValue: '7' } },
      { key: 'detected_level', value: { stringValue: 'error' } },
    ]);
  });
  test('service_name falls back to unknown_service and is kept when given', () => {
    const a = convertPush([{ labels: { foo: 'x' }, entries: [entry('x')] }], ctx()).records[0]!;
    assert.equal(a.streamLabels.service_name, 'unknown_service');
    const b = convertPush([{ labels: { service_name: 'given', app: 'other' }, entries: [entry('x')] }], ctx()).records[0]!;
    assert.equal(b.streamLabels.service_name, 'given');
    const c = convertPush([{ labels: { job: 'j', container: 'c' }, entries: [entry('x')] }], ctx()).records[0]!;
    assert.equal(c.streamLabels.service_name, 'c');
  });
  test('refuses bad entries with Loki messages and keeps the valid ones', () => {
    const result = convertPush(
      [
        {
          labels: { app: 'a' },
          entries: [entry('ok'), entry('old', NOW - 8n * 24n * 3600n * 1_000_000_000n), entry('future', NOW + 3600n * 1_000_000_000n), entry('x'.repeat(300 * 1024))],
        },
      ],
      ctx(),
    );
    assert.equal(result.records.length, 1);
    assert.equal(result.rejected, 3);
    assert.match(result.errorMessage, /1 errors like: entry for stream '\{app="a", service_name="a"\}' has timestamp too old: /);
    assert.match(result.errorMessage, /has timestamp too new: /);
    assert.match(result.errorMessage, /max entry size '262144' bytes exceeded for stream '\{app="a", service_name="a"\}' while adding an entry with length '307200' bytes/);
  });
  test('a single error is not prefixed with a count', () => {
    const result = convertPush([{ labels: { app: 'a' }, entries: [entry('future', NOW + 3600n * 1_000_000_000n)] }], ctx());
    assert.match(result.errorMessage, /^entry for stream '\{app="a", service_name="a"\}' has timestamp too new: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });
  test('label limits reject the whole stream', () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 16; i++) many[`l${i}`] = 'v';
    const result = convertPush(
      [
        { labels: many, entries: [entry('x'), entry('y')] },
        { labels: { app: 'v'.repeat(3000) }, entries: [entry('x')] },
        { labels: { a: '1' }, duplicateLabel: 'a', entries: [entry('x')] },
        { labels: { good: 'yes' }, entries: [entry('kept')] },
      ],
      ctx(),
    );
    assert.deepEqual(result.records.map((r) => r.body), ['kept']);
    assert.match(result.errorMessage, /has 16 label names; limit 15/);
    assert.match(result.errorMessage, /has label value too long/);
    assert.match(result.errorMessage, /has duplicate label name: 'a'/);
  });
  test('structured metadata limits', () => {
    const big: [string, string][] = [['k', 'v'.repeat(70 * 1024)]];
    const many: [string, string][] = Array.from({ length: 129 }, (_, i) => [`k${i}`, 'v'] as [string, string]);
    const result = convertPush([{ labels: { a: 'b' }, entries: [entry('x', undefined, big), entry('y', undefined, many)] }], ctx());
    assert.equal(result.records.length, 0);
    assert.match(result.errorMessage, /structured metadata too large/);
    assert.match(result.errorMessage, /too many structured metadata labels: '129', limit: '128'/);
  });
  test('out-of-order window per stream, across requests', () => {
    const order = new StreamOrderTracker();
    const hour = 3600n * 1_000_000_000n;
    convertPush([{ labels: { a: 'b' }, entries: [entry('new', NOW - 1n)] }], { ...ctx(), order });
    const result = convertPush([{ labels: { a: 'b' }, entries: [entry('late but ok', NOW - hour / 2n), entry('too late', NOW - 2n * hour)] }], { ...ctx(), order });
    assert.deepEqual(result.records.map((r) => r.body), ['late but ok']);
    assert.match(result.errorMessage, /entry too far behind, entry timestamp is: .*total ignored: 1 out of 2 for stream: \{a="b", service_name="unknown_service"\}/s);
    const disabled = convertPush([{ labels: { a: 'b' }, entries: [entry('too late', NOW - 2n * hour)] }], { ...ctx({ outOfOrderWindowMs: 0 }), order });
    assert.equal(disabled.records.length, 1);
  });
  test('limits are configurable', () => {
    const result = convertPush([{ labels: { a: 'b' }, entries: [entry('12345678901')] }], ctx({ maxLineSize: 10, maxLineSizeTruncate: true }));
    assert.equal(result.records[0]!.body, '1234567890');
    const noLevel = convertPush([{ labels: { a: 'b' }, entries: [entry('error here')] }], ctx({ discoverLogLevels: false, discoverServiceName: [] }));
    assert.deepEqual(noLevel.records[0]!.attributes, []);
    assert.deepEqual(noLevel.records[0]!.streamLabels, { a: 'b' });
  });
});

describe('level discovery (Loki discover_log_levels)', () => {
  const d = new LevelDetector();
  test('from JSON, logfmt and plain text', () => {
    assert.equal(d.fromLine('{"level":"WARNING","msg":"x"}'), 'warn');
    assert.equal(d.fromLine('{"a":{"severity":"dbg"}}'), 'debug');
    assert.equal(d.fromLine('{"level":30,"msg":"an error"}'), 'error');
    assert.equal(d.fromLine('ts=1 lvl=info msg="error later"'), 'info');
    assert.equal(d.fromLine('[ERROR] disk full'), 'error');
    assert.equal(levelFromPlainText('something happened'), 'unknown');
    assert.equal(levelFromPlainText('terrible'), 'unknown');
    assert.equal(levelFromPlainText('info: then error'), 'info');
  });
  test('a level label wins over the line', () => {
    const { records } = convertPush([{ labels: { app: 'a', level: 'WARN' }, entries: [{ timestampNs: NOW, line: 'error!', structuredMetadata: [] }] }], ctx());
    assert.equal(records[0]!.severityNumber, 13);
    assert.deepEqual(records[0]!.attributes, [{ key: 'detected_level', value: { stringValue: 'warn' } }]);
  });
});
