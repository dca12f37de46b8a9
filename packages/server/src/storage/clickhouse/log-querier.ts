/**
 * Log reads: the LogQuerier over otel_logs, including the LogQL pushdown (stream matchers on
 * StreamLabels, line filters as position/match/LIKE, per-bucket counts).
 */
import type {
  Labels,
} from '../../model/index.js';
import type {
  LogBucketSelect,
  LogBucketSeries,
  LogLineFilter,
  LogQuerier,
  LogQuery,
  LogStreamEntry,
  LogStreamSelect,
} from '../types.js';
import { LOG_COLUMNS, logFromRow } from './log-rows.js';
import type { Pool } from './pool.js';

/** Rows per page of selectLogEntries: bounds memory while keeping round trips few. */
const PAGE_ROWS = 20_000;

type Str = Record<string, string>;

interface Where {
  sql: string;
  params: Record<string, unknown>;
}

function streamWhere(q: Omit<LogStreamSelect, 'direction' | 'limit'>): Where {
  const params: Record<string, unknown> = { tenant: q.tenant, start: q.startNs.toString(), end: q.endNs.toString() };
  const parts = [
    'TenantId = {tenant:String}',
    'Timestamp >= fromUnixTimestamp64Nano({start:Int64})',
    'Timestamp < fromUnixTimestamp64Nano({end:Int64})',
    // The whole-second column leads the key after ServiceName: lets the key range use it.
    'TimestampTime >= toDateTime(intDiv({start:Int64}, 1000000000))',
    'TimestampTime <= toDateTime(intDiv({end:Int64}, 1000000000))',
  ];
  q.matchers.forEach((m, i) => {
    params[`mk${i}`] = m.name;
    params[`mv${i}`] = m.type === '=~' || m.type === '!~' ? `^(?:${m.value})$` : m.value;
    const label = `StreamLabels[{mk${i}:String}]`;
    switch (m.type) {
      case '=':
        // ServiceName leads the ORDER BY and equals the service_name stream label on every row
        // (OTLP: both are service.name; Loki push: ServiceName is copied from the label), except
        // OTLP rows without a service, stored with ServiceName '' and labelled unknown_service.
        // So `service_name="x"` is a primary-key range and needs no map lookup.
        if (m.name === 'service_name' && m.value !== '' && m.value !== 'unknown_service') parts.push(`ServiceName = {mv${i}:String}`);
        else {
          parts.push(`${label} = {mv${i}:String}`);
          if (m.name === 'service_name' && m.value !== '') parts.push(`ServiceName IN ({mv${i}:String}, '')`);
        }
        break;
      case '!=':
        parts.push(`${label} != {mv${i}:String}`);
        break;
      case '=~':
        parts.push(`match(${label}, {mv${i}:String})`);
        break;
      case '!~':
        parts.push(`NOT match(${label}, {mv${i}:String})`);
        break;
    }
  });
  q.lineFilters.forEach((f, i) => parts.push(lineFilterSql(f, i, params)));
  return { sql: parts.join(' AND '), params };
}

function lineFilterSql(f: LogLineFilter, i: number, params: Record<string, unknown>): string {
  const alternatives = f.values.map((value, j) => {
    const name = `lf${i}_${j}`;
    params[name] = value;
    switch (f.kind) {
      case 'contains':
        return `position(Body, {${name}:String}) > 0`;
      case 'regex':
        return `match(Body, {${name}:String})`;
      case 'like':
        return `Body LIKE {${name}:String}`;
    }
  });
  const any = alternatives.length === 1 ? alternatives[0]! : `(${alternatives.join(' OR ')})`;
  return f.negate ? `NOT ${any}` : any;
}

const METADATA_COLUMNS =
  'StreamLabels, LogAttributes, ResourceAttributes, TraceId, SpanId, SeverityText, TraceFlags, DroppedAttributesCount, ScopeName, ScopeVersion, ScopeAttributes, ScopeDroppedAttributesCount';

/**
 * Loki 3's structured metadata of a row (see LogStreamEntry.structuredMetadata): what Loki's
 * OTLP mapping keeps of a record (pkg/loghttp/push/otlp.go), except severity_number and
 * observed_timestamp, which Lookout also stores for lines pushed in Loki's format, where Loki
 * has none. Log attributes win over unpromoted resource attributes; trace ids and severity
 * text are set as they are; flags, dropped counts and the scope fill only names not yet taken.
 */
function structuredMetadata(row: Record<string, unknown>): Labels {
  const streamLabels = row.StreamLabels as Str;
  const resourceAttributes = row.ResourceAttributes as Str;
  const logAttributes = row.LogAttributes as Str;
  const out: Labels = {};
  for (const key in resourceAttributes) {
    const name = sanitize(key);
    // Resource attributes promoted to stream labels are not metadata as well.
    if (name in streamLabels) continue;
    out[name] = resourceAttributes[key]!;
  }
  for (const key in logAttributes) out[sanitize(key)] = logAttributes[key]!;
  if (row.TraceId !== '') out.trace_id = row.TraceId as string;
  if (row.SpanId !== '') out.span_id = row.SpanId as string;
  if (row.SeverityText !== '') out.severity_text = row.SeverityText as string;
  const fill = (name: string, value: string) => {
    if (!(name in out)) out[name] = value;
  };
  if (Number(row.DroppedAttributesCount) !== 0) fill('dropped_attributes_count', String(row.DroppedAttributesCount));
  if (Number(row.TraceFlags) !== 0) fill('flags', String(row.TraceFlags));
  const scopeAttributes = row.ScopeAttributes as Str;
  for (const key in scopeAttributes) fill(sanitize(key), scopeAttributes[key]!);
  if (row.ScopeName !== '') fill('scope_name', row.ScopeName as string);
  if (row.ScopeVersion !== '') fill('scope_version', row.ScopeVersion as string);
  if (Number(row.ScopeDroppedAttributesCount) !== 0) fill('scope_dropped_attributes_count', String(row.ScopeDroppedAttributesCount));
  return out;
}

function sanitize(key: string): string {
  return /^[a-zA-Z0-9_]*$/.test(key) ? key : key.replace(/[^a-zA-Z0-9_]/g, '_');
}

/**
 * Whether the index analysis of `select` (EXPLAIN, no data read) keeps more than
 * ONE_PASS_GRANULES of the granules the primary key selects. False when the plan does not say.
 */
async function mostGranulesSelected(pool: Pool, select: string, params: Record<string, unknown>): Promise<boolean> {
  interface PlanNode {
    'Node Type'?: string;
    Plans?: PlanNode[];
    Indexes?: { Type?: string; Name?: string; 'Selected Granules'?: number }[];
  }
  try {
    const [row] = await pool.select<{ explain: string }>(`EXPLAIN indexes = 1, json = 1 ${select}`, params);
    const plan = JSON.parse(row?.explain ?? '[]') as { Plan?: PlanNode }[];
    const find = (n: PlanNode | undefined): PlanNode | undefined => (!n ? undefined : n['Node Type'] === 'ReadFromMergeTree' ? n : (n.Plans ?? []).map(find).find(Boolean));
    const read = find(plan[0]?.Plan);
    const byKey = read?.Indexes?.find((x) => x.Type === 'PrimaryKey')?.['Selected Granules'];
    const bySkip = read?.Indexes?.find((x) => x.Type === 'Skip' && x.Name === '<Combined skip indexes>')?.['Selected Granules'];
    if (typeof byKey !== 'number' || typeof bySkip !== 'number' || byKey === 0) return false;
    return bySkip / byKey > ONE_PASS_GRANULES;
  } catch {
    return false;
  }
}

/**
 * The share of granules beyond which one pass reading every map beats the line pass plus the
 * index-guided correction pass: measured at 10 M lines, the line pass costs about as much as
 * the correction over every granule, and one pass about 1.7× the line pass (docs/BENCHMARKS.md).
 */
const ONE_PASS_GRANULES = 0.6;

export function createLogQuerier(pool: Pool): LogQuerier {
  return {
    async queryLogs(query: LogQuery) {
      const params: Record<string, unknown> = {
        tenant: query.tenant,
        start: query.range.start.toString(),
        end: query.range.end.toString(),
        limit: query.limit,
      };
      let where = '';
      if (query.serviceName !== undefined) {
        where += ' AND ServiceName = {service:String}';
        params.service = query.serviceName;
      }
      if (query.traceId !== undefined) {
        where += ' AND TraceId = {traceId:String}';
        params.traceId = query.traceId;
      }
      const rows = await pool.select(
        `SELECT ${LOG_COLUMNS} FROM otel_logs
         WHERE TenantId = {tenant:String}
           AND Timestamp >= fromUnixTimestamp64Nano({start:Int64}) AND Timestamp <= fromUnixTimestamp64Nano({end:Int64})${where}
         ORDER BY Timestamp DESC LIMIT {limit:UInt32}`,
        params,
      );
      return rows.map(logFromRow);
    },
    async countLogs(tenant: string) {
      const rows = await pool.select<{ n: string }>('SELECT count() AS n FROM otel_logs WHERE TenantId = {tenant:String}', {
        tenant,
      });
      return Number(rows[0]?.n ?? 0);
    },

    async selectLogEntries(query: LogStreamSelect, onPage: (entries: LogStreamEntry[]) => boolean | void) {
      const base = streamWhere(query);
      const order = query.direction === 'forward' ? 'ASC' : 'DESC';
      const cmp = query.direction === 'forward' ? '>' : '<';
      let remaining = query.limit ?? Infinity;
      // Keyset paging on Timestamp. A full page ends at some timestamp t whose rows may continue
      // on the next page; those are held back and the next page starts at t. A page of one
      // timestamp only is read whole before moving past it.
      let resumeAt: string | undefined;
      let exactly: string | undefined;
      const read = async (where: string, params: Record<string, unknown>, limit: number | undefined) => {
        const rows = await pool.select<Record<string, unknown>>(
          `SELECT toString(toUnixTimestamp64Nano(Timestamp)) AS ts, Body, ${METADATA_COLUMNS}
           FROM otel_logs WHERE ${where}
           ORDER BY Timestamp ${order}${limit === undefined ? '' : ' LIMIT {pageSize:UInt32}'}`,
          { ...params, ...(limit === undefined ? {} : { pageSize: limit }) },
        );
        return rows;
      };
      const toEntries = (rows: Record<string, unknown>[]) =>
        rows.map((row) => ({
          timestampNs: BigInt(row.ts as string),
          line: row.Body as string,
          streamLabels: row.StreamLabels as Str,
          structuredMetadata: structuredMetadata(row),
        }));
      for (;;) {
        if (remaining <= 0) return;
        if (exactly !== undefined) {
          const rows = await read(`${base.sql} AND Timestamp = fromUnixTimestamp64Nano({at:Int64})`, { ...base.params, at: exactly }, undefined);
          const entries = toEntries(rows).slice(0, remaining);
          remaining -= entries.length;
          if (entries.length > 0 && onPage(entries) === false) return;
          resumeAt = exactly;
          exactly = undefined;
          continue;
        }
        const pageSize = Math.min(PAGE_ROWS, remaining);
        // The whole-second bound lets the primary key skip what earlier pages read.
        const where =
          resumeAt === undefined
            ? base.sql
            : `${base.sql} AND Timestamp ${cmp} fromUnixTimestamp64Nano({resume:Int64}) AND TimestampTime ${cmp}= toDateTime(intDiv({resume:Int64}, 1000000000))`;
        const rows = await read(where, { ...base.params, resume: resumeAt }, pageSize);
        if (rows.length < pageSize) {
          const entries = toEntries(rows);
          if (entries.length > 0) onPage(entries);
          return;
        }
        const lastTs = rows[rows.length - 1]!.ts as string;
        let cut = rows.length;
        while (cut > 0 && rows[cut - 1]!.ts === lastTs) cut--;
        if (cut > 0) {
          const entries = toEntries(rows.slice(0, cut));
          remaining -= entries.length;
          if (onPage(entries) === false) return;
        }
        // Rows at lastTs: all of them next (they may span pages).
        exactly = lastTs;
      }
    },

    async countLogBuckets(query: LogBucketSelect): Promise<LogBucketSeries[] | undefined> {
      const where = streamWhere(query);
      const params: Record<string, unknown> = { ...where.params, origin: query.originNs.toString(), bucket: query.bucketNs.toString() };
      const bytes = query.bytes ? 'toUInt64(sum(length(Body)))' : 'toUInt64(0)';
      const idx = 'toInt64(intDiv(toUnixTimestamp64Nano(Timestamp) - {origin:Int64} + {bucket:Int64} - 1, {bucket:Int64}))';
      const parse = (buckets: unknown) =>
        (buckets as [number | string, number | string, number | string][]).map(([index, count, b]) => ({
          index: Number(index),
          count: Number(count),
          bytes: Number(b),
        }));
      if (!query.groupBy) {
        // Bucket i holds (origin + (i-1)·bucket, origin + i·bucket]: ceil((t - origin) / bucket).
        const rows = await pool.select<Record<string, unknown>>(
          `SELECT ${METADATA_COLUMNS}, groupArray((idx, c, b)) AS buckets
           FROM (
             SELECT ${METADATA_COLUMNS}, ${idx} AS idx, toUInt64(count()) AS c, ${bytes} AS b
             FROM otel_logs WHERE ${where.sql}
             GROUP BY ${METADATA_COLUMNS}, idx
           )
           GROUP BY ${METADATA_COLUMNS}`,
          params,
        );
        return rows.map((row) => ({ streamLabels: row.StreamLabels as Str, structuredMetadata: structuredMetadata(row), buckets: parse(row.buckets) }));
      }

      const { labels, json } = query.groupBy;
      labels.forEach((label, i) => (params[`g${i}`] = label));
      const l = (i: number) => `{g${i}:String}`;
      // A label resolves as a LogQL pipeline would: structured metadata (log attributes), then
      // the stream label, then resource attributes (metadata unless promoted to a stream
      // label), then — with json — the line's top-level field, labelled as Loki's json parser
      // does: strings unescaped, numbers and booleans as text, nothing for null, objects and
      // arrays. JSONExtractString gives exactly that, except that it prints objects and arrays
      // too; telling those from strings that merely start with { or [ (JSONType) costs ~7% on
      // every row even when evaluated lazily, so it is done only when a first answer holds such
      // a value (rare: fields grouped by are seldom objects).
      const lineValue = (i: number, exact: boolean) =>
        !json ? "''" : exact ? `if((startsWith(s${i}, '{') OR startsWith(s${i}, '[')) AND JSONType(Body, ${l(i)}) IN ('Object', 'Array'), '', s${i})` : `s${i}`;
      // Then, as structuredMetadata() fills them, the record's flags and the scope's attributes.
      // (Names with an underscore, as trace_id or scope_name, never reach this pushdown.)
      // The flags alternative is written only for a label named so (a fixed text, not a value):
      // an alternative no skip index covers would make the correction below read every row.
      const flags = (i: number) => labels[i] === 'flags';
      const fromMaps = (i: number) =>
        `LogAttributes[${l(i)}] != '', LogAttributes[${l(i)}], StreamLabels[${l(i)}] != '', StreamLabels[${l(i)}], ResourceAttributes[${l(i)}] != '', ResourceAttributes[${l(i)}], ` +
        `${flags(i) ? "TraceFlags != 0, toString(TraceFlags), " : ''}ScopeAttributes[${l(i)}] != '', ScopeAttributes[${l(i)}]`;
      const extracted = json ? labels.map((_x, i) => `JSONExtractString(Body, ${l(i)}) AS s${i}, `).join('') : '';
      // ClickHouse reprints JSON numbers (1.0 → 1, -1.5e3 → -1500); Loki labels them as written.
      // A value that looks like a number is taken as extracted when the line holds
      // `"name":<value>` followed by `,` or `}`, or `"name":"<value>"` (a string), with or without
      // a space after the colon; otherwise the query goes to the line-by-line path. That costs
      // ~15 % on rows whose grouped value is a number and nothing measurable on other strings.
      const numberAsWritten = (i: number) =>
        `(${[':', ': ']
          .flatMap((colon) => [`${colon}', s${i}, ','`, `${colon}', s${i}, '}'`, `${colon}"', s${i}, '"'`])
          .map((tail) => `position(Body, concat('"', ${l(i)}, '"${tail})) > 0`)
          .join(' OR ')})`;
      // Flat conjunctions only: ClickHouse stops evaluating an AND chain at its first false
      // operand, but a nested one (a AND (b AND c)) cost 30 % more here.
      const inexact = labels.map((_x, i) => `toUInt8((ascii(s${i}) BETWEEN 48 AND 57 OR ascii(s${i}) = 45) AND NOT ${numberAsWritten(i)})`);
      // simdjson refuses numbers beyond 64 bits (1e400, 30-digit ids) and with them the whole
      // line, which Loki's parser accepts: a non-JSON line that parses once its numbers are
      // replaced by 0 also sends the query to the line-by-line path. Evaluated on such lines only.
      const bigNumbers = "(startsWith(trimLeft(Body), '{') AND isValidJSON(replaceRegexpAll(Body, '([:\\[,]\\s*)-?[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?', '\\10')))";
      // A field present (not null) proves the line is a JSON object; only other lines are checked.
      const jv = json ? `${[...labels.map((_x, i) => `s${i} != ''`), "(isValidJSON(Body) AND startsWith(trimLeft(Body), '{'))"].join(' OR ')}` : '1';
      const keys = labels.map((_x, i) => `g${i}, `).join('');
      const inMaps = labels
        .map(
          (_x, i) =>
            `mapContains(LogAttributes, ${l(i)}) OR mapContains(StreamLabels, ${l(i)}) OR mapContains(ResourceAttributes, ${l(i)}) OR ` +
            `${flags(i) ? 'TraceFlags != 0 OR ' : ''}mapContains(ScopeAttributes, ${l(i)})`,
        )
        .join(' OR ');
      // Every row is counted by its line alone, reading Body only; then the rows whose maps name
      // a label (found through the key bloom-filter indexes) are moved from that group (sign
      // -1) to the right one (sign +1), so the attribute maps — large in OTLP data — are read
      // only in granules where a label may come from them. The two run on two connections.
      // When the indexes leave most granules (the label is in some row's maps nearly
      // everywhere), one pass reading every map is cheaper (docs/BENCHMARKS.md): the index
      // analysis (EXPLAIN, a few ms, no data read) decides.
      const onePass = labels.length > 0 && (await mostGranulesSelected(pool, `SELECT 1 FROM otel_logs WHERE ${where.sql} AND (${inMaps})`, params));
      const counts = (exact: boolean, value: (i: number) => string) =>
        pool.select<Record<string, unknown>>(
          `SELECT ${keys}idx, toUInt64(countIf(jv)) AS c, toUInt64(countIf(NOT jv)) AS bad,
             ${query.bytes ? 'toUInt64(sumIf(length(Body), jv)) AS b, toUInt64(sumIf(length(Body), NOT jv)) AS badb' : 'toUInt64(0) AS b, toUInt64(0) AS badb'},
             ${json ? 'max(nx)' : '0'} AS inexact
           FROM (
             SELECT ${extracted}${labels.map((_x, i) => `${value(i)} AS g${i}, `).join('')}${jv} AS jv, ${idx} AS idx${query.bytes ? ', Body' : ''}${json ? `, greatest(${[...inexact, `toUInt8(NOT jv AND ${bigNumbers})`].join(', ')}) AS nx` : ''}
             FROM otel_logs WHERE ${where.sql}
           )
           GROUP BY ${keys}idx`,
          params,
        );
      const run = (exact: boolean): Promise<[Record<string, unknown>[], Record<string, unknown>[]]> =>
        onePass
          ? Promise.all([counts(exact, (i) => `multiIf(${fromMaps(i)}, ${lineValue(i, exact)})`), Promise.resolve([])])
          : Promise.all([
              counts(exact, (i) => lineValue(i, exact)),
              labels.length === 0
                ? Promise.resolve([])
                : pool.select<Record<string, unknown>>(
                    `SELECT arrayJoin([-1, 1]) AS sign,
                       ${labels.map((_x, i) => `if(sign = 1, multiIf(${fromMaps(i)}, ${lineValue(i, exact)}), ${lineValue(i, exact)}) AS g${i}, `).join('')}${jv} AS jv,
                       ${idx} AS idx, toUInt64(count()) AS c, ${query.bytes ? 'toUInt64(sum(length(Body)))' : 'toUInt64(0)'} AS b
                     FROM (SELECT ${extracted}Timestamp, Body, LogAttributes, StreamLabels, ResourceAttributes, TraceFlags, ScopeAttributes FROM otel_logs WHERE ${where.sql} AND (${inMaps}))
                     GROUP BY sign, ${keys}jv, idx`,
                    params,
                  ),
            ]);
      let [lineRows, correctionRows] = await run(false);
      if (lineRows.some((row) => Number(row.inexact) === 1)) return undefined;
      const maybeComposite = (v: unknown) => typeof v === 'string' && (v.startsWith('{') || v.startsWith('['));
      if (json && [...lineRows, ...correctionRows].some((row) => labels.some((_x, i) => maybeComposite(row[`g${i}`])))) [lineRows, correctionRows] = await run(true);
      const rows: { values: string[]; jv: boolean; idx: unknown; c: number; b: number }[] = [];
      const valuesOf = (row: Record<string, unknown>) => labels.map((_x, i) => row[`g${i}`] as string);
      for (const row of lineRows) {
        if (Number(row.c) > 0) rows.push({ values: valuesOf(row), jv: true, idx: row.idx, c: Number(row.c), b: Number(row.b) });
        if (Number(row.bad) > 0) rows.push({ values: valuesOf(row), jv: false, idx: row.idx, c: Number(row.bad), b: Number(row.badb) });
      }
      for (const row of correctionRows) {
        const sign = Number(row.sign);
        rows.push({ values: valuesOf(row), jv: Boolean(Number(row.jv)), idx: row.idx, c: sign * Number(row.c), b: sign * Number(row.b) });
      }
      const groups = new Map<string, LogBucketSeries>();
      const bucketsOf = new Map<LogBucketSeries, Map<number, LogBucketSeries['buckets'][number]>>();
      for (const row of rows) {
        const groupLabels: Labels = {};
        labels.forEach((label, i) => {
          const value = row.values[i]!;
          if (value !== '') groupLabels[label] = value;
        });
        const invalid = !row.jv;
        const key = JSON.stringify([groupLabels, invalid]);
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { streamLabels: {}, structuredMetadata: {}, groupLabels, ...(json ? { jsonInvalid: invalid } : {}), buckets: [] }));
        const index = Number(row.idx);
        let byIndex = bucketsOf.get(g);
        if (!byIndex) bucketsOf.set(g, (byIndex = new Map()));
        let b = byIndex.get(index);
        if (!b) {
          byIndex.set(index, (b = { index, count: 0, bytes: 0 }));
          g.buckets.push(b);
        }
        b.count += row.c;
        b.bytes += row.b;
      }
      for (const g of groups.values()) g.buckets = g.buckets.filter((b) => b.count !== 0);
      return [...groups.values()].filter((g) => g.buckets.length > 0);
    },
  };
}

