import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { defaultScrapeConfig, type MetricMetadata, type RelabelConfig, type Sample, type ScrapeConfig } from '../model/index.js';
import type { ScrapeClient, ScrapeResponse } from './http.js';
import { acceptHeader } from './http.js';
import { mergeTargetLabels, phaseOffsetMs, ScrapeLoop } from './loop.js';
import { buildTargets, compileRelabelConfigs } from './target.js';

const logger = pino({ level: 'silent' });

function config(overrides: Partial<ScrapeConfig> = {}): ScrapeConfig {
  return { ...defaultScrapeConfig('job'), ...overrides };
}

test('target labels: defaults, params, relabeling, instance, dropped targets', () => {
  const cfg = config({
    params: { module: ['http_2xx', 'other'] },
    relabelConfigs: [
      { sourceLabels: ['__address__'], separator: ';', targetLabel: '__param_target', regex: '(.*)', modulus: 0, replacement: '$1', action: 'replace' },
      { sourceLabels: ['__address__'], separator: ';', targetLabel: '', regex: 'drop-me.*', modulus: 0, replacement: '$1', action: 'drop' },
      { sourceLabels: [], separator: ';', targetLabel: '__address__', regex: '(.*)', modulus: 0, replacement: 'blackbox:9115', action: 'replace' },
    ],
  });
  const { active, dropped } = buildTargets(cfg, compileRelabelConfigs(cfg.relabelConfigs), [
    { source: 's', targets: ['example.com', 'drop-me:1'], labels: { env: 'prod', __meta_x: 'y' } },
  ]);
  assert.equal(active.length, 1);
  const t = active[0]!;
  assert.equal(t.url, 'http://blackbox:9115/metrics?module=http_2xx&module=other&target=example.com');
  assert.equal(t.labels.instance, 'blackbox:9115');
  assert.equal(t.labels.job, 'job');
  assert.equal(t.labels.__meta_x, undefined);
  assert.deepEqual(t.discoveredLabels, {
    env: 'prod',
    __meta_x: 'y',
    __address__: 'example.com',
    job: 'job',
    __scrape_interval__: '1m',
    __scrape_timeout__: '10s',
    __metrics_path__: '/metrics',
    __scheme__: 'http',
    __param_module: 'http_2xx',
  });
  assert.equal(dropped.length, 1);
  assert.equal(dropped[0]!.discoveredLabels.__address__, 'drop-me:1');
});

test('a relabeled __scrape_interval__ changes the interval; an invalid one drops the target', () => {
  const rule = (value: string): RelabelConfig[] => [{ sourceLabels: [], separator: ';', targetLabel: '__scrape_interval__', regex: '(.*)', modulus: 0, replacement: value, action: 'replace' }];
  const ok = config({ relabelConfigs: rule('2m') });
  assert.equal(buildTargets(ok, compileRelabelConfigs(ok.relabelConfigs), [{ source: 's', targets: ['a:1'], labels: {} }]).active[0]!.intervalMs, 120_000);
  const bad = config({ relabelConfigs: rule('5s') });
  const result = buildTargets(bad, compileRelabelConfigs(bad.relabelConfigs), [{ source: 's', targets: ['a:1'], labels: {} }]);
  assert.equal(result.active.length, 0);
});

test('honor_labels and exported_ prefixes, as mutateSampleLabels', () => {
  const target = { job: 'node', instance: 'a:1' };
  assert.deepEqual(mergeTargetLabels({ __name__: 'm', job: 'mine', exported_job: 'x' }, target, false), {
    __name__: 'm',
    job: 'node',
    instance: 'a:1',
    exported_job: 'x',
    exported_exported_job: 'mine',
  });
  assert.deepEqual(mergeTargetLabels({ __name__: 'm', job: 'mine' }, target, true), { __name__: 'm', job: 'mine', instance: 'a:1' });
});

test('Accept header like Prometheus: descending weights, then */*', () => {
  assert.equal(
    acceptHeader(['OpenMetricsText1.0.0', 'OpenMetricsText0.0.1', 'PrometheusText1.0.0', 'PrometheusText0.0.4']),
    'application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,' +
      'text/plain;version=1.0.0;escaping=underscores;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
  );
  assert.equal(acceptHeader(['PrometheusText0.0.4']), 'text/plain;version=0.0.4;q=0.6,*/*;q=0.5');
});

test('the phase offset is stable per target and within the interval', () => {
  const a = phaseOffsetMs('t1', 10_000, 1_000_000);
  assert.ok(a >= 0 && a < 10_000);
  // One second later the next scrape is one second closer (same phase).
  assert.equal(phaseOffsetMs('t1', 10_000, 1_001_000), (a - 1000 + 10_000) % 10_000);
});

class FakeClient implements ScrapeClient {
  responses: (ScrapeResponse | Error)[] = [];
  async fetch(): Promise<ScrapeResponse> {
    const next = this.responses.shift();
    if (!next) throw new Error('no response queued');
    if (next instanceof Error) throw next;
    return next;
  }
  close(): void {}
}

function harness(cfg: ScrapeConfig) {
  const rules = compileRelabelConfigs(cfg.relabelConfigs);
  const target = buildTargets(cfg, rules, [{ source: 's', targets: ['host:9100'], labels: {} }]).active[0]!;
  const client = new FakeClient();
  const writes: { samples: Sample[]; metadata: MetricMetadata[] | undefined }[] = [];
  const loop = new ScrapeLoop(target, cfg, compileRelabelConfigs(cfg.metricRelabelConfigs), client, async (samples, metadata) => void writes.push({ samples, metadata }), logger);
  const text = (body: string) => client.responses.push({ body: Buffer.from(body), contentType: 'text/plain; version=0.0.4' });
  const last = () => writes.at(-1)!;
  const value = (name: string) => last().samples.find((s) => s.labels.__name__ === name && !s.stale)?.value;
  return { loop, client, writes, text, last, value };
}

test('report series, disappearing series get staleness markers, a failed scrape marks everything stale', async () => {
  const h = harness(config());
  h.text('# TYPE a counter\na_total 1\nb 2\nc 3 1700000000000\n');
  await h.loop.scrapeOnce();
  assert.equal(h.value('up'), 1);
  assert.equal(h.value('scrape_samples_scraped'), 3);
  assert.equal(h.value('scrape_samples_post_metric_relabeling'), 3);
  assert.equal(h.value('scrape_series_added'), 3);
  assert.deepEqual(h.last().metadata, [{ metricFamilyName: 'a', type: 'counter', help: '', unit: '' }]);
  const a = h.last().samples.find((s) => s.labels.__name__ === 'a_total')!;
  assert.deepEqual(a.labels, { __name__: 'a_total', instance: 'host:9100', job: 'job' });
  // The explicit timestamp is kept (honor_timestamps).
  assert.equal(h.last().samples.find((s) => s.labels.__name__ === 'c')!.timestampMs, 1700000000000);

  h.text('# TYPE a counter\na_total 2\n');
  await h.loop.scrapeOnce();
  const stale = h.last().samples.filter((s) => s.stale).map((s) => s.labels.__name__);
  // b disappeared; c carried its own timestamp, so it is not tracked for staleness (as Prometheus).
  assert.deepEqual(stale, ['b']);
  assert.equal(h.value('scrape_series_added'), 0);
  assert.equal(h.last().metadata, undefined, 'unchanged metadata is not re-sent');

  h.client.responses.push(new Error('connect ECONNREFUSED'));
  await h.loop.scrapeOnce();
  assert.equal(h.value('up'), 0);
  assert.equal(h.value('scrape_samples_scraped'), 0);
  assert.deepEqual(h.last().samples.filter((s) => s.stale).map((s) => s.labels.__name__), ['a_total']);
  assert.equal(h.loop.state.health, 'down');
  assert.match(h.loop.state.lastError, /ECONNREFUSED/);

  h.text('a_total 3\n');
  await h.loop.scrapeOnce();
  await h.loop.stop();
  const end = h.loop.endOfRunMarkers(1234);
  assert.ok(end.every((s) => s.stale && s.timestampMs === 1234));
  assert.deepEqual(end.map((s) => s.labels.__name__).sort(), ['a_total', 'scrape_duration_seconds', 'scrape_samples_post_metric_relabeling', 'scrape_samples_scraped', 'scrape_series_added', 'up']);
});

test('sample_limit fails the scrape (up 0, nothing stored) and metric relabeling counts', async () => {
  const h = harness(
    config({
      sampleLimit: 2,
      metricRelabelConfigs: [{ sourceLabels: ['__name__'], separator: ';', targetLabel: '', regex: 'drop_.*', modulus: 0, replacement: '$1', action: 'drop' }],
    }),
  );
  h.text('x 1\ny 2\ndrop_me 3\n');
  await h.loop.scrapeOnce();
  assert.equal(h.value('up'), 1);
  assert.equal(h.value('scrape_samples_scraped'), 3);
  assert.equal(h.value('scrape_samples_post_metric_relabeling'), 2);
  h.text('x 1\ny 2\nz 3\n');
  await h.loop.scrapeOnce();
  assert.equal(h.value('up'), 0);
  assert.equal(h.value('scrape_samples_scraped'), 3);
  assert.equal(h.value('scrape_samples_post_metric_relabeling'), 3);
  assert.match(h.loop.state.lastError, /sample limit exceeded/);
  assert.deepEqual(h.last().samples.filter((s) => !s.labels.__name__!.startsWith('scrape_') && s.labels.__name__ !== 'up' && !s.stale), []);
});

test('honor_timestamps false replaces exposed timestamps; duplicates keep the first sample', async () => {
  const h = harness(config({ honorTimestamps: false }));
  h.text('a 1 1000\na 2 2000\n');
  const before = Date.now();
  await h.loop.scrapeOnce();
  const a = h.last().samples.filter((s) => s.labels.__name__ === 'a');
  assert.equal(a.length, 1);
  assert.equal(h.value('scrape_samples_post_metric_relabeling'), 2, 'duplicates count, as in Prometheus');
  assert.equal(a[0]!.value, 1);
  assert.ok(a[0]!.timestampMs >= before);
});

test('an unparsable body fails the scrape with the parser error', async () => {
  const h = harness(config());
  h.client.responses.push({ body: Buffer.from('a 1\n'), contentType: 'application/openmetrics-text; version=1.0.0' });
  await h.loop.scrapeOnce();
  assert.equal(h.value('up'), 0);
  assert.match(h.loop.state.lastError, /does not end with # EOF/);
});

test('OpenMetrics exemplars are handed over with the final series labels; samples dropped by relabeling lose theirs', async () => {
  const cfg = config({ metricRelabelConfigs: [{ sourceLabels: ['__name__'], separator: ';', targetLabel: '', regex: 'drop_.*', modulus: 0, replacement: '$1', action: 'drop' }] });
  const rules = compileRelabelConfigs(cfg.relabelConfigs);
  const target = buildTargets(cfg, rules, [{ source: 's', targets: ['h:1'], labels: {} }]).active[0]!;
  const client = new FakeClient();
  const exemplars: unknown[] = [];
  const loop = new ScrapeLoop(target, cfg, compileRelabelConfigs(cfg.metricRelabelConfigs), client, async () => {}, logger, undefined, async (list) => void exemplars.push(...list));
  const long = 'x'.repeat(130);
  client.responses.push({
    body: Buffer.from(`# TYPE c counter\nc_total 1 # {trace_id="t1"} 1 1700000000.5\ndrop_total 1 # {trace_id="t2"} 1\nd_total 1 # {trace_id="${long}"} 1\n# EOF\n`),
    contentType: 'application/openmetrics-text; version=1.0.0',
  });
  await loop.scrapeOnce();
  assert.deepEqual(exemplars, [{ seriesLabels: { __name__: 'c_total', instance: 'h:1', job: 'job' }, labels: { trace_id: 't1' }, value: 1, timestampMs: 1700000000500 }]);
});
