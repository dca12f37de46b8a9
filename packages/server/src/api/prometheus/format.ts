/**
 * Prometheus API JSON, written as text the way Prometheus's codec writes it
 * (util/jsonutil, web/api/v1/json_codec.go): sample values as strings in Go's shortest float
 * format ('f' for 1e-6 <= |v| < 1e21, else 'e' with a two-digit exponent; +Inf, -Inf, NaN),
 * timestamps as seconds with the millisecond fraction written out (1700000000.5 → 1700000000.500),
 * label sets with names sorted.
 */
import type { Labels } from '../../model/index.js';

/** Go's strconv.FormatFloat(v, 'f' or 'e', -1, 64) as Prometheus chooses between them. */
export function formatGoFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  // JavaScript switches to exponent notation at the same bounds (1e-6, 1e21); only the
  // exponent's digits differ: Go writes at least two (1e-07, 1e+21).
  const text = String(value);
  const e = text.indexOf('e');
  if (e < 0) return text;
  const mantissa = text.slice(0, e);
  const sign = text[e + 1] === '-' ? '-' : '+';
  const digits = text.slice(e + 2);
  return `${mantissa}e${sign}${digits.length < 2 ? `0${digits}` : digits}`;
}

/** jsonutil.MarshalTimestamp: milliseconds → seconds with a 3-digit fraction when non-zero. */
export function formatTimestamp(ms: number): string {
  let t = Math.trunc(ms);
  let out = '';
  if (t < 0) {
    out = '-';
    t = -t;
  }
  const seconds = Math.trunc(t / 1000);
  const fraction = t % 1000;
  out += String(seconds);
  if (fraction !== 0) out += `.${String(fraction).padStart(3, '0')}`;
  return out;
}

/** A label set as a JSON object with names sorted (encoding/json sorts map keys). */
export function labelsJson(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let out = '{';
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (i > 0) out += ',';
    out += `${JSON.stringify(name)}:${JSON.stringify(labels[name])}`;
  }
  return `${out}}`;
}

function pointJson(timestampMs: number, value: number): string {
  return `[${formatTimestamp(timestampMs)},"${formatGoFloat(value)}"]`;
}

export type QueryValue =
  | { type: 'vector'; samples: { labels: Labels; timestampMs: number; value: number }[] }
  | { type: 'matrix'; series: { labels: Labels; points: { timestampMs: number; value: number }[] }[] }
  | { type: 'scalar'; timestampMs: number; value: number }
  | { type: 'string'; timestampMs: number; value: string };

/** The `data` of a query response: {"resultType": ..., "result": ...}. */
export function queryDataJson(value: QueryValue): string {
  let result: string;
  switch (value.type) {
    case 'vector':
      result = `[${value.samples.map((s) => `{"metric":${labelsJson(s.labels)},"value":${pointJson(s.timestampMs, s.value)}}`).join(',')}]`;
      break;
    case 'matrix':
      result = `[${value.series
        .map((s) => `{"metric":${labelsJson(s.labels)},"values":[${s.points.map((p) => pointJson(p.timestampMs, p.value)).join(',')}]}`)
        .join(',')}]`;
      break;
    case 'scalar':
      result = pointJson(value.timestampMs, value.value);
      break;
    case 'string':
      result = `[${formatTimestamp(value.timestampMs)},${JSON.stringify(value.value)}]`;
      break;
  }
  return `{"resultType":"${value.type}","result":${result}}`;
}

/** The success envelope; warnings and infos appear only when there are some. */
export function successJson(dataJson: string, warnings: readonly string[] = [], infos: readonly string[] = []): string {
  let out = `{"status":"success","data":${dataJson}`;
  if (warnings.length > 0) out += `,"warnings":${JSON.stringify(warnings)}`;
  if (infos.length > 0) out += `,"infos":${JSON.stringify(infos)}`;
  return `${out}}`;
}

export type ApiErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal' | 'not_found' | 'unavailable';

export const ERROR_STATUS: Record<ApiErrorType, number> = {
  bad_data: 400,
  execution: 422,
  timeout: 503,
  canceled: 503,
  internal: 500,
  not_found: 404,
  unavailable: 503,
};

export function errorJson(type: ApiErrorType, message: string): string {
  return JSON.stringify({ status: 'error', errorType: type, error: message });
}

export interface ExemplarSeries {
  seriesLabels: Labels;
  exemplars: { labels: Labels; value: number; timestampMs: number }[];
}

/** /api/v1/query_exemplars data: values as strings, timestamps as seconds. */
export function exemplarsJson(series: readonly ExemplarSeries[]): string {
  return `[${series
    .map(
      (s) =>
        `{"seriesLabels":${labelsJson(s.seriesLabels)},"exemplars":[${s.exemplars
          .map((e) => `{"labels":${labelsJson(e.labels)},"value":"${formatGoFloat(e.value)}","timestamp":${formatTimestamp(e.timestampMs)}}`)
          .join(',')}]}`,
    )
    .join(',')}]`;
}
