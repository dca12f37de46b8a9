/**
 * Expected values come from Prometheus's own tests of its OTLP receiver (prometheus/prometheus,
 * storage/remote/): write_otlp_handler_test.go, otlptranslator/prometheusremotewrite/
 * metrics_to_prw_test.go, helper_test.go and number_data_points_test.go. Each case names its source.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Labels } from '../../model/index.js';
import type { ConvertMetricsOptions, ConvertMetricsResult } from './metrics.js';
import { attributeValueToLabel, convertMetrics } from './metrics.js';
import type { PbAnyValue } from './proto.js';
import { decodeJsonRequest, decodeProtobufRequest, encodeProtobufRequest } from './proto.js';


type Json = Record<string, unknown>;

const TS_NS = 1_700_000_000_123_456_789n;
const TS_MS = 1_700_000_000_123;
const ts = (offsetMs = 0): string => (TS_NS + BigInt(offsetMs) * 1_000_000n).toString();

const str = (key: string, value: string): Json => ({ key, value: { stringValue: value } });

function request(resourceAttributes: Json[], metrics: Json[], scope: Json = {}, schemaUrl?: string): Json {
  return {
    resourceMetrics: [
      { resource: { attributes: resourceAttributes }, scopeMetrics: [{ scope, ...(schemaUrl ? { schemaUrl } : {}), metrics }] },
    ],
  };
}

function convertJson(body: Json, options: ConvertMetricsOptions = {}): ConvertMetricsResult {
  return convertMetrics(decodeJsonRequest('metrics', Buffer.from(JSON.stringify(body))), options);
}

function convertProtobuf(body: Json, options: ConvertMetricsOptions = {}): ConvertMetricsResult {
  return convertMetrics(decodeProtobufRequest('metrics', encodeProtobufRequest('metrics', body)), options);
}

/** Samples as [labels, timestampMs, value] for compact expectations. */
function series(result: ConvertMetricsResult): [Labels, number, number][] {
  return result.samples.map((s) => [s.labels, s.timestampMs, s.value]);
}

const gauge = (name: string, dataPoints: Json[], extra: Json = {}): Json => ({ name, ...extra, gauge: { dataPoints } });
const sum = (name: string, dataPoints: Json[], monotonic: boolean, temporality = 2, extra: Json = {}): Json => ({
  name,
  ...extra,
  sum: { aggregationTemporality: temporality, isMonotonic: monotonic, dataPoints },
});

describe('convertMetrics: the reference OTLP write request', () => {
  // write_otlp_handler_test.go generateOTLPWriteRequest + TestOTLPWriteHandler "UnderscoreEscapingWithSuffixes".
  const body = request(
    [str('service.name', 'test-service'), str('service.instance.id', 'test-instance'), str('host.name', 'test-host')],
    [
      sum('test.counter', [{ timeUnixNano: ts(), startTimeUnixNano: ts(-1), asDouble: 10, attributes: [str('foo.bar', 'baz')] }], true, 2, {
        description: 'test-counter-description',
        unit: 'By',
      }),
      gauge('test.gauge', [{ timeUnixNano: ts(), startTimeUnixNano: ts(-1), asDouble: 10, attributes: [str('foo.bar', 'baz')] }], {
        description: 'test-gauge-description',
        unit: 'By',
      }),
      {
        name: 'test.histogram',
        description: 'test-histogram-description',
        unit: 'By',
        histogram: {
          aggregationTemporality: 2,
          dataPoints: [
            {
              timeUnixNano: ts(),
              startTimeUnixNano: ts(-1),
              explicitBounds: [0, 1, 2, 3, 4, 5],
              bucketCounts: ['2', '2', '2', '2', '2', '2'],
              count: '12',
              sum: 30,
              attributes: [str('foo.bar', 'baz')],
            },
          ],
        },
      },
      {
        name: 'test.exponential.histogram',
        description: 'test-exponential-histogram-description',
        unit: 'By',
        exponentialHistogram: {
          aggregationTemporality: 2,
          dataPoints: [
            {
              timeUnixNano: ts(),
              scale: 2,
              positive: { bucketCounts: ['2', '2', '2', '2', '2'] },
              zeroCount: '2',
              count: '10',
              sum: 30,
              attributes: [str('foo.bar', 'baz')],
            },
          ],
        },
      },
    ],
  );
  const common = { foo_bar: 'baz', instance: 'test-instance', job: 'test-service' };
  const bucket = (le: string, v: number): [Labels, number, number] => [
    { __name__: 'test_histogram_bytes_bucket', ...common, le },
    TS_MS,
    v,
  ];
  const expected: [Labels, number, number][] = [
    [{ __name__: 'test_counter_bytes_total', ...common }, TS_MS, 10],
    [{ __name__: 'test_gauge_bytes', ...common }, TS_MS, 10],
    [{ __name__: 'test_histogram_bytes_sum', ...common }, TS_MS, 30],
    [{ __name__: 'test_histogram_bytes_count', ...common }, TS_MS, 12],
    bucket('0', 2),
    bucket('1', 4),
    bucket('2', 6),
    bucket('3', 8),
    bucket('4', 10),
    bucket('5', 12),
    bucket('+Inf', 12),
    // The exponential histogram would be a native histogram in Prometheus: rejected here.
    [{ __name__: 'target_info', host_name: 'test-host', instance: 'test-instance', job: 'test-service' }, TS_MS, 1],
  ];
  const expectedMetadata = [
    { metricFamilyName: 'test_counter_bytes_total', type: 'counter', help: 'test-counter-description', unit: 'bytes' },
    { metricFamilyName: 'test_gauge_bytes', type: 'gauge', help: 'test-gauge-description', unit: 'bytes' },
    { metricFamilyName: 'test_histogram_bytes', type: 'histogram', help: 'test-histogram-description', unit: 'bytes' },
    { metricFamilyName: 'target_info', type: 'gauge', help: 'Target metadata', unit: '' },
  ];

  for (const [encoding, convert] of [
    ['OTLP/JSON', convertJson],
    ['protobuf', convertProtobuf],
  ] as const) {
    it(`converts the ${encoding} request like Prometheus`, () => {
      const result = convert(body);
      assert.deepEqual(series(result), expected);
      assert.deepEqual(result.metadata, expectedMetadata);
      assert.equal(result.rejected, 1);
      assert.match(result.errorMessage, /exponential histogram "test\.exponential\.histogram" rejected: .*native histogram/);
      assert.deepEqual(result.warnings, []);
      assert.ok(result.samples.every((s) => s.stale === undefined));
    });
  }

  it('without suffixes only escapes the names (TestOTLPWriteHandler "UnderscoreEscapingWithoutSuffixes")', () => {
    const result = convertJson(body, { addMetricSuffixes: false });
    assert.deepEqual(
      [...new Set(result.samples.map((s) => s.labels.__name__))],
      ['test_counter', 'test_gauge', 'test_histogram_sum', 'test_histogram_count', 'test_histogram_bucket', 'target_info'],
    );
    assert.deepEqual(
      result.metadata.map((m) => m.metricFamilyName),
      ['test_counter', 'test_gauge', 'test_histogram', 'target_info'],
    );
  });
});

describe('convertMetrics: sums and gauges', () => {
  it('maps a non-monotonic cumulative sum to a gauge without `_total`', () => {
    const result = convertJson(
      request([], [sum('active.connections', [{ timeUnixNano: ts(), asInt: '7' }], false, 2, { unit: '{connection}' })]),
    );
    assert.deepEqual(series(result), [[{ __name__: 'active_connections' }, TS_MS, 7]]);
    assert.deepEqual(result.metadata, [{ metricFamilyName: 'active_connections', type: 'gauge', help: '', unit: '' }]);
  });

  it('gives gauges with unit "1" `_ratio` and monotonic sums `_total`', () => {
    const result = convertJson(
      request(
        [],
        [
          gauge('cpu.utilization', [{ timeUnixNano: ts(), asDouble: 0.25 }], { unit: '1' }),
          sum('http.requests', [{ timeUnixNano: ts(), asInt: '3' }], true, 2, { unit: '1' }),
          sum('io', [{ timeUnixNano: ts(), asInt: '9' }], true, 2, { unit: 'By/s' }),
        ],
      ),
    );
    assert.deepEqual(
      result.samples.map((s) => s.labels.__name__),
      ['cpu_utilization_ratio', 'http_requests_total', 'io_bytes_per_second_total'],
    );
    assert.deepEqual(
      result.metadata.map((m) => [m.type, m.unit]),
      [
        ['gauge', ''],
        ['counter', ''],
        ['counter', 'bytes_per_second'],
      ],
    );
  });

  it('truncates nanoseconds to milliseconds (helper_test.go Test_convertTimeStamp)', () => {
    const result = convertJson(
      request(
        [],
        [
          gauge('g', [
            { timeUnixNano: '0', asInt: '1' },
            { timeUnixNano: '1999999', asInt: '2' },
            { timeUnixNano: '1000000000', asInt: '3' },
          ]),
        ],
      ),
    );
    assert.deepEqual(
      result.samples.map((s) => s.timestampMs),
      [0, 1, 1000],
    );
  });

  it('turns points flagged NoRecordedValue into staleness markers', () => {
    const result = convertJson(
      request([], [gauge('up', [{ timeUnixNano: ts(), asDouble: 1, flags: 1 }]), sum('c', [{ timeUnixNano: ts(), asInt: '4', flags: 1 }], true)]),
    );
    assert.equal(result.samples.length, 2);
    for (const sample of result.samples) {
      assert.equal(sample.stale, true);
      assert.ok(Number.isNaN(sample.value));
    }
  });

  it('rejects DELTA and unspecified temporality, keeping the rest of the request', () => {
    const result = convertJson(
      request(
        [],
        [
          sum('delta.sum', [{ timeUnixNano: ts(), asInt: '1' }, { timeUnixNano: ts(), asInt: '2' }], true, 1),
          { name: 'delta.hist', histogram: { aggregationTemporality: 1, dataPoints: [{ timeUnixNano: ts(), count: '1' }] } },
          { name: 'unspecified', sum: { isMonotonic: true, dataPoints: [{ timeUnixNano: ts(), asInt: '1' }] } },
          gauge('kept', [{ timeUnixNano: ts(), asInt: '1' }]),
        ],
      ),
    );
    assert.deepEqual(series(result), [[{ __name__: 'kept' }, TS_MS, 1]]);
    assert.equal(result.rejected, 4);
    // metrics_to_prw.go: "invalid temporality and type combination for metric %q".
    assert.match(result.errorMessage, /invalid temporality and type combination for metric "delta\.sum" \(DELTA sum/);
    assert.match(result.errorMessage, /invalid temporality and type combination for metric "delta\.hist" \(DELTA histogram/);
    assert.match(result.errorMessage, /invalid temporality and type combination for metric "unspecified" \(UNSPECIFIED sum/);
  });

  it('reports empty metrics as warnings, not rejections (metrics_to_prw_test.go "empty data points are surfaced as warnings")', () => {
    const result = convertJson(request([], [gauge('test_empty', []), gauge('healthy_metric', [{ timeUnixNano: ts(), asInt: '1' }])]));
    assert.deepEqual(series(result), [[{ __name__: 'healthy_metric' }, TS_MS, 1]]);
    assert.deepEqual(result.warnings, ['empty data points. test_empty is dropped']);
    assert.equal(result.rejected, 0);
    assert.equal(result.errorMessage, '');
  });

  it('rejects the points of a metric whose name normalizes to nothing, and a metric without data', () => {
    const result = convertJson(request([], [gauge('@#$%', [{ timeUnixNano: ts(), asInt: '1' }]), { name: 'no.data' }]));
    assert.equal(result.samples.length, 0);
    assert.equal(result.rejected, 1);
    assert.match(result.errorMessage, /normalization for metric "@#\$%" resulted in empty name/);
    assert.match(result.errorMessage, /no\.data as it has unsupported metric type Empty/);
  });
});

describe('convertMetrics: histograms and summaries', () => {
  it('writes cumulative buckets, _sum and _count (metrics_to_prw_test.go "successful/convertHistogramsToNHCB=false")', () => {
    const result = convertJson(
      request(
        [],
        [
          {
            name: 'histogram-1',
            histogram: {
              aggregationTemporality: 2,
              dataPoints: [
                {
                  timeUnixNano: ts(),
                  count: '15',
                  sum: 155,
                  bucketCounts: ['3', '11', '0'],
                  explicitBounds: [0.124, 1.123],
                  attributes: [str('series_name_1', 'value-1')],
                },
              ],
            },
          },
        ],
      ),
    );
    const s = { series_name_1: 'value-1' };
    assert.deepEqual(series(result), [
      [{ __name__: 'histogram_1_sum', ...s }, TS_MS, 155],
      [{ __name__: 'histogram_1_count', ...s }, TS_MS, 15],
      [{ __name__: 'histogram_1_bucket', le: '0.124', ...s }, TS_MS, 3],
      [{ __name__: 'histogram_1_bucket', le: '1.123', ...s }, TS_MS, 14],
      [{ __name__: 'histogram_1_bucket', le: '+Inf', ...s }, TS_MS, 15],
    ]);
    assert.deepEqual(result.metadata, [{ metricFamilyName: 'histogram_1', type: 'histogram', help: '', unit: '' }]);
  });

  it('leaves out _sum when the sum is unset (helper_test.go "histogram without start time")', () => {
    const result = convertJson(request([], [{ name: 'test_hist', histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: ts() }] } }]));
    assert.deepEqual(series(result), [
      [{ __name__: 'test_hist_count' }, TS_MS, 0],
      [{ __name__: 'test_hist_bucket', le: '+Inf' }, TS_MS, 0],
    ]);
  });

  it('keeps a zero sum that is set, and formats `le` like Go (no exponent)', () => {
    const result = convertJson(
      request(
        [],
        [
          {
            name: 'latency',
            unit: 's',
            histogram: {
              aggregationTemporality: 2,
              dataPoints: [{ timeUnixNano: ts(), count: '3', sum: 0, bucketCounts: ['1', '1', '1'], explicitBounds: [0.005, 1e-7] }],
            },
          },
        ],
      ),
    );
    assert.deepEqual(
      result.samples.map((x) => [x.labels.__name__, x.labels.le, x.value]),
      [
        ['latency_seconds_sum', undefined, 0],
        ['latency_seconds_count', undefined, 3],
        ['latency_seconds_bucket', '0.005', 1],
        ['latency_seconds_bucket', '0.0000001', 2],
        ['latency_seconds_bucket', '+Inf', 3],
      ],
    );
  });

  it('marks every series of a NoRecordedValue histogram point stale', () => {
    const result = convertJson(
      request(
        [],
        [
          {
            name: 'h',
            histogram: {
              aggregationTemporality: 2,
              dataPoints: [{ timeUnixNano: ts(), count: '1', sum: 2, bucketCounts: ['1', '0'], explicitBounds: [1], flags: 1 }],
            },
          },
        ],
      ),
    );
    assert.equal(result.samples.length, 4);
    assert.ok(result.samples.every((x) => x.stale === true && Number.isNaN(x.value)));
  });

  it('writes quantiles, _sum and _count (helper_test.go "summary ... some quantiles")', () => {
    const result = convertJson(
      request(
        [],
        [
          {
            name: 'test_summary',
            summary: {
              dataPoints: [
                {
                  timeUnixNano: ts(),
                  count: '50',
                  sum: 100,
                  quantileValues: [
                    { quantile: 0.5, value: 30 },
                    { quantile: 0.9, value: 40 },
                  ],
                },
              ],
            },
          },
        ],
      ),
    );
    assert.deepEqual(series(result), [
      [{ __name__: 'test_summary_sum' }, TS_MS, 100],
      [{ __name__: 'test_summary_count' }, TS_MS, 50],
      [{ __name__: 'test_summary', quantile: '0.5' }, TS_MS, 30],
      [{ __name__: 'test_summary', quantile: '0.9' }, TS_MS, 40],
    ]);
    assert.deepEqual(result.metadata, [{ metricFamilyName: 'test_summary', type: 'summary', help: '', unit: '' }]);
  });

  it('writes _sum 0 for a summary without sum (helper_test.go "summary without start time")', () => {
    const result = convertJson(request([], [{ name: 'test_summary', summary: { dataPoints: [{ timeUnixNano: ts() }] } }]));
    assert.deepEqual(series(result), [
      [{ __name__: 'test_summary_sum' }, TS_MS, 0],
      [{ __name__: 'test_summary_count' }, TS_MS, 0],
    ]);
  });

  it('rejects exponential histograms, counting their points', () => {
    const result = convertJson(
      request(
        [],
        [
          {
            name: 'eh',
            exponentialHistogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: ts(), count: '1' }, { timeUnixNano: ts(), count: '2' }] },
          },
        ],
      ),
    );
    assert.equal(result.samples.length, 0);
    assert.equal(result.rejected, 2);
    assert.match(result.errorMessage, /exponential histogram "eh" rejected/);
    assert.deepEqual(result.metadata, []);
  });
});

describe('convertMetrics: labels', () => {
  const service = [str('service.name', 'service name'), str('service.instance.id', 'service ID')];

  it('sanitizes attribute names and sets job/instance (helper_test.go createAttributes, first case)', () => {
    const result = convertJson(
      request(service, [gauge('test_metric', [{ timeUnixNano: ts(), asInt: '1', attributes: [str('metric-attr', 'metric value'), str('metric-attr-other', 'metric value other')] }])]),
    );
    assert.deepEqual(result.samples[0]?.labels, {
      __name__: 'test_metric',
      instance: 'service ID',
      job: 'service name',
      metric_attr: 'metric value',
      metric_attr_other: 'metric value other',
    });
  });

  it('joins the values of colliding names with `;` in key order, with a warning (helper_test.go collision cases)', () => {
    const result = convertJson(
      request(service, [
        gauge('test_metric', [
          { timeUnixNano: ts(), asInt: '1', attributes: [str('a_b', '2'), str('a.b', '1')] },
          { timeUnixNano: ts(), asInt: '2', attributes: [str('a_b', '3'), str('a.b', '2'), str('a-b', '1')] },
          { timeUnixNano: ts(), asInt: '3', attributes: [str('a.b', '1'), str('a_b', '2'), str('c.d', '3'), str('c_d', '4'), str('unrelated', '9')] },
        ]),
      ]),
    );
    const base = { __name__: 'test_metric', instance: 'service ID', job: 'service name' };
    assert.deepEqual(
      result.samples.map((s) => s.labels),
      [
        { ...base, a_b: '1;2' },
        { ...base, a_b: '1;2;3' },
        { ...base, a_b: '1;2', c_d: '3;4', unrelated: '9' },
      ],
    );
    assert.deepEqual(result.warnings, [
      `OTLP data point attributes "a.b", "a_b" collide as label "a_b" after name sanitization, values are concatenated with ';'`,
      `OTLP data point attributes "c.d", "c_d" collide as label "c_d" after name sanitization, values are concatenated with ';'`,
    ]);
    assert.equal(result.rejected, 0);
  });

  it('applies Prometheus default label sanitization, and both options (helper_test.go underscore cases)', () => {
    const body = request(service, [
      gauge('test_metric', [{ timeUnixNano: ts(), asInt: '1', attributes: [str('_metric_private', 'private metric'), str('metric___multi', 'multi metric'), str('123abc', 'x')] }]),
    ]);
    const base = { __name__: 'test_metric', instance: 'service ID', job: 'service name', key_123abc: 'x' };
    assert.deepEqual(convertJson(body).samples[0]?.labels, { ...base, key_metric_private: 'private metric', metric___multi: 'multi metric' });
    assert.deepEqual(
      convertJson(body, { labelNameUnderscoreSanitization: false, labelNamePreserveMultipleUnderscores: false }).samples[0]?.labels,
      { ...base, _metric_private: 'private metric', metric_multi: 'multi metric' },
    );
  });

  it('drops a `__name__` attribute and lets job/instance win over attributes of those names', () => {
    // helper_test.go "__name__ attribute in OTLP data is filtered"; job/instance are set after attributes.
    const result = convertJson(
      request(service, [
        gauge('correct_metric_name', [
          { timeUnixNano: ts(), asInt: '1', attributes: [str('__name__', 'wrong_metric_name'), str('other_attr', 'value'), str('job', 'mine')] },
        ]),
      ]),
    );
    assert.deepEqual(result.samples[0]?.labels, {
      __name__: 'correct_metric_name',
      other_attr: 'value',
      instance: 'service ID',
      job: 'service name',
    });
  });

  it('rejects only the point whose attribute name cannot be a label', () => {
    const result = convertJson(
      request([], [gauge('g', [{ timeUnixNano: ts(), asInt: '1', attributes: [str('ようこそ', 'x')] }, { timeUnixNano: ts(), asInt: '2' }])]),
    );
    assert.deepEqual(series(result), [[{ __name__: 'g' }, TS_MS, 2]]);
    assert.equal(result.rejected, 1);
    assert.match(result.errorMessage, /normalization for label name "ようこそ" resulted in invalid name "____"/);
  });

  it('leaves out labels with empty values', () => {
    const result = convertJson(request([], [gauge('g', [{ timeUnixNano: ts(), asInt: '1', attributes: [str('empty', ''), { key: 'none', value: {} }] }])]));
    assert.deepEqual(result.samples[0]?.labels, { __name__: 'g' });
  });

  it('converts non-string attribute values as pdata Value.AsString does', () => {
    const result = convertJson(
      request(
        [],
        [
          gauge('g', [
            {
              timeUnixNano: ts(),
              asInt: '1',
              attributes: [
                { key: 'int', value: { intValue: '-9007199254740993' } },
                { key: 'bool', value: { boolValue: false } },
                { key: 'double', value: { doubleValue: 1.5 } },
                { key: 'tiny', value: { doubleValue: 1e-7 } },
                { key: 'whole', value: { doubleValue: 3 } },
                { key: 'bytes', value: { bytesValue: Buffer.from('hi').toString('base64') } },
                {
                  key: 'array',
                  value: { arrayValue: { values: [{ intValue: '1' }, { stringValue: 'a' }, { boolValue: true }, { doubleValue: 1.5 }, {}] } },
                },
                {
                  key: 'map',
                  value: { kvlistValue: { values: [{ key: 'b', value: { intValue: '1' } }, { key: 'a', value: { stringValue: '<x>&' } }] } },
                },
              ],
            },
          ]),
        ],
      ),
    );
    assert.deepEqual(result.samples[0]?.labels, {
      __name__: 'g',
      int: '-9007199254740993',
      bool: 'false',
      double: '1.5',
      tiny: '1e-7',
      whole: '3',
      bytes: 'aGk=',
      array: '[1,"a",true,1.5,null]',
      map: '{"a":"\\u003cx\\u003e\\u0026","b":1}',
    });
  });

  it('attributeValueToLabel follows Go for NaN and nested NaN', () => {
    assert.equal(attributeValueToLabel({ value: 'doubleValue', doubleValue: Number.NaN } as PbAnyValue), 'json: unsupported value: NaN');
    assert.equal(
      attributeValueToLabel({ value: 'arrayValue', arrayValue: { values: [{ value: 'doubleValue', doubleValue: Infinity }] } } as PbAnyValue),
      '',
    );
    assert.equal(attributeValueToLabel(undefined), '');
  });
});

describe('convertMetrics: resource and scope', () => {
  it('builds job from service.namespace/service.name and leaves job/instance out when absent', () => {
    const withNamespace = convertJson(
      request(
        [str('service.name', 'test-service'), str('service.namespace', 'test-namespace'), str('service.instance.id', 'id1234')],
        [gauge('g', [{ timeUnixNano: ts(), asInt: '1' }])],
      ),
    );
    assert.deepEqual(withNamespace.samples[0]?.labels, { __name__: 'g', job: 'test-namespace/test-service', instance: 'id1234' });
    const without = convertJson(request([str('service.namespace', 'ns'), str('host.name', 'h')], [gauge('g', [{ timeUnixNano: ts(), asInt: '1' }])]));
    // No job or instance: no target_info either (helper.go addResourceTargetInfo).
    assert.deepEqual(series(without), [[{ __name__: 'g' }, TS_MS, 1]]);
  });

  it('adds scope labels by default and not with promoteScopeMetadata: false (helper_test.go scope promotion cases)', () => {
    const scope = {
      name: 'test-scope',
      version: '1.0.0',
      attributes: [str('attr1', 'value1'), str('attr2', 'value2')],
    };
    const body = request([], [gauge('test', [{ timeUnixNano: ts(), asInt: '1' }])], scope, 'https://schema.com');
    assert.deepEqual(convertJson(body).samples[0]?.labels, {
      __name__: 'test',
      otel_scope_name: 'test-scope',
      otel_scope_schema_url: 'https://schema.com',
      otel_scope_version: '1.0.0',
      otel_scope_attr1: 'value1',
      otel_scope_attr2: 'value2',
    });
    assert.deepEqual(convertJson(body, { promoteScopeMetadata: false }).samples[0]?.labels, { __name__: 'test' });
    // A scope without a name adds nothing ("with scope promotion, but without scope").
    const unnamed = request([], [gauge('test', [{ timeUnixNano: ts(), asInt: '1' }])], { version: '1.0.0' });
    assert.deepEqual(convertJson(unnamed).samples[0]?.labels, { __name__: 'test' });
  });

  it('writes target_info at the earliest time, every lookback/2, and the latest time (metrics_to_prw_test.go)', () => {
    const resource = [
      str('resource_name_1', 'value-1'),
      str('resource_name_2', 'value-2'),
      str('resource_name_3', 'value-3'),
      str('resource_name_4', 'value-4'),
      str('resource_name_5', 'value-5'),
      str('service.name', 'test-service'),
      str('service.namespace', 'test-namespace'),
      str('service.instance.id', 'id1234'),
    ];
    const lookback = 5 * 60 * 1000;
    const metrics = [1, 2, 3].map((i) =>
      gauge(
        `gauge-${i}`,
        Array.from({ length: 6 }, (_, k) => ({ timeUnixNano: ts((k * lookback) / 4), asDouble: 1.23, attributes: [str('series_name_1', 'value-1')] })),
        { description: 'gauge', unit: 'unit' },
      ),
    );
    const scope = { name: 'my-scope', version: '1.0.0', attributes: [str('scope-attr', 'scope-value')] };
    const result = convertJson(request(resource, metrics, scope), { lookbackDeltaMs: lookback });
    assert.equal(result.samples.length, 22);
    const targetInfo = {
      __name__: 'target_info',
      instance: 'id1234',
      job: 'test-namespace/test-service',
      resource_name_1: 'value-1',
      resource_name_2: 'value-2',
      resource_name_3: 'value-3',
      resource_name_4: 'value-4',
      resource_name_5: 'value-5',
    };
    // Scope labels stay off target_info ("target_info should not include scope labels ...").
    assert.deepEqual(series(result).slice(-4), [
      [targetInfo, TS_MS, 1],
      [targetInfo, TS_MS + lookback / 2, 1],
      [targetInfo, TS_MS + lookback, 1],
      [targetInfo, TS_MS + lookback + lookback / 4, 1],
    ]);
    assert.equal(result.samples[0]?.labels.__name__, 'gauge_1_unit');
    assert.equal(result.samples[0]?.labels.otel_scope_name, 'my-scope');
  });

  it('writes identical target_info samples of several resources once (metrics_to_prw_test.go deduplication)', () => {
    const resource = [
      str('resource_name_1', 'value-1'),
      str('service.name', 'test-service'),
      str('service.namespace', 'test-namespace'),
      str('service.instance.id', 'id1234'),
    ];
    const half = 150_000;
    const one = request(resource, [
      gauge('gauge-1', [
        { timeUnixNano: ts(), asDouble: 1.23 },
        { timeUnixNano: ts(half), asDouble: 2.34 },
      ]),
    ]);
    const body = { resourceMetrics: [...(one.resourceMetrics as Json[]), ...(one.resourceMetrics as Json[])] };
    const result = convertJson(body);
    const targetInfo = result.samples.filter((s) => s.labels.__name__ === 'target_info');
    assert.deepEqual(
      targetInfo.map((s) => s.timestampMs),
      [TS_MS, TS_MS + half],
    );
  });

  it('writes no target_info when the resource has only identifying attributes', () => {
    const result = convertJson(request([str('service.name', 's'), str('service.instance.id', 'i')], [gauge('g', [{ timeUnixNano: ts(), asInt: '1' }])]));
    assert.deepEqual(
      result.samples.map((s) => s.labels.__name__),
      ['g'],
    );
    assert.deepEqual(
      result.metadata.map((m) => m.metricFamilyName),
      ['g'],
    );
  });

  it('still places target_info in time for a resource whose metrics were all rejected, as the reference does', () => {
    const result = convertJson(request([str('service.name', 's'), str('host.name', 'h')], [sum('d', [{ timeUnixNano: ts(), asInt: '1' }], true, 1)]));
    assert.deepEqual(series(result), [[{ __name__: 'target_info', job: 's', host_name: 'h' }, TS_MS, 1]]);
    assert.equal(result.rejected, 1);
  });

  it('bounds target_info samples when a request spans years', () => {
    const result = convertJson(
      request(
        [str('service.name', 's'), str('host.name', 'h')],
        [
          gauge('g', [
            { timeUnixNano: '0', asInt: '1' },
            { timeUnixNano: ts(), asInt: '1' },
          ]),
        ],
      ),
    );
    const times = result.samples.filter((s) => s.labels.__name__ === 'target_info').map((s) => s.timestampMs);
    assert.equal(times.length, 1001);
    assert.equal(times.at(-1), TS_MS);
    assert.ok(times.every((t, i) => i === 0 || t > (times[i - 1] ?? 0)));
  });
});
