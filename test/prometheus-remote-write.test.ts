/**
 * Debian's real Prometheus (2.42) scrapes itself and a target this test serves (OpenMetrics
 * with an exemplar), and remote-writes everything to Lookout. Its own
 * prometheus_remote_storage_* metrics must show samples, exemplars and metadata sent with none
 * failed, retried or dropped; the data must then read back through Lookout's Prometheus API
 * the same as through Prometheus's, and the target's disappearance must arrive as staleness.
 *
 * Needs the Debian package `prometheus` (/usr/bin/prometheus).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { freePort, startLookoutProcess, tempDir, type LookoutProcess } from './support/lookout-process.js';
import { waitFor as waitUntil } from './support/wait.js';

const PROMETHEUS = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

function requirePrometheus(): void {
  const probe = spawnSync(PROMETHEUS, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`${PROMETHEUS} is required for this test (Debian package "prometheus"): ${probe.error?.message ?? probe.stderr}`);
  }
}

const waitFor = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> =>
  waitUntil(what, probe, { timeoutMs, intervalMs: 250 });

/** Prometheus text exposition → metric name + labels text → value. */
function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+?(?:\{.*\})?)\s+(\S+)/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

function sumOf(metrics: Map<string, number>, name: string): number {
  let total = 0;
  for (const [key, value] of metrics) if (key === name || key.startsWith(`${name}{`)) total += value;
  return total;
}

async function api(base: string, path: string): Promise<{ status: string; data: unknown; errorType?: string; error?: string }> {
  const response = await fetch(`${base}${path}`);
  return (await response.json()) as { status: string; data: unknown };
}

describe('Debian Prometheus remote-writes to Lookout', { timeout: 240_000 }, () => {
  let lookout: LookoutProcess;
  let prometheus: ChildProcess;
  let promOutput = '';
  let target: Server;
  let promUrl: string;
  let scrapes = 0;

  before(async () => {
    requirePrometheus();
    lookout = await startLookoutProcess();
    const targetPort = await freePort();
    target = createServer((request, response) => {
      scrapes++;
      // OpenMetrics (which carries exemplars) when asked for, as Prometheus does by default.
      if ((request.headers.accept ?? '').includes('application/openmetrics-text')) {
        response.writeHead(200, { 'Content-Type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' });
        response.end(
          '# TYPE test_requests counter\n# HELP test_requests Requests served.\n' +
            `test_requests_total{path="/a"} ${scrapes} # {trace_id="abc123"} 0.5\n` +
            '# TYPE test_temperature_celsius gauge\n# HELP test_temperature_celsius Temperature.\n# UNIT test_temperature_celsius celsius\n' +
            'test_temperature_celsius 21.5\n# EOF\n',
        );
        return;
      }
      response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      response.end(
        '# TYPE test_requests_total counter\n# HELP test_requests_total Requests served.\n' +
          `test_requests_total{path="/a"} ${scrapes}\n# TYPE test_temperature_celsius gauge\ntest_temperature_celsius 21.5\n`,
      );
    });
    await new Promise<void>((resolve) => target.listen(targetPort, '127.0.0.1', resolve));

    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    const dir = tempDir('prometheus');
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs: [{ targets: ['127.0.0.1:${promPort}'] }]
  - job_name: target
    static_configs: [{ targets: ['127.0.0.1:${targetPort}'] }]
remote_write:
  - url: ${lookout.url}/api/v1/write
    send_exemplars: true
    queue_config: { batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s }
    metadata_config: { send: true, send_interval: 1s }
`,
    );
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--enable-feature=exemplar-storage',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout!.on('data', (chunk: Buffer) => (promOutput += chunk.toString()));
    prometheus.stderr!.on('data', (chunk: Buffer) => (promOutput += chunk.toString()));
    await waitFor('prometheus ready', 60_000, async () => ((await fetch(`${promUrl}/-/ready`)).status === 200 ? true : undefined));
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await new Promise((r) => prometheus.once('exit', r));
    }
    target?.close();
    await lookout?.stop();
  });

  it('sends samples, exemplars and metadata with nothing failed, retried or dropped', async () => {
    const metrics = await waitFor('remote-write traffic', 90_000, async () => {
      const m = parseExposition(await (await fetch(`${promUrl}/metrics`)).text());
      const samples = sumOf(m, 'prometheus_remote_storage_samples_total') || sumOf(m, 'prometheus_remote_storage_samples_succeeded_total');
      return samples > 500 && sumOf(m, 'prometheus_remote_storage_exemplars_total') > 0 && sumOf(m, 'prometheus_remote_storage_metadata_total') > 0 ? m : undefined;
    });
    for (const name of [
      'prometheus_remote_storage_samples_failed_total',
      'prometheus_remote_storage_samples_retried_total',
      'prometheus_remote_storage_samples_dropped_total',
      'prometheus_remote_storage_exemplars_failed_total',
      'prometheus_remote_storage_exemplars_retried_total',
      'prometheus_remote_storage_metadata_failed_total',
      'prometheus_remote_storage_metadata_retried_total',
    ]) {
      assert.equal(sumOf(metrics, name), 0, `${name}\n${promOutput}`);
    }
  });

  it('reads the same series, labels and metadata back through both APIs', async () => {
    const lookoutSeries = await waitFor('series in Lookout', 60_000, async () => {
      const r = await api(lookout.url, '/api/v1/series?match[]=%7Bjob%3D%22target%22%7D');
      const data = r.data as Record<string, string>[];
      return r.status === 'success' && data.length >= 2 ? data : undefined;
    });
    const promSeries = (await api(promUrl, '/api/v1/series?match[]=%7Bjob%3D%22target%22%7D')).data as Record<string, string>[];
    const names = (list: Record<string, string>[]) => new Set(list.map((s) => JSON.stringify(Object.entries(s).sort())));
    const sameScrapedSeries = [...names(lookoutSeries)].filter((s) => !s.includes('scrape_') && !s.includes('"up"'));
    assert.ok(sameScrapedSeries.length >= 2, JSON.stringify(lookoutSeries));
    for (const s of sameScrapedSeries) assert.ok(names(promSeries).has(s), `${s} not in Prometheus's series`);
    assert.ok(
      lookoutSeries.some((s) => s.__name__ === 'test_requests_total' && s.path === '/a' && s.instance !== undefined),
      JSON.stringify(lookoutSeries),
    );

    const jobs = (await api(lookout.url, '/api/v1/label/job/values')).data as string[];
    assert.deepEqual(jobs, ['prometheus', 'target']);
    const labels = (await api(lookout.url, '/api/v1/labels?match[]=test_requests_total')).data as string[];
    assert.deepEqual(labels, ['__name__', 'instance', 'job', 'path']);
    const promNames = (await api(promUrl, '/api/v1/label/__name__/values?match[]=%7Bjob%3D%22target%22%7D')).data as string[];
    const lookoutNames = (await api(lookout.url, '/api/v1/label/__name__/values?match[]=%7Bjob%3D%22target%22%7D')).data as string[];
    assert.deepEqual(lookoutNames, promNames);

    const metadata = await waitFor('metadata in Lookout', 30_000, async () => {
      const r = await api(lookout.url, '/api/v1/metadata?metric=test_requests');
      return Object.keys(r.data as object).length > 0 ? r.data : undefined;
    });
    assert.deepEqual(metadata, { test_requests: [{ type: 'counter', help: 'Requests served.', unit: '' }] });
    const gauge = (await api(lookout.url, '/api/v1/metadata?metric=test_temperature_celsius')).data;
    assert.deepEqual(gauge, (await api(promUrl, '/api/v1/metadata?metric=test_temperature_celsius')).data);
  });

  it('stores exemplars and answers the exemplar API like Prometheus', async () => {
    const query = '/api/v1/query_exemplars?query=test_requests_total&start=0&end=9999999999';
    const found = await waitFor('exemplars in Lookout', 30_000, async () => {
      const r = await api(lookout.url, query);
      const data = r.data as { seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string>; value: string }[] }[];
      return data && data.length > 0 ? data : undefined;
    });
    assert.equal(found[0]!.seriesLabels.__name__, 'test_requests_total');
    assert.deepEqual(found[0]!.exemplars[0]!.labels, { trace_id: 'abc123' });
    assert.equal(found[0]!.exemplars[0]!.value, '0.5');
    const theirs = (await api(promUrl, query)).data as { seriesLabels: Record<string, string> }[];
    assert.deepEqual(found[0]!.seriesLabels, theirs[0]!.seriesLabels);
  });

  it('answers instant queries like Prometheus, and keeps staleness markers', async () => {
    const probe = await api(lookout.url, '/api/v1/query?query=1%2B1');
    assert.equal(probe.status, 'success', JSON.stringify(probe));
    const value = await waitFor('a query result', 30_000, async () => {
      const r = await api(lookout.url, '/api/v1/query?query=test_temperature_celsius');
      const data = r.data as { result: { value: [number, string] }[] };
      return data?.result?.length ? data.result[0]!.value[1] : undefined;
    });
    assert.equal(value, '21.5');

    // The target goes away: Prometheus writes staleness markers, after which the series is
    // absent from an instant query at once (not only after the 5-minute lookback).
    target.close();
    target.closeAllConnections();
    const goneAt = await waitFor('staleness in Prometheus', 30_000, async () => {
      const r = await api(promUrl, '/api/v1/query?query=test_temperature_celsius');
      return (r.data as { result: unknown[] }).result.length === 0 ? Date.now() / 1000 : undefined;
    });
    await waitFor('staleness in Lookout', 30_000, async () => {
      const r = await api(lookout.url, `/api/v1/query?query=test_temperature_celsius&time=${goneAt + 2}`);
      return (r.data as { result: unknown[] }).result.length === 0 ? true : undefined;
    });
  });
});
