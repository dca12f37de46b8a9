/** Metric reads: the SeriesQuerier over metric_series / metric_samples / metric_metadata_entries. */
import { sortedLabelEntries, type Labels, type MetricMetadata } from '../../model/index.js';
import type { LabelMatcher, SeriesMatch, SeriesQuerier, SeriesQuery, SeriesSelect, StoredSeries, StoredSeriesColumns } from '../types.js';
import type { Pool } from './pool.js';

export function createSeriesQuerier(pool: Pool): SeriesQuerier {
  const labelCache = new LabelCache(LABEL_CACHE_SIZE);
  const selectColumns = async (query: SeriesSelect): Promise<StoredSeriesColumns[]> => {
    const params: Record<string, unknown> = {};
    const conditions = query.matchers.map((m, i) => matcherCondition(m, i, params));
    return selectWhere(pool, labelCache, query.tenant, conditions, params, query.startMs, query.endMs);
  };
  return {
    async select(query: SeriesSelect): Promise<StoredSeries[]> {
      return toStoredSeries(await selectColumns(query));
    },
    selectColumns,
    async selectSeries(query: SeriesQuery): Promise<StoredSeries[]> {
      const params: Record<string, unknown> = {
        tenant: query.tenant,
        startDay: dayNumber(query.startMs),
        endDay: dayNumber(query.endMs),
        startMs: msParam(query.startMs),
        endMs: msParam(query.endMs),
      };
      const conditions: string[] = [];
      Object.entries(query.equals).forEach(([name, value], i) => {
        params[`ln${i}`] = name;
        params[`lv${i}`] = value;
        conditions.push(name === '__name__' ? `MetricName = {lv${i}:String}` : `Labels[{ln${i}:String}] = {lv${i}:String}`);
      });
      const series = await pool.select<{ fp: string; labels: Labels }>(
        `SELECT toString(Fingerprint) AS fp, any(Labels) AS labels FROM metric_series
         WHERE TenantId = {tenant:String} AND Date >= toDate({startDay:Int32}) AND Date <= toDate({endDay:Int32})
         ${conditions.map((c) => `AND ${c}`).join(' ')}
         GROUP BY Fingerprint`,
        params,
      );
      if (series.length === 0) return [];
      // bigints are sent unquoted; quoted strings do not parse as Array(UInt64).
      params.fps = series.map((s) => BigInt(s.fp));
      const samples = await pool.select<{ fp: string; t: string; v: number | string; f: number }>(
        `SELECT toString(Fingerprint) AS fp, TimestampMs AS t, Value AS v, Flags AS f FROM metric_samples
         WHERE TenantId = {tenant:String} AND Fingerprint IN {fps:Array(UInt64)}
           AND TimestampMs >= {startMs:Int64} AND TimestampMs <= {endMs:Int64}
         ORDER BY Fingerprint, TimestampMs
         SETTINGS output_format_json_quote_denormals = 1`,
        params,
      );
      const byFp = new Map<string, StoredSeries>();
      for (const s of series) byFp.set(s.fp, { labels: s.labels, samples: [] });
      for (const row of samples) {
        byFp.get(row.fp)?.samples.push({ timestampMs: Number(row.t), value: parseFloatText(row.v), stale: (row.f & 1) === 1 });
      }
      return [...byFp.values()];
    },
    async series(query: SeriesMatch): Promise<Labels[]> {
      const params: Record<string, unknown> = {};
      const where = seriesWhere(query, params);
      // Day rows over-approximate the range; when a range is given, keep only series with a
      // sample in it (the candidates' fingerprints let the samples' primary key prune).
      let inRange = '';
      if (query.startMs !== undefined || query.endMs !== undefined) {
        params.startMs = msParam(query.startMs ?? MIN_MS);
        params.endMs = msParam(query.endMs ?? MAX_MS);
        inRange = ` AND Fingerprint IN (SELECT Fingerprint FROM metric_samples
           WHERE TenantId = {tenant:String} AND Fingerprint IN (SELECT Fingerprint FROM metric_series WHERE ${where})
             AND TimestampMs >= {startMs:Int64} AND TimestampMs <= {endMs:Int64})`;
      }
      const rows = await pool.select<{ labels: Labels }>(
        `SELECT any(Labels) AS labels FROM metric_series WHERE ${where}${inRange} GROUP BY Fingerprint`,
        params,
      );
      const labels = rows.map((r) => withoutEmpty(r.labels));
      labels.sort(compareLabels);
      return query.limit ? labels.slice(0, query.limit) : labels;
    },
    async labelNames(query: SeriesMatch): Promise<string[]> {
      const params: Record<string, unknown> = {};
      const where = seriesWhere(query, params);
      const rows = await pool.select<{ name: string }>(
        `SELECT DISTINCT arrayJoin(mapKeys(mapFilter((k, v) -> v != '', Labels))) AS name FROM metric_series
         WHERE ${where} ORDER BY name${limitClause(query.limit, params)}`,
        params,
      );
      return rows.map((r) => r.name);
    },
    async labelValues(query: SeriesMatch & { name: string }): Promise<string[]> {
      const params: Record<string, unknown> = { labelName: query.name };
      const where = seriesWhere(query, params);
      const column = query.name === '__name__' ? 'MetricName' : 'Labels[{labelName:String}]';
      const rows = await pool.select<{ value: string }>(
        `SELECT DISTINCT ${column} AS value FROM metric_series WHERE ${where} AND value != ''
         ORDER BY value${limitClause(query.limit, params)}`,
        params,
      );
      return rows.map((r) => r.value);
    },
    async metadata(query: { tenant: string; metric?: string; limit?: number; limitPerMetric?: number }): Promise<MetricMetadata[]> {
      const params: Record<string, unknown> = { tenant: query.tenant, window: METADATA_WINDOW_SECONDS };
      let filter = '';
      if (query.metric !== undefined) {
        params.metric = query.metric;
        filter = ' AND MetricFamilyName = {metric:String}';
      }
      // Every distinct description still current: given within the window before the family's
      // latest (Prometheus lists those of its active targets; senders repeat them each scrape,
      // or each minute over remote_write), so a replaced help text drops out.
      const rows = await pool.select<MetricMetadata>(
        `SELECT MetricFamilyName AS metricFamilyName, Type AS type, Help AS help, Unit AS unit
         FROM (
           SELECT MetricFamilyName, Type, Help, Unit, max(Updated) AS updated,
             max(max(Updated)) OVER (PARTITION BY MetricFamilyName) AS latest
           FROM metric_metadata_entries WHERE TenantId = {tenant:String}${filter}
           GROUP BY MetricFamilyName, Type, Help, Unit
         )
         WHERE updated >= latest - toIntervalSecond({window:UInt32})
         ORDER BY metricFamilyName, updated DESC, type, help, unit`,
        params,
      );
      const out: MetricMetadata[] = [];
      let families = 0;
      let inFamily = 0;
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        if (i === 0 || rows[i - 1]!.metricFamilyName !== row.metricFamilyName) {
          if (query.limit !== undefined && families >= query.limit) break;
          families++;
          inFamily = 0;
        }
        if (query.limitPerMetric !== undefined && inFamily >= query.limitPerMetric) continue;
        inFamily++;
        out.push(row);
      }
      return out;
    },
    async exemplars(query: SeriesMatch) {
      const params: Record<string, unknown> = {};
      const where = seriesWhere(query, params);
      params.startMs = msParam(query.startMs ?? MIN_MS);
      params.endMs = msParam(query.endMs ?? MAX_MS);
      const rows = await pool.select<{ fp: string; t: string; v: number | string; l: Labels }>(
        `SELECT DISTINCT toString(Fingerprint) AS fp, TimestampMs AS t, Value AS v, Labels AS l FROM metric_exemplars
         WHERE TenantId = {tenant:String} AND Fingerprint IN (SELECT Fingerprint FROM metric_series WHERE ${where})
           AND TimestampMs >= {startMs:Int64} AND TimestampMs <= {endMs:Int64}
         ORDER BY fp, t
         SETTINGS output_format_json_quote_denormals = 1`,
        params,
      );
      if (rows.length === 0) return [];
      params.fps = [...new Set(rows.map((r) => BigInt(r.fp)))];
      const series = await pool.select<{ fp: string; labels: Labels }>(
        `SELECT toString(Fingerprint) AS fp, any(Labels) AS labels FROM metric_series
         WHERE TenantId = {tenant:String} AND Fingerprint IN {fps:Array(UInt64)} GROUP BY Fingerprint`,
        params,
      );
      const labelsOf = new Map(series.map((s) => [s.fp, withoutEmpty(s.labels)]));
      const out = new Map<string, { seriesLabels: Labels; exemplars: { labels: Labels; value: number; timestampMs: number }[] }>();
      for (const row of rows) {
        const seriesLabels = labelsOf.get(row.fp);
        if (seriesLabels === undefined) continue;
        let entry = out.get(row.fp);
        if (!entry) out.set(row.fp, (entry = { seriesLabels, exemplars: [] }));
        entry.exemplars.push({ labels: row.l, value: parseFloatText(row.v), timestampMs: Number(row.t) });
      }
      return [...out.values()].sort((a, b) => compareLabels(a.seriesLabels, b.seriesLabels));
    },
    async metricMetadata(tenant: string) {
      return pool.select<MetricMetadata>(
        `SELECT MetricFamilyName AS metricFamilyName, argMax(Type, Updated) AS type, argMax(Help, Updated) AS help,
           argMax(Unit, Updated) AS unit
         FROM metric_metadata_entries WHERE TenantId = {tenant:String} GROUP BY MetricFamilyName ORDER BY MetricFamilyName`,
        { tenant },
      );
    },
  };
}

/** How long a family's description stays listed after a newer one was given (see metadata). */
const METADATA_WINDOW_SECONDS = 600;

// Prometheus's open range ends (web/api/v1 MinTime/MaxTime) in milliseconds.
// Prometheus's min/max times are beyond 2^53; the client refuses to send unsafe integers, and
// no sample lies beyond the safe range, so bounds are clamped to it.
const MIN_MS = Number.MIN_SAFE_INTEGER;
const MAX_MS = Number.MAX_SAFE_INTEGER;

/** A millisecond bound as a bound Int64 parameter: whole, within the safe integer range. */
function msParam(ms: number): number {
  if (Number.isNaN(ms)) return 0;
  return Math.max(MIN_MS, Math.min(MAX_MS, Math.trunc(ms)));
}
const MS_PER_DAY = 86_400_000;
// The Date type's range: day 0 (1970-01-01) to 65535 (2149-06-06).
const MAX_DAY = 65_535;

/** The day number of a time, clamped to the Date type (toDate(n) reads larger n as seconds). */
function dayNumber(ms: number): number {
  return Math.min(MAX_DAY, Math.max(0, Math.floor(ms / MS_PER_DAY)));
}

/** metric_series conditions of a SeriesMatch: tenant, the days of the range, any matcher set. */
function seriesWhere(query: SeriesMatch, params: Record<string, unknown>): string {
  params.tenant = query.tenant;
  let where = 'TenantId = {tenant:String}';
  if (query.startMs !== undefined) {
    params.startDay = dayNumber(query.startMs);
    where += ' AND Date >= toDate({startDay:Int32})';
  }
  if (query.endMs !== undefined) {
    params.endDay = dayNumber(query.endMs);
    where += ' AND Date <= toDate({endDay:Int32})';
  }
  if (query.matcherSets.length > 0) {
    const sets = query.matcherSets.map((set, si) =>
      set.length === 0 ? '1' : `(${set.map((m, mi) => matcherCondition(m, `s${si}_${mi}`, params)).join(' AND ')})`,
    );
    where += ` AND (${sets.join(' OR ')})`;
  }
  return where;
}

function limitClause(limit: number | undefined, params: Record<string, unknown>): string {
  if (!limit || limit <= 0) return '';
  params.limit = Math.trunc(limit);
  return ' LIMIT {limit:UInt64}';
}

function withoutEmpty(labels: Labels): Labels {
  const out: Labels = {};
  for (const [k, v] of Object.entries(labels)) if (v !== '') out[k] = v;
  return out;
}

/** Prometheus's label-set order (labels.Compare): pairwise by sorted name, then value, then length. */
export function compareLabels(a: Labels, b: Labels): number {
  const ea = sortedLabelEntries(a);
  const eb = sortedLabelEntries(b);
  const n = Math.min(ea.length, eb.length);
  for (let i = 0; i < n; i++) {
    const [an, av] = ea[i]!;
    const [bn, bv] = eb[i]!;
    if (an !== bn) return an < bn ? -1 : 1;
    if (av !== bv) return av < bv ? -1 : 1;
  }
  return ea.length - eb.length;
}

const MATCH_OPS: Record<LabelMatcher['type'], (column: string, param: string) => string> = {
  '=': (c, p) => `${c} = {${p}:String}`,
  '!=': (c, p) => `${c} != {${p}:String}`,
  // Prometheus anchors regular expressions; ClickHouse's match() is RE2 like Go's regexp.
  '=~': (c, p) => `match(${c}, concat('^(?:', {${p}:String}, ')$'))`,
  '!~': (c, p) => `NOT match(${c}, concat('^(?:', {${p}:String}, ')$'))`,
};

/** A missing label reads as '' from the Map, which is exactly Prometheus's semantics for matchers. */
function matcherCondition(m: LabelMatcher, i: number | string, params: Record<string, unknown>): string {
  params[`mv${i}`] = m.value;
  if (m.name === '__name__') return MATCH_OPS[m.type]('MetricName', `mv${i}`);
  params[`mn${i}`] = m.name;
  return MATCH_OPS[m.type](`Labels[{mn${i}:String}]`, `mv${i}`);
}

/** Label sets of series read recently, by tenant and fingerprint (a fingerprint's labels never change). */
class LabelCache {
  private readonly entries = new Map<string, Labels>();
  constructor(private readonly capacity: number) {}

  get(tenant: string, fp: string): Labels | undefined {
    return this.entries.get(`${tenant}\u0000${fp}`);
  }

  set(tenant: string, fp: string, labels: Labels): void {
    // Oldest first out: Map iteration follows insertion order.
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(`${tenant}\u0000${fp}`, labels);
  }
}

/** Series whose label sets stay cached: ~200 bytes each. */
const LABEL_CACHE_SIZE = 200_000;

/**
 * Series and their samples in [startMs, endMs]: the samples grouped into one row per series
 * with parallel arrays (one JSON object per sample costs far more to produce and parse than
 * number arrays), for the series the conditions select from metric_series, so the samples'
 * primary key is pruned by fingerprint. Label sets come from a cache by fingerprint, and only
 * the missing ones from a second query: joining them in the same query looks the series up
 * twice, which for a few series costs more than reading their samples (bench/promql-query.ts).
 * Timestamps travel as differences from the previous sample (5 digits instead of 13) and
 * staleness as the positions of the few markers, which shortens the text to parse by ~40 %;
 * groupArray keeps read order, which is time order only within one part: the arrays are
 * sorted in the query (freshly written data spans many parts, and sorting them here cost more:
 * `count({job="api"})` over HTTP on just-loaded data 255 → 168 ms), and checked here.
 * The columns are aggregated as one tuple: chDB 26.7's groupArray over a filtered column stored
 * sparse (Flags, mostly 0; Value of an idle counter) returns misplaced values, a tuple does not.
 */
async function selectWhere(
  pool: Pool,
  labelCache: LabelCache,
  tenant: string,
  conditions: string[],
  extraParams: Record<string, unknown>,
  startMs: number,
  endMs: number,
): Promise<StoredSeriesColumns[]> {
  const params: Record<string, unknown> = {
    ...extraParams,
    tenant,
    startDay: dayNumber(startMs),
    endDay: dayNumber(endMs),
    startMs: msParam(startMs),
    endMs: msParam(endMs),
  };
  const seriesWhereSql = `TenantId = {tenant:String} AND Date >= toDate({startDay:Int32}) AND Date <= toDate({endDay:Int32})
     ${conditions.map((c) => `AND ${c}`).join(' ')}`;
  const rows = await pool.select<{ fp: string; t0: number | string; dt: (number | string)[]; v: (number | string)[]; st: number[] }>(
    `SELECT toString(Fingerprint) AS fp, t0, dt, v, st FROM (
       SELECT Fingerprint, arraySort(groupArray((TimestampMs, Value, Flags))) AS p, p[1].1 AS t0,
         arrayDifference(arrayMap(x -> x.1, p)) AS dt, arrayMap(x -> x.2, p) AS v,
         arrayFilter((i, x) -> bitAnd(x.3, 1) = 1, arrayEnumerate(p), p) AS st
       FROM metric_samples
       WHERE TenantId = {tenant:String} AND TimestampMs >= {startMs:Int64} AND TimestampMs <= {endMs:Int64}
         AND Fingerprint IN (SELECT Fingerprint FROM metric_series WHERE ${seriesWhereSql})
       GROUP BY Fingerprint
     )
     SETTINGS output_format_json_quote_denormals = 1, output_format_json_quote_64bit_integers = 0`,
    params,
  );
  const labelsOf = new Map<string, Labels>();
  const missing: bigint[] = [];
  for (const row of rows) {
    const cached = labelCache.get(tenant, row.fp);
    if (cached === undefined) missing.push(BigInt(row.fp));
    else labelsOf.set(row.fp, cached);
  }
  if (missing.length > 0) {
    // bigints are sent unquoted; quoted strings do not parse as Array(UInt64).
    params.fps = missing;
    const found = await pool.select<{ fp: string; labels: Labels }>(
      `SELECT toString(Fingerprint) AS fp, any(Labels) AS labels FROM metric_series
       WHERE ${seriesWhereSql} AND Fingerprint IN {fps:Array(UInt64)} GROUP BY Fingerprint`,
      params,
    );
    for (const f of found) {
      labelsOf.set(f.fp, f.labels);
      labelCache.set(tenant, f.fp, f.labels);
    }
  }
  const out: StoredSeriesColumns[] = [];
  for (const row of rows) {
    const n = row.dt.length;
    const labels = labelsOf.get(row.fp);
    if (n === 0 || labels === undefined) continue;
    const timestampsMs = new Float64Array(n);
    const values = new Float64Array(n);
    let t = Number(row.t0);
    let sorted = true;
    for (let i = 0; i < n; i++) {
      if (i > 0) {
        const d = Number(row.dt[i]);
        if (d < 0) sorted = false;
        t += d;
      }
      timestampsMs[i] = t;
      values[i] = parseFloatText(row.v[i]!);
    }
    let stale: Uint8Array | undefined;
    if (row.st.length > 0) {
      stale = new Uint8Array(n);
      for (const position of row.st) stale[position - 1] = 1;
    }
    out.push(sorted ? { labels, timestampsMs, values, stale } : sortColumns(labels, timestampsMs, values, stale));
  }
  return out;
}

/** Sorts one series' columns by time (stable, so equal timestamps keep their read order). */
function sortColumns(labels: Labels, t: Float64Array, f: Float64Array, stale: Uint8Array | undefined): StoredSeriesColumns {
  const order = Array.from(t, (_, i) => i).sort((a, b) => t[a]! - t[b]! || a - b);
  const out: StoredSeriesColumns = {
    labels,
    timestampsMs: Float64Array.from(order, (i) => t[i]!),
    values: Float64Array.from(order, (i) => f[i]!),
  };
  if (stale) out.stale = Uint8Array.from(order, (i) => stale[i]!);
  return out;
}

/** The row form of `selectColumns`. */
function toStoredSeries(columns: StoredSeriesColumns[]): StoredSeries[] {
  return columns.map((c) => {
    const samples: StoredSeries['samples'] = new Array(c.timestampsMs.length);
    for (let i = 0; i < samples.length; i++) {
      samples[i] = { timestampMs: c.timestampsMs[i]!, value: c.values[i]!, stale: c.stale?.[i] === 1 };
    }
    return { labels: c.labels, samples };
  });
}

/** ClickHouse JSON output writes non-finite floats as "nan", "inf", "-inf" (quote_denormals). */
function parseFloatText(value: number | string): number {
  if (typeof value === 'number') return value;
  if (value === 'inf' || value === '+inf') return Infinity;
  if (value === '-inf') return -Infinity;
  return Number(value);
}
