/** metric_exemplars rows as JSONEachRow text. */
import type { MetricExemplar } from '../types.js';
import type { SeriesCache } from './rows.js';

function floatJson(value: number): string {
  if (Number.isNaN(value)) return '"nan"';
  if (value === Infinity) return '"inf"';
  if (value === -Infinity) return '"-inf"';
  return String(value);
}

export function exemplarRowsText(tenant: string, exemplars: readonly MetricExemplar[], cache: SeriesCache): string {
  const tenantJson = JSON.stringify(tenant);
  let out = '';
  for (const e of exemplars) {
    out +=
      `{"TenantId":${tenantJson},"Fingerprint":"${cache.fingerprint(e.seriesLabels)}","TimestampMs":${Math.trunc(e.timestampMs)},` +
      `"Value":${floatJson(e.value)},"Labels":${JSON.stringify(e.labels)}}\n`;
  }
  return out;
}
