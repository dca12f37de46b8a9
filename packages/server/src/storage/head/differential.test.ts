/**
 * The head against the embedded ClickHouse storage it stands in front of: the same random
 * samples (out of order, duplicate timestamps and rows, staleness markers, NaN/±Inf/-0, label
 * values with newlines) go to both, and random matchers and ranges must give identical answers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Re2Error, type Labels, type Sample } from '../../model/index.js';
import { openClickHouseStorage } from '../clickhouse/index.js';
import type { LabelMatcher, Storage, StoredSeriesColumns } from '../types.js';
import { attachMetricHead, type HeadedStorage } from './querier.js';
import { compareValueFlags } from './series-samples.js';

const tenant = 'head-diff';
const now = Date.now();
const HOUR = 3_600_000;

/** A small deterministic PRNG (mulberry32): failures reproduce. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = random(20261122);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;

const LABEL_SETS: Labels[] = [];
for (const name of ['http_requests_total', 'up', 'node_cpu_seconds_total']) {
  for (const job of ['api', 'web', 'batch\njob', 'ünï']) {
    for (const code of [undefined, '200', '500', '']) {
      const labels: Labels = { __name__: name, job };
      if (code !== undefined) labels.code = code;
      LABEL_SETS.push(labels);
    }
  }
}
LABEL_SETS.push({ __name__: 'no_job' }, { __name__: 'odd', job: 'api', instance: 'a:1', zone: 'x' });

const VALUES = [0, -0, 1, 1, 2.5, -3, NaN, Infinity, -Infinity, 0.1 + 0.2, 1e-300, 123456.789, 2 ** 53 + 2, 5e-324];

function randomSamples(count: number, fromMs: number, toMs: number): Sample[] {
  const out: Sample[] = [];
  for (let i = 0; i < count; i++) {
    // Whole seconds, so timestamps repeat often.
    const timestampMs = fromMs + Math.floor((rnd() * (toMs - fromMs)) / 1000) * 1000;
    const labels = pick(LABEL_SETS);
    const kind = rnd();
    if (kind < 0.08) out.push({ labels, timestampMs, value: NaN, stale: true });
    else out.push({ labels, timestampMs, value: kind < 0.5 ? pick(VALUES) : Math.round(rnd() * 1e6) / 1000 + rnd() });
  }
  return out;
}

const MATCHERS: LabelMatcher[] = [
  { type: '=', name: '__name__', value: 'http_requests_total' },
  { type: '=', name: '__name__', value: 'up' },
  { type: '=~', name: '__name__', value: 'http_.*|up' },
  { type: '!=', name: '__name__', value: 'up' },
  { type: '=', name: 'job', value: 'api' },
  { type: '!=', name: 'job', value: 'web' },
  { type: '=~', name: 'job', value: 'batch.job' },
  { type: '=~', name: 'job', value: '.*' },
  { type: '=~', name: 'job', value: '.+' },
  { type: '!~', name: 'job', value: 'a.*' },
  { type: '=~', name: 'job', value: '\\p{L}+' },
  { type: '=', name: 'code', value: '' },
  { type: '!=', name: 'code', value: '' },
  { type: '=~', name: 'code', value: '5..' },
  { type: '!~', name: 'code', value: '2..' },
  { type: '=~', name: 'code', value: '|200' },
  { type: '=', name: 'missing', value: '' },
  { type: '=', name: 'zone', value: 'x' },
  { type: '=~', name: '__name__', value: '(?i)UP' },
];

function key(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** ClickHouse's row order (t, value with NaN last, flags); -0 and 0 tie there, so either order is storage's. */
function compareRows(ta: number, va: number, sa: number, tb: number, vb: number, sb: number): number {
  return ta - tb || compareValueFlags(va, sa, vb, sb);
}

/**
 * Series sorted by labels; within each, rows that tie in storage's order (-0 beside 0) put in
 * one order, so answers compare as storage defines them. Every answer must already be sorted.
 */
function normalise(series: StoredSeriesColumns[]) {
  return series
    .map((s) => {
      const n = s.timestampsMs.length;
      const rows = Array.from({ length: n }, (_, i) => [s.timestampsMs[i]!, s.values[i]!, s.stale?.[i] ?? 0] as const);
      for (let i = 1; i < n; i++) assert.ok(compareRows(...rows[i - 1]!, ...rows[i]!) <= 0, `rows out of order in ${key(s.labels)}`);
      rows.sort((a, b) => compareRows(...a, ...b) || (Object.is(a[1], -0) ? 0 : 1) - (Object.is(b[1], -0) ? 0 : 1));
      return { labels: key(s.labels), t: rows.map((r) => r[0]), v: rows.map((r) => r[1]), stale: s.stale ? rows.map((r) => r[2]) : undefined };
    })
    .sort((a, b) => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : 0));
}

describe('metric head vs ClickHouse', () => {
  let inner: Storage;
  let headed: HeadedStorage;
  before(async () => {
    inner = await openClickHouseStorage({ dataDir: mkdtempSync(join(tmpdir(), 'lookout-head-')), retention: { logs: 30, traces: 30, metrics: 30 } });
    // Stored before the head exists: it must load these (and leave out those before its window).
    await inner.appender.appendSamples(tenant, randomSamples(3000, now - 3 * HOUR, now));
    headed = attachMetricHead(inner, { windowMs: 2 * HOUR, maxSamples: 1_000_000, now: () => now });
    await headed.load(tenant);
    // Later batches through the head's appender, shuffled in time, overlapping the loaded data.
    for (let batch = 0; batch < 8; batch++) await headed.storage.appender.appendSamples(tenant, randomSamples(1500, now - 2.5 * HOUR, now + 60_000));
    await headed.storage.appender.appendSamples(tenant, [
      // Exact duplicates and same-timestamp rows of every kind for one series.
      ...[3, 1, NaN, 2, 1, -Infinity].map((value) => ({ labels: LABEL_SETS[0]!, timestampMs: now - HOUR, value })),
      { labels: LABEL_SETS[0]!, timestampMs: now - HOUR, value: NaN, stale: true },
      { labels: LABEL_SETS[0]!, timestampMs: now - HOUR, value: 1, stale: false },
    ]);
  });
  after(async () => headed.storage.close());

  it('selects the same series and samples for random matchers and ranges', async () => {
    const minTime = headed.head.minTimeMs;
    let nonEmpty = 0;
    for (let i = 0; i < 60; i++) {
      const matchers = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(MATCHERS));
      const startMs = i === 0 ? minTime : minTime + Math.floor(rnd() * 2 * HOUR);
      const endMs = i === 1 ? Number.MAX_SAFE_INTEGER : startMs + Math.floor(rnd() * 2.2 * HOUR);
      const query = { tenant, matchers, startMs, endMs };
      const want = normalise(await inner.series.selectColumns!(query));
      let direct: StoredSeriesColumns[] | undefined;
      try {
        direct = headed.head.selectColumns(tenant, matchers, startMs, endMs);
      } catch (error) {
        // Patterns the JavaScript translation cannot express are left to storage.
        assert.ok(error instanceof Re2Error, String(error));
      }
      if (direct !== undefined) assert.deepStrictEqual(normalise(direct), want, `selectColumns ${JSON.stringify(query)}`);
      // Through the decorator too (it answers from the head: the range is covered).
      assert.deepStrictEqual(normalise(await headed.storage.series.selectColumns!(query)), want);
      const rows = await headed.storage.series.select(query);
      assert.deepStrictEqual(
        rows.map((s) => ({ labels: key(s.labels), n: s.samples.length })).sort((a, b) => (a.labels < b.labels ? -1 : 1)),
        want.map((s) => ({ labels: s.labels, n: s.t.length })),
      );
      if (want.length > 0) nonEmpty++;
    }
    assert.ok(nonEmpty > 20, `only ${nonEmpty} queries selected anything`);
  });

  it('keeps duplicate rows and orders equal timestamps as ClickHouse does', async () => {
    const query = { tenant, matchers: Object.entries(LABEL_SETS[0]!).map(([name, value]) => ({ type: '=' as const, name, value })).concat([{ type: '=', name: 'code', value: '' }]), startMs: now - HOUR, endMs: now - HOUR };
    const want = normalise(await inner.series.selectColumns!(query));
    const dupes = want.find((s) => s.labels === key(LABEL_SETS[0]!));
    assert.ok(dupes !== undefined && dupes.t.length >= 8, 'the duplicates are stored');
    assert.deepStrictEqual(normalise(await headed.storage.series.selectColumns!(query)), want);
  });

  it('lists the same series (label sets without empty values, sorted) for matcher sets and ranges', async () => {
    const minTime = headed.head.minTimeMs;
    for (let i = 0; i < 40; i++) {
      const matcherSets = Array.from({ length: Math.floor(rnd() * 3) }, () => Array.from({ length: 1 + Math.floor(rnd() * 2) }, () => pick(MATCHERS)));
      const startMs = minTime + Math.floor(rnd() * 2 * HOUR);
      const endMs = i % 5 === 0 ? undefined : startMs + Math.floor(rnd() * HOUR);
      const query = { tenant, matcherSets, startMs, ...(endMs === undefined ? {} : { endMs }), ...(i % 7 === 3 ? { limit: 3 } : {}) };
      const want = await inner.series.series(query);
      assert.deepStrictEqual(await headed.storage.series.series(query), want, `series ${JSON.stringify(query)}`);
    }
  });

  it('delegates what it does not cover: older ranges, open starts, label names and values', async () => {
    const minTime = headed.head.minTimeMs;
    const matchers: LabelMatcher[] = [{ type: '=~', name: '__name__', value: '.+' }];
    const older = { tenant, matchers, startMs: minTime - HOUR, endMs: now };
    const want = normalise(await inner.series.selectColumns!(older));
    assert.ok(want.some((s) => s.t[0]! < minTime), 'the range reaches before the head');
    assert.deepStrictEqual(normalise(await headed.storage.series.selectColumns!(older)), want);
    const open = { tenant, matcherSets: [matchers] };
    assert.deepStrictEqual(await headed.storage.series.series(open), await inner.series.series(open));
    const names = { tenant, matcherSets: [matchers], startMs: minTime, endMs: now };
    assert.deepStrictEqual(await headed.storage.series.labelNames(names), await inner.series.labelNames(names));
    assert.deepStrictEqual(await headed.storage.series.labelValues({ ...names, name: 'job' }), await inner.series.labelValues({ ...names, name: 'job' }));
  });
});
