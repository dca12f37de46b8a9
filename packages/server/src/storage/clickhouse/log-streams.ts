/**
 * Loki's index reads over the StreamLabels of otel_logs: label names and values, series, index
 * stats and volumes. Every value from a request is a bound parameter.
 *
 * There is no separate stream index: these read the StreamLabels column of the rows in the
 * range (ZSTD-compressed, highly repetitive), grouped in ClickHouse. An equality on
 * service_name narrows the scan through the primary key.
 */
import type { Labels } from '../../model/index.js';
import type { LabelMatcher, LogStreamQuerier, LogStreamQuery, LogVolumeQuery, LogVolumeSeries } from '../types.js';
import type { Pool } from './pool.js';

interface Where {
  sql: string;
  params: Record<string, unknown>;
}

function matcherSql(m: LabelMatcher, key: string, params: Record<string, unknown>): string {
  params[`${key}n`] = m.name;
  params[`${key}v`] = m.type === '=~' || m.type === '!~' ? `^(?:${m.value})$` : m.value;
  const label = `StreamLabels[{${key}n:String}]`;
  switch (m.type) {
    case '=':
      return `${label} = {${key}v:String}`;
    case '!=':
      return `${label} != {${key}v:String}`;
    case '=~':
      return `match(${label}, {${key}v:String})`;
    case '!~':
      return `NOT match(${label}, {${key}v:String})`;
  }
}

function streamsWhere(q: LogStreamQuery): Where {
  const params: Record<string, unknown> = { tenant: q.tenant, start: q.startNs.toString(), end: q.endNs.toString() };
  const parts = [
    'TenantId = {tenant:String}',
    'Timestamp >= fromUnixTimestamp64Nano({start:Int64})',
    'Timestamp <= fromUnixTimestamp64Nano({end:Int64})',
    'TimestampTime >= toDateTime(intDiv({start:Int64}, 1000000000))',
    'TimestampTime <= toDateTime(intDiv({end:Int64}, 1000000000))',
  ];
  const groups = (q.selectors ?? []).filter((g) => g.length > 0);
  if (groups.length > 0) {
    const alternatives = groups.map((group, g) => {
      const conditions = group.map((m, i) => matcherSql(m, `m${g}_${i}`, params));
      // With one selector, an equality on service_name becomes a primary-key range (OTLP rows
      // without a service carry '' in ServiceName).
      const service = group.find((m) => m.type === '=' && m.name === 'service_name');
      if (groups.length === 1 && service !== undefined) {
        params.svc = service.value;
        conditions.push(`ServiceName IN ({svc:String}, '')`);
      }
      return `(${conditions.join(' AND ')})`;
    });
    parts.push(alternatives.length === 1 ? alternatives[0]! : `(${alternatives.join(' OR ')})`);
  }
  return { sql: parts.join(' AND '), params };
}

function sortLabels(labels: Labels): Labels {
  const sorted: Labels = {};
  for (const name of Object.keys(labels).sort()) sorted[name] = labels[name]!;
  return sorted;
}

function labelsKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function createLogStreamQuerier(pool: Pool): LogStreamQuerier {
  return {
    async labelNames(q) {
      const where = streamsWhere(q);
      const rows = await pool.select<{ name: string }>(
        `SELECT DISTINCT arrayJoin(mapKeys(StreamLabels)) AS name FROM otel_logs WHERE ${where.sql} ORDER BY name`,
        where.params,
      );
      return rows.map((r) => r.name);
    },

    async labelValues(q) {
      const where = streamsWhere(q);
      where.params.label = q.name;
      const rows = await pool.select<{ value: string }>(
        `SELECT DISTINCT StreamLabels[{label:String}] AS value FROM otel_logs
         WHERE ${where.sql} AND mapContains(StreamLabels, {label:String}) ORDER BY value`,
        where.params,
      );
      return rows.map((r) => r.value).filter((v) => v !== '');
    },

    async series(q) {
      const where = streamsWhere(q);
      const rows = await pool.select<{ labels: Labels }>(`SELECT DISTINCT StreamLabels AS labels FROM otel_logs WHERE ${where.sql}`, where.params);
      return rows
        .map((r) => sortLabels(r.labels))
        .sort((a, b) => {
          const ka = labelsKey(a);
          const kb = labelsKey(b);
          return ka < kb ? -1 : ka > kb ? 1 : 0;
        });
    },

    async indexStats(q) {
      const where = streamsWhere(q);
      const rows = await pool.select<{ streams: string; entries: string; bytes: string }>(
        `SELECT toString(uniqExact(StreamLabels)) AS streams, toString(count()) AS entries, toString(sum(length(Body))) AS bytes
         FROM otel_logs WHERE ${where.sql}`,
        where.params,
      );
      const r = rows[0];
      const streams = Number(r?.streams ?? 0);
      return { streams, chunks: streams, entries: Number(r?.entries ?? 0), bytes: Number(r?.bytes ?? 0) };
    },

    async volume(q: LogVolumeQuery): Promise<LogVolumeSeries[]> {
      const where = streamsWhere(q);
      const stepNs = q.stepMs !== undefined && q.stepMs > 0 ? BigInt(q.stepMs) * 1_000_000n : undefined;
      where.params.step = (stepNs ?? 1n).toString();
      // Bucket i covers (start + (i-1)·step, start + i·step]; an instant volume is one bucket.
      const bucket = stepNs === undefined ? '0' : `toInt64(ceil((toUnixTimestamp64Nano(Timestamp) - {start:Int64}) / {step:Int64}))`;
      const rows = await pool.select<{ labels: Labels; bucket: string; bytes: string }>(
        `SELECT StreamLabels AS labels, toString(${bucket}) AS bucket, toString(sum(length(Body))) AS bytes
         FROM otel_logs WHERE ${where.sql} GROUP BY labels, bucket`,
        where.params,
      );
      const selectorNames = new Set((q.selectors ?? []).flat().map((m) => m.name));
      const targets = q.targetLabels.length > 0 ? new Set(q.targetLabels) : undefined;
      const includeAll = targets === undefined && selectorNames.size === 0;
      const groups = new Map<string, { labels: Labels; buckets: Map<number, number> }>();
      const add = (labels: Labels, index: number, bytes: number) => {
        const key = labelsKey(labels);
        let group = groups.get(key);
        if (!group) groups.set(key, (group = { labels: sortLabels(labels), buckets: new Map() }));
        group.buckets.set(index, (group.buckets.get(index) ?? 0) + bytes);
      };
      for (const row of rows) {
        const bytes = Number(row.bytes);
        const index = Number(row.bucket);
        if (q.aggregateBy === 'labels') {
          // One series per label name, named by it with an empty value (Loki's aggregateBy=labels).
          for (const name of Object.keys(row.labels)) if (targets === undefined || targets.has(name)) add({ [name]: '' }, index, bytes);
        } else {
          const kept: Labels = {};
          for (const [name, value] of Object.entries(row.labels)) {
            if (includeAll || (targets ?? selectorNames).has(name)) kept[name] = value;
          }
          add(kept, index, bytes);
        }
      }
      const start = q.startNs;
      const series: LogVolumeSeries[] = [...groups.values()].map((g) => ({
        labels: g.labels,
        points: [...g.buckets]
          .sort(([a], [b]) => a - b)
          .map(([index, bytes]) => ({
            timestampMs: stepNs === undefined ? Number(q.endNs / 1_000_000n) : Number((start + BigInt(index) * stepNs) / 1_000_000n),
            bytes,
          })),
      }));
      // Largest first, then by labels; at most `limit` (Loki ranks by volume too).
      const total = (s: LogVolumeSeries) => s.points.reduce((sum, p) => sum + p.bytes, 0);
      series.sort((a, b) => total(b) - total(a) || (labelsKey(a.labels) < labelsKey(b.labels) ? -1 : 1));
      return q.limit > 0 ? series.slice(0, q.limit) : series;
    },
  };
}
