/**
 * Overhead of @lookout/node on a hello-world HTTP server: requests/s and server CPU µs per
 * request without it, with init() (`--import @lookout/node/register`: tracing, metrics, log
 * export), with init() plus the request-context middleware, and with 10 % trace sampling, all
 * measured in the same run and printed as ratios to the plain server. Two "OpenTelemetry floor"
 * servers run the same hello world under a bare OpenTelemetry NodeSDK (same package versions
 * as @lookout/node) with only the HTTP instrumentation, one with a no-op span exporter and one
 * with OpenTelemetry's OTLP/protobuf exporter as shipped (init() uses that exporter with its own
 * span encoder): the SDK's ratio against them separates this package's cost from OpenTelemetry's. A handler doing ~0.25 ms of fixed CPU work
 * with and without the SDK shows the cost against a handler that does something.
 *
 * Every server is the same script (examples/hello/server.js) started with the same node flags
 * (only the preload differs); telemetry goes to a local OTLP endpoint that accepts and discards
 * (so the figure is the SDK's cost, not a collector's). All servers are warmed up, then short
 * slices alternate between them, the order rotating every round, so load from elsewhere on the
 * machine falls on every variant alike. Besides req/s (which moves with the machine's load and,
 * for fast servers, with the load generator's own speed) it reads each server's CPU time from
 * /proc and prints the median over slices of CPU µs per request; plain/variant of that is the
 * capacity ratio on a dedicated core.
 *
 *   node --import tsx bench/node-overhead.ts [--seconds 1] [--rounds 10] [--connections 32]
 *
 * (--seconds is one slice; each variant is measured for rounds × seconds in total.)
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildNodeSdk } from '../test/node-sdk-support.js';
import { freePort, REPO_ROOT } from '../test/support/lookout-process.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '1' }, rounds: { type: 'string', default: '10' }, connections: { type: 'string', default: '32' } } });
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);

interface Variant {
  name: string;
  execArgv: string[];
  env: Record<string, string>;
}

/** An OTLP endpoint that accepts and discards, in its own process (not competing with the load generator). */
async function startSink(): Promise<{ url: string; close(): void }> {
  const port = await freePort();
  const code = `require('http').createServer((q, s) => { q.resume(); q.on('end', () => { s.setHeader('content-type', 'application/x-protobuf'); s.end(); }); }).listen(${port}, '127.0.0.1', () => process.send('listening'));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await new Promise<void>((resolve) => child.once('message', () => resolve()));
  return { url: `http://127.0.0.1:${port}`, close: () => child.kill() };
}

/**
 * The OpenTelemetry floor: a preload that starts a bare NodeSDK with only the HTTP
 * instrumentation and a BatchSpanProcessor (defaults), exporting nowhere (FLOOR_EXPORT=noop) or
 * over OTLP/protobuf like init() (FLOOR_EXPORT=otlp). Its imports are resolved from
 * @lookout/node, so both run the same OpenTelemetry versions. Written to a temporary file
 * because the server process must not load tsx.
 */
function writeFloorPreload(dir: string): string {
  const fromSdk = createRequire(join(REPO_ROOT, 'packages/node/dist/init.js'));
  const url = (name: string) => JSON.stringify(pathToFileURL(fromSdk.resolve(name)).href);
  const file = join(dir, 'otel-floor.mjs');
  writeFileSync(
    file,
    `import { createRequire, syncBuiltinESMExports } from 'node:module';
import { NodeSDK } from ${url('@opentelemetry/sdk-node')};
import { HttpInstrumentation } from ${url('@opentelemetry/instrumentation-http')};
import { BatchSpanProcessor } from ${url('@opentelemetry/sdk-trace-base')};
import { OTLPTraceExporter } from ${url('@opentelemetry/exporter-trace-otlp-proto')};
const exporter = process.env.FLOOR_EXPORT === 'otlp'
  ? new OTLPTraceExporter({ url: process.env.LOOKOUT_ENDPOINT + '/v1/traces' })
  : { export(spans, done) { done({ code: 0 }); }, shutdown: async () => {} };
new NodeSDK({ spanProcessors: [new BatchSpanProcessor(exporter)], instrumentations: [new HttpInstrumentation()], resourceDetectors: [] }).start();
// As init() does: the server's ESM import of node:http gets the patched module.
createRequire(import.meta.url)('http');
syncBuiltinESMExports();
`,
  );
  return file;
}

async function startServer(variant: Variant): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = fork(join(REPO_ROOT, 'examples/hello/server.js'), [], {
    cwd: REPO_ROOT,
    execArgv: variant.execArgv,
    env: { ...process.env, PORT: String(port), ...variant.env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${variant.name} exited with ${code}`)));
  });
  return { child, port };
}

/** CPU seconds (user + system) the process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of /proc/<pid>/stat (11 and 12 after the command).
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100;

/** Closed-loop load: `connections` keep-alive connections, each sending the next request on response. */
async function measure(port: number, durationMs: number): Promise<{ rps: number; requests: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  let completed = 0;
  const deadline = Date.now() + durationMs;
  const worker = () =>
    new Promise<void>((resolve, reject) => {
      const next = () => {
        if (Date.now() >= deadline) return resolve();
        const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
          res.resume();
          res.on('end', () => {
            completed++;
            next();
          });
        });
        req.on('error', reject);
        req.end();
      };
      next();
    });
  const started = Date.now();
  await Promise.all(Array.from({ length: connections }, worker));
  agent.destroy();
  return { rps: completed / ((Date.now() - started) / 1000), requests: completed };
}

const PLAIN = 'plain node:http';
const PLAIN_WORK = 'plain, ~0.25 ms CPU work';
const FLOOR_NOOP = 'OTel floor: http instr., no-op export';
const FLOOR_OTLP = 'OTel floor: http instr., OTLP export';
const INIT = 'init() (register)';

async function main(): Promise<void> {
  buildNodeSdk();
  const sink = await startSink();
  const dir = mkdtempSync(join(tmpdir(), 'lookout-node-bench-'));
  const floor = writeFloorPreload(dir);
  const sdkEnv = { LOOKOUT_ENDPOINT: sink.url, OTEL_SERVICE_NAME: 'hello', OTEL_METRIC_EXPORT_INTERVAL: '5000' };
  // The bare NodeSDK would otherwise add its default OTLP metrics and logs exporters from the environment.
  const floorEnv = { ...sdkEnv, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' };
  const register = ['--import', '@lookout/node/register'];
  const variants: Variant[] = [
    { name: PLAIN, execArgv: [], env: {} },
    { name: FLOOR_NOOP, execArgv: ['--import', floor], env: { ...floorEnv, FLOOR_EXPORT: 'noop' } },
    { name: FLOOR_OTLP, execArgv: ['--import', floor], env: { ...floorEnv, FLOOR_EXPORT: 'otlp' } },
    { name: INIT, execArgv: register, env: sdkEnv },
    { name: 'init(), 10 % of traces sampled', execArgv: register, env: { ...sdkEnv, LOOKOUT_TRACE_SAMPLE_RATIO: '0.1' } },
    { name: 'init() + lookoutHttp middleware', execArgv: register, env: { ...sdkEnv, HELLO_MIDDLEWARE: '1' } },
    { name: PLAIN_WORK, execArgv: [], env: { HELLO_WORK: '200000' } },
    { name: 'init() + middleware, ~0.25 ms', execArgv: register, env: { ...sdkEnv, HELLO_MIDDLEWARE: '1', HELLO_WORK: '200000' } },
  ];
  // All servers run for the whole measurement; short slices alternate between them so that
  // load from elsewhere on the machine falls on every variant alike.
  const servers = [];
  for (const variant of variants) servers.push(await startServer(variant));
  for (let i = 0; i < 2; i++) for (const server of servers) await measure(server.port, 1000); // warm-up (JIT, connections)
  const rates = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const cpuPerRequest = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const i = (k + round) % variants.length; // rotate the order: no variant always follows the same one
      const pid = servers[i]!.child.pid!;
      const cpuBefore = cpuSeconds(pid);
      const { rps, requests } = await measure(servers[i]!.port, seconds * 1000);
      rates.get(variants[i]!.name)!.push(rps);
      cpuPerRequest.get(variants[i]!.name)!.push(((cpuSeconds(pid) - cpuBefore) / Math.max(requests, 1)) * 1e6);
    }
  }
  for (const server of servers) {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
  }
  sink.close();
  rmSync(dir, { recursive: true, force: true });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const rps = (name: string) => mean(rates.get(name)!);
  const cpu = (name: string) => median(cpuPerRequest.get(name)!);
  // The ~0.25 ms variants compare with the plain ~0.25 ms server, the others with the plain hello world.
  const baselineOf = (name: string) => (name.includes('~0.25 ms') ? PLAIN_WORK : PLAIN);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`node ${process.version}, ${connections} keep-alive connections, ${rounds} rounds x ${seconds} s per variant, load average ${load}`);
  console.log('variant                                   req/s   ratio   CPU µs/req (median)   capacity ratio (CPU)');
  for (const variant of variants) {
    const name = variant.name;
    console.log(
      `${name.padEnd(38)} ${rps(name).toFixed(0).padStart(8)}   ${(rps(name) / rps(baselineOf(name))).toFixed(2)}x   ${cpu(name).toFixed(1).padStart(12)}            ${(cpu(baselineOf(name)) / cpu(name)).toFixed(2)}x`,
    );
  }
  const ratio = rps(INIT) / rps(PLAIN);
  const capacity = cpu(PLAIN) / cpu(INIT);
  console.log('');
  console.log(`init() on hello world: ${ratio.toFixed(2)}x plain by req/s, ${capacity.toFixed(2)}x by CPU per request (target >= 0.85x: ${Math.min(ratio, capacity) >= 0.85 ? 'met' : 'not met'})`);
  console.log(
    `OpenTelemetry floor alone: ${(rps(FLOOR_NOOP) / rps(PLAIN)).toFixed(2)}x plain by req/s, ${(cpu(PLAIN) / cpu(FLOOR_NOOP)).toFixed(2)}x by CPU (no-op export); ` +
      `${(rps(FLOOR_OTLP) / rps(PLAIN)).toFixed(2)}x, ${(cpu(PLAIN) / cpu(FLOOR_OTLP)).toFixed(2)}x with OTLP export`,
  );
  console.log(
    `init() against the floors by CPU: ${(cpu(FLOOR_NOOP) / cpu(INIT)).toFixed(2)}x the no-op-export floor, ${(cpu(FLOOR_OTLP) / cpu(INIT)).toFixed(2)}x the floor with OpenTelemetry's OTLP exporter`,
  );
  console.log(
    `CPU µs/req: plain ${cpu(PLAIN).toFixed(1)}; OpenTelemetry span +${(cpu(FLOOR_NOOP) - cpu(PLAIN)).toFixed(1)}; ` +
      `OpenTelemetry's OTLP/protobuf export +${(cpu(FLOOR_OTLP) - cpu(FLOOR_NOOP)).toFixed(1)}; ` +
      `init() over the no-op floor (OpenTelemetry's OTLP export, request id, redaction, log export) +${(cpu(INIT) - cpu(FLOOR_NOOP)).toFixed(1)}`,
  );
}

await main();
