import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compressSync } from 'snappy';
import { LookoutError } from '../../errors.js';
import { decodeRemoteWrite, isStaleNaN, STALE_NAN } from './decode.js';
import { encodeWriteRequest, type PbLabel } from './prompb.js';

const MAX = 10 * 1024 * 1024;
const T0 = 1_700_000_000_123;

function body(request: Parameters<typeof encodeWriteRequest>[0]): Buffer {
  return compressSync(encodeWriteRequest(request));
}

function labels(pairs: Record<string, string>): PbLabel[] {
  return Object.entries(pairs).map(([name, value]) => ({ name, value }));
}

function expectError(fn: () => unknown, code: string, pattern: RegExp) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof LookoutError);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('remote-write decoding', () => {
  it('decodes samples, exemplars and metadata', () => {
    const batch = decodeRemoteWrite(
      body({
        timeseries: [
          {
            labels: labels({ __name__: 'http_requests_total', job: 'api', method: 'GET' }),
            samples: [
              { value: 1, timestamp: T0 },
              { value: 2.5, timestamp: T0 + 15_000 },
            ],
            exemplars: [{ labels: labels({ trace_id: 'abc123' }), value: 0.25, timestamp: T0 + 1 }],
          },
          { labels: labels({ __name__: 'up', instance: 'x:9100' }), samples: [{ value: Infinity, timestamp: T0 }] },
        ],
        metadata: [{ type: 1, metricFamilyName: 'http_requests_total', help: 'Requests.', unit: '' }],
      }),
      MAX,
    );
    assert.equal(batch.errorMessage, '');
    assert.deepEqual(batch.samples, [
      { labels: { __name__: 'http_requests_total', job: 'api', method: 'GET' }, timestampMs: T0, value: 1 },
      { labels: { __name__: 'http_requests_total', job: 'api', method: 'GET' }, timestampMs: T0 + 15_000, value: 2.5 },
      { labels: { __name__: 'up', instance: 'x:9100' }, timestampMs: T0, value: Infinity },
    ]);
    assert.deepEqual(batch.exemplars, [
      {
        seriesLabels: { __name__: 'http_requests_total', job: 'api', method: 'GET' },
        labels: { trace_id: 'abc123' },
        value: 0.25,
        timestampMs: T0 + 1,
      },
    ]);
    assert.deepEqual(batch.metadata, [{ metricFamilyName: 'http_requests_total', type: 'counter', help: 'Requests.', unit: '' }]);
  });

  it('keeps staleness markers apart from ordinary NaN', () => {
    assert.ok(isStaleNaN(STALE_NAN));
    assert.ok(!isStaleNaN(NaN));
    const batch = decodeRemoteWrite(
      body({
        timeseries: [
          {
            labels: labels({ __name__: 'up' }),
            samples: [
              { value: NaN, timestamp: T0 },
              { value: STALE_NAN, timestamp: T0 + 1000 },
            ],
          },
        ],
      }),
      MAX,
    );
    assert.equal(batch.samples.length, 2);
    assert.equal(batch.samples[0]!.stale, undefined);
    assert.ok(Number.isNaN(batch.samples[0]!.value));
    assert.equal(batch.samples[1]!.stale, true);
  });

  it('reads 64-bit timestamps beyond 2^32 and negative ones', () => {
    const batch = decodeRemoteWrite(
      body({ timeseries: [{ labels: labels({ __name__: 'm' }), samples: [{ value: 1, timestamp: -5000 }, { value: 1, timestamp: 4_102_444_800_000 }] }] }),
      MAX,
    );
    assert.deepEqual(
      batch.samples.map((s) => s.timestampMs),
      [-5000, 4_102_444_800_000],
    );
  });

  it('drops labels with empty values (Prometheus treats them as absent)', () => {
    const batch = decodeRemoteWrite(body({ timeseries: [{ labels: labels({ __name__: 'm', a: '', b: 'x' }), samples: [{ value: 1, timestamp: T0 }] }] }), MAX);
    assert.deepEqual(batch.samples[0]!.labels, { __name__: 'm', b: 'x' });
  });

  it('refuses bad snappy and bad protobuf with 400 messages', () => {
    expectError(() => decodeRemoteWrite(Buffer.from('not snappy at all'), MAX), 'LOOKOUT_ERR_INGEST_UNDECODABLE', /invalid snappy body/);
    expectError(() => decodeRemoteWrite(Buffer.alloc(0), MAX), 'LOOKOUT_ERR_INGEST_UNDECODABLE', /empty request body/);
    expectError(
      () => decodeRemoteWrite(compressSync(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01])), MAX),
      'LOOKOUT_ERR_INGEST_UNDECODABLE',
      /invalid protobuf WriteRequest/,
    );
    assert.equal(new LookoutError('LOOKOUT_ERR_INGEST_UNDECODABLE', 'x').httpStatus, 400);
  });

  it('refuses a body that would decompress past the limit before decompressing it', () => {
    const big = compressSync(Buffer.alloc(100_000));
    expectError(() => decodeRemoteWrite(big, 50_000), 'LOOKOUT_ERR_INGEST_TOO_LARGE', /100000 bytes, over the limit of 50000/);
  });

  it('rejects invalid series by the specification and keeps the valid ones', () => {
    const cases: [PbLabel[], RegExp][] = [
      [labels({ job: 'x' }), /missing metric name \(__name__ label\)/],
      [labels({ __name__: '' }), /empty metric name/],
      [labels({ __name__: '1bad' }), /invalid metric name "1bad"/],
      [labels({ __name__: 'm', 'bad-name': 'x' }), /invalid label name "bad-name"/],
      [[{ name: '__name__', value: 'm' }, { name: 'b', value: '1' }, { name: 'a', value: '2' }], /labels not sorted by name \("a" after "b"\)/],
      [[{ name: '__name__', value: 'm' }, { name: 'a', value: '1' }, { name: 'a', value: '2' }], /duplicate label name "a"/],
    ];
    for (const [bad, pattern] of cases) {
      const batch = decodeRemoteWrite(
        body({
          timeseries: [
            { labels: bad, samples: [{ value: 1, timestamp: T0 }, { value: 2, timestamp: T0 + 1 }] },
            { labels: labels({ __name__: 'ok' }), samples: [{ value: 3, timestamp: T0 }] },
          ],
        }),
        MAX,
      );
      assert.match(batch.errorMessage, pattern);
      assert.equal(batch.rejectedSeries, 1);
      assert.equal(batch.rejectedSamples, 2);
      assert.deepEqual(batch.samples, [{ labels: { __name__: 'ok' }, timestampMs: T0, value: 3 }]);
    }
  });

  it('drops exemplars with invalid or over-long labels without failing the series', () => {
    const batch = decodeRemoteWrite(
      body({
        timeseries: [
          {
            labels: labels({ __name__: 'm' }),
            samples: [{ value: 1, timestamp: T0 }],
            exemplars: [
              { labels: labels({ 'bad-name': 'x' }), value: 1, timestamp: T0 },
              { labels: labels({ trace_id: 'x'.repeat(200) }), value: 1, timestamp: T0 },
              { labels: labels({ trace_id: 'ok' }), value: 1, timestamp: T0 },
            ],
          },
        ],
      }),
      MAX,
    );
    assert.equal(batch.errorMessage, '');
    assert.equal(batch.droppedExemplars, 2);
    assert.deepEqual(
      batch.exemplars.map((e) => e.labels),
      [{ trace_id: 'ok' }],
    );
  });
  it('interns a repeated series: one frozen labels object across requests', () => {
    const request = (t: number) => body({ timeseries: [{ labels: labels({ __name__: 'interned_total', job: 'a' }), samples: [{ value: t, timestamp: T0 + t }] }] });
    const a = decodeRemoteWrite(request(1), MAX);
    const b = decodeRemoteWrite(request(2), MAX);
    assert.equal(a.samples[0]!.labels, b.samples[0]!.labels);
    assert.ok(Object.isFrozen(a.samples[0]!.labels));
    assert.deepEqual(b.samples[0], { labels: { __name__: 'interned_total', job: 'a' }, timestampMs: T0 + 2, value: 2 });
    // Another label set is another object, and an invalid one is refused every time.
    const c = decodeRemoteWrite(body({ timeseries: [{ labels: labels({ __name__: 'interned_total', job: 'b' }), samples: [{ value: 1, timestamp: T0 }] }] }), MAX);
    assert.notEqual(c.samples[0]!.labels, a.samples[0]!.labels);
    for (let i = 0; i < 2; i++) {
      const bad = decodeRemoteWrite(body({ timeseries: [{ labels: labels({ job: 'x' }), samples: [{ value: 1, timestamp: T0 }] }] }), MAX);
      assert.equal(bad.rejectedSamples, 1);
      assert.equal(bad.samples.length, 0);
    }
  });

  it('reads fields in any order and skips unknown ones', () => {
    // TimeSeries with a sample between two labels and an unknown field 9 (varint), by hand.
    const label = (name: string, value: string) => {
      const n = Buffer.from(name);
      const v = Buffer.from(value);
      const inner = Buffer.concat([Buffer.from([0x0a, n.length]), n, Buffer.from([0x12, v.length]), v]);
      return Buffer.concat([Buffer.from([0x0a, inner.length]), inner]);
    };
    const sampleValue = Buffer.alloc(8);
    sampleValue.writeDoubleLE(4.5);
    const sample = Buffer.concat([Buffer.from([0x09]), sampleValue, Buffer.from([0x10, 0x07])]);
    const series = Buffer.concat([label('__name__', 'order_m'), Buffer.from([0x12, sample.length]), sample, Buffer.from([0x48, 0x01]), label('z', 'last')]);
    const request = Buffer.concat([Buffer.from([0x0a, series.length]), series, Buffer.from([0x58, 0x05])]);
    for (let i = 0; i < 2; i++) {
      const batch = decodeRemoteWrite(compressSync(request), MAX);
      assert.deepEqual(batch.samples, [{ labels: { __name__: 'order_m', z: 'last' }, timestampMs: 7, value: 4.5 }]);
    }
  });

  it('refuses a known field with the wrong wire type', () => {
    // WriteRequest.timeseries (field 1) sent as a varint.
    expectError(() => decodeRemoteWrite(compressSync(Buffer.from([0x08, 0x01])), MAX), 'LOOKOUT_ERR_INGEST_UNDECODABLE', /wire type/);
    // A Sample that claims more bytes than its TimeSeries holds.
    expectError(() => decodeRemoteWrite(compressSync(Buffer.from([0x0a, 0x02, 0x12, 0x09])), MAX), 'LOOKOUT_ERR_INGEST_UNDECODABLE', /invalid protobuf/);
  });
});

// The hot path reads TimeSeries field by field with protobufjs's Reader; this checks it against
// protobufjs's own schema decoding of the same bytes, on random requests.
describe('remote-write decoding agrees with protobufjs schema decoding', () => {
  it('on 200 random requests', async () => {
    const { WriteRequestType } = await import('./prompb.js');
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const timeseries = Array.from({ length: 1 + rand(6) }, (_, s) => {
        const names = ['a', 'job', 'le', 'zone'].filter(() => rand(2) === 0);
        return {
          labels: labels(Object.fromEntries([['__name__', `m_${rand(3)}`], ...names.map((n) => [n, `v${rand(50)}é`]), ['series', String(s)]].sort(([x], [y]) => (x! < y! ? -1 : 1)))),
          samples: Array.from({ length: rand(5) }, (_, i) => ({ value: rand(10) === 0 ? Number.NaN : (rand(1_000_000) - 500_000) / 7, timestamp: T0 + i * 1000 - rand(3) * 86_400_000 })),
        };
      });
      const bytes = encodeWriteRequest({ timeseries });
      const reference = WriteRequestType.toObject(WriteRequestType.decode(bytes), { longs: Number, defaults: true }) as {
        timeseries: { labels: PbLabel[]; samples: { value: number; timestamp: number }[] }[];
      };
      const expected = reference.timeseries.flatMap((ts) =>
        ts.samples.map((sm) => ({ labels: Object.fromEntries(ts.labels.map((l) => [l.name, l.value])), timestampMs: sm.timestamp, value: sm.value })),
      );
      const batch = decodeRemoteWrite(compressSync(bytes), MAX);
      assert.equal(batch.errorMessage, '');
      assert.deepEqual(
        batch.samples.map((sm) => ({ labels: { ...sm.labels }, timestampMs: sm.timestampMs, value: sm.value })),
        expected,
      );
    }
  });
});
