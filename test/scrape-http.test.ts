/**
 * The scrape manager against real HTTP(S) servers on loopback: what a scrape request looks
 * like on the wire (Accept, gzip, auth, timeout header, params), TLS with a private CA and with
 * insecure_skip_verify, timeouts, body size limits and target removal staleness.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { defaultScrapeConfig, type MetricMetadata, type Sample } from '../packages/server/src/model/index.js';
import type { WritePipeline } from '../packages/server/src/pipeline/index.js';
import { createScrapeManager, type ScrapeConfig } from '../packages/server/src/scrape/index.js';
import { tempDir } from './support/lookout-process.js';
import { waitFor } from './support/wait.js';

const BODY = '# HELP hits Hits.\n# TYPE hits counter\nhits_total{path="/"} 7\n';
const requests: http.IncomingMessage[] = [];
let plain: http.Server;
let secure: https.Server;
let caPem = '';
let mode: 'ok' | 'slow' | 'big' = 'ok';

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  requests.push(req);
  if (mode === 'slow') {
    setTimeout(() => res.end(BODY), 3000).unref();
    return;
  }
  const body = mode === 'big' ? BODY + 'x'.repeat(10_000) + ' 1\n' : BODY;
  if ((req.headers['accept-encoding'] ?? '').includes('gzip')) {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4', 'Content-Encoding': 'gzip' });
    res.end(gzipSync(body));
  } else {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(body);
  }
}

function port(server: http.Server | https.Server): number {
  return (server.address() as AddressInfo).port;
}

before(async () => {
  const dir = tempDir('scrape-tls');
  const run = (args: string[]) => assert.equal(spawnSync('openssl', args, { cwd: dir }).status, 0, `openssl ${args.join(' ')}`);
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=Test CA']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  spawnSync('sh', ['-c', 'printf "subjectAltName=DNS:localhost,IP:127.0.0.1" > ext.cnf'], { cwd: dir });
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'ext.cnf']);
  caPem = readFileSync(join(dir, 'ca.pem'), 'utf8');
  plain = http.createServer(handler);
  secure = https.createServer({ key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.pem')) }, handler);
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
});

after(() => {
  plain.closeAllConnections();
  secure.closeAllConnections();
  plain.close();
  secure.close();
});

function baseConfig(overrides: Partial<ScrapeConfig>): ScrapeConfig {
  return { ...defaultScrapeConfig('web'), scrapeIntervalMs: 200, scrapeTimeoutMs: 150, ...overrides };
}

function capturingPipeline() {
  const written: { samples: Sample[]; metadata: readonly MetricMetadata[] | undefined }[] = [];
  const pipeline = {
    async writeSamples(_tenant: string, samples: readonly Sample[], metadata?: readonly MetricMetadata[]) {
      written.push({ samples: [...samples], metadata });
    },
  } as unknown as WritePipeline;
  return { pipeline, written };
}

const until = <T>(probe: () => T | undefined, what: string): Promise<T> => waitFor(what, probe, { timeoutMs: 10_000, intervalMs: 50 });

test('request on the wire: Accept, gzip, basic auth, timeout header, params; samples carry target labels', async () => {
  const { pipeline, written } = capturingPipeline();
  const manager = createScrapeManager({ pipeline, logger: pino({ level: 'silent' }), userAgent: 'Lookout/test' });
  requests.length = 0;
  await manager.applyConfig([
    baseConfig({
      staticConfigs: [{ targets: [`127.0.0.1:${port(plain)}`], labels: { env: 'test' } }],
      basicAuth: { username: 'prom', password: 's3cret' },
      params: { module: ['x'] },
    }),
  ]);
  const hit = await until(() => written.flatMap((w) => w.samples).find((s) => s.labels.__name__ === 'hits_total'), 'a scraped sample');
  assert.deepEqual(hit.labels, { __name__: 'hits_total', path: '/', env: 'test', instance: `127.0.0.1:${port(plain)}`, job: 'web' });
  assert.equal(hit.value, 7);
  const req = requests[0]!;
  assert.equal(req.url, '/metrics?module=x');
  assert.equal(
    req.headers.accept,
    'application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,' +
      'text/plain;version=1.0.0;escaping=underscores;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
  );
  assert.equal(req.headers['accept-encoding'], 'gzip');
  assert.equal(req.headers.authorization, `Basic ${Buffer.from('prom:s3cret').toString('base64')}`);
  assert.equal(req.headers['x-prometheus-scrape-timeout-seconds'], '0.15');
  assert.equal(req.headers['user-agent'], 'Lookout/test');
  const meta = written.find((w) => w.metadata)!.metadata!;
  assert.deepEqual(meta, [{ metricFamilyName: 'hits', type: 'counter', help: 'Hits.', unit: '' }]);
  const [target] = manager.activeTargets() as { health: string; scrapeUrl: string; scrapePool: string }[];
  assert.equal(target!.scrapeUrl, `http://127.0.0.1:${port(plain)}/metrics?module=x`);

  // Removing the job ends its series with staleness markers, once the next scrape and one more
  // interval have passed, stamped with the time of the scrape that did not happen.
  const lastScrape = Date.parse((manager.activeTargets() as { lastScrape: string }[])[0]!.lastScrape);
  await manager.applyConfig([]);
  assert.deepEqual(manager.activeTargets(), []);
  const markers = await until(() => {
    const last = written.at(-1)!.samples;
    return last.every((s) => s.stale) ? last : undefined;
  }, 'end-of-run staleness markers');
  assert.ok(markers.some((s) => s.labels.__name__ === 'hits_total'));
  assert.ok(markers.some((s) => s.labels.__name__ === 'up'));
  assert.ok(markers[0]!.timestampMs >= lastScrape + 200);
  await manager.stop();
});

test('shutdown writes no staleness markers (a restart continues the series), as Prometheus', async () => {
  const { pipeline, written } = capturingPipeline();
  const manager = createScrapeManager({ pipeline, logger: pino({ level: 'silent' }) });
  await manager.applyConfig([baseConfig({ staticConfigs: [{ targets: [`127.0.0.1:${port(plain)}`], labels: {} }] })]);
  await until(() => (written.length > 0 ? true : undefined), 'a scrape');
  await manager.stop();
  const count = written.length;
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(written.length, count);
  assert.ok(written.flatMap((w) => w.samples).every((s) => !s.stale));
});

test('TLS: a private CA via tls_config.ca, insecure_skip_verify, and an untrusted certificate', async () => {
  const { pipeline, written } = capturingPipeline();
  const manager = createScrapeManager({ pipeline, logger: pino({ level: 'silent' }) });
  const target = `127.0.0.1:${port(secure)}`;
  await manager.applyConfig([
    baseConfig({ jobName: 'ca', scheme: 'https', tls: { insecureSkipVerify: false, ca: caPem }, staticConfigs: [{ targets: [target], labels: {} }] }),
    baseConfig({ jobName: 'insecure', scheme: 'https', tls: { insecureSkipVerify: true }, staticConfigs: [{ targets: [target], labels: {} }] }),
    baseConfig({ jobName: 'untrusted', scheme: 'https', staticConfigs: [{ targets: [target], labels: {} }] }),
  ]);
  const health = () => Object.fromEntries((manager.activeTargets() as { scrapePool: string; health: string; lastError: string }[]).map((t) => [t.scrapePool, t]));
  await until(() => (Object.values(health()).every((t) => t.health !== 'unknown') ? true : undefined), 'all scraped');
  assert.equal(health().ca!.health, 'up');
  assert.equal(health().insecure!.health, 'up');
  assert.equal(health().untrusted!.health, 'down');
  assert.match(health().untrusted!.lastError, /certificate/);
  const up = written.flatMap((w) => w.samples).filter((s) => s.labels.__name__ === 'up' && s.labels.job === 'untrusted' && !s.stale);
  assert.equal(up[0]!.value, 0);
  await manager.stop();
});

test('scrape timeout and body_size_limit fail the scrape with up 0', async () => {
  const { pipeline, written } = capturingPipeline();
  const manager = createScrapeManager({ pipeline, logger: pino({ level: 'silent' }) });
  const target = `127.0.0.1:${port(plain)}`;
  mode = 'slow';
  try {
    await manager.applyConfig([baseConfig({ staticConfigs: [{ targets: [target], labels: {} }] })]);
    const [t] = await until(() => {
      const list = manager.activeTargets() as { health: string; lastError: string }[];
      return list[0]?.health === 'down' ? list : undefined;
    }, 'timeout');
    assert.match(t!.lastError, /deadline exceeded/);
    mode = 'big';
    await manager.applyConfig([baseConfig({ bodySizeLimitBytes: 1000, enableCompression: false, staticConfigs: [{ targets: [target], labels: {} }] })]);
    await until(() => ((manager.activeTargets() as { lastError: string }[])[0]?.lastError.includes('body size limit') ? true : undefined), 'body size limit');
    assert.ok(written.flatMap((w) => w.samples).every((s) => s.labels.__name__ !== 'hits_total'));
  } finally {
    mode = 'ok';
    await manager.stop();
  }
});
