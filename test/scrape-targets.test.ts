/**
 * Scraping real exporters: Debian's prometheus-node-exporter (text format) and a Python process
 * using the official prometheus_client (OpenMetrics negotiated, with _created series). Lookout
 * runs as a child process with scrape_configs in lookout.yml; the test then kills a target,
 * changes a file_sd file, reloads through POST /-/reload and SIGHUP, and finally reads storage.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DEFAULT_TENANT } from '../packages/server/src/model/index.js';
import { openStorage, type StoredSeries } from '../packages/server/src/storage/index.js';
import { REPO_ROOT, freePort, startLookoutProcess, tempDir, type LookoutProcess } from './support/lookout-process.js';
import { waitFor as waitUntil } from './support/wait.js';

const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter';
const PYTHON = '/usr/bin/python3';

interface ApiTarget {
  scrapePool: string;
  scrapeUrl: string;
  health: string;
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
  lastError: string;
  lastScrape: string;
  lastScrapeDuration: number;
  scrapeInterval: string;
  scrapeTimeout: string;
}

const children: ChildProcess[] = [];
let lookout: LookoutProcess | undefined;
const dir = tempDir('scrape');
let nodePort = 0;
let pythonPort = 0;
let nodeExporter: ChildProcess;
let configPath = '';
let fileSdPath = '';
const startMs = Date.now();

const waitFor = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> =>
  waitUntil(what, probe, { timeoutMs, context: () => lookout?.output() ?? '' });

function startChild(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.resume();
  child.stderr!.resume();
  children.push(child);
  return child;
}

async function httpUp(url: string): Promise<true | undefined> {
  const response = await fetch(url);
  return response.ok ? true : undefined;
}

async function targets(): Promise<ApiTarget[]> {
  const response = await fetch(`${lookout!.url}/api/v1/targets`);
  assert.equal(response.status, 200, 'GET /api/v1/targets');
  const body = (await response.json()) as { data: { activeTargets: ApiTarget[] } };
  return body.data.activeTargets;
}

function writeConfig(extraJobs = ''): void {
  const text = `
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:${nodePort}']
        labels: { env: test }
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: 'node_(cpu|memory|time|load1|exporter_build_info).*|go_goroutines'
        action: keep
  - job_name: python
    file_sd_configs:
      - files: ['${join(dir, 'targets-*.json')}']
        refresh_interval: 1m
${extraJobs}`;
  // Atomic replace, as config management tools do.
  writeFileSync(`${configPath}.tmp`, text);
  renameSync(`${configPath}.tmp`, configPath);
}

function writeFileSd(targetsList: string[]): void {
  writeFileSync(`${fileSdPath}.tmp`, JSON.stringify([{ targets: targetsList, labels: { team: 'py' } }]));
  renameSync(`${fileSdPath}.tmp`, fileSdPath);
}

before(async () => {
  assert.equal(spawnSync(NODE_EXPORTER, ['--version']).status, 0, `${NODE_EXPORTER} is missing: install the Debian package "prometheus-node-exporter"`);
  assert.equal(spawnSync(PYTHON, ['-c', 'import prometheus_client']).status, 0, 'prometheus_client is missing: install the Debian package "python3-prometheus-client"');
  nodePort = await freePort();
  pythonPort = await freePort();
  nodeExporter = startChild(NODE_EXPORTER, [`--web.listen-address=127.0.0.1:${nodePort}`, '--collector.disable-defaults', '--collector.cpu', '--collector.meminfo', '--collector.time', '--collector.loadavg']);
  startChild(PYTHON, [join(REPO_ROOT, 'test/support/python-exporter.py'), String(pythonPort)]);
  await waitFor('node exporter', () => httpUp(`http://127.0.0.1:${nodePort}/metrics`));
  await waitFor('python exporter', () => httpUp(`http://127.0.0.1:${pythonPort}/metrics`));
  configPath = join(dir, 'lookout.yml');
  fileSdPath = join(dir, 'targets-python.json');
  writeFileSd([`127.0.0.1:${pythonPort}`]);
  writeConfig();
  lookout = await startLookoutProcess({ args: ['--config', configPath] });
});

after(async () => {
  await lookout?.stop('SIGKILL');
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

test('scrapes node-exporter and a prometheus_client process; targets API, target down, file_sd, reloads; storage has samples, metadata, report series and staleness', async () => {
  // Both targets up, in Prometheus's /api/v1/targets shape.
  const up = await waitFor('both targets up', async () => {
    const list = await targets();
    return list.length === 2 && list.every((t) => t.health === 'up') ? list : undefined;
  });
  const node = up.find((t) => t.scrapePool === 'node')!;
  assert.equal(node.scrapeUrl, `http://127.0.0.1:${nodePort}/metrics`);
  assert.deepEqual(node.labels, { env: 'test', instance: `127.0.0.1:${nodePort}`, job: 'node' });
  assert.equal(node.discoveredLabels.__address__, `127.0.0.1:${nodePort}`);
  assert.equal(node.discoveredLabels.__scrape_interval__, '1s');
  assert.equal(node.scrapeInterval, '1s');
  assert.equal(node.scrapeTimeout, '900ms');
  assert.match(node.lastScrape, /^\d{4}-\d\d-\d\dT/);
  const python = up.find((t) => t.scrapePool === 'python')!;
  assert.equal(python.labels.team, 'py');
  assert.equal(python.discoveredLabels.__meta_filepath, fileSdPath);

  // A new file_sd target appears when the file changes.
  writeFileSd([`127.0.0.1:${pythonPort}`, `localhost:${pythonPort}`]);
  await waitFor('second file_sd target up', async () => {
    const list = await targets();
    return list.some((t) => t.labels.instance === `localhost:${pythonPort}` && t.health === 'up') ? true : undefined;
  });

  // POST /-/reload with a new job (Lookout scraping its own /metrics).
  writeConfig(`  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:${lookout!.port}']\n`);
  const reloaded = await fetch(`${lookout!.url}/-/reload`, { method: 'POST' });
  assert.equal(reloaded.status, 200);
  await waitFor('self target up', async () => ((await targets()).some((t) => t.scrapePool === 'self' && t.health === 'up') ? true : undefined));

  // A broken configuration is refused (400 here; Prometheus says 500) (PUT works like POST) and the running one stays.
  writeFileSync(configPath, 'scrape_configs:\n  - job_name: broken\n    scrape_interval: 1s\n    scrape_timeout: 5s\n');
  const refused = await fetch(`${lookout!.url}/-/reload`, { method: 'PUT' });
  assert.equal(refused.status, 400);
  assert.match(await refused.text(), /failed to reload config: .*scrape_timeout/);
  assert.ok((await targets()).some((t) => t.scrapePool === 'self'));

  // SIGHUP with the self job removed.
  writeConfig();
  lookout!.child.kill('SIGHUP');
  await waitFor('self target removed', async () => ((await targets()).some((t) => t.scrapePool === 'self') ? undefined : true));
  const selfRemovedAt = Date.now();

  // The node exporter goes away: the target turns down.
  nodeExporter.kill('SIGKILL');
  const downAt = Date.now();
  const down = await waitFor('node target down', async () => (await targets()).find((t) => t.scrapePool === 'node' && t.health === 'down'));
  assert.match(down.lastError, /ECONNREFUSED|connect/);
  // Let at least one more failed scrape happen after the first, and the removed self target's
  // end-of-run staleness markers (due two intervals and 10 % after its removal) be written.
  await new Promise((r) => setTimeout(r, Math.max(1500, selfRemovedAt + 3000 - Date.now())));

  assert.equal(await lookout!.stop('SIGTERM'), 0);
  const storage = await openStorage({ dataDir: lookout!.dataDir, retention: { logs: 7, traces: 7, metrics: 30 } });
  try {
    const select = (matchers: [string, string][], type: '=' | '=~' = '=') =>
      storage.series.select({
        tenant: DEFAULT_TENANT,
        matchers: matchers.map(([name, value]) => ({ type, name, value })),
        startMs: startMs - 60_000,
        endMs: Date.now() + 60_000,
      });
    const only = (list: StoredSeries[], what: string) => {
      assert.equal(list.length, 1, `${what}: ${JSON.stringify(list.map((s) => s.labels))}`);
      return list[0]!;
    };

    // Node exporter: up went 1 → 0; its series got a staleness marker when the target went down.
    const nodeUp = only(await select([['__name__', 'up'], ['job', 'node']]), 'up{job="node"}');
    assert.deepEqual(nodeUp.labels, { __name__: 'up', env: 'test', instance: `127.0.0.1:${nodePort}`, job: 'node' });
    const upValues = nodeUp.samples.filter((s) => !s.stale).map((s) => s.value);
    assert.equal(upValues[0], 1);
    assert.equal(upValues.at(-1), 0);
    const firstDown = nodeUp.samples.find((s) => !s.stale && s.value === 0)!;
    assert.ok(firstDown.timestampMs >= downAt - 1000);
    const nodeTime = only(await select([['__name__', 'node_time_seconds']]), 'node_time_seconds');
    assert.equal(nodeTime.labels.job, 'node');
    const lastReal = nodeTime.samples.filter((s) => !s.stale).at(-1)!;
    const stale = nodeTime.samples.filter((s) => s.stale);
    assert.ok(stale.length >= 1, 'node_time_seconds has a staleness marker');
    assert.ok(stale[0]!.timestampMs > lastReal.timestampMs);
    assert.ok(stale[0]!.timestampMs <= firstDown.timestampMs, 'the marker is written by the first failed scrape');
    // metric_relabel_configs kept only the listed families.
    assert.equal((await select([['__name__', 'node_scrape_collector_success']])).length, 0);
    const scraped = only(await select([['__name__', 'scrape_samples_scraped'], ['job', 'node']]), 'scrape_samples_scraped');
    const post = only(await select([['__name__', 'scrape_samples_post_metric_relabeling'], ['job', 'node']]), 'post relabeling');
    assert.ok(scraped.samples[0]!.value > post.samples[0]!.value, 'relabeling dropped samples');
    assert.ok(post.samples[0]!.value > 0);
    const duration = only(await select([['__name__', 'scrape_duration_seconds'], ['job', 'node']]), 'scrape_duration_seconds');
    assert.ok(duration.samples[0]!.value > 0 && duration.samples[0]!.value < 1);
    const added = only(await select([['__name__', 'scrape_series_added'], ['job', 'node']]), 'scrape_series_added');
    assert.equal(added.samples[0]!.value, post.samples[0]!.value, 'every series is new in the first scrape');
    assert.equal(added.samples[1]!.value, 0);

    // Python client over OpenMetrics: counter with _total and _created, histogram, summary.
    const instance = `127.0.0.1:${pythonPort}`;
    const counter = only(await select([['__name__', 'demo_requests_total'], ['instance', instance]]), 'demo_requests_total');
    assert.deepEqual(counter.labels, { __name__: 'demo_requests_total', instance, job: 'python', method: 'get', team: 'py' });
    const values = counter.samples.filter((s) => !s.stale).map((s) => s.value);
    assert.ok(values.length >= 3 && values.at(-1)! > values[0]!);
    const created = only(await select([['__name__', 'demo_requests_created'], ['instance', instance]]), 'demo_requests_created');
    assert.ok(Math.abs(created.samples[0]!.value * 1000 - startMs) < 120_000, 'the _created sample holds the creation time in seconds');
    const buckets = await select([['__name__', 'demo_latency_seconds_bucket'], ['instance', instance]]);
    assert.deepEqual(buckets.map((s) => s.labels.le).sort(), ['+Inf', '0.1', '0.5', '1.0']);
    assert.equal((await select([['__name__', 'demo_latency_seconds_created'], ['instance', instance]])).length, 1);
    assert.equal((await select([['__name__', 'demo_size_bytes_count'], ['instance', instance]])).length, 1);
    assert.equal((await select([['__name__', 'demo_size_bytes_created'], ['instance', instance]])).length, 1);
    assert.equal((await select([['__name__', 'demo_in_flight'], ['instance', instance]])).length, 1);
    // OpenMetrics exemplars are stored beside the series.
    const withExemplars = await storage.series.exemplars({
      tenant: DEFAULT_TENANT,
      matcherSets: [[{ type: '=', name: '__name__', value: 'demo_requests_total' }, { type: '=', name: 'instance', value: instance }]],
      startMs: startMs - 60_000,
      endMs: Date.now() + 60_000,
    });
    assert.equal(withExemplars.length, 1);
    assert.deepEqual(withExemplars[0]!.exemplars[0]!.labels, { trace_id: 'abc123' });
    // The second file_sd target was scraped too.
    assert.equal((await select([['__name__', 'up'], ['instance', `localhost:${pythonPort}`]])).length, 1);
    // Shutdown is not the end of a series (Prometheus writes no markers then; a restart continues).
    assert.equal(counter.samples.at(-1)!.stale, false);

    // The self job existed between the two reloads and its series were marked stale on removal.
    const selfUp = only(await select([['__name__', 'up'], ['job', 'self']]), 'up{job="self"}');
    assert.equal(selfUp.samples.at(-1)!.stale, true);
    assert.ok(selfUp.samples.some((s) => !s.stale && s.value === 1));

    // Metadata from # TYPE / # HELP / # UNIT.
    const metadata = await storage.series.metricMetadata(DEFAULT_TENANT);
    const byName = new Map(metadata.map((m) => [m.metricFamilyName, m]));
    assert.equal(byName.get('demo_latency_seconds')?.type, 'histogram');
    assert.equal(byName.get('demo_latency_seconds')?.help, 'Request latency.');
    assert.equal(byName.get('demo_latency_seconds')?.unit, 'seconds');
    assert.equal(byName.get('demo_requests')?.type, 'counter');
    assert.equal(byName.get('demo_size_bytes')?.type, 'summary');
    assert.equal(byName.get('node_time_seconds')?.type, 'gauge');
  } finally {
    await storage.close();
  }
});
