import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatPromDuration, parsePromDuration } from './duration.js';

test('parsePromDuration: model.ParseDuration (units in order, once each, whole numbers)', () => {
  assert.equal(parsePromDuration('1h30m'), 5_400_000);
  assert.equal(parsePromDuration('7d'), 604_800_000);
  assert.equal(parsePromDuration('1y2w3d4h5m6s7ms'), 365 * 86_400_000 + 17 * 86_400_000 + 4 * 3_600_000 + 5 * 60_000 + 6000 + 7);
  assert.equal(parsePromDuration('0'), 0);
  for (const bad of ['', 'soon', '30m1h', '1m1m', '1.5m', '-1m', '5', ' 5m']) assert.equal(parsePromDuration(bad), undefined, bad);
  // Beyond int64 nanoseconds, as Prometheus refuses it.
  assert.equal(parsePromDuration('300y'), undefined);
});

test('formatPromDuration: model.Duration.String (years and weeks only when exact)', () => {
  assert.equal(formatPromDuration(0), '0s');
  assert.equal(formatPromDuration(60_000), '1m');
  assert.equal(formatPromDuration(8 * 86_400_000), '8d');
  assert.equal(formatPromDuration(14 * 86_400_000), '2w');
  assert.equal(formatPromDuration(365 * 86_400_000), '1y');
  assert.equal(formatPromDuration(3_723_004), '1h2m3s4ms');
  assert.equal(formatPromDuration(-90_000), '-1m30s');
});
