import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExpositionParseError, formatForContentType, parseExposition, parseGoFloat, parseOpenMetrics, parsePrometheusText } from './exposition.js';

test('text format: samples, labels, escapes, timestamps and metadata', () => {
  const parsed = parsePrometheusText(
    [
      '# HELP http_requests_total Requests \\\\ served.\\nSecond line.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",path="C:\\\\x",q="a\\"b",nl="x\\ny",tab="a\\tb"} 1027 1395066363000',
      'http_requests_total{method="get", } 3',
      '# a free comment',
      '  spaced\t{a = "b"}\t-Inf',
      'nan_metric NaN',
    ].join('\n'),
  );
  assert.equal(parsed.format, 'prometheus-text');
  assert.deepEqual(parsed.samples[0], {
    labels: { __name__: 'http_requests_total', method: 'post', path: 'C:\\x', q: 'a"b', nl: 'x\ny', tab: 'a\\tb' },
    value: 1027,
    timestampMs: 1395066363000,
  });
  assert.deepEqual(parsed.samples[1], { labels: { __name__: 'http_requests_total', method: 'get' }, value: 3 });
  assert.deepEqual(parsed.samples[2], { labels: { __name__: 'spaced', a: 'b' }, value: -Infinity });
  assert.ok(Number.isNaN(parsed.samples[3]!.value));
  assert.deepEqual(parsed.metadata, [{ metricFamilyName: 'http_requests_total', type: 'counter', help: 'Requests \\ served.\nSecond line.', unit: '' }]);
});

test('text format: untyped becomes unknown; errors carry the line number', () => {
  assert.equal(parsePrometheusText('# TYPE x untyped\nx 1\n').metadata[0]!.type, 'unknown');
  assert.throws(
    () => parsePrometheusText('ok 1\nbad{a="b" 1\n'),
    (error: unknown) => error instanceof ExpositionParseError && error.line === 2,
  );
  assert.throws(() => parsePrometheusText('x 1 2 3\n'), /end of the line/);
  assert.throws(() => parsePrometheusText('x{a="1",a="2"} 1\n'), /not unique/);
});

test('Go float syntax as Prometheus accepts it', () => {
  assert.equal(parseGoFloat('+Inf'), Infinity);
  assert.equal(parseGoFloat('-inf'), -Infinity);
  assert.equal(parseGoFloat('Infinity'), Infinity);
  assert.ok(Number.isNaN(parseGoFloat('nan')!));
  assert.equal(parseGoFloat('+NaN'), undefined);
  assert.equal(parseGoFloat('1e3'), 1000);
  assert.equal(parseGoFloat('.5'), 0.5);
  assert.equal(parseGoFloat('5.'), 5);
  assert.equal(parseGoFloat('0x10'), undefined);
  assert.equal(parseGoFloat('1_0'), undefined);
  assert.equal(parseGoFloat('1e400'), undefined);
  assert.equal(parseGoFloat(''), undefined);
});

test('OpenMetrics: units, _created, exemplars and float-second timestamps', () => {
  const parsed = parseOpenMetrics(
    [
      '# TYPE req counter',
      '# HELP req Requests with a \\"quote\\".',
      'req_total{code="200"} 5 1700000000.5 # {trace_id="abc"} 1 1700000000.25',
      'req_created{code="200"} 1699999999.123',
      '# TYPE lat_seconds histogram',
      '# UNIT lat_seconds seconds',
      'lat_seconds_bucket{le="0.1"} 1 # {trace_id="x"} 0.05',
      'lat_seconds_bucket{le="+Inf"} 2',
      'lat_seconds_count 2',
      'lat_seconds_sum 0.3',
      '# EOF',
      '',
    ].join('\n'),
  );
  assert.equal(parsed.format, 'openmetrics');
  assert.deepEqual(parsed.samples[0], { labels: { __name__: 'req_total', code: '200' }, value: 5, timestampMs: 1700000000500 });
  assert.deepEqual(parsed.samples[1], { labels: { __name__: 'req_created', code: '200' }, value: 1699999999.123 });
  assert.deepEqual(parsed.exemplars.get(0), { labels: { trace_id: 'abc' }, value: 1, timestampMs: 1700000000250 });
  assert.deepEqual(parsed.exemplars.get(2), { labels: { trace_id: 'x' }, value: 0.05 });
  assert.deepEqual(parsed.metadata, [
    { metricFamilyName: 'req', type: 'counter', help: 'Requests with a "quote".', unit: '' },
    { metricFamilyName: 'lat_seconds', type: 'histogram', help: '', unit: 'seconds' },
  ]);
});

test('OpenMetrics: strictness where Prometheus is strict', () => {
  assert.throws(() => parseOpenMetrics('a 1\n'), /does not end with # EOF/);
  assert.throws(() => parseOpenMetrics('a 1\n# EOF\nb 2\n'), /after # EOF/);
  assert.throws(() => parseOpenMetrics('# comment\n# EOF\n'), /comments other than/);
  assert.throws(() => parseOpenMetrics('a{x="1", y="2"} 1\n# EOF\n'), /label name/);
  assert.throws(() => parseOpenMetrics('# TYPE a_bytes gauge\n# UNIT a_bytes seconds\n# EOF\n'), /not a suffix/);
  assert.throws(() => parseOpenMetrics('a 1 +Inf\n# EOF\n'), /invalid timestamp/);
  assert.equal(parseOpenMetrics('# EOF').samples.length, 0);
});

test('the Content-Type picks the parser like Prometheus', () => {
  assert.equal(formatForContentType('application/openmetrics-text; version=1.0.0; charset=utf-8'), 'openmetrics');
  assert.equal(formatForContentType('text/plain; version=0.0.4'), 'prometheus-text');
  assert.equal(formatForContentType(''), 'prometheus-text');
  assert.equal(formatForContentType(undefined), 'prometheus-text');
  assert.equal(parseExposition('a 1\n# EOF\n', 'application/openmetrics-text').format, 'openmetrics');
});

test('le and quantile values are normalised like Prometheus 3', () => {
  const parsed = parsePrometheusText('# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="0.25"} 1\nh_bucket{le="1e6"} 1\nh_bucket{le="+inf"} 1\n# TYPE s summary\ns{quantile="0.50"} 1\n# TYPE g gauge\ng{le="1"} 1\n');
  assert.deepEqual(
    parsed.samples.map((s) => s.labels.le ?? s.labels.quantile),
    ['1.0', '0.25', '1e+06', '+Inf', '0.5', '1'],
  );
});
