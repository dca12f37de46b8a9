import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Labels, Sample } from '../../model/index.js';
import type { LabelMatcher, Storage, StoredSeriesColumns } from '../types.js';
import { MetricHead } from './metric-head.js';
import { attachMetricHead } from './querier.js';

const HOUR = 3_600_000;

function sample(labels: Labels, timestampMs: number, value: number, stale = false): Sample {
  return stale ? { labels, timestampMs, value, stale } : { labels, timestampMs, value };
}

const up = (job: string, extra: Labels = {}): Labels => ({ __name__: 'up', job, ...extra });
const m = (type: LabelMatcher['type'], name: string, value: string): LabelMatcher => ({ type, name, value });
const jobs = (series: StoredSeriesColumns[]) => series.map((s) => s.labels.job ?? '').sort();

describe('MetricHead', () => {
  let clock = 10 * HOUR;
  const head = new MetricHead({ windowMs: 2 * HOUR, maxSamples: 1000, now: () => clock });
  head.append('t', [
    sample(up('api'), clock - 60_000, 1),
    sample(up('web', { code: '500' }), clock - 60_000, 1),
    sample(up('db', { code: '' }), clock - 60_000, 0),
    sample({ __name__: 'other', job: 'api' }, clock - 60_000, 3),
    sample(up('old'), clock - 3 * HOUR, 1),
  ]);

  it('ignores samples before its lower bound', () => {
    assert.equal(head.samples, 4);
    assert.equal(head.minTimeMs, 8 * HOUR);
    assert.deepEqual(jobs(head.selectColumns('t', [m('=', 'job', 'old')], 0, clock)), []);
  });

  it('resolves =, !=, =~ and !~ with Prometheus semantics (absent label reads as "")', () => {
    const all = [0, clock] as const;
    const sel = (...matchers: LabelMatcher[]) => jobs(head.selectColumns('t', [m('=', '__name__', 'up'), ...matchers], ...all));
    assert.deepEqual(sel(), ['api', 'db', 'web']);
    assert.deepEqual(sel(m('!=', 'job', 'api')), ['db', 'web']);
    assert.deepEqual(sel(m('=', 'code', '')), ['api', 'db']);
    assert.deepEqual(sel(m('!=', 'code', '')), ['web']);
    assert.deepEqual(sel(m('=~', 'job', 'a.*|w.b')), ['api', 'web']);
    assert.deepEqual(sel(m('=~', 'job', 'pi')), [], 'regexes are anchored');
    assert.deepEqual(sel(m('!~', 'job', 'a.*')), ['db', 'web']);
    assert.deepEqual(sel(m('=~', 'code', '5..|')), ['api', 'db', 'web']);
    assert.deepEqual(sel(m('=', 'nope', 'x')), []);
    assert.deepEqual(jobs(head.selectColumns('t', [m('=~', '__name__', '.+'), m('=', 'job', 'api')], ...all)), ['api', 'api']);
    assert.deepEqual(head.selectColumns('other-tenant', [], ...all), []);
  });

  it('lists series without empty label values, in Prometheus order', () => {
    assert.deepEqual(head.series('t', [[m('=', '__name__', 'up')], [m('=', 'job', 'api')]], 0, clock), [
      { __name__: 'other', job: 'api' },
      // Pairwise by sorted name: (code, 500) sorts before (job, …).
      { __name__: 'up', code: '500', job: 'web' },
      { __name__: 'up', job: 'api' },
      { __name__: 'up', job: 'db' },
    ]);
    assert.deepEqual(head.series('t', [[m('=', 'job', 'api')]], clock, clock), []);
  });

  it('trims as time passes and forgets series left without samples', () => {
    head.append('t', [sample(up('api'), clock + HOUR, 2)]);
    clock += 2 * HOUR;
    head.maintain();
    assert.equal(head.minTimeMs, clock - 2 * HOUR);
    assert.equal(head.samples, 1);
    assert.equal(head.seriesCount, 1);
    assert.ok(!head.covers(clock - 3 * HOUR) && head.covers(clock - HOUR));
    assert.deepEqual(jobs(head.selectColumns('t', [], 0, Infinity)), ['api']);
  });

  it('identifies a series by its label set, whatever the key order or object', () => {
    const h = new MetricHead({ windowMs: HOUR, maxSamples: 1000, now: () => clock });
    const reused: Labels = { __name__: 'x', job: 'a' };
    h.append('t', [sample(reused, clock, 1), sample({ job: 'a', __name__: 'x' }, clock, 2)]);
    // A caller may reuse a mutable object for another series: only frozen ones are cached by identity.
    reused.job = 'b';
    h.append('t', [sample(reused, clock, 3)]);
    const frozen = Object.freeze({ __name__: 'x', job: 'a' });
    h.append('t', [sample(frozen, clock - 1, 0), sample(frozen, clock + 1, 4)]);
    // Separator characters inside values cannot make two label sets one.
    h.append('t', [sample({ __name__: 'x', job: 'a\u0001b\u0000c' }, clock, 5), sample({ __name__: 'x', job: 'a', b: 'c' }, clock, 6)]);
    assert.equal(h.seriesCount, 4);
    const bySet = Object.fromEntries(h.selectColumns('t', [], 0, Infinity).map((s) => [`${s.labels.job}|${s.labels.b ?? ''}`, Array.from(s.values)]));
    assert.deepEqual(bySet, { 'a|': [0, 1, 2, 4], 'b|': [3], 'a\u0001b\u0000c|': [5], 'a|c': [6] });
  });

  it('drops its oldest data beyond the sample bound instead of answering incompletely', () => {
    const now = 100 * HOUR;
    const small = new MetricHead({ windowMs: 2 * HOUR, maxSamples: 100, now: () => now });
    const samples = Array.from({ length: 150 }, (_, i) => sample(up('api'), now - 2 * HOUR + i * 30_000, i));
    small.append('t', samples);
    assert.ok(small.samples <= 100, `${small.samples} samples held`);
    const kept = small.selectColumns('t', [], small.minTimeMs, now)[0]!;
    // Everything from minTimeMs on is still there: the bound moved the lower bound, not the answers.
    assert.equal(kept.timestampsMs.length, samples.filter((s) => s.timestampMs >= small.minTimeMs).length);
    assert.ok(!small.covers(now - 2 * HOUR));
  });
});

/** A Storage whose series reads are recorded, to see which reads the head answers. */
function fakeStorage(stored: Sample[]): { storage: Storage; reads: string[]; lose(table: string): void } {
  const reads: string[] = [];
  const lostListeners: ((table: string) => void)[] = [];
  const columns = (startMs: number, endMs: number): StoredSeriesColumns[] => {
    const inRange = stored.filter((s) => s.timestampMs >= startMs && s.timestampMs <= endMs);
    if (inRange.length === 0) return [];
    return [{ labels: inRange[0]!.labels, timestampsMs: Float64Array.from(inRange, (s) => s.timestampMs), values: Float64Array.from(inRange, (s) => s.value) }];
  };
  const unused = () => Promise.reject(new Error('not used'));
  const storage = {
    kind: 'embedded',
    appender: {
      appendSamples: async (_tenant: string, samples: readonly Sample[]) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (samples.some((s) => s.value < 0)) throw new Error('insert failed');
        stored.push(...samples);
      },
    },
    series: {
      select: unused,
      selectColumns: async (q: { startMs: number; endMs: number }) => {
        reads.push(`select ${q.startMs}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
        return columns(q.startMs, q.endMs);
      },
      series: async (q: { startMs?: number }) => {
        reads.push('series');
        return stored.filter((s) => s.timestampMs >= (q.startMs ?? -Infinity)).map((s) => s.labels);
      },
    },
    close: async () => undefined,
    onDataLost: (listener: (table: string) => void) => lostListeners.push(listener),
  } as unknown as Storage;
  return { storage, reads, lose: (table: string) => lostListeners.forEach((l) => l(table)) };
}

describe('the head as storage decorators', () => {
  const now = 50 * HOUR;
  const labels = up('api');

  it('loads stored samples of its window, then answers covered reads itself and delegates the rest', async () => {
    const { storage, reads } = fakeStorage([sample(labels, now - 3 * HOUR, 1), sample(labels, now - HOUR, 2)]);
    const headed = attachMetricHead(storage, { windowMs: 2 * HOUR, maxSamples: 1000, now: () => now });
    await headed.load('t');
    assert.equal(headed.head.samples, 1);
    reads.length = 0;
    const got = await headed.storage.series.selectColumns!({ tenant: 't', matchers: [], startMs: now - HOUR, endMs: now });
    assert.deepEqual(Array.from(got[0]!.values), [2]);
    assert.deepEqual(reads, []);
    await headed.storage.series.selectColumns!({ tenant: 't', matchers: [], startMs: now - 3 * HOUR, endMs: now });
    await headed.storage.series.series({ tenant: 't', matcherSets: [] });
    assert.deepEqual(reads, [`select ${now - 3 * HOUR}`, 'series']);
  });

  it('adds samples only after storage stored them, and makes a new tenant wait for its load', async () => {
    const stored: Sample[] = [sample(labels, now - HOUR, 1)];
    const { storage, reads } = fakeStorage(stored);
    const headed = attachMetricHead(storage, { windowMs: 2 * HOUR, maxSamples: 1000, now: () => now });
    // The first append of a tenant loads it first: the stored sample appears once, not twice.
    await headed.storage.appender.appendSamples('t', [sample(labels, now - 30_000, 2)]);
    reads.length = 0;
    const read = () => headed.storage.series.selectColumns!({ tenant: 't', matchers: [], startMs: now - HOUR, endMs: now });
    assert.deepEqual(Array.from((await read())[0]!.values), [1, 2]);
    assert.deepEqual(reads, [], 'answered by the head');
    await assert.rejects(headed.storage.appender.appendSamples('t', [sample(labels, now - 20_000, -1)]), /insert failed/);
    assert.deepEqual(Array.from((await read())[0]!.values), [1, 2], 'a failed insert leaves the head unchanged');
  });

  it('forgets what storage lost after acknowledging it, and reloads from storage', async () => {
    const stored: Sample[] = [sample(labels, now - HOUR, 1)];
    const { storage, reads, lose } = fakeStorage(stored);
    const headed = attachMetricHead(storage, { windowMs: 2 * HOUR, maxSamples: 1000, now: () => now });
    await headed.storage.appender.appendSamples('t', [sample(labels, now - 30_000, 2)]);
    // Storage later refuses the segment holding the second sample.
    stored.pop();
    lose('otel_logs');
    const read = () => headed.storage.series.selectColumns!({ tenant: 't', matchers: [], startMs: now - HOUR, endMs: now });
    assert.deepEqual(Array.from((await read())[0]!.values), [1, 2], 'another table’s loss changes nothing');
    lose('metric_samples');
    reads.length = 0;
    assert.deepEqual(Array.from((await read())[0]!.values), [1], 'answered by storage');
    assert.ok(reads.length > 0);
    await headed.load('t');
    reads.length = 0;
    assert.deepEqual(Array.from((await read())[0]!.values), [1], 'reloaded head');
    assert.deepEqual(reads, []);
  });

  it('delegates reads of a tenant until its load completes', async () => {
    const { storage, reads } = fakeStorage([sample(labels, now - HOUR, 1)]);
    const headed = attachMetricHead(storage, { windowMs: 2 * HOUR, maxSamples: 1000, now: () => now });
    const first = await headed.storage.series.selectColumns!({ tenant: 't', matchers: [], startMs: now - HOUR, endMs: now });
    assert.equal(first.length, 1);
    assert.ok(reads.includes(`select ${now - HOUR}`), 'the first read went to storage');
    await headed.load('t');
    reads.length = 0;
    await headed.storage.series.selectColumns!({ tenant: 't', matchers: [], startMs: now - HOUR, endMs: now });
    assert.deepEqual(reads, []);
  });
});
