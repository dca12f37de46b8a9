import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, parseConfigFile } from './index.js';

const dir = join(import.meta.dirname, 'testdata');

test('every *.good.yml fixture is accepted', () => {
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.good.yml'))) {
    assert.doesNotThrow(() => parseConfigFile(readFileSync(join(dir, name), 'utf8'), name), name);
  }
});

const expectedErrors: Record<string, RegExp> = {
  'unknown-key.bad.yml': /^unknown-key\.bad\.yml: server: unknown key "prot"$/,
  'bad-retention.bad.yml': /^bad-retention\.bad\.yml: retention\.logs: expected a duration like "7d".*"forever"/,
  'promql-bad-timeout.bad.yml': /^promql-bad-timeout\.bad\.yml: promql\.timeout: expected a Prometheus duration like "5m".*"30 seconds"/,
  'retention-too-long.bad.yml': /^retention-too-long\.bad\.yml: retention\.metrics: expected a duration .*1 to 25000 days.*50000/,
  'bad-port.bad.yml': /^bad-port\.bad\.yml: server\.port: .*65535/,
  'bad-yaml.bad.yml': /^bad-yaml\.bad\.yml:\d+:\d+: invalid YAML/,
  'bad-url.bad.yml': /^bad-url\.bad\.yml: storage\.clickhouseUrl: /,
  'tail-no-path.bad.yml': /^tail-no-path\.bad\.yml: tail\.scrape_configs\.0\.static_configs\.0\.labels\.__path__: required/,
  'tail-unknown-key.bad.yml': /^tail-unknown-key\.bad\.yml: tail\.scrape_configs\.0\.static_configs: required/,
  'scrape-relabel-no-target.bad.yml': /^scrape-relabel-no-target\.bad\.yml: scrape_configs\.0\.relabel_configs\.0\.target_label: relabel configuration for replace action requires 'target_label' value$/,
  'scrape-timeout.bad.yml': /^scrape-timeout\.bad\.yml: scrape_configs\.0\.scrape_timeout: scrape timeout greater than scrape interval/,
  'scrape-unsupported-sd.bad.yml': /^scrape-unsupported-sd\.bad\.yml: scrape_configs\.0\.kubernetes_sd_configs: .*Lookout does not support/,
  'scrape-duplicate-job.bad.yml': /^scrape-duplicate-job\.bad\.yml: scrape_configs\.1\.job_name: found multiple scrape configs with job name "node"$/,
  'scrape-bad-duration.bad.yml': /^scrape-bad-duration\.bad\.yml: scrape_configs\.0\.scrape_interval: not a valid duration string: "15 seconds"/,
  'scrape-bad-regex.bad.yml': /^scrape-bad-regex\.bad\.yml: scrape_configs\.0\.metric_relabel_configs\.0\.regex: invalid regex "go_\(\.\*"/,
};

test('every *.bad.yml fixture is refused naming the file, the key and the fault', () => {
  const bad = readdirSync(dir).filter((n) => n.endsWith('.bad.yml'));
  assert.deepEqual(bad.sort(), Object.keys(expectedErrors).sort());
  for (const name of bad) {
    assert.throws(
      () => parseConfigFile(readFileSync(join(dir, name), 'utf8'), name),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'LOOKOUT_ERR_CONFIG_INVALID');
        assert.match(error.message, expectedErrors[name]!);
        return true;
      },
    );
  }
});

test('precedence: defaults < file < environment < flags', () => {
  const file = join(dir, 'full.good.yml');
  const fromFile = loadConfig({ config: file }, {});
  assert.equal(fromFile.retention.traces, 3);
  assert.equal(fromFile.retention.metrics, 14);
  assert.equal(fromFile.pipeline.maxBatchRows, 20000);
  assert.deepEqual(fromFile.promql, { lookbackDeltaMs: 600_000, timeoutMs: 30_000, maxSamples: 1_000_000, enableExperimentalFunctions: false });
  const fromEnv = loadConfig({ config: file }, { LOOKOUT_PORT: '9000', LOOKOUT_RETENTION: 'logs=1d' });
  assert.equal(fromEnv.port, 9000);
  assert.deepEqual(fromEnv.retention, { logs: 1, traces: 3, metrics: 14 });
  const fromFlags = loadConfig({ config: file, port: '9001', retention: '2d' }, { LOOKOUT_PORT: '9000' });
  assert.equal(fromFlags.port, 9001);
  assert.deepEqual(fromFlags.retention, { logs: 2, traces: 2, metrics: 2 });
});

test('bad flags and environment values name their source', () => {
  assert.throws(() => loadConfig({ port: 'abc' }, {}), /^LookoutError: --port: expected a port number/);
  assert.throws(() => loadConfig({}, { LOOKOUT_RETENTION: 'spans=3d' }), /LOOKOUT_RETENTION: .*unknown signal "spans"/);
  assert.throws(() => loadConfig({ logLevel: 'loud' }, {}), /--log-level: expected one of fatal, error/);
  assert.throws(() => loadConfig({ config: '/nonexistent/lookout.yml' }, {}), /\/nonexistent\/lookout\.yml: cannot read/);
});
