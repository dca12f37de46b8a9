import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseKeyValueList, resolveOptions } from './options.js';

test('defaults: Lookout on localhost:4318, every signal on, redaction on', () => {
  const o = resolveOptions({}, {});
  assert.equal(o.service, 'unknown_service:node');
  assert.equal(o.tracesUrl, 'http://localhost:4318/v1/traces');
  assert.equal(o.metricsUrl, 'http://localhost:4318/v1/metrics');
  assert.equal(o.logsUrl, 'http://localhost:4318/v1/logs');
  assert.deepEqual([o.traces, o.metrics, o.logs, o.disabled, o.prometheus], [true, true, true, false, false]);
  assert.equal(o.redact.enabled, true);
  assert.equal(o.accessLog, 'info');
  assert.match(o.configHash, /^[0-9a-f]{12}$/);
});

test('environment: LOOKOUT_* over OTEL_*, code options over both', () => {
  const env = {
    OTEL_SERVICE_NAME: 'otel-name',
    LOOKOUT_SERVICE: 'lookout-name',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/v1/traces',
    OTEL_RESOURCE_ATTRIBUTES: 'team=payments,service.version=1.2.3,deployment.environment.name=prod',
    OTEL_EXPORTER_OTLP_HEADERS: 'x-scope-orgid=acme,authorization=Bearer%20abc',
    OTEL_LOGS_EXPORTER: 'none',
    LOG_LEVEL: 'warn,db=debug',
    LOOKOUT_LOG_FILE: '/var/log/app/orders',
    LOOKOUT_LOG_FILE_COUNT: '3',
    LOOKOUT_PROMETHEUS: 'true',
    LOOKOUT_REDACT_KEYS: 'pin, otp',
    LOOKOUT_ACCESS_LOG: 'off',
  };
  const o = resolveOptions({}, env);
  assert.equal(o.service, 'lookout-name');
  assert.equal(o.version, '1.2.3');
  assert.equal(o.environment, 'prod');
  assert.equal(o.tracesUrl, 'http://traces:4318/v1/traces');
  assert.equal(o.metricsUrl, 'http://collector:4318/v1/metrics');
  assert.deepEqual(o.headers, { 'x-scope-orgid': 'acme', authorization: 'Bearer abc' });
  assert.equal(o.resourceAttributes.team, 'payments');
  assert.equal(o.logs, false);
  assert.equal(o.logLevel, 'warn,db=debug');
  assert.deepEqual(o.logFile, { path: '/var/log/app/orders', size: undefined, frequency: undefined, count: 3 });
  assert.equal(o.prometheus, true);
  assert.deepEqual(o.redact.extraKeys, ['pin', 'otp']);
  assert.equal(o.accessLog, false);

  const coded = resolveOptions({ service: 'code', endpoint: 'http://lookout:4318', logs: true }, env);
  assert.equal(coded.service, 'code');
  assert.equal(coded.tracesUrl, 'http://lookout:4318/v1/traces', 'an endpoint in code wins over per-signal variables');
  assert.equal(coded.logs, true);
});

test('bad values are refused with the variable named', () => {
  assert.throws(() => resolveOptions({}, { LOOKOUT_ENDPOINT: 'not a url' }), /endpoint: not a URL/);
  assert.throws(() => resolveOptions({}, { LOOKOUT_ENDPOINT: 'ftp://x' }), /expected http\(s\)/);
  assert.throws(() => resolveOptions({}, { OTEL_METRIC_EXPORT_INTERVAL: '-5' }), /OTEL_METRIC_EXPORT_INTERVAL/);
  assert.throws(() => resolveOptions({}, { LOOKOUT_PROMETHEUS: 'maybe' }), /expected a boolean/);
  assert.throws(() => resolveOptions({ traceSampleRatio: 2 }, {}), /traceSampleRatio/);
});

test('the config hash changes with the configuration', () => {
  assert.equal(resolveOptions({ service: 'a' }, {}).configHash, resolveOptions({ service: 'a' }, {}).configHash);
  assert.notEqual(resolveOptions({ service: 'a' }, {}).configHash, resolveOptions({ service: 'b' }, {}).configHash);
});

test('key=value lists are percent-decoded', () => {
  assert.deepEqual(parseKeyValueList('a=1, b=x%2Cy,broken,=v'), { a: '1', b: 'x,y' });
});
