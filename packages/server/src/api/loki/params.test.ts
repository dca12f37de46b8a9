import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBounds, parsePromDuration, parseRangeQuery, parseSecondsOrDuration, parseTimestamp } from './params.js';
import { sampleValue, secondsJson } from './format.js';

const NOW = 1_700_000_000_000_000_000n;

test('timestamps: Unix seconds, fractional seconds, nanoseconds, RFC3339', () => {
  assert.equal(parseTimestamp('1700000000', 0n), NOW);
  assert.equal(parseTimestamp('1700000000.5', 0n), NOW + 500_000_000n);
  assert.equal(parseTimestamp('1700000000123456789', 0n), NOW + 123_456_789n);
  assert.equal(parseTimestamp('2023-11-14T22:13:20Z', 0n), NOW);
  assert.equal(parseTimestamp('2023-11-14T23:13:20.000000001+01:00', 0n), NOW + 1n);
  assert.equal(parseTimestamp('', 42n), 42n);
  assert.throws(() => parseTimestamp('yesterday', 0n), /strconv.ParseInt: parsing "yesterday": invalid syntax/);
});

test('durations: Prometheus notation and seconds', () => {
  assert.equal(parsePromDuration('1h30m'), 5_400_000_000_000n);
  assert.equal(parsePromDuration('1.5h'), undefined);
  assert.equal(parseSecondsOrDuration('1.5'), 1_500_000_000n);
  assert.equal(parseSecondsOrDuration('5m'), 300_000_000_000n);
  assert.throws(() => parseSecondsOrDuration('soon'), /cannot parse "soon" to a valid duration/);
});

test('bounds and defaults as Loki: 1h before min(end, now), limit 100, backward, step range/250', () => {
  assert.deepEqual(parseBounds({}, NOW), { startNs: NOW - 3_600_000_000_000n, endNs: NOW });
  assert.deepEqual(parseBounds({ since: '5m' }, NOW), { startNs: NOW - 300_000_000_000n, endNs: NOW });
  // An end in the future still starts `since` before now.
  assert.equal(parseBounds({ end: String(NOW + 7_200_000_000_000n) }, NOW).startNs, NOW - 3_600_000_000_000n);
  const q = parseRangeQuery({ query: '{a="b"}', start: '1700000000', end: '1700086400' }, NOW);
  assert.equal(q.limit, 100);
  assert.equal(q.direction, 'backward');
  assert.equal(q.stepNs, 345_000_000_000n);
  assert.equal(parseRangeQuery({ query: 'x', start: '1700000000', end: '1700000010' }, NOW).stepNs, 1_000_000_000n);
  assert.throws(() => parseBounds({ since: 'a while' }, NOW), /could not parse 'since' parameter/);
});

test('numbers as Prometheus prints them', () => {
  assert.equal(secondsJson(1700000000500), '1700000000.5');
  assert.equal(secondsJson(1700000000000), '1700000000');
  assert.equal(secondsJson(1700000000007), '1700000000.007');
  assert.equal(sampleValue(1e21), '1000000000000000000000');
  assert.equal(sampleValue(1.5e-7), '0.00000015');
  assert.equal(sampleValue(-2.5e22), '-25000000000000000000000');
  assert.equal(sampleValue(NaN), 'NaN');
  assert.equal(sampleValue(-Infinity), '-Inf');
  assert.equal(sampleValue(0.1 + 0.2), '0.30000000000000004');
});
