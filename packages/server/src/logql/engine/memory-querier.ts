/**
 * An in-memory LogQuerier for engine tests: evaluates the pushed-down selection in JavaScript
 * exactly as the ClickHouse querier does in SQL.
 */
import type { Labels } from '../../model/index.js';
import type { LogBucketSeries, LogQuerier, LogStreamEntry, LogStreamSelect } from '../../storage/index.js';
import { compileRe2 } from '../regex.js';
import { JsonScanner, scalarText } from './json.js';
import { compileMatcher } from './pipeline.js';

/** What ClickHouse's JSONExtractRaw/isValidJSON give the storage querier, computed here. */
function topLevelJson(line: string, fields: readonly string[]): { fields: Labels; invalid: boolean } {
  const out: Labels = {};
  const s = new JsonScanner(line);
  try {
    s.ws();
    if (line[s.pos] !== '{') throw new Error('not an object');
    s.object((key) => {
      const v = s.value();
      if (fields.includes(key) && !(key in out) && (v.kind === 'string' || v.kind === 'number' || v.kind === 'boolean')) out[key] = scalarText(s, v);
    });
    s.ws();
    if (s.pos !== line.length) throw new Error('trailing data');
  } catch {
    return { fields: {}, invalid: true };
  }
  return { fields: out, invalid: false };
}

export interface MemoryEntry {
  timestampNs: bigint;
  line: string;
  stream: Labels;
  metadata?: Labels;
}

function likeToRegExp(like: string): RegExp {
  let out = '';
  for (let i = 0; i < like.length; i++) {
    const c = like[i]!;
    if (c === '\\') out += like[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '%') out += '[\\s\\S]*';
    else if (c === '_') out += '[\\s\\S]';
    else out += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

export function memoryLogQuerier(entries: MemoryEntry[]): LogQuerier & { selects: LogStreamSelect[] } {
  const selects: LogStreamSelect[] = [];
  const matching = (q: Omit<LogStreamSelect, 'direction' | 'limit'>): LogStreamEntry[] => {
    const matchers = q.matchers.map((m) => ({ name: m.name, test: compileMatcher(m) }));
    const filters = q.lineFilters.map((f) => {
      const tests = f.values.map((v) => {
        if (f.kind === 'contains') return (l: string) => l.includes(v);
        const re = f.kind === 'regex' ? compileRe2(v, { anchored: false }) : likeToRegExp(v);
        return (l: string) => re.test(l);
      });
      return (l: string) => tests.some((t) => t(l)) !== f.negate;
    });
    return entries
      .filter((e) => e.timestampNs >= q.startNs && e.timestampNs < q.endNs)
      .filter((e) => matchers.every((m) => m.test(e.stream[m.name] ?? '')))
      .filter((e) => filters.every((f) => f(e.line)))
      .map((e) => ({ timestampNs: e.timestampNs, line: e.line, streamLabels: e.stream, structuredMetadata: e.metadata ?? {} }));
  };
  return {
    selects,
    queryLogs: () => Promise.resolve([]),
    countLogs: () => Promise.resolve(entries.length),
    selectLogEntries(q, onPage) {
      selects.push(q);
      const rows = matching(q).sort((a, b) => (a.timestampNs < b.timestampNs ? -1 : a.timestampNs > b.timestampNs ? 1 : 0));
      if (q.direction === 'backward') rows.reverse();
      const limited = rows.slice(0, q.limit ?? rows.length);
      for (let i = 0; i < limited.length; i += 3) if (onPage(limited.slice(i, i + 3)) === false) break;
      return Promise.resolve();
    },
    countLogBuckets(q) {
      const out = new Map<string, LogBucketSeries>();
      for (const e of matching(q)) {
        let series: LogBucketSeries;
        if (q.groupBy) {
          const json = q.groupBy.json ? topLevelJson(e.line, q.groupBy.labels) : undefined;
          const groupLabels: Labels = {};
          for (const label of q.groupBy.labels) {
            const value = e.structuredMetadata[label] || e.streamLabels[label] || json?.fields[label] || '';
            if (value !== '') groupLabels[label] = value;
          }
          series = { streamLabels: {}, structuredMetadata: {}, groupLabels, buckets: [] };
          if (json) series.jsonInvalid = json.invalid;
        } else series = { streamLabels: e.streamLabels, structuredMetadata: e.structuredMetadata, buckets: [] };
        const key = JSON.stringify([series.streamLabels, series.structuredMetadata, series.groupLabels, series.jsonInvalid]);
        let s = out.get(key);
        if (!s) out.set(key, (s = series));
        const index = Number((e.timestampNs - q.originNs + q.bucketNs - 1n) / q.bucketNs);
        let b = s.buckets.find((x) => x.index === index);
        if (!b) s.buckets.push((b = { index, count: 0, bytes: 0 }));
        b.count++;
        if (q.bytes) b.bytes += Buffer.byteLength(e.line);
      }
      return Promise.resolve([...out.values()]);
    },
  };
}
