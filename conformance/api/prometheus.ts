/**
 * Prometheus HTTP API contract suite: the same requests go to Debian's Prometheus 2.42 and to
 * Lookout holding the same remote-written data (test/support/prometheus-peer.ts), and the
 * answers are compared: HTTP status, Content-Type, envelope (status, errorType), the JSON
 * shape of `data`, and where the data must be the same (query results, series, labels,
 * metadata, exemplars) the data itself; parse errors must carry Prometheus's exact message
 * (with positions).
 *
 *   npm run conformance:api [-- --verbose] [-- --strict]
 *
 * Prints `endpoint: passed/total` per endpoint and a total; --strict exits 1 on any failure.
 * Needs the Debian package `prometheus` (/usr/bin/prometheus).
 */
import { askApi, startPrometheusPeer, type ApiAnswer } from '../../test/support/prometheus-peer.js';

const SCRAPES = 45;
const verbose = process.argv.includes('--verbose');
const strict = process.argv.includes('--strict');

/** How much of two answers must agree beyond HTTP status, Content-Type and the envelope. */
type Compare =
  /** The JSON shape of data (types and object keys; arrays by the shapes of their elements). */
  | 'shape'
  /** As shape, but objects are maps with any keys (flags, metadata). */
  | 'map-shape'
  /** The data itself, arrays compared as sets. */
  | 'data'
  /** Both are errors with the same message. */
  | 'error-text';

interface Check {
  endpoint: string;
  name: string;
  path: string;
  params?: Record<string, string | string[]>;
  method?: 'GET' | 'POST';
  compare: Compare;
  /**
   * A documented Prometheus 2.42 vs 3.x difference (docs/COMPATIBILITY.md; Lookout answers as
   * 3.x does): Lookout's answer must be the one described, and Prometheus's must differ from it.
   */
  documented?: Documented;
}

interface Documented {
  reason: string;
  httpStatus: number;
  /** Lookout's exact error text. */
  error?: string;
  /** Lookout's data is an array this long. */
  dataLength?: number;
}

/** A structural signature: value types and object keys, arrays as the union of their elements' signatures. */
function shape(value: unknown, mapObjects = false): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[${[...new Set(value.map((v) => shape(v, mapObjects)))].sort().join('|')}]`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (mapObjects) return `map<${[...new Set(entries.map(([, v]) => shape(v, mapObjects)))].sort().join('|')}>`;
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}:${shape(v)}`)
      .join(',')}}`;
  }
  return typeof value;
}

/** Arrays become sorted (set semantics) all the way down, so data compares order-free. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical).map((v) => JSON.stringify(v)).sort();
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, canonical(v)]));
  }
  return value;
}

/** An empty array is compatible with any array shape (no elements to disagree about). */
function shapesAgree(a: string, b: string): boolean {
  if (a === b) return true;
  return a.replace(/\[[^[\]]*\]/g, '[]') === b.replace(/\[[^[\]]*\]/g, '[]') && (a.includes('[]') || b.includes('[]'));
}

function differ(ours: ApiAnswer, theirs: ApiAnswer, check: Check): string | undefined {
  if (ours.httpStatus !== theirs.httpStatus) return `HTTP ${ours.httpStatus} vs ${theirs.httpStatus} (${ours.text.slice(0, 160)} | ${theirs.text.slice(0, 160)})`;
  const media = (t: string) => t.split(';')[0]!.trim();
  if (media(ours.contentType) !== media(theirs.contentType)) return `Content-Type ${ours.contentType} vs ${theirs.contentType}`;
  const a = ours.body;
  const b = theirs.body;
  if (a.status !== b.status) return `status ${a.status} vs ${b.status}`;
  if (a.errorType !== b.errorType) return `errorType ${a.errorType} vs ${b.errorType}`;
  // Prometheus 3 adds an `infos` list and always sends `warnings` on errors; 2.42 omits both when empty.
  const envelope = (body: ApiAnswer['body']) =>
    Object.keys(body)
      .filter((k) => !((k === 'warnings' || k === 'infos') && (body[k] ?? []).length === 0))
      .sort()
      .join(',');
  if (envelope(a) !== envelope(b)) return `envelope keys ${envelope(a)} vs ${envelope(b)}`;
  if (a.status !== 'success') {
    if (check.compare === 'error-text' && a.error !== b.error) return `error ${JSON.stringify(a.error)} vs ${JSON.stringify(b.error)}`;
    return undefined;
  }
  const compare = check.compare;
  const sa = shape(a.data, compare === 'map-shape');
  const sb = shape(b.data, compare === 'map-shape');
  if (!shapesAgree(sa, sb)) return `shape ${sa} vs ${sb}`;
  if (compare === 'data') {
    const ca = JSON.stringify(canonical(a.data));
    const cb = JSON.stringify(canonical(b.data));
    if (ca !== cb) return `data ${ca.slice(0, 300)} vs ${cb.slice(0, 300)}`;
  }
  return undefined;
}

/** Whether Lookout answers as the documented difference says, and Prometheus differently; the reason when not. */
function documentedDiffers(ours: ApiAnswer, theirs: ApiAnswer, check: Check, doc: Documented): string | undefined {
  if (ours.httpStatus !== doc.httpStatus) return `Lookout HTTP ${ours.httpStatus}, documented ${doc.httpStatus} (${ours.text.slice(0, 160)})`;
  if (doc.error !== undefined && ours.body.error !== doc.error) return `Lookout error ${JSON.stringify(ours.body.error)}, documented ${JSON.stringify(doc.error)}`;
  if (doc.dataLength !== undefined && (!Array.isArray(ours.body.data) || ours.body.data.length !== doc.dataLength)) {
    return `Lookout data ${JSON.stringify(ours.body.data).slice(0, 160)}, documented ${doc.dataLength} entries`;
  }
  if (ours.body.status === 'success' && theirs.body.status === 'success' && !shapesAgree(shape(ours.body.data), shape(theirs.body.data))) {
    return `shape ${shape(ours.body.data)} vs ${shape(theirs.body.data)}`;
  }
  const strictly = { ...check, compare: check.compare === 'error-text' || ours.body.status !== 'success' ? ('error-text' as const) : ('data' as const) };
  if (differ(ours, theirs, strictly) === undefined) return 'Prometheus answers the same: the documented difference is gone';
  return undefined;
}

const TIME_TEXT = '3.x writes "invalid time value" (2.42: "Invalid time value")';
const RANGE_QUERY_PARAM = '3.x reports query_range query errors as invalid parameter "query" (2.42: the bare error)';
const LIMIT = 'the limit parameter is Prometheus 2.48+; 2.42 ignores it';

function checks(t: number): Check[] {
  const T = String(t);
  const start = String(t - 20);
  const iso = new Date(t * 1000).toISOString();
  const isoStart = new Date((t - 20) * 1000).toISOString();
  const list: Check[] = [];
  const add = (endpoint: string, name: string, path: string, compare: Compare, params: Record<string, string | string[]> = {}, extra: Partial<Check> = {}) =>
    list.push({ endpoint, name, path, params, compare, ...extra });

  // /api/v1/query
  const q = '/api/v1/query';
  add('query', 'instant vector', q, 'data', { query: 'demo_requests_total', time: T });
  add('query', 'instant vector (POST form)', q, 'data', { query: 'demo_requests_total', time: T }, { method: 'POST' });
  add('query', 'scalar', q, 'data', { query: '1.5', time: T });
  add('query', 'scalar NaN', q, 'data', { query: '0/0', time: T });
  add('query', 'scalar -Inf', q, 'data', { query: '-1/0', time: T });
  add('query', 'string', q, 'data', { query: '"hello"', time: T });
  add('query', 'NaN, +Inf, -Inf, 1e+300 sample values', q, 'data', { query: 'demo_special', time: T });
  add('query', 'small and exponent values', q, 'data', { query: 'demo_ratio * 1e-9 or demo_queue_length * 1e22', time: T });
  add('query', 'empty vector', q, 'data', { query: 'nonexistent_metric', time: T });
  add('query', 'matrix (range selector)', q, 'data', { query: 'demo_ratio[5s]', time: T });
  add('query', 'time as RFC 3339', q, 'data', { query: 'demo_ratio', time: iso });
  add('query', 'time with fraction', q, 'data', { query: 'time()', time: `${T}.123` });
  add('query', 'no time (now)', q, 'shape', { query: 'vector(1)' });
  add('query', 'timeout parameter', q, 'data', { query: 'demo_ratio', time: T, timeout: '30s' });
  // Prometheus answers int64-overflow garbage here (time 0); valid JSON of the same shape is the contract.
  add('query', 'time out of range', q, 'shape', { query: 'time()', time: '1e100' });
  add('query', 'negative time', q, 'data', { query: 'time()', time: '-1.5' });
  add('query', 'sub-millisecond time', q, 'data', { query: 'time()', time: `${T}.0005` });
  add('query', 'awkward label values', q, 'data', { query: 'demo_labels', time: T });
  add('query', 'newline in a label value', q, 'data', { query: 'demo_info', time: T });
  add('query', 'bad time', q, 'error-text', { query: 'demo_ratio', time: 'yesterday' }, {
    documented: { reason: TIME_TEXT, httpStatus: 400, error: `invalid parameter "time": invalid time value for 'time': cannot parse "yesterday" to a valid timestamp` },
  });
  add('query', 'bad timeout', q, 'shape', { query: 'demo_ratio', time: T, timeout: 'soon' });
  add('query', 'missing query', q, 'error-text', { time: T }, {
    documented: { reason: '3.x names no position for an empty query ("unknown position"; 2.42: "1:1")', httpStatus: 400, error: 'invalid parameter "query": unknown position: parse error: no expression found in input' },
  });
  add('query', 'many-to-many execution error', q, 'shape', { query: 'demo_requests_total + on(method) demo_requests_total', time: T });
  for (const bad of ['sum(', '1 +', 'demo_ratio{', 'rate(demo_ratio[5m]', 'demo_ratio @ foo', 'foo bar', '{}', 'rate(demo_ratio)', 'sum by (a b) (x)', '"unterminated', '1 ^^ 2']) {
    add('query', `parse error ${bad}`, q, 'error-text', { query: bad, time: T });
  }
  // Prometheus 3.7's duration expressions reworded these two.
  add('query', 'parse error demo_ratio[5x]', q, 'error-text', { query: 'demo_ratio[5x]', time: T }, {
    documented: { reason: '3.x lexes numbers and durations alike: "bad number or duration syntax" (2.42: "bad duration syntax")', httpStatus: 400, error: 'invalid parameter "query": 1:12: parse error: bad number or duration syntax: "5"' },
  });
  add('query', 'parse error demo_ratio offset', q, 'error-text', { query: 'demo_ratio offset', time: T }, {
    documented: {
      reason: '3.x offsets take duration expressions: "expected number, duration, step(), or range()" (2.42: "expected duration")',
      httpStatus: 400,
      error: 'invalid parameter "query": 1:18: parse error: unexpected end of input in offset, expected number, duration, step(), or range()',
    },
  });
  add('query', 'unknown function', q, 'error-text', { query: 'no_such_function(demo_ratio)', time: T });
  add('query', 'wrong argument count', q, 'error-text', { query: 'rate()', time: T });
  add('query', 'wrong argument type', q, 'error-text', { query: 'abs(demo_ratio[5m])', time: T });

  // /api/v1/query_range
  const r = '/api/v1/query_range';
  add('query_range', 'matrix', r, 'data', { query: 'demo_temperature_celsius', start, end: T, step: '5' });
  add('query_range', 'matrix (POST form)', r, 'data', { query: 'demo_temperature_celsius', start, end: T, step: '5' }, { method: 'POST' });
  add('query_range', 'step as duration', r, 'data', { query: 'demo_ratio', start, end: T, step: '5s' });
  add('query_range', 'step with fraction', r, 'data', { query: 'demo_ratio', start, end: T, step: '2.5' });
  add('query_range', 'RFC 3339 start/end', r, 'data', { query: 'demo_ratio', start: isoStart, end: iso, step: '10' });
  add('query_range', 'scalar expression', r, 'data', { query: 'time()', start, end: T, step: '5' });
  add('query_range', 'NaN and Inf values', r, 'data', { query: 'demo_special', start, end: T, step: '10' });
  add('query_range', 'long before the data', r, 'data', { query: 'demo_ratio', start: '1000', end: '1100', step: '10' });
  add('query_range', 'empty result', r, 'data', { query: 'nonexistent_metric', start, end: T, step: '5' });
  add('query_range', 'start = end', r, 'data', { query: 'demo_ratio', start: T, end: T, step: '1' });
  add('query_range', 'string expression', r, 'error-text', { query: '"x"', start, end: T, step: '5' }, {
    documented: { reason: RANGE_QUERY_PARAM, httpStatus: 400, error: 'invalid parameter "query": invalid expression type "string" for range query, must be Scalar or instant Vector' },
  });
  add('query_range', 'range selector', r, 'error-text', { query: 'demo_ratio[5s]', start, end: T, step: '5' }, {
    documented: { reason: RANGE_QUERY_PARAM, httpStatus: 400, error: 'invalid parameter "query": invalid expression type "range vector" for range query, must be Scalar or instant Vector' },
  });
  add('query_range', 'tiny step', r, 'error-text', { query: 'demo_ratio', start, end: T, step: '0.001' });
  add('query_range', 'bad start', r, 'error-text', { query: 'demo_ratio', start: 'x', end: T, step: '5' });
  add('query_range', 'bad end', r, 'error-text', { query: 'demo_ratio', start, end: 'x', step: '5' });
  add('query_range', 'missing step', r, 'error-text', { query: 'demo_ratio', start, end: T });
  add('query_range', 'bad step', r, 'error-text', { query: 'demo_ratio', start, end: T, step: 'often' });
  add('query_range', 'zero step', r, 'error-text', { query: 'demo_ratio', start, end: T, step: '0' });
  add('query_range', 'negative step', r, 'error-text', { query: 'demo_ratio', start, end: T, step: '-5' });
  add('query_range', 'start after end', r, 'error-text', { query: 'demo_ratio', start: T, end: start, step: '5' });
  add('query_range', 'too many points', r, 'error-text', { query: 'demo_ratio', start: String(t - 20000), end: T, step: '1' });
  add('query_range', 'parse error', r, 'error-text', { query: 'sum(', start, end: T, step: '5' }, {
    documented: { reason: RANGE_QUERY_PARAM, httpStatus: 400, error: 'invalid parameter "query": 1:5: parse error: unclosed left parenthesis' },
  });
  add('query_range', 'missing query', r, 'error-text', { start, end: T, step: '5' }, {
    documented: { reason: `${RANGE_QUERY_PARAM}; no position for an empty query`, httpStatus: 400, error: 'invalid parameter "query": unknown position: parse error: no expression found in input' },
  });

  // /api/v1/series
  const s = '/api/v1/series';
  add('series', 'one matcher', s, 'data', { 'match[]': 'demo_requests_total', start, end: T });
  add('series', 'two matchers', s, 'data', { 'match[]': ['demo_temperature_celsius{room="office"}', '{__name__="demo_ratio"}'], start, end: T });
  add('series', 'regex matcher', s, 'data', { 'match[]': '{__name__=~"demo_rpc.*",service="db"}', start, end: T });
  add('series', 'POST form', s, 'data', { 'match[]': 'demo_requests_total', start, end: T }, { method: 'POST' });
  add('series', 'RFC 3339 start/end', s, 'data', { 'match[]': 'demo_queue_length', start: isoStart, end: iso });
  add('series', 'all time', s, 'data', { 'match[]': '{__name__=~"demo_r.*"}' });
  add('series', 'awkward label values', s, 'data', { 'match[]': 'demo_labels{v=~"(?i).*[ü\\\\\\\\].*"}', start, end: T });
  add('series', 'start only', s, 'data', { 'match[]': 'demo_queue_length', start });
  add('series', 'end only', s, 'data', { 'match[]': 'demo_queue_length', end: T });
  add('series', 'long before the data', s, 'data', { 'match[]': 'demo_queue_length', start: '1', end: '2' });
  add('series', 'only empty matchers', s, 'error-text', { 'match[]': '{job=""}', start, end: T });
  add('series', 'empty match[]', s, 'shape', { 'match[]': '', start, end: T });
  add('series', 'no match', s, 'data', { 'match[]': 'nonexistent_metric', start, end: T });
  add('series', 'no match[]', s, 'error-text', { start, end: T });
  add('series', 'bad matcher', s, 'shape', { 'match[]': 'demo_ratio{', start, end: T });
  add('series', 'bad start', s, 'error-text', { 'match[]': 'demo_ratio', start: 'x', end: T }, {
    documented: { reason: TIME_TEXT, httpStatus: 400, error: `invalid parameter "start": invalid time value for 'start': cannot parse "x" to a valid timestamp` },
  });
  add('series', 'start after end', s, 'shape', { 'match[]': 'demo_ratio', start: T, end: start });
  add('series', 'limit', s, 'shape', { 'match[]': 'demo_requests_total', start, end: T, limit: '2' }, { documented: { reason: LIMIT, httpStatus: 200, dataLength: 2 } });

  // /api/v1/labels
  const l = '/api/v1/labels';
  add('labels', 'with match[]', l, 'data', { 'match[]': 'demo_requests_total', start, end: T });
  add('labels', 'two match[]', l, 'data', { 'match[]': ['demo_requests_total', 'demo_info'], start, end: T });
  add('labels', 'POST form', l, 'data', { 'match[]': 'demo_temperature_celsius', start, end: T }, { method: 'POST' });
  add('labels', 'all, in a window', l, 'data', { start, end: T });
  add('labels', 'no params', l, 'shape', {});
  add('labels', 'long before the data', l, 'data', { start: '1', end: '2' });
  add('labels', 'no match', l, 'data', { 'match[]': 'nonexistent_metric', start, end: T });
  add('labels', 'bad matcher', l, 'shape', { 'match[]': '{', start, end: T });
  add('labels', 'bad end', l, 'error-text', { end: 'x' }, {
    documented: { reason: TIME_TEXT, httpStatus: 400, error: `invalid parameter "end": invalid time value for 'end': cannot parse "x" to a valid timestamp` },
  });
  add('labels', 'limit', l, 'shape', { 'match[]': 'demo_requests_total', start, end: T, limit: '2' }, { documented: { reason: LIMIT, httpStatus: 200, dataLength: 2 } });

  // /api/v1/label/<name>/values
  const v = (name: string) => `/api/v1/label/${name}/values`;
  add('label values', 'job', v('job'), 'data', { start, end: T });
  add('label values', '__name__ with match[]', v('__name__'), 'data', { 'match[]': '{__name__=~"demo_r.*"}', start, end: T });
  add('label values', 'method with match[]', v('method'), 'data', { 'match[]': 'demo_requests_total{code="200"}', start, end: T });
  add('label values', 'room', v('room'), 'data', { start, end: T });
  add('label values', '__name__, all time', v('__name__'), 'data', {});
  add('label values', 'awkward values', v('v'), 'data', { start, end: T });
  add('label values', 'long before the data', v('job'), 'data', { start: '1', end: '2' });
  add('label values', 'unknown label', v('no_such_label'), 'data', { start, end: T });
  add('label values', 'newline value', v('text'), 'data', { start, end: T });
  add('label values', 'UTF-8 label name', v('1bad'), 'data', {}, {
    documented: { reason: '3.x accepts any UTF-8 label name (2.42: 400 invalid label name)', httpStatus: 200, dataLength: 0 },
  });
  add('label values', 'bad matcher', v('job'), 'shape', { 'match[]': 'x{', start, end: T });
  add('label values', 'limit', v('room'), 'shape', { start, end: T, limit: '1' }, { documented: { reason: LIMIT, httpStatus: 200, dataLength: 1 } });

  // /api/v1/metadata
  const m = '/api/v1/metadata';
  add('metadata', 'all', m, 'map-shape', {});
  add('metadata', 'one metric', m, 'data', { metric: 'demo_temperature_celsius' });
  add('metadata', 'histogram with unit', m, 'data', { metric: 'demo_request_duration_seconds' });
  add('metadata', 'summary', m, 'data', { metric: 'demo_rpc_latency_seconds' });
  add('metadata', 'OpenMetrics counter family', m, 'data', { metric: 'demo_requests' });
  add('metadata', 'counter by sample name', m, 'data', { metric: 'demo_requests_total' });
  add('metadata', 'unknown metric', m, 'data', { metric: 'nonexistent_metric' });
  add('metadata', 'limit', m, 'map-shape', { limit: '2' });
  add('metadata', 'bad limit', m, 'shape', { limit: 'x' });

  // /api/v1/query_exemplars
  const e = '/api/v1/query_exemplars';
  add('query_exemplars', 'counter exemplars', e, 'data', { query: 'demo_requests_total', start, end: T });
  add('query_exemplars', 'histogram exemplars', e, 'data', { query: 'demo_request_duration_seconds_bucket{path="/api"}', start, end: T });
  add('query_exemplars', 'POST form', e, 'data', { query: 'demo_requests_total', start, end: T }, { method: 'POST' });
  add('query_exemplars', 'no selector', e, 'data', { query: '1 + 1', start, end: T });
  add('query_exemplars', 'two selectors', e, 'data', { query: 'demo_requests_total / on() group_left demo_request_duration_seconds_bucket{le="0.5",path="/login"}', start, end: T });
  add('query_exemplars', 'none', e, 'data', { query: 'demo_ratio', start, end: T });
  add('query_exemplars', 'parse error', e, 'shape', { query: 'sum(', start, end: T });
  add('query_exemplars', 'bad start', e, 'shape', { query: 'demo_requests_total', start: 'x', end: T });

  // status and targets
  add('status/buildinfo', 'buildinfo', '/api/v1/status/buildinfo', 'shape');
  add('status/flags', 'flags', '/api/v1/status/flags', 'map-shape');
  add('status/config', 'config', '/api/v1/status/config', 'shape');
  add('format_query', 'format', '/api/v1/format_query', 'data', { query: 'sum(rate(demo_requests_total{code="500"}[5m]))by(method)/ignoring(code)group_left sum(x)' });
  add('format_query', 'parse error', '/api/v1/format_query', 'error-text', { query: 'sum(' });
  add('targets', 'all', '/api/v1/targets', 'map-shape');
  add('targets', 'scrapePool=twin', '/api/v1/targets', 'shape', { scrapePool: 'twin' });
  add('targets', 'state=active', '/api/v1/targets', 'map-shape', { state: 'active' });
  add('targets', 'state=dropped', '/api/v1/targets', 'shape', { state: 'dropped' });
  return list;
}

async function main(): Promise<void> {
  const peer = await startPrometheusPeer({ scrapes: SCRAPES, twinScrape: true });
  let failures = 0;
  try {
    // A window clear of the first scrapes (which race Prometheus's remote-write start-up).
    const t = Math.floor(peer.firstScrapeMs / 1000) + SCRAPES - 8;
    await peer.waitForRemoteWrite(t + 5);
    // Metadata is sent every 2 s: wait until Lookout has the families Prometheus has.
    const families = async (base: string) => Object.keys(((await askApi(base, '/api/v1/metadata')).body.data ?? {}) as object).length;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (await families(peer.lookout.url)) < (await families(peer.promUrl))) await new Promise((r) => setTimeout(r, 500));

    const byEndpoint = new Map<string, { passed: number; total: number }>();
    const documented: string[] = [];
    for (const check of checks(t)) {
      const [ours, theirs] = await Promise.all([
        askApi(peer.lookout.url, check.path, check.params, check.method),
        askApi(peer.promUrl, check.path, check.params, check.method),
      ]);
      const why = check.documented ? documentedDiffers(ours, theirs, check, check.documented) : differ(ours, theirs, check);
      const counts = byEndpoint.get(check.endpoint) ?? { passed: 0, total: 0 };
      counts.total++;
      if (why === undefined) counts.passed++;
      else failures++;
      byEndpoint.set(check.endpoint, counts);
      if (check.documented) documented.push(`${check.endpoint} ${check.name}: ${check.documented.reason}${why === undefined ? '' : ' (NOT as documented)'}`);
      if (why !== undefined || verbose) console.log(`${why === undefined ? 'ok  ' : 'FAIL'} ${check.endpoint} ${check.name}${why ? `\n       ${why}` : ''}`);
    }
    let passed = 0;
    let total = 0;
    for (const [endpoint, counts] of byEndpoint) {
      console.log(`${endpoint}: ${counts.passed}/${counts.total}`);
      passed += counts.passed;
      total += counts.total;
    }
    console.log(`total: ${passed}/${total}`);
    if (documented.length > 0) console.log(`documented 2.42 vs 3.x differences (Lookout checked against the 3.x answer):\n  ${documented.join('\n  ')}`);
  } finally {
    await peer.stop();
  }
  if (strict && failures > 0) process.exitCode = 1;
}

await main();
