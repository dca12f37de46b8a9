import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogqlError } from '../errors.js';
import { createLogqlEngine } from './index.js';
import { memoryLogQuerier, type MemoryEntry } from './memory-querier.js';

const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S;
const at = (seconds: number) => T0 + BigInt(seconds) * S;

const app = { app: 'api', env: 'prod' };
const web = { app: 'web', env: 'prod' };
const entries: MemoryEntry[] = [
  { timestampNs: at(1), line: 'level=info msg="started" duration=1.5s size=1KB status=200', stream: app },
  { timestampNs: at(2), line: 'level=error msg="boom" duration=250ms size=2KB status=500', stream: app, metadata: { trace_id: 'abc' } },
  { timestampNs: at(3), line: '{"level":"info","user":{"id":7,"name":"ann"},"latency":0.25,"tags":["a"],"ok":true,"nil":null}', stream: web },
  { timestampNs: at(4), line: '{"level":"error","user":{"id":8},"latency":"oops"}', stream: web },
  { timestampNs: at(5), line: 'not json at all 10.0.0.7 GET /x', stream: web },
  { timestampNs: at(6), line: 'level=warn msg="slow" duration=3s status=404', stream: app },
];

function engine(extra: MemoryEntry[] = []) {
  const logs = memoryLogQuerier([...entries, ...extra]);
  return { logs, engine: createLogqlEngine({ logs }) };
}

async function lines(query: string, direction: 'forward' | 'backward' = 'forward') {
  const { engine: e } = engine();
  const r = await e.query({ tenant: 't', query, startNs: at(0), endNs: at(10), limit: 100, direction });
  assert.equal(r.value.type, 'streams');
  if (r.value.type !== 'streams') throw new Error();
  return r.value.streams.flatMap((s) => s.entries.map((e) => ({ ts: Number((e.timestampNs - T0) / S), line: e.line, labels: s.stream }))).sort((a, b) => a.ts - b.ts);
}

async function instant(query: string, timeSec = 10) {
  const { engine: e } = engine();
  const r = await e.query({ tenant: 't', query, startNs: at(timeSec), endNs: at(timeSec), limit: 100, direction: 'backward', instant: true });
  return r.value;
}

async function vector(query: string, timeSec = 10) {
  const v = await instant(query, timeSec);
  assert.equal(v.type, 'vector');
  if (v.type !== 'vector') throw new Error();
  const key = (l: Record<string, string>) => JSON.stringify(Object.entries(l).sort());
  return v.samples.map((s) => ({ labels: s.labels, value: s.value })).sort((a, b) => (key(a.labels) < key(b.labels) ? -1 : 1));
}

describe('log queries', () => {
  it('selects streams by matchers and applies line filters', async () => {
    assert.deepEqual((await lines('{app="api"} |= "error"')).map((l) => l.ts), [2]);
    assert.deepEqual((await lines('{app=~"api|web"} != "level"')).map((l) => l.ts), [5]);
    assert.deepEqual((await lines('{env="prod"} |~ "(?i)BOOM|slow"')).map((l) => l.ts), [2, 6]);
    assert.deepEqual((await lines('{env="prod"} !~ "level|json"')).map((l) => l.ts), []);
  });
  it('chains alternatives with or (positive: any; negative: none)', async () => {
    assert.deepEqual((await lines('{env="prod"} |= "boom" or "slow"')).map((l) => l.ts), [2, 6]);
    assert.deepEqual((await lines('{app="api"} != "boom" or "slow"')).map((l) => l.ts), [1]);
  });
  it('matches ip() and patterns', async () => {
    assert.deepEqual((await lines('{app="web"} |= ip("10.0.0.0/8")')).map((l) => l.ts), [5]);
    assert.deepEqual((await lines('{app="web"} != ip("10.0.0.1-10.0.0.9")')).map((l) => l.ts), [3, 4]);
    assert.deepEqual((await lines('{app="web"} |> "not <_> at all <_>"')).map((l) => l.ts), [5]);
    assert.deepEqual((await lines('{app="web"} !> "not <_>"')).map((l) => l.ts), [3, 4]);
  });
  it('returns newest first with backward direction and honours limit', async () => {
    const { engine: e } = engine();
    const r = await e.query({ tenant: 't', query: '{env="prod"}', startNs: at(0), endNs: at(10), limit: 2, direction: 'backward' });
    assert.equal(r.value.type, 'streams');
    if (r.value.type !== 'streams') return;
    const got = r.value.streams.flatMap((s) => s.entries.map((x) => Number((x.timestampNs - T0) / S)));
    assert.deepEqual(got.sort(), [5, 6]);
  });
  it('refuses log queries as instant queries', async () => {
    await assert.rejects(instant('{app="api"}'), (e: unknown) => e instanceof LogqlError && e.httpStatus === 400);
  });
  it('parses logfmt and filters on numbers, durations and bytes', async () => {
    assert.deepEqual((await lines('{app="api"} | logfmt | status >= 400')).map((l) => l.ts), [2, 6]);
    assert.deepEqual((await lines('{app="api"} | logfmt | duration > 1s')).map((l) => l.ts), [1, 6]);
    assert.deepEqual((await lines('{app="api"} | logfmt | size > 1.5KB')).map((l) => l.ts), [2]);
    assert.deepEqual((await lines('{app="api"} | logfmt | level="error" or status==404')).map((l) => l.ts), [2, 6]);
    const [first] = await lines('{app="api"} | logfmt | status=200');
    assert.equal(first!.labels.msg, 'started');
    assert.equal(first!.labels.app, 'api');
  });
  it('parses json with flattening, keeps number text, skips arrays and null; errors on invalid json', async () => {
    const got = await lines('{app="web"} | json');
    assert.equal(got[0]!.labels.user_id, '7');
    assert.equal(got[0]!.labels.user_name, 'ann');
    assert.equal(got[0]!.labels.latency, '0.25');
    assert.equal(got[0]!.labels.ok, 'true');
    assert.equal(got[0]!.labels.tags, undefined);
    assert.equal(got[0]!.labels.nil, undefined);
    assert.equal(got[0]!.labels.__error__, undefined);
    assert.equal(got[2]!.labels.__error__, 'JSONParserErr');
    assert.ok(got[2]!.labels.__error_details__);
    // Filtering on __error__ as Loki documents.
    assert.deepEqual((await lines('{app="web"} | json | __error__=""')).map((l) => l.ts), [3, 4]);
    assert.deepEqual((await lines('{app="web"} | json | __error__!=""')).map((l) => l.ts), [5]);
    // drop __error__ clears the error (details stay unless dropped too), so metrics work again.
    const dropped = await lines('{app="web"} | json | drop __error__');
    assert.equal(dropped[2]!.labels.__error__, undefined);
    assert.ok(dropped[2]!.labels.__error_details__);
    assert.deepEqual(await vector('sum(count_over_time({app="web"} | json | drop __error__, __error_details__ [1m]))'), [{ labels: {}, value: 3 }]);
  });
  it('json with parameters extracts paths', async () => {
    const got = await lines('{app="web"} | json uid="user.id", first_tag="tags[0]", user | __error__=""');
    assert.equal(got[0]!.labels.uid, '7');
    assert.equal(got[0]!.labels.first_tag, 'a');
    assert.equal(got[0]!.labels.user, '{"id":7,"name":"ann"}');
  });
  it('renames parsed labels that clash with stream labels to <name>_extracted', async () => {
    // label_format a=b renames: the source label is gone.
    const got = await lines('{app="api"} | logfmt | label_format app2=app');
    assert.equal(got[0]!.labels.app2, 'api');
    assert.equal(got[0]!.labels.app, undefined);
    const clash = await lines('{app="web"} |= "not json" | regexp "(?P<app>\\\\w+) json" | __error__=""');
    assert.equal(clash[0]!.labels.app_extracted, 'not');
    assert.equal(clash[0]!.labels.app, 'web');
  });
  it('a numeric filter on an unconvertible value keeps the line flagged LabelFilterErr; missing labels drop it', async () => {
    const got = await lines('{app="web"} | json | latency > 0.1');
    assert.deepEqual(got.map((l) => l.ts), [3, 4]);
    assert.equal(got[1]!.labels.__error__, 'LabelFilterErr');
  });
  it('regexp, pattern and unpack parsers', async () => {
    const re = await lines('{app="web"} | regexp "(?P<ip>\\\\d+\\\\.\\\\d+\\\\.\\\\d+\\\\.\\\\d+) (?P<method>\\\\w+)" | method="GET"');
    assert.equal(re[0]!.labels.ip, '10.0.0.7');
    const pat = await lines('{app="web"} |= "GET" | pattern "<_> at all <ip> <method> <path>"');
    assert.deepEqual([pat[0]!.labels.ip, pat[0]!.labels.method, pat[0]!.labels.path], ['10.0.0.7', 'GET', '/x']);
    const { engine: e } = engine([{ timestampNs: at(7), line: '{"_entry":"inner line","pod":"p1","n":3}', stream: { app: 'packed' } }]);
    const r = await e.query({ tenant: 't', query: '{app="packed"} | unpack', startNs: at(0), endNs: at(10), limit: 10, direction: 'forward' });
    if (r.value.type !== 'streams') throw new Error();
    assert.equal(r.value.streams[0]!.entries[0]!.line, 'inner line');
    assert.equal(r.value.streams[0]!.stream.pod, 'p1');
    assert.equal(r.value.streams[0]!.stream.n, undefined);
  });
  it('logfmt --strict stops at errors, --keep-empty keeps standalone keys', async () => {
    const { engine: e } = engine([{ timestampNs: at(7), line: 'a=1 standalone b="x', stream: { app: 'lf' } }]);
    const run = async (q: string) => {
      const r = await e.query({ tenant: 't', query: q, startNs: at(0), endNs: at(10), limit: 10, direction: 'forward' });
      if (r.value.type !== 'streams') throw new Error();
      return r.value.streams[0]!.stream;
    };
    assert.equal((await run('{app="lf"} | logfmt')).a, '1');
    assert.equal((await run('{app="lf"} | logfmt')).__error__, undefined);
    assert.equal((await run('{app="lf"} | logfmt --strict')).__error__, 'LogfmtParserErr');
    assert.ok('standalone' in (await run('{app="lf"} | logfmt --keep-empty')) === false, 'empty values are not shown as labels');
  });
  it('line_format and label_format with template functions', async () => {
    const got = await lines('{app="api"} | logfmt | line_format "{{.level | ToUpper}} {{ printf \\"%05d\\" (int .status) }} {{ if eq .level \\"error\\" }}BAD{{ else }}ok{{ end }}"');
    assert.deepEqual(got.map((l) => l.line), ['INFO 00200 ok', 'ERROR 00500 BAD', 'WARN 00404 ok']);
    const lf = await lines('{app="api"} | logfmt | label_format lvl=level, combined="{{.app}}-{{.status}}" | keep lvl, combined');
    assert.deepEqual(lf[0]!.labels, { lvl: 'info', combined: 'api-200' });
    const fn = await lines('{app="api"} |= "boom" | logfmt | line_format `{{ __line__ | trunc 9 }}|{{ .msg | title }}|{{ regexReplaceAll "(\\\\d+)ms" .duration "${1}" }}|{{ default "none" .missing }}`');
    assert.equal(fn[0]!.line, 'level=err|Boom|250|none');
  });
  it('drop, keep (with matchers) and decolorize', async () => {
    const dropped = await lines('{app="api"} | logfmt | drop msg, duration, size, level="info", status');
    assert.deepEqual(dropped[0]!.labels, { app: 'api', env: 'prod' });
    assert.deepEqual(dropped[1]!.labels, { app: 'api', env: 'prod', level: 'error', trace_id: 'abc' });
    const kept = await lines('{app="api"} | logfmt | keep app, level="error"');
    assert.deepEqual(kept[1]!.labels, { app: 'api', level: 'error' });
    assert.deepEqual(kept[0]!.labels, { app: 'api' });
    const { engine: e } = engine([{ timestampNs: at(7), line: '\u001b[31mred\u001b[0m text', stream: { app: 'color' } }]);
    const r = await e.query({ tenant: 't', query: '{app="color"} | decolorize', startNs: at(0), endNs: at(10), limit: 10, direction: 'forward' });
    if (r.value.type !== 'streams') throw new Error();
    assert.equal(r.value.streams[0]!.entries[0]!.line, 'red text');
  });
  it('reports structured metadata and parsed labels separately', async () => {
    const { engine: e } = engine();
    const r = await e.query({ tenant: 't', query: '{app="api"} |= "boom" | logfmt', startNs: at(0), endNs: at(10), limit: 10, direction: 'forward' });
    if (r.value.type !== 'streams') throw new Error();
    const entry = r.value.streams[0]!.entries[0]!;
    assert.deepEqual(entry.structuredMetadata, { trace_id: 'abc' });
    assert.equal(entry.parsed.level, 'error');
    assert.equal(r.value.streams[0]!.stream.trace_id, 'abc');
  });
});

describe('metric queries', () => {
  it('count_over_time, rate, bytes_over_time, bytes_rate per stream (windows are left-open)', async () => {
    assert.deepEqual(await vector('count_over_time({app="api"}[10s])'), [
      { labels: { ...app, trace_id: 'abc' }, value: 1 },
      { labels: app, value: 2 },
    ]);
    // (1s, 6s]: the line at exactly 1s is outside.
    assert.deepEqual(await vector('sum(count_over_time({app="api"}[5s]))', 6), [{ labels: {}, value: 2 }]);
    assert.ok(Math.abs((await vector('sum(rate({app="api"}[10s]))'))[0]!.value - 0.3) < 1e-12);
    const bytes = entries.filter((x) => x.stream.app === 'web').reduce((a, x) => a + Buffer.byteLength(x.line), 0);
    assert.deepEqual(await vector('bytes_over_time({app="web"}[1m])'), [{ labels: web, value: bytes }]);
    assert.deepEqual(await vector('bytes_rate({app="web"}[10s])'), [{ labels: web, value: bytes / 10 }]);
  });
  it('offset shifts the window', async () => {
    // (10s-4s-2s, 10s-4s] = (4s, 6s]: the lines at 5s and 6s.
    assert.deepEqual(await vector('sum(count_over_time({env="prod"}[2s] offset 4s))', 10), [{ labels: {}, value: 2 }]);
  });
  it('range queries produce a point per step', async () => {
    const { engine: e } = engine();
    const r = await e.query({ tenant: 't', query: 'sum by (app) (count_over_time({env="prod"}[2s]))', startNs: at(2), endNs: at(6), stepMs: 2000, limit: 100, direction: 'backward' });
    assert.equal(r.value.type, 'matrix');
    if (r.value.type !== 'matrix') return;
    const api = r.value.series.find((s) => s.labels.app === 'api')!;
    assert.deepEqual(api.points.map((p) => [(p.timestampMs - Number(T0 / 1_000_000n)) / 1000, p.value]), [[2, 2], [6, 1]]);
    const webSeries = r.value.series.find((s) => s.labels.app === 'web')!;
    assert.deepEqual(webSeries.points.map((p) => p.value), [2, 1]);
  });
  it('sum by (level) over count_over_time with json — the benchmark query', async () => {
    assert.deepEqual(await vector('sum by (level) (count_over_time({app="web"} | json | __error__="" [1m]))'), [
      { labels: { level: 'error' }, value: 1 },
      { labels: { level: 'info' }, value: 1 },
    ]);
  });
  it('fails with Loki\'s pipeline error when errors reach a metric, unless filtered', async () => {
    await assert.rejects(vector('count_over_time({app="web"} | json [1m])'), /pipeline error: 'JSONParserErr' for series/);
    await assert.rejects(vector('sum(count_over_time({app="web"} | json [1m]))'), /pipeline error/);
  });
  it('unwrap with conversions; conversion errors are SampleExtractionErr and can be filtered after unwrap', async () => {
    assert.deepEqual(await vector('sum_over_time({app="api"} | logfmt | unwrap status [1m])'), [
      { labels: { ...app, duration: '1.5s', level: 'info', msg: 'started', size: '1KB' }, value: 200 },
      { labels: { ...app, duration: '250ms', level: 'error', msg: 'boom', size: '2KB', trace_id: 'abc' }, value: 500 },
      { labels: { ...app, duration: '3s', level: 'warn', msg: 'slow' }, value: 404 },
    ]);
    assert.deepEqual(await vector('sum(sum_over_time({app="api"} | logfmt | unwrap duration(duration) [1m]))'), [{ labels: {}, value: 4.75 }]);
    assert.deepEqual(await vector('sum(max_over_time({app="api"} | logfmt | unwrap bytes(size) [1m]) by (app))'), [{ labels: {}, value: 2000 }]);
    // Without grouping every label set is its own series: 1KB and 2KB.
    assert.deepEqual(await vector('sum(max_over_time({app="api"} | logfmt | unwrap bytes(size) [1m]))'), [{ labels: {}, value: 3000 }]);
    await assert.rejects(vector('sum(sum_over_time({app="web"} | json | __error__="" | unwrap latency [1m]))'), /pipeline error: 'SampleExtractionErr'/);
    assert.deepEqual(await vector('sum(sum_over_time({app="web"} | json | __error__="" | unwrap latency | __error__="" [1m]))'), [{ labels: {}, value: 0.25 }]);
  });
  it('avg/min/max/stddev/stdvar/quantile/first/last_over_time with grouping', async () => {
    const q = (fn: string) => vector(`${fn}({app="api"} | logfmt | unwrap status [1m]) by (app)`);
    assert.deepEqual(await q('avg_over_time'), [{ labels: { app: 'api' }, value: (200 + 500 + 404) / 3 }]);
    assert.deepEqual(await q('min_over_time'), [{ labels: { app: 'api' }, value: 200 }]);
    assert.deepEqual(await q('max_over_time'), [{ labels: { app: 'api' }, value: 500 }]);
    assert.deepEqual(await q('first_over_time'), [{ labels: { app: 'api' }, value: 200 }]);
    assert.deepEqual(await q('last_over_time'), [{ labels: { app: 'api' }, value: 404 }]);
    const mean = (200 + 500 + 404) / 3;
    const variance = ((200 - mean) ** 2 + (500 - mean) ** 2 + (404 - mean) ** 2) / 3;
    assert.ok(Math.abs((await q('stdvar_over_time'))[0]!.value - variance) < 1e-9);
    assert.ok(Math.abs((await q('stddev_over_time'))[0]!.value - Math.sqrt(variance)) < 1e-9);
    assert.deepEqual(await vector('quantile_over_time(0.5, {app="api"} | logfmt | unwrap status [1m]) by (app)'), [{ labels: { app: 'api' }, value: 404 }]);
  });
  it('rate_counter extrapolates like Prometheus rate', async () => {
    const { engine: e } = engine([
      { timestampNs: at(1), line: 'c=10', stream: { app: 'ctr' } },
      { timestampNs: at(5), line: 'c=20', stream: { app: 'ctr' } },
      { timestampNs: at(9), line: 'c=5', stream: { app: 'ctr' } },
    ]);
    const r = await e.query({ tenant: 't', query: 'rate_counter({app="ctr"} | logfmt | unwrap c [10s])', startNs: at(10), endNs: at(10), limit: 1, direction: 'backward', instant: true });
    if (r.value.type !== 'vector') throw new Error();
    // increase 10 + reset 20 + 5 = 15 over 8s sampled, extrapolated to start (0.5s... capped) and end.
    assert.ok(r.value.samples[0]!.value > 1.5 && r.value.samples[0]!.value < 2.5, String(r.value.samples[0]!.value));
  });
  it('absent_over_time returns 1 with the equality labels only when nothing matched', async () => {
    assert.deepEqual(await vector('absent_over_time({app="nope", env=~"p.*"}[1m])'), [{ labels: { app: 'nope' }, value: 1 }]);
    assert.deepEqual(await vector('absent_over_time({app="api"}[1m])'), []);
  });
  it('vector aggregations: sum avg min max count topk bottomk sort sort_desc stddev stdvar, by and without', async () => {
    const base = 'count_over_time({env="prod"} | drop trace_id [1m])';
    assert.deepEqual(await vector(`sum(${base})`), [{ labels: {}, value: 6 }]);
    assert.deepEqual(await vector(`avg(${base})`), [{ labels: {}, value: 3 }]);
    assert.deepEqual(await vector(`min(${base})`), [{ labels: {}, value: 3 }]);
    assert.deepEqual(await vector(`max without (app) (${base})`), [{ labels: { env: 'prod' }, value: 3 }]);
    assert.deepEqual(await vector(`count by (env) (${base})`), [{ labels: { env: 'prod' }, value: 2 }]);
    assert.deepEqual(await vector(`stddev(${base})`), [{ labels: {}, value: 0 }]);
    assert.deepEqual(await vector(`stdvar(${base})`), [{ labels: {}, value: 0 }]);
    const byLevel = 'sum by (level) (count_over_time({app="api"} | logfmt [1m]))';
    assert.deepEqual((await vector(`topk(1, ${byLevel})`)).length, 1);
    assert.deepEqual(await vector(`bottomk(2, sum by (app) (count_over_time({env="prod"}[5s])))`, 5), [
      { labels: { app: 'api' }, value: 2 },
      { labels: { app: 'web' }, value: 3 },
    ]);
    const sorted = await instant('sort_desc(sum by (app) (count_over_time({env="prod"}[5s])))', 5);
    if (sorted.type !== 'vector') throw new Error();
    assert.deepEqual(sorted.samples.map((s) => s.labels.app), ['web', 'api']);
    const asc = await instant('sort(sum by (app) (count_over_time({env="prod"}[5s])))', 5);
    if (asc.type !== 'vector') throw new Error();
    assert.deepEqual(asc.samples.map((s) => s.labels.app), ['api', 'web']);
  });
  it('binary operations between metric queries, with scalars, bool, on/ignoring, group_left/right and set operators', async () => {
    const byApp = 'sum by (app) (count_over_time({env="prod"}[1m]))';
    assert.deepEqual(await vector(`${byApp} * 2`), [{ labels: { app: 'api' }, value: 6 }, { labels: { app: 'web' }, value: 6 }]);
    assert.deepEqual(await vector(`${byApp} / ${byApp}`), [{ labels: { app: 'api' }, value: 1 }, { labels: { app: 'web' }, value: 1 }]);
    const errors = 'sum by (app) (count_over_time({env="prod"} |~ "error" [1m]))';
    assert.deepEqual(await vector(`${errors} / ${byApp}`), [{ labels: { app: 'api' }, value: 1 / 3 }, { labels: { app: 'web' }, value: 1 / 3 }]);
    assert.deepEqual(await vector(`${byApp} > 2`), [{ labels: { app: 'api' }, value: 3 }, { labels: { app: 'web' }, value: 3 }]);
    assert.deepEqual(await vector(`${byApp} > bool 3`), [{ labels: { app: 'api' }, value: 0 }, { labels: { app: 'web' }, value: 0 }]);
    assert.deepEqual(await vector(`${byApp} - on () group_left sum(count_over_time({env="prod"}[1m]))`), [
      { labels: { app: 'api' }, value: -3 },
      { labels: { app: 'web' }, value: -3 },
    ]);
    assert.deepEqual(await vector(`sum(count_over_time({env="prod"}[1m])) + on () group_right ${byApp}`), [
      { labels: { app: 'api' }, value: 9 },
      { labels: { app: 'web' }, value: 9 },
    ]);
    const byAppEnv = 'sum by (app, env) (count_over_time({env="prod"}[1m]))';
    assert.deepEqual(await vector(`${byAppEnv} + ignoring (env) ${byApp}`), [{ labels: { app: 'api' }, value: 6 }, { labels: { app: 'web' }, value: 6 }]);
    assert.deepEqual(await vector(`${byApp} and ${errors}`), [{ labels: { app: 'api' }, value: 3 }, { labels: { app: 'web' }, value: 3 }]);
    assert.deepEqual(await vector(`${byApp} unless sum by (app) (count_over_time({app="api"}[1m]))`), [{ labels: { app: 'web' }, value: 3 }]);
    assert.deepEqual(await vector(`sum by (app) (count_over_time({app="api"}[1m])) or ${byApp}`), [{ labels: { app: 'api' }, value: 3 }, { labels: { app: 'web' }, value: 3 }]);
    assert.deepEqual(await instant('2 * 3 + 1'), { type: 'scalar', timestampMs: Number(at(10) / 1_000_000n), value: 7 });
  });
  it('vector() and label_replace', async () => {
    assert.deepEqual(await vector('vector(4)'), [{ labels: {}, value: 4 }]);
    assert.deepEqual(await vector('sum by (app) (count_over_time({app="api"}[1m])) or vector(0)'), [{ labels: { app: 'api' }, value: 3 }, { labels: {}, value: 0 }]);
    assert.deepEqual(await vector('label_replace(sum by (app) (count_over_time({app="api"}[1m])), "svc", "s-$1", "app", "(a.*)")'), [
      { labels: { app: 'api', svc: 's-api' }, value: 3 },
    ]);
  });
  it('limits series as Loki does', async () => {
    const many: MemoryEntry[] = Array.from({ length: 5 }, (_x, i) => ({ timestampNs: at(1), line: 'x', stream: { app: 'many', i: String(i) } }));
    const logs = memoryLogQuerier(many);
    const e = createLogqlEngine({ logs, maxSeries: 3 });
    await assert.rejects(
      e.query({ tenant: 't', query: 'count_over_time({app="many"}[1m])', startNs: at(10), endNs: at(10), limit: 1, direction: 'backward', instant: true }),
      /maximum number of series \(3\) reached/,
    );
  });
});

describe('pushdown', () => {
  it('sends stream matchers and line filters before any line-rewriting stage to storage', async () => {
    const { engine: e, logs } = engine();
    await e.query({ tenant: 't', query: '{app="api"} |= "a" != "b" |~ "c" | logfmt |= "d" | line_format "x" |= "e"', startNs: at(0), endNs: at(10), limit: 10, direction: 'forward' });
    const sel = logs.selects.at(-1)!;
    assert.deepEqual(sel.matchers, [{ type: '=', name: 'app', value: 'api' }]);
    assert.deepEqual(sel.lineFilters.map((f) => [f.kind, f.negate, f.values]), [
      ['contains', false, ['a']],
      ['contains', true, ['b']],
      ['regex', false, ['c']],
      ['contains', false, ['d']],
    ]);
  });
  it('count_over_time without a parser is computed from storage buckets', async () => {
    const { engine: e, logs } = engine();
    await e.query({ tenant: 't', query: 'count_over_time({app="api"} |= "level" [1m])', startNs: at(10), endNs: at(10), limit: 10, direction: 'forward', instant: true });
    assert.equal(logs.selects.length, 0, 'no lines were pulled into Node');
  });
});
