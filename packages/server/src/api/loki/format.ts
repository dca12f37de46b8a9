/**
 * Loki's response JSON (pkg/util/marshal): `status`, then `data` with `resultType`, optional
 * `encodingFlags`, `result`, `stats`; streams as `{"stream":{…},"values":[["<ns>","<line>"]]}`
 * with labels sorted; samples as `[<unix seconds>, "<value>"]`. Lines are written with Go's
 * HTML-safe escaping (<, >, & as \u003c, \u003e, \u0026), as Loki does.
 */
import type { Labels } from '../../model/index.js';
import type { LogEntryResult, LogqlResult, LogqlValue } from '../../logql/index.js';

export const CATEGORIZE_LABELS = 'categorize-labels';

const HTML_UNSAFE = /[<>&\u2028\u2029]/g;
const HTML_ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

export function lineJson(line: string): string {
  return JSON.stringify(line).replace(HTML_UNSAFE, (c) => HTML_ESCAPES[c]!);
}

export function sortedLabels(labels: Labels): Labels {
  const out: Labels = {};
  for (const name of Object.keys(labels).sort()) out[name] = labels[name]!;
  return out;
}

function labelsJson(labels: Labels): string {
  return JSON.stringify(sortedLabels(labels));
}

/** Prometheus's model.Time.String(): seconds with up to millisecond decimals. */
export function secondsJson(timestampMs: number): string {
  const whole = Math.floor(timestampMs / 1000);
  const ms = timestampMs - whole * 1000;
  return ms === 0 ? String(whole) : `${whole}.${String(ms).padStart(3, '0').replace(/0+$/, '')}`;
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64) as Prometheus prints sample values. */
export function sampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  const text = String(value);
  if (!/e/i.test(text)) return text;
  // Expand exponent notation: 'f' format never uses it.
  const [mantissa, exponentText] = text.toLowerCase().split('e') as [string, string];
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace(/^-/, '').replace('.', '');
  const point = mantissa.replace(/^-/, '').indexOf('.');
  const intLength = (point < 0 ? mantissa.replace(/^-/, '').length : point) + exponent;
  let out: string;
  if (intLength <= 0) out = '0.' + '0'.repeat(-intLength) + digits;
  else if (intLength >= digits.length) out = digits + '0'.repeat(intLength - digits.length);
  else out = digits.slice(0, intLength) + '.' + digits.slice(intLength);
  return (negative ? '-' : '') + out;
}

interface StreamOut {
  labels: Labels;
  entries: LogEntryResult[];
}

/**
 * Without categorize-labels Loki folds structured metadata and parsed labels into the stream
 * key, so entries of one stream with different metadata become different streams.
 */
export function mergeCategories(streams: { stream: Labels; entries: LogEntryResult[] }[]): StreamOut[] {
  const byKey = new Map<string, StreamOut>();
  for (const { stream, entries } of streams) {
    for (const entry of entries) {
      const labels = sortedLabels({ ...stream, ...entry.structuredMetadata, ...entry.parsed });
      const key = JSON.stringify(labels);
      let out = byKey.get(key);
      if (!out) byKey.set(key, (out = { labels, entries: [] }));
      out.entries.push(entry);
    }
  }
  return [...byKey.values()];
}

/**
 * With categorize-labels the stream is only the stream's own labels: the engine's stream key
 * also holds each entry's metadata and parsed labels, which Loki reports per entry instead.
 */
export function splitCategories(streams: { stream: Labels; entries: LogEntryResult[] }[]): { stream: Labels; entries: LogEntryResult[] }[] {
  const byKey = new Map<string, { stream: Labels; entries: LogEntryResult[] }>();
  for (const { stream, entries } of streams) {
    for (const entry of entries) {
      const own: Labels = {};
      for (const name of Object.keys(stream).sort()) {
        if (Object.hasOwn(entry.structuredMetadata, name) || Object.hasOwn(entry.parsed, name)) continue;
        own[name] = stream[name]!;
      }
      const key = JSON.stringify(own);
      let out = byKey.get(key);
      if (!out) byKey.set(key, (out = { stream: own, entries: [] }));
      out.entries.push(entry);
    }
  }
  return [...byKey.values()];
}

export function streamsJson(streams: { stream: Labels; entries: LogEntryResult[] }[], categorize: boolean): string {
  const parts: string[] = [];
  if (categorize) {
    for (const { stream, entries } of splitCategories(streams)) {
      const values = entries.map((e) => {
        const category: string[] = [];
        if (Object.keys(e.structuredMetadata).length > 0) category.push(`"structuredMetadata":${labelsJson(e.structuredMetadata)}`);
        if (Object.keys(e.parsed).length > 0) category.push(`"parsed":${labelsJson(e.parsed)}`);
        return `["${e.timestampNs}",${lineJson(e.line)},{${category.join(',')}}]`;
      });
      parts.push(`{"stream":${labelsJson(stream)},"values":[${values.join(',')}]}`);
    }
  } else {
    for (const { labels, entries } of mergeCategories(streams)) {
      const values = entries.map((e) => `["${e.timestampNs}",${lineJson(e.line)}]`);
      parts.push(`{"stream":${labelsJson(labels)},"values":[${values.join(',')}]}`);
    }
  }
  return `[${parts.join(',')}]`;
}

function resultJson(value: LogqlValue, categorize: boolean): string {
  switch (value.type) {
    case 'streams':
      return streamsJson(value.streams, categorize);
    case 'vector':
      return `[${value.samples.map((s) => `{"metric":${labelsJson(s.labels)},"value":[${secondsJson(s.timestampMs)},"${sampleValue(s.value)}"]}`).join(',')}]`;
    case 'matrix':
      return `[${value.series
        .map((s) => `{"metric":${labelsJson(s.labels)},"values":[${s.points.map((p) => `[${secondsJson(p.timestampMs)},"${sampleValue(p.value)}"]`).join(',')}]}`)
        .join(',')}]`;
    case 'scalar':
      return `[${secondsJson(value.timestampMs)},"${sampleValue(value.value)}"]`;
  }
}

function entriesReturned(value: LogqlValue): number {
  return value.type === 'streams' ? value.streams.reduce((n, s) => n + s.entries.length, 0) : 0;
}

/** Loki's stats.Result summary (the part Grafana and logcli read). */
export function statsJson(stats: LogqlResult['stats'], returned: number): string {
  const exec = stats.execTimeSeconds;
  const perSecond = (n: number) => (exec > 0 ? Math.round(n / exec) : 0);
  return JSON.stringify({
    summary: {
      bytesProcessedPerSecond: perSecond(stats.bytesProcessed),
      linesProcessedPerSecond: perSecond(stats.linesProcessed),
      totalBytesProcessed: stats.bytesProcessed,
      totalLinesProcessed: stats.linesProcessed,
      execTime: exec,
      queueTime: 0,
      subqueries: 0,
      totalEntriesReturned: returned,
      splits: 0,
      shards: 0,
      totalPostFilterLines: returned,
      totalStructuredMetadataBytesProcessed: 0,
    },
  });
}

/** The whole query response body. */
export function queryResponseJson(result: LogqlResult, categorize: boolean): string {
  const { value } = result;
  const flags = categorize ? `,"encodingFlags":["${CATEGORIZE_LABELS}"]` : '';
  return `{"status":"success","data":{"resultType":"${value.type}"${flags},"result":${resultJson(value, categorize)},"stats":${statsJson(result.stats, entriesReturned(value))}}}\n`;
}

/** A live-tail message: `{"streams":[…]}` plus dropped entries and flags when any. */
export function tailMessageJson(streams: { stream: Labels; entries: LogEntryResult[] }[], categorize: boolean, dropped: { labels: Labels; timestampNs: bigint }[] = []): string {
  let out = `{"streams":${streamsJson(streams, categorize)}`;
  if (dropped.length > 0) out += `,"dropped_entries":[${dropped.map((d) => `{"labels":${labelsJson(d.labels)},"timestamp":"${d.timestampNs}"}`).join(',')}]`;
  if (categorize) out += `,"encodingFlags":["${CATEGORIZE_LABELS}"]`;
  return out + '}';
}
