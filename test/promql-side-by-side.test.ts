/**
 * Side by side with real Prometheus: Debian's prometheus (2.42) scrapes a target this test
 * serves (test/support/prometheus-peer.ts: counters with a reset, gauges, special floats, a
 * classic histogram, a summary, a series that comes and goes) and remote-writes everything to
 * Lookout. Then the queries of test/promql-side-by-side.queries.ts (every function, aggregation
 * and operator of Prometheus 2.42) run through both HTTP APIs, as instant queries at several
 * instants (GET) and as range queries (form POST) over the same window, and the answers are
 * compared: status and errorType, result type, label sets (in order only where the query
 * sorts), timestamps and values (relative tolerance 1e-6, NaN = NaN).
 *
 * Lookout follows Prometheus 3; the 2.x/3.x differences are cases marked `semantic` in the data
 * file (and listed in docs/COMPATIBILITY.md), and for those the test asserts the answers differ
 * exactly the documented way. Cases marked `knownBug` are reported and do not fail the test;
 * every other difference does.
 *
 *   SIDE_BY_SIDE_REPORT=/tmp/sbs.json  writes every non-identical case as JSON
 *   SIDE_BY_SIDE_ONLY=<substring>      runs only the cases whose query contains it
 *
 * Needs the Debian package `prometheus` (/usr/bin/prometheus).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { askApi, startPrometheusPeer, type ApiAnswer, type PrometheusPeer } from './support/prometheus-peer.js';
import { CASES, type SemanticExpectation, type SideBySideCase } from './promql-side-by-side.queries.js';

// Prometheus's remote-write reader starts from the WAL at start-up, racing the first scrapes:
// the window (and every range reaching back from it, up to 60 s) stays clear of them.
const SCRAPES_BEFORE_QUERYING = 112;
const WINDOW_END_AFTER_FIRST_SCRAPE_S = 104;
const WINDOW_S = 30;

/** Every function and aggregation of Prometheus 2.42 (promql/parser/functions.go, lex.go), and its binary operators. */
const FUNCTIONS_2_42 = [
  'abs', 'absent', 'absent_over_time', 'acos', 'acosh', 'asin', 'asinh', 'atan', 'atanh', 'avg_over_time', 'ceil', 'changes',
  'clamp', 'clamp_max', 'clamp_min', 'cos', 'cosh', 'count_over_time', 'days_in_month', 'day_of_month', 'day_of_week',
  'day_of_year', 'deg', 'delta', 'deriv', 'exp', 'floor', 'histogram_count', 'histogram_sum', 'histogram_fraction',
  'histogram_quantile', 'holt_winters', 'hour', 'idelta', 'increase', 'irate', 'label_replace', 'label_join',
  'last_over_time', 'ln', 'log10', 'log2', 'max_over_time', 'min_over_time', 'minute', 'month', 'pi', 'predict_linear',
  'present_over_time', 'quantile_over_time', 'rad', 'rate', 'resets', 'round', 'scalar', 'sgn', 'sin', 'sinh', 'sort',
  'sort_desc', 'sqrt', 'stddev_over_time', 'stdvar_over_time', 'sum_over_time', 'tan', 'tanh', 'time', 'timestamp',
  'vector', 'year',
];
const AGGREGATIONS = ['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values'];
const OPERATORS = [' + ', ' - ', ' * ', ' / ', ' % ', ' ^ ', ' atan2 ', ' == ', ' != ', ' > ', ' < ', ' >= ', ' <= ', ' bool ', ' and ', ' or ', ' unless ',
  ' on(', ' ignoring(', ' group_left', ' group_right', ' offset ', ' offset -', ' @ ', 'start()', 'end()', ':]', ' by (', ' without ('];

type Point = [number, string];
type Outcome = 'identical' | 'documented' | 'known bug' | 'bug fixed' | 'DIFFERENT';

/** A Prometheus API sample value ("1.5", "NaN", "+Inf", "-Inf", "1e+300") as a number. */
function parseValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return text === 'NaN' ? NaN : Number(text);
}

function close(a: string, b: string): boolean {
  if (a === b) return true;
  const x = parseValue(a);
  const y = parseValue(b);
  if (Number.isNaN(x) && Number.isNaN(y)) return true;
  if (!Number.isFinite(x) || !Number.isFinite(y)) return x === y;
  return Math.abs(x - y) <= 1e-6 * Math.max(Math.abs(x), Math.abs(y)) || Math.abs(x - y) < 1e-12;
}

function seriesKey(metric: Record<string, string>): string {
  return JSON.stringify(Object.entries(metric).sort(([a], [b]) => (a < b ? -1 : 1)));
}

interface Row {
  key: string;
  metric: Record<string, string>;
  points: Point[];
}

function rowsOf(body: ApiAnswer['body']): Row[] {
  const data = body.data as { resultType: string; result: unknown };
  if (data.resultType === 'scalar' || data.resultType === 'string') return [{ key: '', metric: {}, points: [data.result as Point] }];
  return (data.result as { metric: Record<string, string>; value?: Point; values?: Point[] }[]).map((row) => ({
    key: seriesKey(row.metric),
    metric: row.metric,
    points: row.values ?? [row.value!],
  }));
}

function comparePoints(key: string, pa: Point[], pb: Point[], numeric: boolean, adjust = 0): string | undefined {
  if (pa.length !== pb.length) return `${key}: ${pa.length} points vs ${pb.length}`;
  for (let i = 0; i < pa.length; i++) {
    if (pa[i]![0] !== pb[i]![0]) return `${key}: point ${i} at ${pa[i]![0]} vs ${pb[i]![0]}`;
    const expected = adjust === 0 ? pb[i]![1] : String(parseValue(pb[i]![1]) + adjust);
    if (numeric ? !close(pa[i]![1], expected) : pa[i]![1] !== expected) return `${key} @${pa[i]![0]}: ${pa[i]![1]} vs ${pb[i]![1]}`;
  }
  return undefined;
}

/** Why Lookout's answer (ours) differs from Prometheus's (theirs), or undefined when they agree. */
export function compareAnswers(ours: ApiAnswer['body'], theirs: ApiAnswer['body'], ordered = false): string | undefined {
  if (ours.status !== theirs.status) return `status ${ours.status} (${ours.error ?? ''}) vs ${theirs.status} (${theirs.error ?? ''})`;
  if (ours.status !== 'success') return ours.errorType === theirs.errorType ? undefined : `errorType ${ours.errorType} vs ${theirs.errorType}`;
  const a = ours.data as { resultType: string };
  const b = theirs.data as { resultType: string };
  if (a.resultType !== b.resultType) return `resultType ${a.resultType} vs ${b.resultType}`;
  const numeric = a.resultType !== 'string';
  const ra = rowsOf(ours);
  const rb = rowsOf(theirs);
  if (ordered && a.resultType === 'vector') {
    const order = (rows: Row[]) => rows.map((r) => r.key).join('\n');
    if (order(ra) !== order(rb)) return `order ${ra.map((r) => r.key).join(' ')} vs ${rb.map((r) => r.key).join(' ')}`;
  }
  const ma = new Map(ra.map((r) => [r.key, r]));
  const mb = new Map(rb.map((r) => [r.key, r]));
  if (ma.size !== ra.length) return 'duplicate series in Lookout answer';
  for (const k of mb.keys()) if (!ma.has(k)) return `missing series ${k}`;
  for (const k of ma.keys()) if (!mb.has(k)) return `extra series ${k}`;
  for (const [k, row] of ma) {
    const why = comparePoints(k, row.points, mb.get(k)!.points, numeric);
    if (why) return why;
  }
  return undefined;
}

/** Whether the answers differ exactly as a documented 2.x/3.x difference says; the reason when not. */
export function checkSemantic(ours: ApiAnswer['body'], theirs: ApiAnswer['body'], expect: SemanticExpectation): string | undefined {
  if (expect === 'lookout-accepts') {
    if (theirs.status === 'success') return 'Prometheus accepted it too';
    return ours.status === 'success' ? undefined : `Lookout answered ${ours.errorType}: ${ours.error}`;
  }
  if (expect === 'lookout-rejects') {
    if (theirs.status !== 'success') return `Prometheus rejected it too: ${theirs.error}`;
    return ours.status !== 'success' && ours.errorType === 'bad_data' ? undefined : `Lookout answered ${ours.status} ${ours.errorType ?? ''}`;
  }
  if (ours.status !== 'success' || theirs.status !== 'success') return `status ${ours.status} (${ours.error ?? ''}) vs ${theirs.status} (${theirs.error ?? ''})`;
  const ra = rowsOf(ours);
  const rb = rowsOf(theirs);
  switch (expect) {
    case 'lookout-only':
      if (rb.length !== 0) return `Prometheus answered ${rb.length} series, documented as none`;
      return ra.length > 0 ? undefined : 'Lookout answered no series either';
    case 'one-less':
    case 'name-dropped': {
      const strip = (r: Row) => (expect === 'name-dropped' ? seriesKey(Object.fromEntries(Object.entries(r.metric).filter(([n]) => n !== '__name__'))) : r.key);
      if (expect === 'name-dropped' && !rb.some((r) => '__name__' in r.metric)) return 'Prometheus kept no __name__ to drop';
      if (ra.some((r) => '__name__' in r.metric && expect === 'name-dropped')) return 'Lookout kept __name__';
      const mb = new Map(rb.map((r) => [strip(r), r]));
      if (ra.length !== rb.length || ra.length === 0) return `${ra.length} series vs ${rb.length}`;
      for (const row of ra) {
        const other = mb.get(row.key);
        if (!other) return `extra series ${row.key}`;
        const why = comparePoints(row.key, row.points, other.points, true, expect === 'one-less' ? -1 : 0);
        if (why) return why;
      }
      return undefined;
    }
  }
}

describe('side-by-side comparison', () => {
  const vector = (...rows: [Record<string, string>, string][]) => ({
    status: 'success',
    data: { resultType: 'vector', result: rows.map(([metric, v]) => ({ metric, value: [100, v] })) },
  });
  it('accepts equal answers: label order, series order, NaN, tolerance', () => {
    assert.equal(compareAnswers(vector([{ a: '1', b: '2' }, 'NaN'], [{ c: '1' }, '1']), vector([{ c: '1' }, '1.0000000001'], [{ b: '2', a: '1' }, 'NaN'])), undefined);
  });
  it('finds every kind of difference', () => {
    assert.match(compareAnswers(vector([{ a: '1' }, '1']), vector([{ a: '1' }, '1.001']))!, /1 vs 1.001/);
    assert.match(compareAnswers(vector([{ a: '1' }, '1']), vector([{ a: '2' }, '1']))!, /missing series/);
    assert.match(compareAnswers(vector([{ a: '1' }, '1'], [{ a: '2' }, '1']), vector([{ a: '1' }, '1']))!, /extra series/);
    assert.match(compareAnswers(vector([{ a: '1' }, '+Inf']), vector([{ a: '1' }, 'NaN']))!, /\+Inf vs NaN/);
    assert.match(compareAnswers(vector([{ a: '1' }, '1'], [{ a: '2' }, '2']), vector([{ a: '2' }, '2'], [{ a: '1' }, '1']), true)!, /order/);
    assert.match(compareAnswers({ status: 'success', data: { resultType: 'scalar', result: [1, '1'] } }, vector())!, /resultType/);
    assert.match(compareAnswers({ status: 'error', errorType: 'execution' }, { status: 'error', errorType: 'bad_data' })!, /errorType/);
  });
  it('checks documented differences strictly', () => {
    const one = (v: string) => vector([{ a: '1' }, v]);
    assert.equal(checkSemantic(one('10'), one('11'), 'one-less'), undefined);
    assert.ok(checkSemantic(one('11'), one('11'), 'one-less'));
    assert.equal(checkSemantic(vector([{ a: '1' }, '2']), vector([{ __name__: 'x', a: '1' }, '2']), 'name-dropped'), undefined);
    assert.ok(checkSemantic(vector([{ __name__: 'x', a: '1' }, '2']), vector([{ __name__: 'x', a: '1' }, '2']), 'name-dropped'));
    assert.equal(checkSemantic(one('1'), vector(), 'lookout-only'), undefined);
    assert.ok(checkSemantic(one('1'), one('1'), 'lookout-only'));
    assert.equal(checkSemantic({ status: 'error', errorType: 'bad_data' }, one('1'), 'lookout-rejects'), undefined);
    assert.ok(checkSemantic(one('1'), one('1'), 'lookout-rejects'));
    assert.equal(checkSemantic(one('1'), { status: 'error', errorType: 'bad_data' }, 'lookout-accepts'), undefined);
  });
});

describe('PromQL side by side with Prometheus 2.42', { timeout: 600_000 }, () => {
  let peer: PrometheusPeer;

  before(async () => {
    peer = await startPrometheusPeer({ scrapes: SCRAPES_BEFORE_QUERYING });
  });

  after(async () => {
    await peer?.stop();
  });

  it('covers every function, aggregation and operator of Prometheus 2.42 with at least 150 queries', () => {
    assert.ok(CASES.length >= 150, `only ${CASES.length} queries`);
    const all = CASES.map((c) => c.query).join('\n');
    const missing = [
      ...[...FUNCTIONS_2_42, ...AGGREGATIONS].filter((name) => !new RegExp(`(^|[^a-z_])${name}\\s*(by|without)?\\s*\\(`, 'm').test(all)),
      ...OPERATORS.filter((op) => !all.includes(op)),
    ];
    assert.deepEqual(missing, []);
    const duplicates = CASES.map((c) => c.query).filter((q, i, list) => list.indexOf(q) !== i);
    assert.deepEqual(duplicates, []);
    for (const c of CASES) if (c.semantic && c.knownBug) assert.fail(`${c.query}: both semantic and knownBug`);
  });

  it(`answers ${CASES.length} queries like Prometheus, instant and range`, async () => {
    const endWhole = Math.floor(peer.firstScrapeMs / 1000) + WINDOW_END_AFTER_FIRST_SCRAPE_S;
    await peer.waitForRemoteWrite(endWhole + 20);
    const prom = peer.promUrl;
    const lookout = peer.lookout.url;

    // Sample timestamps, from Prometheus: the default grid keeps every evaluation instant half
    // a scrape away from any sample (and off whole seconds, where subquery steps fall), so
    // left-open vs left-closed ranges cannot differ by accident.
    const raw = await askApi(prom, '/api/v1/query', { query: 'demo_ratio[10s]', time: String(endWhole) });
    const sampleTimes = ((raw.body.data as { result: { values: Point[] }[] }).result[0]?.values ?? []).map(([t]) => t);
    assert.ok(sampleTimes.length >= 8, `Prometheus has ${sampleTimes.length} samples of demo_ratio in 10 s`);
    const sampleFraction = Math.round((sampleTimes.at(-1)! % 1) * 1000);
    const offGrid = ((sampleFraction + 500) % 1000) / 1000;
    const seconds = (t: number) => t.toFixed(3);
    const end = endWhole - 1 + offGrid;

    const checksFor = (c: SideBySideCase): [string, Record<string, string>][] => {
      const at = (t: number) => c.query.replaceAll('$END', seconds(t));
      switch (c.grid) {
        case 'on-sample':
          return sampleTimes.slice(-3).map((t) => ['/api/v1/query', { query: at(t + 10), time: seconds(t + 10) }]);
        case 'whole-seconds':
          return [
            ['/api/v1/query', { query: at(endWhole), time: String(endWhole) }],
            ['/api/v1/query', { query: at(endWhole), time: String(endWhole - 17) }],
            ['/api/v1/query_range', { query: at(endWhole), start: String(endWhole - WINDOW_S), end: String(endWhole), step: '5' }],
          ];
        default:
          return [
            ['/api/v1/query', { query: at(end), time: seconds(end) }],
            ['/api/v1/query', { query: at(end), time: seconds(end - 17.25) }],
            ['/api/v1/query_range', { query: at(end), start: seconds(end - WINDOW_S), end: seconds(end), step: '5' }],
            ['/api/v1/query_range', { query: at(end), start: seconds(end - 10), end: seconds(end), step: '1' }],
          ];
      }
    };

    const only = process.env.SIDE_BY_SIDE_ONLY;
    const results: { query: string; outcome: Outcome; detail?: string; knownBug?: string }[] = [];
    for (const c of CASES) {
      if (only && !c.query.includes(only)) continue;
      let detail: string | undefined;
      for (const [path, params] of checksFor(c)) {
        // Instant queries as GET, range queries as form POST: both ways clients send them.
        const method = path === '/api/v1/query' ? 'GET' : 'POST';
        const [ours, theirs] = await Promise.all([askApi(lookout, path, params, method), askApi(prom, path, params, method)]);
        const why = c.semantic ? checkSemantic(ours.body, theirs.body, c.semantic.expect) : compareAnswers(ours.body, theirs.body, c.ordered);
        if (why !== undefined) {
          detail = `${path} ${JSON.stringify(params)}: ${why}`;
          break;
        }
      }
      const outcome: Outcome =
        detail === undefined ? (c.semantic ? 'documented' : c.knownBug ? 'bug fixed' : 'identical') : c.knownBug ? 'known bug' : 'DIFFERENT';
      results.push({ query: c.query, outcome, ...(detail ? { detail } : {}), ...(c.knownBug ? { knownBug: c.knownBug } : {}) });
    }

    const count = (o: Outcome) => results.filter((r) => r.outcome === o).length;
    const lines = results.filter((r) => r.outcome !== 'identical' && r.outcome !== 'documented');
    for (const r of lines) process.stdout.write(`${r.outcome}: ${r.query}${r.knownBug ? ` [${r.knownBug}]` : ''}${r.detail ? `\n    ${r.detail}` : ''}\n`);
    process.stdout.write(
      `side-by-side: ${count('identical') + count('bug fixed')}/${results.length} queries identical, ` +
        `${count('documented')} documented 2.x/3.x differences as documented, ${count('known bug')} known bugs, ${count('DIFFERENT')} new differences\n`,
    );
    if (process.env.SIDE_BY_SIDE_REPORT) writeFileSync(process.env.SIDE_BY_SIDE_REPORT, JSON.stringify(lines, null, 2));
    const failures = results.filter((r) => r.outcome === 'DIFFERENT');
    assert.deepEqual(failures, [], `${failures.length} unexpected differences:\n${failures.map((f) => `${f.query}\n  ${f.detail}`).join('\n')}`);
  });
});
