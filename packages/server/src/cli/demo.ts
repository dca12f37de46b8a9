/**
 * `lookout demo`: Lookout plus the two example services (examples/api calling examples/orders,
 * instrumented with @lookout/node) and a traffic generator with some errors and slow requests.
 * The services run as child processes (`node --import @lookout/node/register`), so the server
 * build never imports the SDK.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { loadConfig, type ConfigOverrides } from '../config/index.js';
import { startLookout } from '../main.js';

/** The repository root: this file is at packages/server/{src,dist}/cli/. */
const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');

interface DemoFlags extends ConfigOverrides {
  apiPort?: string;
  ordersPort?: string;
  duration?: string;
  rate?: string;
}

async function portOrFree(wanted: string | undefined, fallback: number): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number>((resolvePort, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        const got = typeof address === 'object' && address ? address.port : port;
        server.close(() => resolvePort(got));
      });
    });
  if (wanted !== undefined) return tryPort(Number(wanted));
  return tryPort(fallback).catch(() => tryPort(0));
}

async function waitUp(url: string, child: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the ${name} service exited with ${child.exitCode} (see its log)`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the ${name} service did not start within 30 s`);
}

/** What the traffic generator sends: mostly good checkouts, some 404s, 500s and slow calls. */
const TRAFFIC: Array<{ weight: number; method: 'GET' | 'POST'; path: () => string; body?: () => unknown }> = [
  { weight: 60, method: 'GET', path: () => `/checkout/${1 + Math.floor(Math.random() * 3)}` },
  { weight: 10, method: 'POST', path: () => '/orders', body: () => ({ item: ['mug', 'filter', 'scale'][Math.floor(Math.random() * 3)], amount: Math.round(Math.random() * 100) }) },
  { weight: 10, method: 'GET', path: () => '/checkout/404' },
  { weight: 10, method: 'GET', path: () => '/checkout/boom' },
  { weight: 10, method: 'GET', path: () => '/slow' },
];

function pick(): (typeof TRAFFIC)[number] {
  let roll = Math.random() * TRAFFIC.reduce((sum, t) => sum + t.weight, 0);
  for (const entry of TRAFFIC) {
    roll -= entry.weight;
    if (roll <= 0) return entry;
  }
  return TRAFFIC[0]!;
}

export function registerDemoCommand(program: Command, withConfigOptions: (command: Command) => Command): void {
  withConfigOptions(
    program
      .command('demo')
      .description('start Lookout with two instrumented example services and a traffic generator (errors, slow requests included)')
      .addOption(new Option('--api-port <port>', 'port of the example API service (default 3000, or a free one)'))
      .addOption(new Option('--orders-port <port>', 'port of the example orders service (default 3001, or a free one)'))
      .addOption(new Option('--rate <n>', 'requests per second sent to the API (default 5)'))
      .addOption(new Option('--duration <seconds>', 'stop after this many seconds (default: until Ctrl-C)')),
  ).action(async (flags: DemoFlags) => {
    const examples = join(REPO_ROOT, 'examples');
    const sdk = join(REPO_ROOT, 'packages/node/dist/register.js');
    if (!existsSync(join(examples, 'api/server.js')) || !existsSync(sdk)) {
      throw new Error('lookout demo runs from a repository checkout with the examples and a built @lookout/node (npm run build)');
    }
    const config = loadConfig(flags);
    const lookout = await startLookout(config);
    const endpoint = lookout.httpUrl.replace('0.0.0.0', '127.0.0.1');
    const logDir = join(config.dataDir, 'demo-logs');
    mkdirSync(logDir, { recursive: true });

    const children: ChildProcess[] = [];
    const startService = async (name: string, port: number, extraEnv: Record<string, string>) => {
      const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
      const child = spawn(process.execPath, ['--import', '@lookout/node/register', join(examples, name, 'server.js')], {
        cwd: REPO_ROOT,
        env: { ...process.env, OTEL_SERVICE_NAME: name, LOOKOUT_ENDPOINT: endpoint, LOOKOUT_ENVIRONMENT: 'demo', PORT: String(port), HOST: '127.0.0.1', OTEL_METRIC_EXPORT_INTERVAL: '5000', ...extraEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.pipe(log);
      child.stderr!.pipe(log);
      children.push(child);
      const url = `http://127.0.0.1:${port}`;
      await waitUp(url, child, name);
      return url;
    };

    const ordersUrl = await startService('orders', await portOrFree(flags.ordersPort, 3001), {});
    const apiUrl = await startService('api', await portOrFree(flags.apiPort, 3000), { ORDERS_URL: ordersUrl });

    const counts = { sent: 0, ok: 0, clientError: 0, serverError: 0, failed: 0 };
    const rate = Math.max(0.2, Number(flags.rate ?? 5));
    const timer = setInterval(() => {
      const entry = pick();
      counts.sent++;
      const body = entry.body?.();
      fetch(`${apiUrl}${entry.path()}`, {
        method: entry.method,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      })
        .then(async (response) => {
          await response.arrayBuffer();
          if (response.status < 400) counts.ok++;
          else if (response.status < 500) counts.clientError++;
          else counts.serverError++;
        })
        .catch(() => counts.failed++);
    }, 1000 / rate);

    const since = Math.floor(Date.now() / 1000);
    process.stderr.write(
      [
        '',
        `  Lookout demo: Lookout at ${endpoint}, traffic at ${rate}/s to the example API`,
        '',
        `  services       api ${apiUrl} (Express)  ->  orders ${ordersUrl} (Fastify), both via @lookout/node`,
        `  their logs     ${logDir}/{api,orders}.log (JSON lines with trace_id and request_id)`,
        `  try            curl -i ${apiUrl}/checkout/1     curl ${apiUrl}/ready`,
        '',
        '  Where to look:',
        `    traces       ${endpoint}/api/search?tags=service.name%3Dapi&start=${since}&end=${since + 3600}`,
        `                 then ${endpoint}/api/traces/<traceID>  (or a Grafana Tempo datasource at ${endpoint})`,
        `    errors       ${endpoint}/api/search?tags=status%3Derror&start=${since}&end=${since + 3600}`,
        `    logs         ${endpoint}/loki/api/v1/query_range?query=%7Bservice_name%3D%22orders%22%7D  (Grafana Loki datasource at ${endpoint})`,
        `    metrics      ${endpoint}/api/v1/query?query=histogram_quantile(0.95%2C%20sum%20by%20(le%2C%20http_route)%20(rate(http_server_request_duration_seconds_bucket%5B1m%5D)))`,
        `                 (Grafana Prometheus datasource at ${endpoint}); business metrics: orders_created_total, checkouts_total`,
        '',
        '  Ctrl-C stops everything.',
        '',
      ].join('\n'),
    );
    const status = setInterval(() => {
      process.stderr.write(`  traffic: ${counts.sent} sent, ${counts.ok} ok, ${counts.clientError} 4xx, ${counts.serverError} 5xx, ${counts.failed} failed\n`);
    }, 10_000);

    let stopping = false;
    const stop = async (reason: string) => {
      if (stopping) return;
      stopping = true;
      clearInterval(timer);
      clearInterval(status);
      process.stderr.write(`  stopping (${reason}): ${counts.sent} requests sent\n`);
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((done) => {
              if (child.exitCode !== null || child.signalCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        ),
      );
      await lookout.stop(reason);
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
    if (flags.duration !== undefined) setTimeout(() => void stop(`--duration ${flags.duration}`), Number(flags.duration) * 1000);
  });
}
