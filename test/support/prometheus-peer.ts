/**
 * One fixture for every "same data in Prometheus and in Lookout" comparison: Debian's real
 * Prometheus (2.42) scrapes a deterministic target served here every second and remote-writes
 * everything (samples, staleness markers, exemplars, metadata) to a Lookout child process.
 * Used by test/promql-side-by-side.test.ts and conformance/api/prometheus.ts.
 *
 * Needs the Debian package `prometheus` (/usr/bin/prometheus, or PROMETHEUS_BIN).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { freePort, startLookoutProcess, tempDir, type LookoutProcess } from './lookout-process.js';

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

/** A Prometheus HTTP API answer (both servers use this envelope). */
export interface ApiAnswer {
  httpStatus: number;
  contentType: string;
  body: {
    status: string;
    errorType?: string;
    error?: string;
    warnings?: string[];
    infos?: string[];
    data?: unknown;
  };
  text: string;
}

export interface PrometheusPeer {
  lookout: LookoutProcess;
  prometheus: ChildProcess;
  promUrl: string;
  /** Wall-clock time (ms) of the target's first scrape. */
  firstScrapeMs: number;
  scrapes(): number;
  /** Prometheus's log output so far. */
  promOutput(): string;
  /** Resolves once Prometheus has remote-written every sample up to `seconds` (unix). */
  waitForRemoteWrite(seconds: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function requirePrometheus(): void {
  const probe = spawnSync(PROMETHEUS_BIN, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`${PROMETHEUS_BIN} is required (Debian package "prometheus"): ${probe.error?.message ?? probe.stderr}`);
  }
}

export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Sends one request to a Prometheus-compatible HTTP API (GET with a query string, or a form POST). */
export async function askApi(base: string, path: string, params: Record<string, string | string[]> = {}, method: 'GET' | 'POST' = 'GET'): Promise<ApiAnswer> {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) for (const v of Array.isArray(value) ? value : [value]) search.append(name, v);
  const response =
    method === 'GET'
      ? await fetch(`${base}${path}${search.size > 0 ? `?${search}` : ''}`)
      : await fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: search.toString() });
  const text = await response.text();
  let body: ApiAnswer['body'];
  try {
    body = JSON.parse(text) as ApiAnswer['body'];
  } catch {
    body = { status: `<not JSON: ${text.slice(0, 80)}>` };
  }
  return { httpStatus: response.status, contentType: response.headers.get('content-type') ?? '', body, text };
}

// ---------------------------------------------------------------------------------------------
// The target. Families (every value is a function of the scrape number n, so reruns match):
//   demo_requests_total{method,code,path}  counter, exemplars on GET/200
//   demo_resets_total                      counter that resets every 20 scrapes
//   demo_temperature_celsius{room}         gauge, negative values too
//   demo_queue_length{queue}               integer gauge
//   demo_ratio                             gauge in (0, 1)
//   demo_flappy{kind}                      gauge present 15 scrapes out of 30 (staleness markers)
//   demo_special{kind}                     gauge: NaN, +Inf, -Inf, 0, -0.5, 1e300
//   demo_request_duration_seconds{path}    classic histogram (unit seconds, exemplars)
//   demo_rpc_latency_seconds{service}      summary (quantiles 0.5, 0.9, 0.99)
//   demo_labels{v}                         label values with a quote, a backslash, non-ASCII letters
//   demo_case{A,a,_b,Z9}                   label names differing by case
//   demo:ratio:scaled{src}                 a name with colons
//   demo_info{version,text}                info-style gauge; `text` holds a newline
// ---------------------------------------------------------------------------------------------

const REQUESTS: [string, string, string, number][] = [
  ['GET', '200', '/api', 7],
  ['GET', '500', '/api', 1],
  ['POST', '200', '/login', 3],
  ['POST', '404', '/login', 2],
];
const LES = ['0.1', '0.25', '0.5', '1', '2.5', '+Inf'];

/** The target's exposition at scrape n; OpenMetrics (with exemplars) or text format 0.0.4. */
export function exposition(n: number, openMetrics: boolean): string {
  const lines: string[] = [];
  const family = (name: string, type: string, help: string, unit?: string) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    if (unit && openMetrics) lines.push(`# UNIT ${name} ${unit}`);
  };
  const exemplar = (labels: string, value: number) => (openMetrics ? ` # {${labels}} ${value}` : '');
  // OpenMetrics names a counter family without its _total suffix.
  family(openMetrics ? 'demo_requests' : 'demo_requests_total', 'counter', 'Requests served.');
  for (const [method, code, path, per] of REQUESTS) {
    const ex = method === 'GET' && code === '200' ? exemplar(`trace_id="${(n * 7919).toString(16).padStart(16, '0')}"`, n % 5) : '';
    lines.push(`demo_requests_total{method="${method}",code="${code}",path="${path}"} ${n * per + (n % 3)}${ex}`);
  }
  family(openMetrics ? 'demo_resets' : 'demo_resets_total', 'counter', 'A counter that restarts.');
  lines.push(`demo_resets_total ${(n % 20) * 4 + 1}`);
  family('demo_temperature_celsius', 'gauge', 'Room temperature.');
  lines.push(`demo_temperature_celsius{room="kitchen"} ${(21 + 3 * Math.sin(n / 7)).toFixed(3)}`);
  lines.push(`demo_temperature_celsius{room="office"} ${(19.5 + (n % 11) / 4).toFixed(2)}`);
  lines.push(`demo_temperature_celsius{room="garage"} ${(-4 + Math.cos(n / 5) * 6).toFixed(4)}`);
  family('demo_queue_length', 'gauge', 'Items queued.');
  lines.push(`demo_queue_length{queue="a"} ${n % 7}`, `demo_queue_length{queue="b"} ${((n * 3) % 5) + 1}`);
  family('demo_ratio', 'gauge', 'A ratio.');
  lines.push(`demo_ratio ${(0.5 + 0.4 * Math.sin(n / 9)).toFixed(5)}`);
  if (Math.floor(n / 15) % 2 === 0) {
    family('demo_flappy', 'gauge', 'Comes and goes.');
    lines.push(`demo_flappy{kind="x"} ${n}`);
  }
  family('demo_special', 'gauge', 'Special float values.');
  lines.push('demo_special{kind="nan"} NaN', 'demo_special{kind="inf"} +Inf', 'demo_special{kind="neginf"} -Inf');
  lines.push('demo_special{kind="zero"} 0', `demo_special{kind="neg"} -0.5`, 'demo_special{kind="huge"} 1e+300');
  family('demo_request_duration_seconds', 'histogram', 'Request latency.', 'seconds');
  for (const [path, scale] of [['/api', 1], ['/login', 3]] as const) {
    let cumulative = 0;
    LES.forEach((le, i) => {
      cumulative += ((n * (6 - i) * scale) % 17) + i;
      const ex = i === 2 ? exemplar(`trace_id="${(n * 31 + scale).toString(16).padStart(16, '0')}"`, 0.3) : '';
      lines.push(`demo_request_duration_seconds_bucket{path="${path}",le="${le}"} ${cumulative + n * (i + 1)}${ex}`);
    });
    lines.push(`demo_request_duration_seconds_sum{path="${path}"} ${(n * 0.37 * scale).toFixed(3)}`);
    lines.push(`demo_request_duration_seconds_count{path="${path}"} ${cumulative + n * 6}`);
  }
  family('demo_rpc_latency_seconds', 'summary', 'RPC latency.', 'seconds');
  for (const [service, scale] of [['auth', 1], ['db', 2.5]] as const) {
    lines.push(`demo_rpc_latency_seconds{service="${service}",quantile="0.5"} ${(0.01 * scale * (1 + (n % 4))).toFixed(4)}`);
    lines.push(`demo_rpc_latency_seconds{service="${service}",quantile="0.9"} ${(0.05 * scale * (1 + (n % 6))).toFixed(4)}`);
    lines.push(`demo_rpc_latency_seconds{service="${service}",quantile="0.99"} ${(0.2 * scale * (1 + (n % 3))).toFixed(4)}`);
    lines.push(`demo_rpc_latency_seconds_sum{service="${service}"} ${(n * 0.021 * scale).toFixed(4)}`);
    lines.push(`demo_rpc_latency_seconds_count{service="${service}"} ${n * 3}`);
  }
  family('demo_labels', 'gauge', 'Awkward label values.');
  lines.push('demo_labels{v="quote\\"d"} 1', 'demo_labels{v="back\\\\slash"} 2', 'demo_labels{v="ünïcödé ✓"} 3', 'demo_labels{v="UPPER lower"} 4');
  family('demo_case', 'gauge', 'Label names that sort differently by case.');
  lines.push(`demo_case{A="1",a="2",_b="3",Z9="4"} ${n % 4}`, `demo_case{A="x",a="2",_b="3",Z9="4"} ${n % 5}`);
  family('demo:ratio:scaled', 'gauge', 'A recording-rule style name.');
  lines.push(`demo:ratio:scaled{src="a"} ${((n % 9) / 3).toFixed(3)}`);
  family('demo_info', 'gauge', 'Build information.');
  lines.push('demo_info{version="1.2.3",text="line one\\nline two"} 1');
  if (openMetrics) lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}

export interface PeerOptions {
  /** How many scrapes to wait for before resolving (1 s apart). */
  scrapes: number;
  /** Stop answering the target after this many scrapes (it then fails, and its series go stale). */
  stopServingAfter?: number;
  /**
   * Both Prometheus and Lookout also scrape the target as job "twin" (path /twin, every metric
   * dropped by metric_relabel_configs), so both /api/v1/targets list real targets. Adds
   * up{job="twin"} and the other report series to both.
   */
  twinScrape?: boolean;
}

const TWIN_JOB = (targetPort: number) => `  - job_name: twin
    metrics_path: /twin
    static_configs: [{ targets: ['127.0.0.1:${targetPort}'], labels: { side: twin } }]
    metric_relabel_configs: [{ source_labels: [__name__], regex: '.*', action: drop }]
`;

export async function startPrometheusPeer(options: PeerOptions): Promise<PrometheusPeer> {
  requirePrometheus();
  const targetPort = await freePort();
  let scrapes = 0;
  let firstScrapeMs = 0;
  const target: Server = createServer((request, response) => {
    if (request.url === '/twin') {
      response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(exposition(1, false));
      return;
    }
    if (options.stopServingAfter !== undefined && scrapes >= options.stopServingAfter) {
      response.writeHead(503).end();
      return;
    }
    if (scrapes === 0) firstScrapeMs = Date.now();
    scrapes++;
    const openMetrics = (request.headers.accept ?? '').includes('application/openmetrics-text');
    response.writeHead(200, {
      'Content-Type': openMetrics ? 'application/openmetrics-text; version=1.0.0; charset=utf-8' : 'text/plain; version=0.0.4',
    });
    response.end(exposition(scrapes, openMetrics));
  });
  await new Promise<void>((resolve) => target.listen(targetPort, '127.0.0.1', resolve));
  const dir = tempDir('prom-peer');
  const lookoutArgs: string[] = [];
  if (options.twinScrape) {
    writeFileSync(join(dir, 'lookout-scrape.yml'), `global: { scrape_interval: 1s }\nscrape_configs:\n${TWIN_JOB(targetPort)}`);
    lookoutArgs.push('--scrape-config', join(dir, 'lookout-scrape.yml'));
  }
  let lookout: LookoutProcess;
  try {
    lookout = await startLookoutProcess({ args: lookoutArgs });
  } catch (error) {
    target.close();
    throw error;
  }
  const promPort = await freePort();
  const promUrl = `http://127.0.0.1:${promPort}`;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s, evaluation_interval: 1m }
scrape_configs:
  - job_name: demo
    static_configs: [{ targets: ['127.0.0.1:${targetPort}'] }]
${options.twinScrape ? TWIN_JOB(targetPort) : ''}remote_write:
  - url: ${lookout.url}/api/v1/write
    send_exemplars: true
    queue_config: { batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s }
    metadata_config: { send: true, send_interval: 2s }
`,
  );
  let promOutput = '';
  const prometheus = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--enable-feature=promql-negative-offset,exemplar-storage',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prometheus.stdout!.on('data', (chunk: Buffer) => (promOutput += chunk.toString()));
  prometheus.stderr!.on('data', (chunk: Buffer) => (promOutput += chunk.toString()));
  const promExited = new Promise<void>((resolve) => prometheus.once('exit', () => resolve()));

  const stop = async () => {
    if (prometheus.exitCode === null && prometheus.signalCode === null) {
      prometheus.kill('SIGTERM');
      await promExited;
    }
    await new Promise<void>((resolve) => target.close(() => resolve()));
    await lookout.stop();
  };

  try {
    await waitFor(`${options.scrapes} scrapes`, options.scrapes * 1000 + 60_000, async () => {
      if (prometheus.exitCode !== null) throw new Error(`prometheus exited with ${prometheus.exitCode}: ${promOutput}`);
      return scrapes >= options.scrapes ? true : undefined;
    });
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    lookout,
    prometheus,
    promUrl,
    get firstScrapeMs() {
      return firstScrapeMs;
    },
    scrapes: () => scrapes,
    promOutput: () => promOutput,
    async waitForRemoteWrite(seconds: number, timeoutMs = 60_000) {
      await waitFor(`remote write up to ${seconds}`, timeoutMs, async () => {
        const text = await (await fetch(`${promUrl}/metrics`)).text();
        const m = /prometheus_remote_storage_queue_highest_sent_timestamp_seconds\{[^}]*\} (\S+)/.exec(text);
        return m && Number(m[1]) >= seconds ? true : undefined;
      });
    },
    stop,
  };
}
