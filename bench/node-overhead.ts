/**
 * Overhead of @lookout/node on a hello-world HTTP server: requests/s without it, with init()
 * (`--import @lookout/node/register`: tracing, metrics, log export), and with init() plus the
 * request-context middleware, measured in the same run and printed as ratios to the plain
 * server; then a handler doing ~0.25 ms of fixed CPU work with and without, to show the
 * per-request cost against a handler that does something. Besides req/s (which moves with
 * the machine's load) it prints the server's own CPU time per request, read from /proc. Telemetry goes to a local OTLP endpoint that accepts and discards (so the figure is
 * the SDK's cost, not a collector's). Short slices alternate between variants to spread machine noise.
 *
 *   node --import tsx bench/node-overhead.ts [--seconds 1] [--rounds 10] [--connections 32]
 *
 * (--seconds is one slice; each variant is measured for rounds × seconds in total.)
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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

async function main(): Promise<void> {
  buildNodeSdk();
  const sink = await startSink();
  const sdkEnv = { LOOKOUT_ENDPOINT: sink.url, OTEL_SERVICE_NAME: 'hello', OTEL_METRIC_EXPORT_INTERVAL: '5000' };
  const variants: Variant[] = [
    { name: 'plain node:http', execArgv: [], env: {} },
    { name: 'init() (register)', execArgv: ['--import', '@lookout/node/register'], env: sdkEnv },
    { name: 'init(), 10 % of traces sampled', execArgv: ['--import', '@lookout/node/register'], env: { ...sdkEnv, LOOKOUT_TRACE_SAMPLE_RATIO: '0.1' } },
    { name: 'init() + lookoutHttp middleware', execArgv: ['--import', '@lookout/node/register'], env: { ...sdkEnv, HELLO_MIDDLEWARE: '1' } },
    { name: 'plain, ~0.25 ms CPU work', execArgv: [], env: { HELLO_WORK: '200000' } },
    { name: 'init() + middleware, ~0.25 ms', execArgv: ['--import', '@lookout/node/register'], env: { ...sdkEnv, HELLO_MIDDLEWARE: '1', HELLO_WORK: '200000' } },
  ];
  // All servers run for the whole measurement; short slices alternate between them so that
  // load from elsewhere on the machine falls on every variant alike.
  const servers = [];
  for (const variant of variants) servers.push(await startServer(variant));
  for (const server of servers) await measure(server.port, 1000); // warm-up (JIT, connections)
  const results = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const cpu = new Map<string, { seconds: number; requests: number }>(variants.map((v) => [v.name, { seconds: 0, requests: 0 }]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < variants.length; i++) {
      const pid = servers[i]!.child.pid!;
      const cpuBefore = cpuSeconds(pid);
      const { rps, requests } = await measure(servers[i]!.port, seconds * 1000);
      const used = cpu.get(variants[i]!.name)!;
      used.seconds += cpuSeconds(pid) - cpuBefore;
      used.requests += requests;
      results.get(variants[i]!.name)!.push(rps);
    }
  }
  for (const server of servers) {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
  }
  sink.close();
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // The ~0.25 ms variants compare with the plain ~0.25 ms server, the others with the plain hello world.
  const baselineName = (name: string) => (name.includes('~0.25 ms') ? 'plain, ~0.25 ms CPU work' : variants[0]!.name);
  const baselineOf = (name: string) => mean(results.get(baselineName(name))!);
  const cpuPerRequest = (name: string) => (cpu.get(name)!.seconds / cpu.get(name)!.requests) * 1e6;
  console.log(`node ${process.version}, ${connections} keep-alive connections, ${rounds} rounds x ${seconds} s per variant`);
  // req/s moves with whatever else the machine runs; the server's own CPU time per request
  // does much less, and its inverse ratio is the capacity ratio on a dedicated core.
  console.log('variant                              req/s   ratio   server CPU µs/req   capacity ratio (CPU)');
  for (const variant of variants) {
    const rps = mean(results.get(variant.name)!);
    const perRequest = cpuPerRequest(variant.name);
    const capacity = cpuPerRequest(baselineName(variant.name)) / perRequest;
    console.log(
      `${variant.name.padEnd(34)} ${rps.toFixed(0).padStart(8)}   ${(rps / baselineOf(variant.name)).toFixed(2)}x   ${perRequest.toFixed(1).padStart(12)}        ${capacity.toFixed(2)}x`,
    );
  }
}

await main();
