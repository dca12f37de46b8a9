import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorJson, exemplarsJson, formatGoFloat, formatTimestamp, labelsJson, queryDataJson, successJson } from './format.js';
import { parsePromDuration } from '../../model/index.js';
import { parseDuration, parseLimit, parseTime, parseTimeParam, Params } from './params.js';

describe('Prometheus value formatting', () => {
  it('formats floats as Go strconv.FormatFloat with Prometheus format choice', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [-0, '-0'],
      [1, '1'],
      [2, '2'],
      [0.1, '0.1'],
      [1 / 3, '0.3333333333333333'],
      [123456789.125, '123456789.125'],
      [1e20, '100000000000000000000'],
      [1e21, '1e+21'],
      [1.5e300, '1.5e+300'],
      [0.000001, '0.000001'],
      [1e-7, '1e-07'],
      [-2.5e-10, '-2.5e-10'],
      [5e-324, '5e-324'],
      [Infinity, '+Inf'],
      [-Infinity, '-Inf'],
      [NaN, 'NaN'],
    ];
    for (const [value, text] of cases) assert.equal(formatGoFloat(value), text, String(value));
  });

  it('formats timestamps as seconds with the millisecond fraction written out', () => {
    assert.equal(formatTimestamp(1_700_000_000_000), '1700000000');
    assert.equal(formatTimestamp(1_700_000_000_500), '1700000000.500');
    assert.equal(formatTimestamp(1_700_000_000_005), '1700000000.005');
    assert.equal(formatTimestamp(1_700_000_000_050), '1700000000.050');
    assert.equal(formatTimestamp(-1_500), '-1.500');
    assert.equal(formatTimestamp(0), '0');
  });

  it('writes query results in Prometheus shapes', () => {
    assert.equal(
      queryDataJson({ type: 'vector', samples: [{ labels: { job: 'a', __name__: 'up' }, timestampMs: 1000, value: 1 }] }),
      '{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a"},"value":[1,"1"]}]}',
    );
    assert.equal(
      queryDataJson({ type: 'matrix', series: [{ labels: {}, points: [{ timestampMs: 1500, value: NaN }, { timestampMs: 2500, value: -Infinity }] }] }),
      '{"resultType":"matrix","result":[{"metric":{},"values":[[1.500,"NaN"],[2.500,"-Inf"]]}]}',
    );
    assert.equal(queryDataJson({ type: 'scalar', timestampMs: 1_000_123, value: 2 }), '{"resultType":"scalar","result":[1000.123,"2"]}');
    assert.equal(queryDataJson({ type: 'string', timestampMs: 1000, value: 'a"b' }), '{"resultType":"string","result":[1,"a\\"b"]}');
    assert.equal(queryDataJson({ type: 'vector', samples: [] }), '{"resultType":"vector","result":[]}');
    // The texts are valid JSON.
    JSON.parse(queryDataJson({ type: 'matrix', series: [{ labels: { a: '\u0000\n' }, points: [{ timestampMs: 1001, value: 1e-9 }] }] }));
  });

  it('adds warnings and infos only when present; errors use the envelope', () => {
    assert.equal(successJson('[]'), '{"status":"success","data":[]}');
    assert.equal(successJson('[]', ['w'], []), '{"status":"success","data":[],"warnings":["w"]}');
    assert.equal(successJson('[]', [], ['i']), '{"status":"success","data":[],"infos":["i"]}');
    assert.deepEqual(JSON.parse(errorJson('bad_data', 'x')), { status: 'error', errorType: 'bad_data', error: 'x' });
    assert.equal(labelsJson({ b: '1', a: '2' }), '{"a":"2","b":"1"}');
  });

  it('writes exemplars with string values and second timestamps', () => {
    assert.equal(
      exemplarsJson([{ seriesLabels: { __name__: 'm' }, exemplars: [{ labels: { trace_id: 't' }, value: 6, timestampMs: 1_600_096_945_479 }] }]),
      '[{"seriesLabels":{"__name__":"m"},"exemplars":[{"labels":{"trace_id":"t"},"value":"6","timestamp":1600096945.479}]}]',
    );
  });
});

describe('Prometheus parameter parsing', () => {
  it('parses times as float seconds or RFC 3339', () => {
    assert.equal(parseTime('1700000000'), 1_700_000_000_000);
    assert.equal(parseTime('1700000000.123'), 1_700_000_000_123);
    assert.equal(parseTime('1700000000.1234'), 1_700_000_000_123);
    assert.equal(parseTime('1.5e9'), 1_500_000_000_000);
    assert.equal(parseTime('-1.5'), -1500);
    // Go's int64 conversion overflows and wraps as Prometheus's does (time=1e100 evaluates at 0).
    assert.equal(parseTime('1e100'), 0);
    assert.equal(parseTime('1e16'), -8_446_744_073_709_552_000);
    assert.equal(parseTime('2023-11-14T22:13:20Z'), 1_700_000_000_000);
    assert.equal(parseTime('2023-11-14T22:13:20.5Z'), 1_700_000_000_500);
    assert.equal(parseTime('2023-11-15T00:13:20+02:00'), 1_700_000_000_000);
    assert.equal(parseTime('-292273086-05-16T16:47:06Z'), -9_223_309_901_257_974);
    assert.throws(() => parseTime('yesterday'), /^BadDataError: cannot parse "yesterday" to a valid timestamp$/);
    assert.throws(() => parseTime('2023-02-30T00:00:00Z'), /cannot parse/);
    assert.throws(() => parseTime(''), /cannot parse "" to a valid timestamp/);
    assert.throws(() => parseTimeParam('x', 'start', 0), /^BadDataError: invalid parameter "start": invalid time value for 'start': cannot parse "x" to a valid timestamp$/);
    assert.equal(parseTimeParam(undefined, 'start', 42), 42);
  });

  it('parses durations as float seconds or Prometheus durations', () => {
    assert.equal(parseDuration('15'), 15_000);
    assert.equal(parseDuration('0.5'), 500);
    assert.equal(parseDuration('1m'), 60_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('2d'), 172_800_000);
    assert.equal(parseDuration('100ms'), 100);
    assert.equal(parsePromDuration('1m1h'), undefined);
    assert.equal(parsePromDuration('1.5m'), undefined);
    assert.throws(() => parseDuration('1.5m'), /cannot parse "1.5m" to a valid duration$/);
    assert.throws(() => parseDuration('1e20'), /cannot parse "1e20" to a valid duration. It overflows int64/);
  });

  it('parses limits as strconv.Atoi with Prometheus texts', () => {
    assert.equal(parseLimit(undefined), 0);
    assert.equal(parseLimit(''), 0);
    assert.equal(parseLimit('10'), 10);
    assert.throws(() => parseLimit('-1'), /invalid parameter "limit": limit must be non-negative/);
    assert.throws(() => parseLimit('ten'), /invalid parameter "limit": strconv.Atoi: parsing "ten": invalid syntax/);
  });

  it('merges form body and URL values, body first', () => {
    const p = new Params({ 'match[]': ['a', 'b'], start: '1' }, { 'match[]': 'c', start: '2' });
    assert.deepEqual(p.all('match[]'), ['c', 'a', 'b']);
    assert.equal(p.get('start'), '2');
    assert.equal(p.get('end'), undefined);
  });
});

describe('status/config YAML', () => {
  it('prints scrape configs with Prometheus keys and durations, secrets masked', async () => {
    const { parse } = await import('yaml');
    const { scrapeConfigYaml } = await import('./config-yaml.js');
    const text = scrapeConfigYaml([
      {
        jobName: 'node',
        scrapeIntervalMs: 15_000,
        scrapeTimeoutMs: 10_000,
        metricsPath: '/metrics',
        scheme: 'http',
        params: {},
        honorLabels: false,
        honorTimestamps: true,
        enableCompression: true,
        followRedirects: true,
        basicAuth: { username: 'u', password: 'hunter2' },
        authorization: undefined,
        staticConfigs: [{ targets: ['127.0.0.1:9100'], labels: { env: 'dev' } }],
        fileSdConfigs: [],
        relabelConfigs: [],
        metricRelabelConfigs: [],
        sampleLimit: 0,
        labelLimit: 0,
      },
    ]);
    assert.ok(!text.includes('hunter2'));
    const doc = parse(text) as { global: Record<string, string>; scrape_configs: Record<string, unknown>[] };
    assert.equal(doc.global.scrape_interval, '1m');
    assert.deepEqual(doc.scrape_configs[0], {
      job_name: 'node',
      honor_labels: false,
      honor_timestamps: true,
      scrape_interval: '15s',
      scrape_timeout: '10s',
      metrics_path: '/metrics',
      scheme: 'http',
      enable_compression: true,
      basic_auth: { username: 'u', password: '<secret>' },
      follow_redirects: true,
      static_configs: [{ targets: ['127.0.0.1:9100'], labels: { env: 'dev' } }],
    });
  });
});
