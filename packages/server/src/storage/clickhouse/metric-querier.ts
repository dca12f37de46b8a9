/** Metric reads: the SeriesQuerier over metric_series / metric_samples / metric_metadata. */
import type { Labels, MetricMetadata } from '../../model/index.js';
import type { LabelMatcher, SeriesQuerier, SeriesQuery, SeriesSelect, StoredSeries } from '../types.js';
import type { Pool } from './pool.js';

export function createSeriesQuerier(pool: Pool): SeriesQuerier {
  return {
    async select(query: SeriesSelect): Promise<StoredSeries[]> {
      const params: Record<string, unknown> = {};
      const conditions = query.matchers.map((m, i) => matcherCondition(m, i, params));
      return selectWhere(pool, query.tenant, conditions, params, query.startMs, query.endMs);
    },
    async selectSeries(query: SeriesQuery): Promise<StoredSeries[]> {
      const params: Record<string, unknown> = {
        tenant: query.tenant,
        startDay: Math.floor(query.startMs / 86_400_000),
        endDay: Math.floor(query.endMs / 86_400_000),
        startMs: Math.trunc(query.startMs),
        endMs: Math.trunc(query.endMs),
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
    async metricMetadata(tenant: string) {
      return pool.select<MetricMetadata>(
        `SELECT MetricFamilyName AS metricFamilyName, argMax(Type, Updated) AS type, argMax(Help, Updated) AS help,
           argMax(Unit, Updated) AS unit
         FROM metric_metadata WHERE TenantId = {tenant:String} GROUP BY MetricFamilyName ORDER BY MetricFamilyName`,
        { tenant },
      );
    },
  };
}

const MATCH_OPS: Record<LabelMatcher['type'], (column: string, param: string) => string> = {
  '=': (c, p) => `${c} = {${p}:String}`,
  '!=': (c, p) => `${c} != {${p}:String}`,
  // Prometheus anchors regular expressions; ClickHouse's match() is RE2 like Go's regexp.
  '=~': (c, p) => `match(${c}, concat('^(?:', {${p}:String}, ')$'))`,
  '!~': (c, p) => `NOT match(${c}, concat('^(?:', {${p}:String}, ')$'))`,
};

/** A missing label reads as '' from the Map, which is exactly Prometheus's semantics for matchers. */
function matcherCondition(m: LabelMatcher, i: number, params: Record<string, unknown>): string {
  params[`mv${i}`] = m.value;
  if (m.name === '__name__') return MATCH_OPS[m.type]('MetricName', `mv${i}`);
  params[`mn${i}`] = m.name;
  return MATCH_OPS[m.type](`Labels[{mn${i}:String}]`, `mv${i}`);
}

async function selectWhere(
  pool: Pool,
  tenant: string,
  conditions: string[],
  extraParams: Record<string, unknown>,
  startMs: number,
  endMs: number,
): Promise<StoredSeries[]> {
  const params: Record<string, unknown> = {
    ...extraParams,
    tenant,
    startDay: Math.floor(startMs / 86_400_000),
    endDay: Math.floor(endMs / 86_400_000),
    startMs: Math.trunc(startMs),
    endMs: Math.trunc(endMs),
  };
  const series = await pool.select<{ fp: string; labels: Labels }>(
    `SELECT toString(Fingerprint) AS fp, any(Labels) AS labels FROM metric_series
     WHERE TenantId = {tenant:String} AND Date >= toDate({startDay:Int32}) AND Date <= toDate({endDay:Int32})
     ${conditions.map((c) => `AND ${c}`).join(' ')}
     GROUP BY Fingerprint`,
    params,
  );
  if (series.length === 0) return [];
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
  return [...byFp.values()].filter((s) => s.samples.length > 0);
}

/** ClickHouse JSON output writes non-finite floats as "nan", "inf", "-inf" (quote_denormals). */
function parseFloatText(value: number | string): number {
  if (typeof value === 'number') return value;
  if (value === 'inf' || value === '+inf') return Infinity;
  if (value === '-inf') return -Infinity;
  return Number(value);
}
