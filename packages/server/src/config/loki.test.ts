import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig, parseConfigFile } from './load.js';
import { DEFAULT_LOKI_LIMITS, lokiConfigSchema, parseByteSize } from './loki.js';

test('loki: sizes and durations in Loki notation', () => {
  assert.equal(parseByteSize('256KB'), 262144);
  assert.equal(parseByteSize('1MB'), 1048576);
  assert.equal(parseByteSize(100), 100);
  assert.equal(parseByteSize('12 parsecs'), undefined);
  const maxAge = (text: string) => lokiConfigSchema.safeParse({ rejectOldSamplesMaxAge: text }).data?.rejectOldSamplesMaxAge;
  assert.equal(maxAge('1h30m'), 5_400_000);
  assert.equal(maxAge('7d'), 604_800_000);
  assert.equal(maxAge('0'), 0);
  assert.equal(maxAge('soon'), undefined);
});

test('loki: the file section overrides the defaults key by key', () => {
  const config = loadConfig({ config: join(import.meta.dirname, 'testdata', 'loki.good.yml') }, {});
  assert.equal(config.loki.maxLineSize, 512 * 1024);
  assert.equal(config.loki.maxLineSizeTruncate, true);
  assert.equal(config.loki.rejectOldSamplesMaxAgeMs, 14 * 86_400_000);
  assert.equal(config.loki.creationGracePeriodMs, 300_000);
  assert.equal(config.loki.outOfOrderWindowMs, 7_200_000);
  assert.deepEqual(config.loki.discoverServiceName, ['app', 'job']);
  assert.equal(config.loki.maxLabelValueLength, DEFAULT_LOKI_LIMITS.maxLabelValueLength);
  assert.deepEqual(loadConfig({}, {}).loki, DEFAULT_LOKI_LIMITS);
});

test('loki: bad values are refused naming the key', () => {
  assert.throws(() => parseConfigFile('loki:\n  maxLineSize: huge\n', 'x.yml'), /loki\.maxLineSize: expected a size/);
  assert.throws(() => parseConfigFile('loki:\n  outOfOrderWindow: later\n', 'x.yml'), /loki\.outOfOrderWindow: expected a duration/);
  assert.throws(() => parseConfigFile('loki:\n  discoverServiceName: ["a-b"]\n', 'x.yml'), /loki\.discoverServiceName\.0: expected a label name/);
  assert.throws(() => parseConfigFile('loki:\n  maxLineSzie: 1\n', 'x.yml'), /loki: unknown key "maxLineSzie"/);
});
