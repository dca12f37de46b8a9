import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from './load.js';

const dir = mkdtempSync(join(tmpdir(), 'lookout-scrape-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test("Prometheus's defaults: 1m interval, 10s timeout, /metrics, http, honor_timestamps", () => {
  const file = join(dir, 'defaults.yml');
  writeFileSync(file, 'scrape_configs:\n  - job_name: node\n    static_configs: [{ targets: ["a:9100"] }]\n  - job_name: fast\n    scrape_interval: 5s\n');
  const [node, fast] = loadConfig({ config: file }, {}).scrapeConfigs;
  assert.equal(node!.scrapeIntervalMs, 60_000);
  assert.equal(node!.scrapeTimeoutMs, 10_000);
  assert.equal(node!.metricsPath, '/metrics');
  assert.equal(node!.scheme, 'http');
  assert.equal(node!.honorLabels, false);
  assert.equal(node!.honorTimestamps, true);
  assert.equal(node!.sampleLimit, 0);
  assert.deepEqual(node!.staticConfigs, [{ targets: ['a:9100'], labels: {} }]);
  // An interval below the global timeout caps the timeout, as Prometheus does.
  assert.equal(fast!.scrapeTimeoutMs, 5_000);
  // So does a global interval below the default timeout.
  writeFileSync(file, 'global:\n  scrape_interval: 2s\nscrape_configs:\n  - job_name: node\n');
  assert.equal(loadConfig({ config: file }, {}).scrapeConfigs[0]!.scrapeTimeoutMs, 2_000);
});

test('relabel defaults: separator ";", regex (.*), replacement $1, action replace', () => {
  const file = join(dir, 'relabel.yml');
  writeFileSync(file, 'scrape_configs:\n  - job_name: n\n    relabel_configs:\n      - source_labels: [a, b]\n        target_label: c\n');
  assert.deepEqual(loadConfig({ config: file }, {}).scrapeConfigs[0]!.relabelConfigs, [
    { sourceLabels: ['a', 'b'], separator: ';', targetLabel: 'c', regex: '(.*)', modulus: 0, replacement: '$1', action: 'replace' },
  ]);
});

test('--scrape-config reads global and scrape_configs of a prometheus.yml; paths are relative to it', () => {
  const file = join(dir, 'prometheus.yml');
  writeFileSync(
    file,
    [
      'global:',
      '  scrape_interval: 15s',
      '  evaluation_interval: 15s',
      'rule_files: [rules.yml]',
      'alerting: { alertmanagers: [] }',
      'scrape_configs:',
      '  - job_name: prometheus',
      '    static_configs: [{ targets: ["localhost:9090"] }]',
      '  - job_name: files',
      '    file_sd_configs: [{ files: ["sd/*.json"] }]',
      '    tls_config: { ca_file: ca.pem }',
    ].join('\n'),
  );
  const config = loadConfig({ scrapeConfig: file }, {});
  assert.equal(config.scrapeConfigFile, file);
  assert.deepEqual(
    config.scrapeConfigs.map((c) => [c.jobName, c.scrapeIntervalMs]),
    [
      ['prometheus', 15_000],
      ['files', 15_000],
    ],
  );
  assert.deepEqual(config.scrapeConfigs[1]!.fileSdConfigs, [{ files: [join(dir, 'sd/*.json')], refreshIntervalMs: 300_000 }]);
  assert.equal(config.scrapeConfigs[1]!.tls.caFile, join(dir, 'ca.pem'));
  // The environment variable names the same file.
  assert.equal(loadConfig({}, { LOOKOUT_SCRAPE_CONFIG: file }).scrapeConfigs.length, 2);
});

test('--scrape-config errors name the file and the key', () => {
  const file = join(dir, 'bad-prometheus.yml');
  writeFileSync(file, 'global:\n  scrape_interval: 10s\n  scrape_timeout: 20s\nscrape_configs: []\n');
  assert.throws(() => loadConfig({ scrapeConfig: file }, {}), /bad-prometheus\.yml: global\.scrape_timeout: global scrape timeout greater than scrape interval/);
  writeFileSync(file, 'scrape_configs:\n  - job_name: x\n    static_configs: [{ targets: ["a"], labels: { "bad-name": "v" } }]\n');
  assert.throws(() => loadConfig({ scrapeConfig: file }, {}), /bad-prometheus\.yml: scrape_configs\.0\.static_configs\.0\.labels\.bad-name: /);
  writeFileSync(file, 'scrape_configs:\n  - job_name: x\n    oauth2: { client_id: a }\n');
  assert.throws(() => loadConfig({ scrapeConfig: file }, {}), /scrape_configs\.0\.oauth2: "oauth2" is a Prometheus setting Lookout does not support/);
  assert.throws(() => loadConfig({ scrapeConfig: join(dir, 'missing.yml') }, {}), /missing\.yml: cannot read the Prometheus config file/);
});

test('a job defined both in lookout.yml and in --scrape-config is refused', () => {
  const lookoutFile = join(dir, 'dup-lookout.yml');
  const promFile = join(dir, 'dup-prometheus.yml');
  writeFileSync(lookoutFile, 'scrape_configs:\n  - job_name: node\n');
  writeFileSync(promFile, 'scrape_configs:\n  - job_name: node\n');
  assert.throws(() => loadConfig({ config: lookoutFile, scrapeConfig: promFile }, {}), /job_name "node" is also defined/);
});
