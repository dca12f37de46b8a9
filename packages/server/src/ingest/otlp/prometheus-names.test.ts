import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { OtlpMetricKind } from './prometheus-names.js';
import { buildLabelName, buildMetricName, buildUnitName, formatGoFloat, formatGoJsonFloat } from './prometheus-names.js';

// Expected values from github.com/prometheus/otlptranslator metric_namer_test.go
// (TestMetricNamer_Build, the UTF8Allowed=false cases without a namespace).
describe('buildMetricName with suffixes', () => {
  const cases: [name: string, unit: string, kind: OtlpMetricKind, want: string, wantUnit: string][] = [
    ['requests', '', 'monotonic-counter', 'requests_total', ''],
    ['cpu_usage', '1', 'gauge', 'cpu_usage_ratio', ''],
    ['items', '1', 'monotonic-counter', 'items_total', ''],
    ['response_time', 'ms', 'gauge', 'response_time_milliseconds', 'milliseconds'],
    ['memory_usage', 'By', 'gauge', 'memory_usage_bytes', 'bytes'],
    ['requests', '1/s', 'gauge', 'requests_per_second', 'per_second'],
    ['throughput', 'By/s', 'gauge', 'throughput_bytes_per_second', 'bytes_per_second'],
    ['custom_metric', 'custom_unit', 'gauge', 'custom_metric_custom_unit', 'custom_unit'],
    ['custom_metric', '{custom}', 'gauge', 'custom_metric', ''],
    ['custom_metric', 'By/{custom}', 'gauge', 'custom_metric_bytes', 'bytes'],
    ['requests_total', '', 'monotonic-counter', 'requests_total', ''],
    ['cpu_usage_ratio', '1', 'gauge', 'cpu_usage_ratio', ''],
    ['response_time_seconds', 's', 'gauge', 'response_time_seconds', 'seconds'],
    [
      'metric__with__multiple__underscores',
      'unit__multiple__underscores',
      'gauge',
      'metric_with_multiple_underscores_unit_multiple_underscores',
      'unit_multiple_underscores',
    ],
    ['custom_metric', 'unit@with#special/chars', 'gauge', 'custom_metric_unit_with_special_per_chars', 'unit_with_special_per_chars'],
    ['request_duration', 's', 'histogram', 'request_duration_seconds', 'seconds'],
    ['request_size', 'By', 'exponential-histogram', 'request_size_bytes', 'bytes'],
    ['response_time', 'ms', 'summary', 'response_time_milliseconds', 'milliseconds'],
    ['active_connections', '', 'non-monotonic-counter', 'active_connections', ''],
    ['unknown_metric', '', 'unknown', 'unknown_metric', ''],
    ['uptime', 'd', 'gauge', 'uptime_days', 'days'],
    ['duration', 'h', 'gauge', 'duration_hours', 'hours'],
    ['timeout', 'min', 'gauge', 'timeout_minutes', 'minutes'],
    ['latency', 'us', 'gauge', 'latency_microseconds', 'microseconds'],
    ['precision_time', 'ns', 'gauge', 'precision_time_nanoseconds', 'nanoseconds'],
    ['cache_size', 'KiBy', 'gauge', 'cache_size_kibibytes', 'kibibytes'],
    ['memory', 'MiBy', 'gauge', 'memory_mebibytes', 'mebibytes'],
    ['storage', 'GiBy', 'gauge', 'storage_gibibytes', 'gibibytes'],
    ['capacity', 'TiBy', 'gauge', 'capacity_tibibytes', 'tibibytes'],
    ['transfer', 'KBy', 'gauge', 'transfer_kilobytes', 'kilobytes'],
    ['download', 'MBy', 'gauge', 'download_megabytes', 'megabytes'],
    ['backup', 'GBy', 'gauge', 'backup_gigabytes', 'gigabytes'],
    ['archive', 'TBy', 'gauge', 'archive_terabytes', 'terabytes'],
    ['distance', 'm', 'gauge', 'distance_meters', 'meters'],
    ['voltage', 'V', 'gauge', 'voltage_volts', 'volts'],
    ['current', 'A', 'gauge', 'current_amperes', 'amperes'],
    ['energy', 'J', 'gauge', 'energy_joules', 'joules'],
    ['power', 'W', 'gauge', 'power_watts', 'watts'],
    ['weight', 'g', 'gauge', 'weight_grams', 'grams'],
    ['temperature', 'Cel', 'gauge', 'temperature_celsius', 'celsius'],
    ['frequency', 'Hz', 'gauge', 'frequency_hertz', 'hertz'],
    ['cpu_usage', '%', 'gauge', 'cpu_usage_percent', 'percent'],
    ['requests', '1/m', 'gauge', 'requests_per_minute', 'per_minute'],
    ['events', '1/h', 'gauge', 'events_per_hour', 'per_hour'],
    ['transactions', '1/d', 'gauge', 'transactions_per_day', 'per_day'],
    ['reports', '1/w', 'gauge', 'reports_per_week', 'per_week'],
    ['invoices', '1/mo', 'gauge', 'invoices_per_month', 'per_month'],
    ['renewals', '1/y', 'gauge', 'renewals_per_year', 'per_year'],
    ['custom', '1/custom_unit', 'gauge', 'custom_per_custom_unit', 'per_custom_unit'],
    ['metric', 'By/', 'gauge', 'metric_bytes', 'bytes'],
    ['metric', ' By / s ', 'gauge', 'metric_bytes_per_second', 'bytes_per_second'],
    ['metric', '/', 'gauge', 'metric', ''],
    ['http.request.duration', 'ms', 'histogram', 'http_request_duration_milliseconds', 'milliseconds'],
    ['http.requests', '1', 'monotonic-counter', 'http_requests_total', ''],
  ];
  for (const [name, unit, kind, want, wantUnit] of cases) {
    it(`${name} [${unit}] ${kind} → ${want}`, () => {
      assert.equal(buildMetricName(name, unit, kind, true), want);
      assert.equal(buildUnitName(unit), wantUnit);
    });
  }

  it('keeps the `_total` last after a per-unit (counter `1/s` → `_per_second_total`)', () => {
    // metric_namer_test.go "metric with namespace and suffixes" without the namespace.
    assert.equal(buildMetricName('requests', '1/s', 'monotonic-counter', true), 'requests_per_second_total');
    assert.equal(buildMetricName('123_requests', '', 'monotonic-counter', true), '_123_requests_total');
  });

  it('rejects names with nothing valid left', () => {
    assert.throws(() => buildMetricName('@#$%', '', 'gauge', true), {
      message: 'normalization for metric "@#$%" resulted in empty name',
    });
  });
});

describe('buildMetricName without suffixes', () => {
  // metric_namer_test.go, UTF8Allowed=false, WithMetricSuffixes=false.
  const cases: [string, string][] = [
    ['simple_metric', 'simple_metric'],
    ['metric@with#special$chars', 'metric_with_special_chars'],
    ['123metric', '_123metric'],
    ['metric@@##$$name', 'metric_name'],
    ['___', '___'],
  ];
  for (const [name, want] of cases) {
    it(`${name} → ${want}`, () => assert.equal(buildMetricName(name, 's', 'monotonic-counter', false), want));
  }
  it('rejects empty and underscore-only results', () => {
    assert.throws(() => buildMetricName('', '', 'gauge', false), { message: 'normalization for metric "" resulted in empty name' });
    assert.throws(() => buildMetricName('@#$%', '', 'gauge', false), {
      message: 'normalization for metric "@#$%" resulted in empty name',
    });
    assert.throws(() => buildMetricName('@_#_$_%', '', 'gauge', false), {
      message: 'normalization for metric "@_#_$_%" resulted in invalid name "_____"',
    });
  });
});

// github.com/prometheus/otlptranslator label_namer_test.go (labelTestCases, TestBuildLabel).
describe('buildLabelName', () => {
  const collapse = { underscoreSanitization: false, preserveMultipleUnderscores: false };
  const collapseKey = { underscoreSanitization: true, preserveMultipleUnderscores: false };
  const preserve = { underscoreSanitization: false, preserveMultipleUnderscores: true };
  // Prometheus's default config (config.go DefaultOTLPConfig): both options on.
  const prometheusDefault = { underscoreSanitization: true, preserveMultipleUnderscores: true };

  // [label, sanitized, +underscore sanitization, +preserve, +both]
  const cases: [string, string, string, string, string][] = [
    ['label:with:colons', 'label_with_colons', 'label_with_colons', 'label_with_colons', 'label_with_colons'],
    ['LabelWithCapitalLetters', 'LabelWithCapitalLetters', 'LabelWithCapitalLetters', 'LabelWithCapitalLetters', 'LabelWithCapitalLetters'],
    ['label!with&special$chars)', 'label_with_special_chars_', 'label_with_special_chars_', 'label_with_special_chars_', 'label_with_special_chars_'],
    [
      'label_with_foreign_characters_字符',
      'label_with_foreign_characters_',
      'label_with_foreign_characters_',
      'label_with_foreign_characters___',
      'label_with_foreign_characters___',
    ],
    ['label.with.dots', 'label_with_dots', 'label_with_dots', 'label_with_dots', 'label_with_dots'],
    ['.foo', '_foo', 'key_foo', '_foo', 'key_foo'],
    ['123label', 'key_123label', 'key_123label', 'key_123label', 'key_123label'],
    [
      '_label_starting_with_underscore',
      '_label_starting_with_underscore',
      'key_label_starting_with_underscore',
      '_label_starting_with_underscore',
      'key_label_starting_with_underscore',
    ],
    [
      '__label_starting_with_2underscores',
      '_label_starting_with_2underscores',
      'key_label_starting_with_2underscores',
      '__label_starting_with_2underscores',
      '__label_starting_with_2underscores',
    ],
    [
      'label__with__double__underscores',
      'label_with_double_underscores',
      'label_with_double_underscores',
      'label__with__double__underscores',
      'label__with__double__underscores',
    ],
    [
      'label.name__with&&special##chars',
      'label_name_with_special_chars',
      'label_name_with_special_chars',
      'label_name__with__special__chars',
      'label_name__with__special__chars',
    ],
    ['__reserved__label__name__', '__reserved_label_name__', '__reserved_label_name__', '__reserved__label__name__', '__reserved__label__name__'],
    ['trailing_underscores___', 'trailing_underscores_', 'trailing_underscores_', 'trailing_underscores___', 'trailing_underscores___'],
  ];
  for (const [label, sanitized, withKey, preserved, both] of cases) {
    it(label, () => {
      assert.equal(buildLabelName(label, collapse), sanitized);
      assert.equal(buildLabelName(label, collapseKey), withKey);
      assert.equal(buildLabelName(label, preserve), preserved);
      assert.equal(buildLabelName(label, prometheusDefault), both);
    });
  }

  it('rejects empty names and names that become underscores only', () => {
    assert.throws(() => buildLabelName('', collapse), { message: 'label name is empty' });
    assert.throws(() => buildLabelName('ようこそ', collapse), {
      message: 'normalization for label name "ようこそ" resulted in invalid name "_"',
    });
    assert.throws(() => buildLabelName('ようこそ', preserve), {
      message: 'normalization for label name "ようこそ" resulted in invalid name "____"',
    });
    assert.throws(() => buildLabelName('__', collapse), { message: 'normalization for label name "__" resulted in invalid name "_"' });
    assert.throws(() => buildLabelName('__', preserve), { message: 'normalization for label name "__" resulted in invalid name "__"' });
  });
});

describe('formatGoFloat (strconv.FormatFloat(f, \'f\', -1, 64))', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [1, '1'],
    [0.005, '0.005'],
    [0.124, '0.124'], // metrics_to_prw_test.go "successful/convertHistogramsToNHCB=false"
    [1.123, '1.123'],
    [2.5, '2.5'],
    [1000, '1000'],
    [1e-9, '0.000000001'],
    [1.5e-7, '0.00000015'],
    [1e21, '1000000000000000000000'],
    [1.25e22, '12500000000000000000000'],
    [-0.5, '-0.5'],
    [-0, '-0'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [Number.NaN, 'NaN'],
  ];
  for (const [value, want] of cases) it(`${want}`, () => assert.equal(formatGoFloat(value), want));
});

describe('formatGoJsonFloat (pdata float64AsString)', () => {
  const cases: [number, string][] = [
    [1, '1'],
    [1.5, '1.5'],
    [0.000001, '0.000001'],
    [1e-7, '1e-7'],
    [1e21, '1e+21'],
    [123456789.125, '123456789.125'],
    [-0, '-0'],
    [Number.NaN, 'json: unsupported value: NaN'],
    [Infinity, 'json: unsupported value: +Inf'],
  ];
  for (const [value, want] of cases) it(`${want}`, () => assert.equal(formatGoJsonFloat(value), want));
});
