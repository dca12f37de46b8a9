/**
 * The parser examples of Loki's documentation (docs/sources/query/log_queries), with the labels
 * the documentation says they produce.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogqlEngine } from './index.js';
import { memoryLogQuerier } from './memory-querier.js';

const T = 1_700_000_000_000_000_000n;

async function run(line: string, pipeline: string, stream: Record<string, string> = { job: 'docs' }) {
  const logs = memoryLogQuerier([{ timestampNs: T, line, stream }]);
  const r = await createLogqlEngine({ logs }).query({ tenant: 't', query: `{job="docs"} ${pipeline}`, startNs: T, endNs: T + 1n, limit: 10, direction: 'forward' });
  if (r.value.type !== 'streams') throw new Error('not streams');
  const s = r.value.streams[0]!;
  return { labels: s.stream, line: s.entries[0]!.line, parsed: s.entries[0]!.parsed };
}

const JSON_LINE =
  '{"protocol": "HTTP/2.0", "servers": ["129.0.1.1","10.2.1.3"], "request": {"time": "6.032", "method": "GET", "host": "foo.grafana.net", "size": "55", "headers": {"Accept": "*/*", "User-Agent": "curl/7.68.0"}}, "response": {"status": 401, "size": "228", "latency_seconds": "6.031"}}';

describe("Loki documentation's parser examples", () => {
  it('json without parameters', async () => {
    const { parsed } = await run(JSON_LINE, '| json');
    assert.deepEqual(parsed, {
      protocol: 'HTTP/2.0',
      request_time: '6.032',
      request_method: 'GET',
      request_host: 'foo.grafana.net',
      request_size: '55',
      request_headers_Accept: '*/*',
      request_headers_User_Agent: 'curl/7.68.0',
      response_status: '401',
      response_size: '228',
      response_latency_seconds: '6.031',
    });
  });
  it('json with parameters', async () => {
    const a = await run(JSON_LINE, '| json first_server="servers[0]", ua="request.headers[\\"User-Agent\\"]"');
    assert.deepEqual(a.parsed, { first_server: '129.0.1.1', ua: 'curl/7.68.0' });
    const b = await run(JSON_LINE, '| json server_list="servers", headers="request.headers"');
    assert.deepEqual(b.parsed, { server_list: '["129.0.1.1","10.2.1.3"]', headers: '{"Accept": "*/*", "User-Agent": "curl/7.68.0"}' });
  });
  it('logfmt', async () => {
    const { parsed } = await run('at=info method=GET path=/ host=grafana.net fwd="124.133.124.161" service=8ms status=200', '| logfmt');
    assert.deepEqual(parsed, { at: 'info', method: 'GET', path: '/', host: 'grafana.net', fwd: '124.133.124.161', service: '8ms', status: '200' });
    const p = await run('at=info method=GET path=/ host=grafana.net fwd="124.133.124.161" service=8ms status=200', '| logfmt host, fwd_ip="fwd"');
    assert.deepEqual(p.parsed, { host: 'grafana.net', fwd_ip: '124.133.124.161' });
  });
  it('pattern', async () => {
    const line = '0.191.12.2 - - [10/Jun/2021:09:14:29 +0000] "GET /api/plugins/versioncheck HTTP/1.1" 200 2 "-" "Go-http-client/2.0" "13.76.247.102, 34.120.177.193" "TLSv1.2" "US" ""';
    const { parsed } = await run(line, '| pattern `<ip> - - <_> "<method> <uri> <_>" <status> <size> <_> "<agent>" <_>`');
    assert.deepEqual(parsed, { ip: '0.191.12.2', method: 'GET', uri: '/api/plugins/versioncheck', status: '200', size: '2', agent: 'Go-http-client/2.0' });
  });
  it('regexp', async () => {
    const { parsed } = await run('POST /api/prom/api/v1/query_range (200) 1.5s', '| regexp "(?P<method>\\\\w+) (?P<path>[\\\\w|/]+) \\\\((?P<status>\\\\d+?)\\\\) (?P<duration>.*)"');
    assert.deepEqual(parsed, { method: 'POST', path: '/api/prom/api/v1/query_range', status: '200', duration: '1.5s' });
  });
  it('unpack', async () => {
    const r = await run('{"container":"myapp","pod":"pod-3223f","_entry":"original log message"}', '| unpack');
    assert.deepEqual(r.parsed, { container: 'myapp', pod: 'pod-3223f' });
    assert.equal(r.line, 'original log message');
  });
  it('label filter and line_format example', async () => {
    const r = await run('level=info ts=2020-10-23T20:32:18.094668233Z caller=metrics.go:81 org_id=29 traceID=1980d41501b57b68 latency=fast query="{cluster=\\"ops-tools1\\", job=\\"loki-ops/query-frontend\\"} |= \\"query_range\\"" query_type=filter range_type=range length=15m0s step=7s duration=650.22401ms status=200 throughput_mb=1.529717 total_bytes_mb=0.994659', '| logfmt | duration > 10ms and throughput_mb < 2 | line_format "{{.query}} {{.duration}}"');
    assert.equal(r.line, '{cluster="ops-tools1", job="loki-ops/query-frontend"} |= "query_range" 650.22401ms');
  });
  it('ip label filter, duration_seconds unwrap and __error_details__', async () => {
    const ip = await run('addr=192.168.4.7 dur=1m30s', '| logfmt | addr = ip("192.168.4.0/24")');
    assert.equal(ip.labels.addr, '192.168.4.7');
    const logs = memoryLogQuerier([
      { timestampNs: T, line: 'dur=1m30s', stream: { job: 'docs' } },
      { timestampNs: T + 1n, line: 'dur=fast', stream: { job: 'docs' } },
    ]);
    const e = createLogqlEngine({ logs });
    const at = { tenant: 't', startNs: T + 5n, endNs: T + 5n, limit: 10, direction: 'forward' as const, instant: true };
    const r = await e.query({ ...at, query: 'sum(sum_over_time({job="docs"} | logfmt | unwrap duration_seconds(dur) | __error__="" [1m]))' });
    assert.deepEqual(r.value.type === 'vector' && r.value.samples.map((s) => s.value), [90]);
    // "fast" is not a duration: the line is kept flagged LabelFilterErr, so the metric fails.
    await assert.rejects(
      e.query({ ...at, query: 'count_over_time({job="docs"} | logfmt | dur > 1s [1m])' }),
      (err: Error) => err.message.startsWith(`pipeline error: 'LabelFilterErr' for series: '{__error__="LabelFilterErr", __error_details__="time: invalid duration \\"fast\\"", dur="fast", job="docs"}'.`),
    );
  });
});
