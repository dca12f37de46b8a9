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
});
