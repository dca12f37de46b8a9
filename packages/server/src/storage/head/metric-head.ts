/**
 * The in-memory head of recent metric samples: per tenant, a series index with postings by
 * label name=value, and per series the samples (series-samples.ts). It is authoritative for
 * samples with timestamp ≥ minTimeMs: every stored sample at or after that time is here, so a
 * read whose range starts there can be answered without ClickHouse (querier.ts decides).
 */
import { compileRe2, Re2Error, sortedLabelEntries, type Labels, type Sample } from '../../model/index.js';
import type { LabelMatcher, StoredSeriesColumns } from '../types.js';
import { SeriesSamples } from './series-samples.js';

export interface MetricHeadOptions {
  /** How far back from now the head keeps samples (ms). */
  windowMs: number;
  /** At most this many samples in all; beyond it the oldest are dropped (minTimeMs advances). */
  maxSamples: number;
  now?: () => number;
}

export class HeadSeries {
  readonly samples = new SeriesSamples();
  constructor(
    readonly key: string,
    readonly labels: Labels,
  ) {}
}

class TenantIndex {
  readonly byKey = new Map<string, HeadSeries>();
  /**
   * Frozen label sets by identity (the remote-write decoder interns one per series), and any
   * by their pairs' text in key order (an alias of the sorted key, cheaper to build). Only a
   * frozen object can stand for its labels across calls; both are caches, dropped on trims.
   */
  byObject = new WeakMap<Labels, HeadSeries>();
  byText = new Map<string, HeadSeries>();
  /** name → value → series with that label (empty values included: they are stored labels). */
  readonly postings = new Map<string, Map<string, Set<HeadSeries>>>();

  seriesFor(labels: Labels): HeadSeries {
    const frozen = Object.isFrozen(labels);
    if (frozen) {
      const known = this.byObject.get(labels);
      if (known !== undefined) return known;
    }
    let text = '';
    for (const name in labels) text += pairText(name, labels[name]!);
    let series = this.byText.get(text);
    if (series !== undefined) {
      if (frozen) this.byObject.set(labels, series);
      return series;
    }
    const key = labelSetKey(labels);
    series = this.byKey.get(key);
    if (series === undefined) {
      series = new HeadSeries(key, { ...labels });
      this.byKey.set(key, series);
      for (const [name, value] of Object.entries(series.labels)) {
        let values = this.postings.get(name);
        if (values === undefined) this.postings.set(name, (values = new Map()));
        let set = values.get(value);
        if (set === undefined) values.set(value, (set = new Set()));
        set.add(series);
      }
    }
    if (frozen) this.byObject.set(labels, series);
    if (this.byText.size >= MAX_TEXT_ALIASES) this.byText.clear();
    this.byText.set(text, series);
    return series;
  }

  remove(series: HeadSeries): void {
    this.byKey.delete(series.key);
    for (const [name, value] of Object.entries(series.labels)) {
      const values = this.postings.get(name);
      const set = values?.get(value);
      if (set === undefined) continue;
      set.delete(series);
      if (set.size === 0) values!.delete(value);
      if (values!.size === 0) this.postings.delete(name);
    }
  }

  /** Series satisfying every matcher (a missing label reads as '', as in Prometheus). */
  match(matchers: readonly LabelMatcher[]): HeadSeries[] {
    const tests = matchers.map(matcherTest);
    // Narrow by the smallest posting list of a matcher that cannot match an absent label.
    let candidates: Iterable<HeadSeries> | undefined;
    let candidateCount = Infinity;
    matchers.forEach((m, i) => {
      const test = tests[i]!;
      if (test('')) return;
      const values = this.postings.get(m.name);
      if (values === undefined) {
        candidates = [];
        candidateCount = 0;
        return;
      }
      if (m.type === '=') {
        const set = values.get(m.value);
        const size = set?.size ?? 0;
        if (size < candidateCount) [candidates, candidateCount] = [set ?? [], size];
        return;
      }
      // A regex (or `!=`/`!~` that excludes ''): the union of the values it matches.
      let size = 0;
      const sets: Set<HeadSeries>[] = [];
      for (const [value, set] of values) {
        if (test(value)) {
          sets.push(set);
          size += set.size;
        }
      }
      if (size < candidateCount) {
        candidateCount = size;
        candidates = sets.length === 1 ? sets[0]! : sets.flatMap((s) => [...s]);
      }
    });
    const out: HeadSeries[] = [];
    for (const series of candidates ?? this.byKey.values()) {
      let ok = true;
      for (let i = 0; i < matchers.length && ok; i++) ok = tests[i]!(series.labels[matchers[i]!.name] ?? '');
      if (ok) out.push(series);
    }
    return out;
  }
}

/** Label texts remembered per tenant (one per series, unless label order varies). */
const MAX_TEXT_ALIASES = 1_000_000;

/** A label set's identity: its sorted pairs (empty values count, as in the storage fingerprint). */
function labelSetKey(labels: Labels): string {
  let key = '';
  for (const [name, value] of sortedLabelEntries(labels)) key += pairText(name, value);
  return key;
}

/** A pair as length-prefixed text: unambiguous whatever characters names and values hold. */
function pairText(name: string, value: string): string {
  return `${name.length}:${name}${value.length}:${value}`;
}

/** Prometheus's matcher semantics; regexes are RE2, fully anchored, `.` matching newlines. */
function matcherTest(m: LabelMatcher): (value: string) => boolean {
  switch (m.type) {
    case '=':
      return (v) => v === m.value;
    case '!=':
      return (v) => v !== m.value;
    case '=~': {
      const re = anchoredRe2(m.value);
      return (v) => re.test(v);
    }
    case '!~': {
      const re = anchoredRe2(m.value);
      return (v) => !re.test(v);
    }
  }
}

function anchoredRe2(pattern: string): RegExp {
  const re = compileRe2(pattern, { anchored: true, dotAll: true });
  // model's translation keeps \p{…} classes but without the `u` flag they match literally:
  // such patterns are left to storage's RE2 (Re2Error makes the querier delegate).
  if (!re.unicode && /\\[pP]/.test(re.source)) throw new Re2Error(`unicode classes are not translated: ${pattern}`);
  return re;
}

/**
 * The value as storage returns it: markers and NaNs as the plain NaN (reads come back as text),
 * -0 as 0 (the sample inserts write it so; differential.test.ts checks it against storage).
 */
function storedValue(value: number, stale: boolean): number {
  return stale || value !== value ? NaN : value + 0;
}

/** How far now − window may run ahead of minTimeMs before a trim. */
const TRIM_SLACK_MS = 60_000;

export class MetricHead {
  private readonly tenants = new Map<string, TenantIndex>();
  private readonly now: () => number;
  private sampleCount = 0;
  /** Every stored sample with timestamp ≥ minTimeMs is in the head. */
  minTimeMs: number;

  constructor(private readonly options: MetricHeadOptions) {
    this.now = options.now ?? Date.now;
    this.minTimeMs = this.now() - options.windowMs;
  }

  get samples(): number {
    return this.sampleCount;
  }

  get seriesCount(): number {
    let n = 0;
    for (const t of this.tenants.values()) n += t.byKey.size;
    return n;
  }

  /** Bytes held by sample columns (not the index). */
  get sampleBytes(): number {
    let n = 0;
    for (const t of this.tenants.values()) for (const s of t.byKey.values()) n += s.samples.bytes;
    return n;
  }

  /** Whether a read of [startMs, …] lies where the head is authoritative. */
  covers(startMs: number): boolean {
    return startMs >= this.minTimeMs;
  }

  /** Adds samples that storage has stored; those older than minTimeMs are not the head's. */
  append(tenant: string, samples: readonly Sample[]): void {
    let index = this.tenants.get(tenant);
    if (index === undefined) this.tenants.set(tenant, (index = new TenantIndex()));
    const minTime = this.minTimeMs;
    let added = 0;
    // Consecutive samples of one series usually share their labels object within a batch.
    let lastLabels: Labels | undefined;
    let last: HeadSeries | undefined;
    for (const sample of samples) {
      const t = Math.trunc(sample.timestampMs);
      if (!(t >= minTime)) continue;
      const stale = sample.stale === true;
      if (sample.labels !== lastLabels || last === undefined) {
        lastLabels = sample.labels;
        last = index.seriesFor(sample.labels);
      }
      last.samples.append(t, storedValue(sample.value, stale), stale);
      added++;
    }
    this.sampleCount += added;
    this.maintain();
  }

  /** Adds one series' columns as read from storage (the head's initial load). */
  appendColumns(tenant: string, series: StoredSeriesColumns): void {
    let index = this.tenants.get(tenant);
    if (index === undefined) this.tenants.set(tenant, (index = new TenantIndex()));
    const target = index.seriesFor(series.labels).samples;
    const minTime = this.minTimeMs;
    let added = 0;
    for (let i = 0; i < series.timestampsMs.length; i++) {
      const t = series.timestampsMs[i]!;
      if (t < minTime) continue;
      const stale = series.stale?.[i] === 1;
      target.append(t, storedValue(series.values[i]!, stale), stale);
      added++;
    }
    this.sampleCount += added;
  }

  /**
   * Series matching every matcher with at least one sample in [startMs, endMs], with those
   * samples: what SeriesQuerier.selectColumns returns (unordered, as storage's is).
   */
  selectColumns(tenant: string, matchers: readonly LabelMatcher[], startMs: number, endMs: number): StoredSeriesColumns[] {
    const index = this.tenants.get(tenant);
    if (index === undefined) return [];
    const out: StoredSeriesColumns[] = [];
    for (const series of index.match(matchers)) {
      const columns = series.samples.range(startMs, endMs);
      if (columns !== undefined) out.push({ labels: series.labels, ...columns });
    }
    return out;
  }

  /** Label sets (empty values dropped) of series matching any matcher set with a sample in range, sorted. */
  series(tenant: string, matcherSets: readonly (readonly LabelMatcher[])[], startMs: number, endMs: number): Labels[] {
    const index = this.tenants.get(tenant);
    if (index === undefined) return [];
    const found = new Set<HeadSeries>();
    for (const set of matcherSets.length === 0 ? [[]] : matcherSets) for (const s of index.match(set)) found.add(s);
    const out: Labels[] = [];
    for (const s of found) {
      if (!s.samples.hasSampleIn(startMs, endMs)) continue;
      const labels: Labels = {};
      for (const [k, v] of Object.entries(s.labels)) if (v !== '') labels[k] = v;
      out.push(labels);
    }
    return sortLabelSets(out);
  }

  /** Forgets a tenant (its load failed part-way). */
  dropTenant(tenant: string): void {
    const index = this.tenants.get(tenant);
    if (index === undefined) return;
    for (const s of index.byKey.values()) this.sampleCount -= s.samples.length;
    this.tenants.delete(tenant);
  }

  /** Drops samples older than now − window and keeps the sample count within its bound. */
  maintain(): void {
    const floor = this.now() - this.options.windowMs;
    // Trimming walks every series: do it once the floor has moved on by a slack, not per append.
    if (floor - this.minTimeMs >= Math.min(TRIM_SLACK_MS, this.options.windowMs / 10)) this.trimBefore(floor);
    if (this.sampleCount > this.options.maxSamples) this.shrink();
  }

  /** Advances minTimeMs to `minTimeMs` (never backwards) and drops what lies before it. */
  trimBefore(minTimeMs: number): void {
    if (!(minTimeMs > this.minTimeMs)) return;
    this.minTimeMs = minTimeMs;
    for (const index of this.tenants.values()) {
      for (const series of index.byKey.values()) {
        this.sampleCount -= series.samples.trimBefore(minTimeMs);
        if (series.samples.length === 0) index.remove(series);
      }
      // Removed series may still be cached; fresh caches let them go.
      index.byObject = new WeakMap();
      index.byText = new Map();
    }
  }

  /** Over the sample bound: drop the oldest data in steps until 90 % of the bound remains. */
  private shrink(): void {
    const target = this.options.maxSamples * 0.9;
    let newest = this.minTimeMs;
    for (const index of this.tenants.values()) for (const s of index.byKey.values()) newest = Math.max(newest, s.samples.maxTimeMs ?? newest);
    const step = Math.max(1000, (newest - this.minTimeMs) / 20);
    while (this.sampleCount > target) this.trimBefore(this.minTimeMs + step);
  }
}

/** Prometheus's label-set order (labels.Compare): pairwise by sorted name, then value, then length. */
export function sortLabelSets(sets: Labels[]): Labels[] {
  const decorated = sets.map((labels) => ({ labels, entries: sortedLabelEntries(labels) }));
  decorated.sort((a, b) => {
    const n = Math.min(a.entries.length, b.entries.length);
    for (let i = 0; i < n; i++) {
      const [an, av] = a.entries[i]!;
      const [bn, bv] = b.entries[i]!;
      if (an !== bn) return an < bn ? -1 : 1;
      if (av !== bv) return av < bv ? -1 : 1;
    }
    return a.entries.length - b.entries.length;
  });
  return decorated.map((d) => d.labels);
}
