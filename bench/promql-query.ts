/**
 * PromQL range-query latency: Lookout against Debian's Prometheus on the same data in one run.
 * Prints each query's median latency on both, their ratio, and the median ratio
 * (Lookout / Prometheus; target ≤ 1.0). See docs/BENCHMARKS.md.
 *
 *   node --import tsx bench/promql-query.ts [--series=10000] [--minutes=60] [--repeat=5] [--settle=30] [--head-window=2h]
 *
 * 1. Data: bench/remote-write.ts's generator (10 k series, one sample per 15 s) for the last
 *    --minutes, remote-written to both (both receivers hold exactly the same samples).
 *    Both then idle --settle seconds: the load is a burst (2.4 M samples in well under a
 *    minute, ~100× this series count's steady 670 samples/s), and the queries should measure
 *    reads, not reads racing Lookout's merges of the burst's parts.
 * 2. 20 representative dashboard range queries over the whole window at a 15 s step
 *    (241 points per series): rates, sums by label, histogram quantiles, *_over_time,
 *    topk, comparisons, vector matching, a regex selector over many series. Each query runs
 *    --repeat times on each server, alternating, after one warm-up run each; the result sizes
 *    must agree. The figure per query is the ratio of the median latencies.
 * 3. --head-window sets Lookout's storage.head.window (0: no in-memory head, every read from
 *    chDB; default: Lookout's default). Lookout's memory (RSS, V8 heap used) is printed before
 *    the load, after it and after the queries.
 */
import { buildRequests, generateSeries, median, readOption, sendAll, startPrometheus } from './remote-write.js';
import { startLookoutProcess, tempDir } from '../test/support/lookout-process.js';
import { performance } from 'node:perf_hooks';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BENCH_QUERIES = [
  'sum(rate(app_metric_00_total[5m]))',
  'sum by (job) (rate(app_metric_03_total[5m]))',
  'rate(app_metric_06_total{job="api"}[1m])',
  'histogram_quantile(0.99, sum by (le) (rate(app_metric_02_bucket[5m])))',
  'histogram_quantile(0.9, sum by (le, job) (rate(app_metric_05_bucket[5m])))',
  'avg(app_metric_01)',
  'max by (instance) (app_metric_04)',
  'topk(5, app_metric_07)',
  'app_metric_10 > 50',
  'sum(increase(app_metric_09_total[10m]))',
  'count by (job) (app_metric_13)',
  'avg_over_time(app_metric_16[5m])',
  'max_over_time(app_metric_19[10m])',
  'sum by (region) (rate(app_metric_12_total[5m])) / on() group_left() sum(rate(app_metric_12_total[5m]))',
  'deriv(app_metric_22[5m])',
  'quantile(0.5, app_metric_25)',
  'irate(app_metric_15_total[1m])',
  'sum by (job) (rate(app_metric_18_total{code=~"5.."}[5m]))',
  'sum by (job) (rate({__name__=~"app_metric_0[0-9]_total"}[5m]))',
  'count({job="api"})',
];

/** The process's resident set (from /proc) and V8 heap used (from its /metrics), in MB. */
async function memory(base: string, pid: number): Promise<string> {
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const heap = Number(/^lookout_nodejs_heap_size_used_bytes (\S+)/m.exec(metrics)?.[1] ?? NaN) / 1048576;
  return `RSS ${rss.toFixed(0)} MB, heap used ${heap.toFixed(0)} MB`;
}

async function rangeQuery(base: string, query: string, startS: number, endS: number): Promise<{ ms: number; series: number }> {
  const started = performance.now();
  const response = await fetch(`${base}/api/v1/query_range`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query, start: String(startS), end: String(endS), step: '15' }).toString(),
  });
  const body = (await response.json()) as { status: string; error?: string; data?: { result: unknown[] } };
  const ms = performance.now() - started;
  if (body.status !== 'success') throw new Error(`${base}: ${query}: ${body.error}`);
  return { ms, series: body.data!.result.length };
}

async function main() {
  const seriesCount = Math.round(readOption('series', 10_000));
  const minutes = Math.round(readOption('minutes', 60));
  const repeat = Math.round(readOption('repeat', 5));
  const settleS = process.argv.includes('--settle=0') ? 0 : readOption('settle', 30);
  const log = (text: string) => process.stdout.write(`${text}\n`);
  const rounds = minutes * 4 + 1;
  const endMs = Math.floor(Date.now() / 15_000) * 15_000;
  log(`PromQL range-query bench: ${seriesCount} series × ${rounds} samples (${minutes} min), ${BENCH_QUERIES.length} queries, ${repeat} runs each`);
  const lanes = buildRequests(generateSeries(seriesCount), rounds, 2000, 4, endMs);

  const headWindow = process.argv.find((a) => a.startsWith('--head-window='))?.slice('--head-window='.length);
  const args: string[] = [];
  if (headWindow !== undefined) {
    const config = join(tempDir('bench-config'), 'lookout.yml');
    writeFileSync(config, `storage:\n  head:\n    window: ${JSON.stringify(headWindow)}\n`);
    args.push('--config', config);
  }
  const lookout = await startLookoutProcess({ env: { LOOKOUT_LOG_LEVEL: 'error' }, args });
  const prom = await startPrometheus();
  try {
    log(`Lookout head window: ${headWindow ?? 'default'}; ${await memory(lookout.url, lookout.child.pid!)} before the load`);
    const loadL = await sendAll(`${lookout.url}/api/v1/write`, lanes);
    const loadP = await sendAll(`${prom.url}/api/v1/write`, lanes);
    log(`loaded in ${loadL.toFixed(1)} s (Lookout), ${loadP.toFixed(1)} s (Prometheus); settling ${settleS} s`);
    await new Promise((resolve) => setTimeout(resolve, settleS * 1000));
    log(`Lookout after the load: ${await memory(lookout.url, lookout.child.pid!)}`);
    const startS = (endMs - minutes * 60_000) / 1000;
    const endS = endMs / 1000;

    const ratios: number[] = [];
    log('');
    log('  Lookout ms  Prometheus ms  ratio  series  query');
    for (const query of BENCH_QUERIES) {
      const warmL = await rangeQuery(lookout.url, query, startS, endS);
      const warmP = await rangeQuery(prom.url, query, startS, endS);
      if (warmL.series !== warmP.series) throw new Error(`result sizes differ for ${query}: Lookout ${warmL.series}, Prometheus ${warmP.series}`);
      const l: number[] = [];
      const p: number[] = [];
      for (let i = 0; i < repeat; i++) {
        l.push((await rangeQuery(lookout.url, query, startS, endS)).ms);
        p.push((await rangeQuery(prom.url, query, startS, endS)).ms);
      }
      const ratio = median(l) / median(p);
      ratios.push(ratio);
      log(`  ${median(l).toFixed(1).padStart(10)}  ${median(p).toFixed(1).padStart(13)}  ${ratio.toFixed(2).padStart(5)}  ${String(warmL.series).padStart(6)}  ${query}`);
    }
    log('');
    log(`median ratio Lookout/Prometheus = ${median(ratios).toFixed(2)}  (target ≤ 1.0)`);
    log(`Lookout after the queries: ${await memory(lookout.url, lookout.child.pid!)}`);
  } finally {
    await prom.stop();
    await lookout.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
