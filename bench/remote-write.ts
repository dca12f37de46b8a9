/**
 * Remote-write ingest benchmark: the same generated load sent to Lookout and to Debian's
 * Prometheus (`--web.enable-remote-write-receiver`) in one run. Prints samples/s of each, the
 * ratio (Lookout / Prometheus; target ≥ 1.0) and Lookout's bytes on disk per sample (target
 * ≤ 2). See docs/BENCHMARKS.md.
 *
 *   node --import tsx bench/remote-write.ts [--series=10000] [--rounds=120] [--per-request=2000]
 *                                           [--connections=16] [--repeat=3] [--idle=60]
 *
 * Options can also be BENCH_<NAME> environment variables.
 *
 * 1. Data: --series series shaped like node-exporter/app metrics (100 metric names × series/100
 *    instances, counters that grow by small integers, gauges with a few decimals, histograms'
 *    le buckets; 30 % of counters mostly idle, 40 % of gauges fixed, low buckets rarely
 *    filled), scraped every 15 s for --rounds rounds ending now. Requests of
 *    --per-request samples (Prometheus's max_samples_per_send is 2000 in 3.x) are encoded
 *    and snappy-compressed before timing starts.
 * 2. Each receiver gets the same requests over --connections keep-alive connections. A series
 *    always travels on the same connection and rounds go in order, as a Prometheus shard
 *    does, so no receiver sees out-of-order samples. The figure is the time until a query after
 *    the last 2xx answers: both acknowledge once a sample is in their write-ahead log and
 *    in-memory head, where a query finds it. Lookout's time until its write-ahead log has
 *    drained into chDB (every sample in the engine) is printed beside it, with the time to
 *    the last 2xx.
 *    Lookout and Prometheus run one after the other (2 cores), each on a fresh directory;
 *    --repeat alternates them; the ratio is the median of the rounds' ratios. Lookout's CPU
 *    is also split by thread (/proc): JavaScript, inserts, background merges.
 * 3. Bytes on disk: Lookout's metric tables (system.parts: as left, after --idle seconds of
 *    background merges, and after OPTIMIZE FINAL)
 *    divided by the samples stored; Prometheus's directory size is printed for reference (its
 *    recent data sits in the WAL and head chunks until compaction, hours later).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { compressSync } from 'snappy';
import { encodeWriteRequest, type RemoteWriteLabel as PbLabel } from '../packages/server/src/ingest/index.js';
import { freePort, startLookoutProcess, tempDir } from '../test/support/lookout-process.js';

export function readOption(name: string, fallback: number): number {
  const argv = process.argv.slice(2);
  let text: string | undefined;
  for (const arg of argv) if (arg.startsWith(`--${name}=`)) text = arg.slice(name.length + 3);
  text ??= process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${JSON.stringify(text)}`);
  return n;
}

/** mulberry32: deterministic data. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const METRIC_KINDS = ['counter', 'gauge', 'histogram'] as const;
const BUCKETS = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf'];

export interface GeneratedSeries {
  labels: PbLabel[];
  kind: (typeof METRIC_KINDS)[number];
  value: number;
  step: number;
  /** Chance that the value changes between scrapes (idle counters and fixed gauges do not). */
  changes: number;
}

/**
 * `count` series: 100 metric families (counters `app_metric_NN_total`, gauges `app_metric_NN`,
 * histogram buckets `app_metric_NN_bucket{le}`) spread over instances of 4 jobs.
 */
export function generateSeries(count: number): GeneratedSeries[] {
  const random = rng(42);
  const out: GeneratedSeries[] = [];
  const jobs = ['api', 'web', 'worker', 'db'];
  let instance = 0;
  while (out.length < count) {
    const job = jobs[instance % jobs.length]!;
    for (let m = 0; m < 100 && out.length < count; m++) {
      const kind = METRIC_KINDS[m % 3]!;
      const base = `app_metric_${String(m).padStart(2, '0')}`;
      const common = { instance: `10.0.${Math.floor(instance / 250)}.${instance % 250}:9100`, job, region: instance % 2 ? 'eu' : 'us' };
      if (kind === 'histogram') {
        for (const le of BUCKETS) {
          if (out.length >= count) break;
          // Low buckets of a latency histogram fill rarely; high ones move with the count.
          const changes = Math.min(1, 0.15 + BUCKETS.indexOf(le) / BUCKETS.length);
          out.push({ labels: sorted({ __name__: `${base}_bucket`, ...common, le }), kind, value: 0, step: 1 + Math.floor(random() * 20), changes });
        }
      } else if (kind === 'counter') {
        const changes = random() < 0.3 ? 0.05 : 0.9;
        out.push({ labels: sorted({ __name__: `${base}_total`, ...common, code: String(200 + (m % 5) * 100) }), kind, value: Math.floor(random() * 1e6), step: 1 + Math.floor(random() * 50), changes });
      } else {
        const changes = random() < 0.4 ? 0 : 0.9;
        out.push({ labels: sorted({ __name__: base, ...common }), kind, value: Math.round(random() * 10000) / 100, step: 0, changes });
      }
    }
    instance++;
  }
  return out;
}

function sorted(labels: Record<string, string>): PbLabel[] {
  return Object.keys(labels)
    .sort()
    .map((name) => ({ name, value: labels[name]! }));
}

/** The value of a series at a round: counters grow, gauges wander with two decimals. */
export function nextValue(s: GeneratedSeries, random: () => number): number {
  if (random() >= s.changes) return s.value;
  if (s.kind === 'gauge') s.value = Math.max(0, Math.round((s.value + (random() - 0.5) * 4) * 100) / 100);
  else s.value += Math.floor(random() * s.step);
  return s.value;
}

/**
 * Snappy-compressed WriteRequests per connection, in send order: connection c carries the
 * series with index % connections === c; each request holds whole rounds of its series' samples.
 */
export function buildRequests(series: GeneratedSeries[], rounds: number, perRequest: number, connections: number, endMs: number, intervalMs = 15_000): Buffer[][] {
  const random = rng(7);
  const startMs = endMs - (rounds - 1) * intervalMs;
  const lanes: Buffer[][] = Array.from({ length: connections }, () => []);
  for (let c = 0; c < connections; c++) {
    const mine = series.filter((_, i) => i % connections === c);
    let batch: { labels: PbLabel[]; samples: { value: number; timestamp: number }[] }[] = [];
    let inBatch = 0;
    for (let r = 0; r < rounds; r++) {
      const t = startMs + r * intervalMs + Math.floor(random() * 50);
      for (const s of mine) {
        batch.push({ labels: s.labels, samples: [{ value: nextValue(s, random), timestamp: t }] });
        if (++inBatch >= perRequest) {
          lanes[c]!.push(compressSync(encodeWriteRequest({ timeseries: batch })));
          batch = [];
          inBatch = 0;
        }
      }
    }
    if (batch.length > 0) lanes[c]!.push(compressSync(encodeWriteRequest({ timeseries: batch })));
  }
  return lanes;
}

function post(agent: Agent, url: URL, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'Content-Type': 'application/x-protobuf',
          'Content-Encoding': 'snappy',
          'X-Prometheus-Remote-Write-Version': '0.1.0',
          'Content-Length': body.length,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Waits until Lookout's write-ahead log holds no rows that are not yet in chDB. */
async function walDrained(metricsUrl: string): Promise<void> {
  for (;;) {
    const text = await (await fetch(metricsUrl)).text();
    const m = /^lookout_wal_pending_rows (\S+)$/m.exec(text);
    if (!m || Number(m[1]) === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Answers a query of recent data (a selector), so it waits for what was acknowledged; with
 * `beyondHead`, of data older than Lookout's in-memory head, which chDB answers once every
 * acknowledged sample is in it (reads wait for the write-ahead log to be stored).
 */
async function firstQuery(baseUrl: string, beyondHead = false): Promise<void> {
  const query = beyondHead ? 'absent(bench_no_such_metric offset 3h)' : 'absent(bench_no_such_metric)';
  const response = await fetch(`${baseUrl}/api/v1/query?query=${encodeURIComponent(query)}`);
  if (!response.ok) throw new Error(`${baseUrl} query answered ${response.status}`);
  await response.text();
}

/** Sends every lane's requests in order (lanes in parallel); retries 5xx like a sender. Seconds. */
export async function sendAll(writeUrl: string, lanes: Buffer[][]): Promise<number> {
  const url = new URL(writeUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: lanes.length });
  const started = performance.now();
  await Promise.all(
    lanes.map(async (requests) => {
      for (const body of requests) {
        for (let attempt = 0; ; attempt++) {
          const status = await post(agent, url, body);
          if (status >= 200 && status < 300) break;
          if (status < 500 || attempt > 50) throw new Error(`${writeUrl} answered ${status}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return seconds;
}

export interface PrometheusProcess {
  url: string;
  dir: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Debian's prometheus with the remote-write receiver, no scrape targets, on 127.0.0.1. */
export async function startPrometheus(extraArgs: string[] = []): Promise<PrometheusProcess> {
  const bin = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
  const probe = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new Error(`${bin} is required (Debian package "prometheus")`);
  const dir = tempDir('bench-prom');
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, 'global:\n  scrape_interval: 1m\n');
  const port = await freePort();
  const child = spawn(
    bin,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      '--log.level=error',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) break;
    } catch {
      // not yet listening
    }
    if (Date.now() > deadline) throw new Error('prometheus did not become ready');
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    dir,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** A process's CPU seconds from its /metrics (Lookout's includes chDB's threads). */
export async function cpuSeconds(metricsUrl: string, name: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`${name} not found at ${metricsUrl}`);
  return Number(m[1]);
}

/**
 * CPU seconds per thread group of a process from /proc (Linux): the main (JavaScript) thread,
 * and the engine's threads by name (MergeMutate: background merges; ThreadPool and node:
 * insert parsing and part writing). Empty where /proc is not available.
 */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended
    }
    const name = tid === String(pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[0-9]+$/, '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, in clock ticks (100 per second on Linux).
    const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
    out.set(name, (out.get(name) ?? 0) + seconds);
  }
  return out;
}

export function directoryBytes(path: string): number {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) total += directoryBytes(full);
    else total += statSync(full).size;
  }
  return total;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function lookoutBytes(dataDir: string, idleSeconds: number): Promise<{ asLeft: number; idle: number; optimized: number; samples: number }> {
  const { openClickHouseStorage } = await import('../packages/server/src/storage/clickhouse/index.js');
  const storage = await openClickHouseStorage({ dataDir, retention: { logs: 7, traces: 7, metrics: 30 }, readPoolSize: 1 });
  const metricTables = new Set(['metric_samples', 'metric_series', 'metric_metadata_entries', 'metric_exemplars']);
  const sum = (stats: { table: string; rows: number; bytesOnDisk: number }[]) =>
    stats.filter((s) => metricTables.has(s.table)).reduce((n, s) => n + s.bytesOnDisk, 0);
  const before = await storage.tableStats();
  const samples = before.find((s) => s.table === 'metric_samples')?.rows ?? 0;
  const asLeft = sum(before);
  // Merging is what the engine does by itself over time: first left idle for a while, then
  // FINAL shows where it converges.
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const idle = sum(await storage.tableStats());
  const { openPool } = await import('../packages/server/src/storage/clickhouse/pool.js');
  await storage.close();
  const pool = openPool({ dataDir, size: 1 });
  for (const table of ['metric_samples', 'metric_series']) await pool.command(`OPTIMIZE TABLE ${table} FINAL`);
  const optimizedRows = await pool.select<{ table: string; bytes: string }>(
    `SELECT table, sum(bytes_on_disk) AS bytes FROM system.parts WHERE active AND database = currentDatabase() GROUP BY table`,
  );
  await pool.close();
  const optimized = optimizedRows.filter((r) => metricTables.has(r.table)).reduce((n, r) => n + Number(r.bytes), 0);
  return { asLeft, idle, optimized, samples };
}

async function main() {
  const seriesCount = Math.round(readOption('series', 10_000));
  const rounds = Math.round(readOption('rounds', 120));
  const perRequest = Math.round(readOption('per-request', 2000));
  // Prometheus's sender runs up to 50 shards (200 in 2.x) when behind; 16 keeps the client light.
  const connections = Math.round(readOption('connections', 16));
  const repeat = Math.round(readOption('repeat', 3));
  const idleSeconds = readOption('idle', 60);
  const total = seriesCount * rounds;
  const log = (text: string) => process.stdout.write(`${text}\n`);

  log(`remote-write bench: ${seriesCount} series × ${rounds} rounds = ${total} samples, ${perRequest}/request, ${connections} connections, ${repeat} repeats`);
  const lookoutRates: number[] = [];
  const lookoutStoredRates: number[] = [];
  const promRates: number[] = [];
  const lookoutCpu: number[] = [];
  const promCpu: number[] = [];
  let bytes: { asLeft: number; idle: number; optimized: number; samples: number } | undefined;
  let promDirBytes = 0;
  const threadCpu = new Map<string, number[]>();
  for (let i = 0; i < repeat; i++) {
    // Fresh data for each pair so both receivers get identical, recent samples.
    const lanes = buildRequests(generateSeries(seriesCount), rounds, perRequest, connections, Date.now());
    const wireBytes = lanes.flat().reduce((n, b) => n + b.length, 0);

    const lookout = await startLookoutProcess({ env: { LOOKOUT_LOG_LEVEL: 'error' } });
    const lookoutCpu0 = await cpuSeconds(`${lookout.url}/metrics`, 'lookout_process_cpu_seconds_total');
    const threads0 = threadCpuSeconds(lookout.child.pid!);
    const started = performance.now();
    const lookoutAckSeconds = await sendAll(`${lookout.url}/api/v1/write`, lanes);
    // Lookout acknowledges from its write-ahead log; a query waits until what was acknowledged
    // is stored, so the stored rate (and the CPU it took) is measured up to that answer.
    await firstQuery(lookout.url);
    const lookoutSeconds = (performance.now() - started) / 1000;
    // Queryable is Prometheus's guarantee too (WAL + head); in chDB is when the write-ahead log
    // has drained into the engine (a read of older data makes it insert its open segments
    // at once instead of at their 1 s age): a longer run cannot go faster than that.
    await firstQuery(lookout.url, true);
    await walDrained(`${lookout.url}/metrics`);
    const lookoutStoredSeconds = (performance.now() - started) / 1000;
    lookoutCpu.push(((await cpuSeconds(`${lookout.url}/metrics`, 'lookout_process_cpu_seconds_total')) - lookoutCpu0) / total);
    for (const [name, seconds] of threadCpuSeconds(lookout.child.pid!)) {
      let list = threadCpu.get(name);
      if (!list) threadCpu.set(name, (list = []));
      list.push((seconds - (threads0.get(name) ?? 0)) / total);
    }
    await lookout.stop();
    lookoutRates.push(total / lookoutSeconds);
    lookoutStoredRates.push(total / lookoutStoredSeconds);
    if (i === 0) bytes = await lookoutBytes(lookout.dataDir, idleSeconds);

    const prom = await startPrometheus();
    const promCpu0 = await cpuSeconds(`${prom.url}/metrics`, 'process_cpu_seconds_total');
    const promStarted = performance.now();
    const promAckSeconds = await sendAll(`${prom.url}/api/v1/write`, lanes);
    await firstQuery(prom.url);
    const promSeconds = (performance.now() - promStarted) / 1000;
    promCpu.push(((await cpuSeconds(`${prom.url}/metrics`, 'process_cpu_seconds_total')) - promCpu0) / total);
    await prom.stop();
    promRates.push(total / promSeconds);
    if (i === 0) promDirBytes = directoryBytes(join(prom.dir, 'data'));

    log(
      `  round ${i + 1}: Lookout ${(total / lookoutSeconds).toFixed(0)} samples/s queryable (${lookoutSeconds.toFixed(2)} s; last ack at ${lookoutAckSeconds.toFixed(2)} s; ` +
        `all in chDB at ${lookoutStoredSeconds.toFixed(2)} s = ${(total / lookoutStoredSeconds).toFixed(0)} samples/s; ${(lookoutCpu.at(-1)! * 1e6).toFixed(2)} µs CPU/sample), ` +
        `Prometheus ${(total / promSeconds).toFixed(0)} samples/s (${promSeconds.toFixed(2)} s; last ack at ${promAckSeconds.toFixed(2)} s; ${(promCpu.at(-1)! * 1e6).toFixed(2)} µs CPU/sample); ` +
        `wire ${(wireBytes / total).toFixed(2)} B/sample; load average ${loadavg()[0]!.toFixed(1)}`,
    );
  }
  const lookoutRate = median(lookoutRates);
  const promRate = median(promRates);
  // Each round runs the two back to back, so its ratio compares like with like on a machine
  // whose load changes between rounds; the median of those is the figure.
  const ratios = lookoutRates.map((rate, i) => rate / promRates[i]!);
  log('');
  log(`Lookout     ${lookoutRate.toFixed(0)} samples/s (median)`);
  log(`Prometheus  ${promRate.toFixed(0)} samples/s (median)`);
  log(`ratio Lookout/Prometheus = ${median(ratios).toFixed(2)}  (median of the rounds' ratios ${ratios.map((r) => r.toFixed(2)).join(', ')}; target ≥ 1.0)`);
  const storedRatios = lookoutStoredRates.map((rate, i) => rate / promRates[i]!);
  log(
    `Lookout until every sample is in chDB (write-ahead log drained): ${median(lookoutStoredRates).toFixed(0)} samples/s; ` +
      `ratio ${median(storedRatios).toFixed(2)} (rounds ${storedRatios.map((r) => r.toFixed(2)).join(', ')})`,
  );
  log(
    `CPU per sample (whole process): Lookout ${(median(lookoutCpu) * 1e6).toFixed(2)} µs, Prometheus ${(median(promCpu) * 1e6).toFixed(2)} µs; ` +
      `efficiency ratio Prometheus/Lookout = ${(median(promCpu) / median(lookoutCpu)).toFixed(2)}`,
  );
  const byThread = [...threadCpu]
    .map(([name, values]) => [name, median(values)] as const)
    .filter(([, perSample]) => perSample >= 0.01e-6)
    .sort((a, b) => b[1] - a[1]);
  if (byThread.length > 0) {
    log(`Lookout CPU per sample by thread (main = JavaScript; MergeMutate = merges; ThreadPool, node = inserts): ${byThread.map(([n, v]) => `${n} ${(v * 1e6).toFixed(2)} µs`).join(', ')}`);
  }
  if (bytes) {
    log(
      `Lookout bytes on disk per sample: ${(bytes.asLeft / bytes.samples).toFixed(2)} as left, ${(bytes.idle / bytes.samples).toFixed(2)} after ${idleSeconds} s idle (background merges), ` +
        `${(bytes.optimized / bytes.samples).toFixed(2)} after OPTIMIZE FINAL ` +
        `(${bytes.samples} samples; metric tables incl. series)  (target ≤ 2)`,
    );
    log(`Prometheus data directory per sample (WAL + head chunks, not yet compacted): ${(promDirBytes / total).toFixed(2)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
