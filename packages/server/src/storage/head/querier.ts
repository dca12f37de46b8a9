/**
 * The head as decorators of a Storage: reads of recent samples are answered from memory, every
 * write goes to the inner storage first and then to the head.
 *
 * Correctness rests on the head holding every stored sample with timestamp ≥ minTimeMs of a
 * tenant it has loaded. A tenant is loaded once (from the inner storage, before any append of
 * it passes); its appends wait for that load, so none can land in storage between the load's
 * read and the head: each sample reaches the head exactly once, after storage acknowledged it.
 * That holds only while this process is the only writer, i.e. on the embedded engine.
 */
import { DEFAULT_TENANT, Re2Error, type Sample } from '../../model/index.js';
import type { Appender, SeriesMatch, SeriesQuerier, SeriesSelect, Storage, StoredSeries, StoredSeriesColumns } from '../types.js';
import { MetricHead, type MetricHeadOptions } from './metric-head.js';

/** Prometheus's open range ends clamp to the safe integers, as the ClickHouse querier does. */
const MIN_MS = Number.MIN_SAFE_INTEGER;
const MAX_MS = Number.MAX_SAFE_INTEGER;
/** The initial load reads the window in at most this many time slices (bounded reads). */
const LOAD_SLICES = 8;
const MAINTAIN_INTERVAL_MS = 60_000;

export interface HeadedStorage {
  storage: Storage;
  head: MetricHead;
  /** Loads a tenant's window from the inner storage (once; later calls share it). */
  load(tenant: string): Promise<void>;
}

/** Wraps `inner` with a head; nothing is loaded yet (see withMetricHead). */
export function attachMetricHead(inner: Storage, options: MetricHeadOptions): HeadedStorage {
  const head = new MetricHead(options);
  const ready = new Set<string>();
  const loading = new Map<string, Promise<void>>();
  const innerSeries = inner.series;
  const innerSelectColumns = async (query: SeriesSelect): Promise<StoredSeriesColumns[]> =>
    innerSeries.selectColumns ? innerSeries.selectColumns(query) : (await innerSeries.select(query)).map(toColumns);

  const loadTenant = async (tenant: string): Promise<void> => {
    const now = options.now?.() ?? Date.now();
    const from = head.minTimeMs;
    // One cheap probe first: most tenants seen for the first time have nothing stored.
    const any = await innerSeries.series({ tenant, matcherSets: [], startMs: from, endMs: MAX_MS, limit: 1 });
    if (any.length === 0) return;
    const slice = Math.max(600_000, Math.ceil((now - from) / LOAD_SLICES));
    const bounds: [number, number][] = [];
    for (let start = from; start < now; start += slice) bounds.push([start, Math.min(start + slice, now) - 1]);
    bounds.push([Math.max(from, now), MAX_MS]);
    for (const [startMs, endMs] of bounds) {
      for (const series of await innerSelectColumns({ tenant, matchers: [], startMs, endMs })) head.appendColumns(tenant, series);
      head.maintain();
    }
  };

  const load = (tenant: string): Promise<void> => {
    if (ready.has(tenant)) return Promise.resolve();
    let pending = loading.get(tenant);
    if (pending === undefined) {
      pending = loadTenant(tenant).then(
        () => {
          ready.add(tenant);
          loading.delete(tenant);
        },
        (error: unknown) => {
          // Nothing of the tenant is trusted until a load completes; the next use retries.
          head.dropTenant(tenant);
          loading.delete(tenant);
          throw error;
        },
      );
      loading.set(tenant, pending);
    }
    return pending;
  };

  /** Whether the head answers a read of [startMs, endMs] for the tenant (bounds as storage takes them). */
  const answers = (tenant: string, startMs: number, endMs: number): boolean => {
    if (!ready.has(tenant)) {
      load(tenant).catch(() => undefined);
      return false;
    }
    head.maintain();
    return !Number.isNaN(startMs) && !Number.isNaN(endMs) && head.covers(clampMs(startMs));
  };

  const selectColumns = async (query: SeriesSelect): Promise<StoredSeriesColumns[]> => {
    if (answers(query.tenant, query.startMs, query.endMs)) {
      try {
        return head.selectColumns(query.tenant, query.matchers, clampMs(query.startMs), clampMs(query.endMs));
      } catch (error) {
        // A pattern JavaScript cannot express: storage's RE2 decides.
        if (!(error instanceof Re2Error)) throw error;
      }
    }
    return innerSelectColumns(query);
  };

  const series: SeriesQuerier = {
    ...innerSeries,
    selectColumns,
    async select(query: SeriesSelect): Promise<StoredSeries[]> {
      return (await selectColumns(query)).map(toRows);
    },
    async series(query: SeriesMatch) {
      // Without a start the range reaches before the head; label names and values are per
      // day in storage (metric_series rows), which the head cannot reproduce: both delegate.
      if (query.startMs !== undefined && answers(query.tenant, query.startMs, query.endMs ?? MAX_MS)) {
        try {
          const found = head.series(query.tenant, query.matcherSets, clampMs(query.startMs), clampMs(query.endMs ?? MAX_MS));
          return query.limit ? found.slice(0, query.limit) : found;
        } catch (error) {
          if (!(error instanceof Re2Error)) throw error;
        }
      }
      return innerSeries.series(query);
    },
  };

  // Samples storage acknowledged and later lost (a write-ahead log segment it refused) must
  // leave the head too: forget every tenant; each reloads from storage on its next use.
  let generation = 0;
  inner.onDataLost?.((table) => {
    if (table !== 'metric_samples') return;
    generation++;
    for (const tenant of ready) head.dropTenant(tenant);
    ready.clear();
  });

  const appender: Appender = {
    ...inner.appender,
    async appendSamples(tenant: string, samples: readonly Sample[]) {
      await load(tenant);
      const before = generation;
      await inner.appender.appendSamples(tenant, samples);
      // After a reset the tenant's reload reads these from storage instead.
      if (generation === before && ready.has(tenant)) head.append(tenant, samples);
    },
  };

  const timer = setInterval(() => head.maintain(), MAINTAIN_INTERVAL_MS);
  timer.unref();
  const storage: Storage = {
    ...inner,
    appender,
    series,
    async close() {
      clearInterval(timer);
      await inner.close();
    },
  };
  return { storage, head, load };
}

/**
 * `inner` with a head of `windowMs` (none when 0), the default tenant loaded before it is
 * returned. A failed load is retried on the tenant's next use (reads delegate meanwhile).
 */
export async function withMetricHead(inner: Storage, options: MetricHeadOptions): Promise<Storage> {
  if (!(options.windowMs > 0)) return inner;
  const headed = attachMetricHead(inner, options);
  await headed.load(DEFAULT_TENANT).catch(() => undefined);
  return headed.storage;
}

function clampMs(ms: number): number {
  return Math.max(MIN_MS, Math.min(MAX_MS, Math.trunc(ms)));
}

function toRows(c: StoredSeriesColumns): StoredSeries {
  const samples: StoredSeries['samples'] = new Array(c.timestampsMs.length);
  for (let i = 0; i < samples.length; i++) samples[i] = { timestampMs: c.timestampsMs[i]!, value: c.values[i]!, stale: c.stale?.[i] === 1 };
  return { labels: c.labels, samples };
}

function toColumns(s: StoredSeries): StoredSeriesColumns {
  const out: StoredSeriesColumns = {
    labels: s.labels,
    timestampsMs: Float64Array.from(s.samples, (x) => x.timestampMs),
    values: Float64Array.from(s.samples, (x) => x.value),
  };
  if (s.samples.some((x) => x.stale)) out.stale = Uint8Array.from(s.samples, (x) => (x.stale ? 1 : 0));
  return out;
}
