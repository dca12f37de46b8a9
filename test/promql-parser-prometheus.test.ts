/**
 * Side by side with a real Prometheus: every query of Prometheus's own parser tests (restated in
 * packages/server/src/promql/parser/prometheus-cases.test.ts) plus long real-world queries goes to
 * Prometheus's /api/v1/format_query and through Lookout's parsePromql + formatPromql; the
 * formatted text, or the error message with its position, must be identical.
 *
 * Needs the Debian package `prometheus` (/usr/bin/prometheus). Debian 12 ships Prometheus 2.42,
 * while Lookout targets Prometheus 3.x: the queries whose meaning changed between the two (UTF-8
 * names, numbers as durations, new functions, reworded messages) are listed and not compared.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir } from './support/lookout-process.js';
import { formatPromql, parsePromql } from '../packages/server/src/promql/index.js';
import { INVALID, VALID } from '../packages/server/src/promql/parser/prometheus-cases.test.js';

const PROMETHEUS = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

/** Queries whose result differs between Prometheus 2.42 and the 3.x behaviour Lookout implements. */
const CHANGED_SINCE_2_42 = new Set([
  // 3.x parses the regexp itself, 2.42 reported the anchored wrapper `^(?:(...)$`.
  'foo{a=~"("}',
  " +{\"some_metric\"}",
  "{\"foo\"}",
  "{'foo\\'bar', 'a\\\\dos\\\\path'='boo\\\\urns'}",
  "{\"foo\", a=\"bc\"}",
  "test{a=\"b\"}[5m] OFFSET 3600",
  "foo[4.18] @ 2.345",
  "foo[4.018] @ 2.345",
  "test[5]",
  "some_metric[5m] @ 1m",
  "sum by (\"foo bar\")({\"some.metric\"})",
  "sum by (\"foo\", bar, 'baz')({\"some.metric\"})",
  "start()",
  "end()",
  "info(rate(http_request_counter_total{}[5m]))",
  "info(http_request_counter_total{namespace=\"zzz\"}, {foo=\"bar\", bar=\"baz\"})",
  "foo offset -1^1",
  "",
  "2.5.",
  "100..4",
  "@@",
  "foo{\"a\"=}",
  "foo[5mm]",
  "foo[5m1]",
  "foo[5y1hs]",
  "foo[\"5m\"]",
  "foo[]",
  "foo[-1]",
  "some_metric[5m] OFFSET",
  "some_metric @ start() [5m]",
  "some_metric @ end()[5m]",
  "foo{bar=\"baz\"}[",
  "info(rate(http_request_counter_total{}[5m]), target_info{foo=\"bar\"})",
  "info(http_request_counter_total{namespace=\"zzz\"}, {foo=\"bar\"} == 1)",
  "foo[step]",
  "foo offset 9.5e10",
  "foo[9.5e10]",
  "foo[5s x 5s]",
  "foo[5s s 5s]",
]);

/** Lookout limitation: strings are JavaScript strings, so `\xFF`-style escapes producing invalid UTF-8 become U+FFFD. */
const INVALID_UTF8_STRINGS = new Set([
  "\"\\a\\b\\f\\n\\r\\t\\v\\\\\\\" - \\xFF\\377\\u1234\\U00010111\\U0001011111☺\"",
  "'\\a\\b\\f\\n\\r\\t\\v\\\\\\' - \\xFF\\377\\u1234\\U00010111\\U0001011111☺'",
]);

const LONG_QUERIES = [
  'sum by (job, instance) (rate(http_requests_total{job="api-server",handler=~"/api/v1/.*",code=~"5.."}[5m])) / ignoring(code) group_left sum by (job, instance) (rate(http_requests_total{job="api-server"}[5m])) > bool 0.05',
  'histogram_quantile(0.99, sum by (le, service) (rate(http_request_duration_seconds_bucket{service=~"frontend|backend|database|cache"}[5m] offset 1h)))',
  '-sum(rate(node_cpu_seconds_total{mode!="idle",instance=~"prod-.*",job="node-exporter-long-name"}[5m])) by (instance)',
  'max_over_time((rate(some_really_long_metric_name_total{label_one="value_one",label_two="value_two"}[1m]) > 0)[1h:5m] @ end())',
  'label_replace(up{job="prometheus-long-job-name-here",instance="localhost:9090-and-more-text"}, "foo", "$1", "instance", "(.*):.*")',
  '(some_long_metric_name_number_one{a="b"} + some_long_metric_name_number_two{c="d"}) * on(instance) group_right(job) other_metric_with_long_name',
  'topk(5, sum without (pod, container, namespace_label_long) (container_memory_working_set_bytes{namespace="kube-system-and-more"}))',
  'a_very_long_metric_name_for_testing_purposes_only_total{x="y"}[5m:1m] offset 5m',
  'quantile_over_time(0.9, a_very_long_metric_name_for_testing_purposes_only_total{x="y"}[5m]) unless on (a) absent(something_else_here_with_a_long_name)',
  'vector(1) and on() time() > 0',
  'sum(rate(foo[5m])) by (a) + 1 offset 1m',
  'a / b offset 1d - -1 ^ 2 * c @ 100',
  '1 + 2 * 3 - 4 / 5 % 6 ^ 7 ^ 8 atan2 9 == bool 10 != bool 11 > bool 12 < bool 13 >= bool 14 <= bool 15 + 31',
  'sum by (a) (# comment\n  rate(x[5m]) # another\n)',
  'rate(x[5m]) +',
  'sum(x) by',
  'foo{a=~"("}',
  'unknown_function(x)',
  'rate(x[5m], 1)',
];

/** Truncated and mutated queries (invalid ones; their messages and positions must match). */
const MUTATED_QUERIES = [
  " != bool 1",
  " +some_metri}c",
  " bool 1",
  "!=1 + 1",
  "!=foo",
  "([sum(foo))",
  "(stdvar by (foo)(some_metric)",
  "(sum by (bar) (",
  "(sum by (bar)foo))",
  "(sum(f)",
  "(sum(foo) by",
  "(sum(fooby (bar))",
  "(sumoo) )",
  ")foo[10m:]",
  "*avg by (foo)(some_metric)",
  "+1 + -2 *",
  "+I=~nf",
  "+some_metri=~c",
  ",1 == bool 1",
  "-(Inf",
  "-1(*2",
  "-1+2{",
  "-1^-^2",
  "-1}+2",
  "-some_metri=~c",
  "-x ^ 2 * ]3",
  "-x rate^ 2 * 3",
  ".5offset",
  "/5e3",
  "075(5",
  "1 != boo 1",
  "1 !==~ bool 1",
  "1 * ",
  "1 + 2/(3",
  "1 -/ 1",
  "1 < b 1",
  "1 < bool *1",
  "1 < bool 2 -group_left 1 * 2",
  "1 <!= bool 1",
  "1 <=bool bool 1",
  "1 == boobyl 1",
  "1 > <bool 1",
  "1 > l 1",
  "1 >=offset bool 1",
  "1 sum+ 1",
  "123.456=~7",
  "1bool 1",
  "2.5 / ba{r",
  "5.+",
  "5^.",
  "5e-=3",
  "5msum without (foo) (some_metric)",
  "<a + sum",
  "=(sum(foo) )",
  "=sum(sum)",
  "=~foo OFFSET 1h30m",
  ">1 < bool 1",
  ">sum without (foo) (some_metric)",
  "[5m30s]",
  "]0xc",
  "]test[5w] offset 2w",
  "^foo and on() bar",
  "a and on(x) b or c unles=~s ignoring(y) d",
  "a and on(x) b orc unless ignoring(y) d",
  "av by (foo)(some_metric)",
  "avg by (foo)(some_me@tric)",
  "ax by (foo)(some_metric)",
  "f,oo / ignoring(test,blub) group_left(blub) bar",
  "fo ignoring(test,blub) group_left(blub) bar",
  "fo,o and on(test,blub) bar",
  "fo@o[10m:]",
  "foo  3e2",
  "foo * ,bar",
  "foo * on",
  "foo * on(test,bl=ub) bar",
  "foo * on(test,blub) group_,left bar",
  "foo * on:(test,blub) bar",
  "foo ,* bar",
  "foo - ignoring(test,b-lub) group_right(bar,foo) bar",
  "foo - ignoring(test,blub) group_right(bar,fo",
  "foo - on(test!=,blub) group_right(bar,foo) bar",
  "foo - on(test,blub) group_right(bar,fo bar",
  "foo - on(test,blubroup_right(bar,foo) bar",
  "foo / ",
  "foo / ignoring(tes",
  "foo / ignoring(test,blub) grbooloup_left(blub) bar",
  "foo / ignoring(test,blub) group_left(bl",
  "foo / ignoring1(test,blub) group_left(bar) bar",
  "foo / on(test,blub) grou,p_left(bar) bar",
  "foo / on^(test,blub) group_left(bar) bar",
  "foo 1",
  "foo = 1",
  "foo == bool <1",
  "foo @ ",
  "foo @ -3.3esum1",
  "foo @ 0x!=A",
  "foo @ 16037rate74568",
  "foo @ 3@e-1",
  "foo @ 3e[2",
  "foo @ e-1",
  "foo @* sum",
  "foo OF",
  "foo OFFSET )1h30m",
  "foo OFFSET1m30ms",
  "foo OF}FSET 1m30ms",
  "foo an ignoring() bar",
  "foo and ,bar",
  "foo and ignoring() ",
  "foo and obyn() bar",
  "foo and on(tes)t,blub) bar",
  "foo and onon(test,blub) bar",
  "foo anxd on(test,blub) bar",
  "foo ffset 5m",
  "foo nless on(start) bar",
  "foo offs 5m @ 100",
  "foo offse-7m",
  "foo offset5m",
  "foo on* bar",
  "foo or] bar",
  "foo u",
  "foo uness on(bar) baz",
  "foo unles,s on(start) bar",
  "foo unless on(=end) bar",
  "foo unless on(e<nd) bar",
  "foo unless on(start) ",
  "foo unless otart) bar",
  "foo unl{ess on(bar) baz",
  "foo }unless on(start) bar",
  "fooOFFSET 1h30m",
  "foo[3ms] @ 2.3^45",
  "foo[4s180ms] .345",
  "foo[4s18ms] 2.345",
  "foo[5m30s]*",
  "founless bar",
  "group_left5.",
  "histogram_quantile(0.99, sum by (le) (rate(x_bucket{a=~}[5m] offset 1h)))",
  "m=~in",
  "max by (foo)(s",
  "max by^ (foo)(some_metric)",
  "on-1^-2",
  "rate(some_metr(ic[5m])",
  "rateme_metric[5m])",
  "roun=d(some_metric, 5)",
  "round(some_m,etric, 5)",
  "round(some_metric,* 5)",
  "s um(sum)",
  "sm by (foo,bar,)(some_metric)",
  "some_metr,ic @ 123 offset 1m [10m:5s]",
  "some_metric @ 123 of/fset 1m [10m:5s]",
  "some_metric @ 123ffset 1m [10m:5s]",
  "some_metric OFFSET 1m [10m5s]",
  "some_metric of)fset 1m @ 123 [10m:5s]",
  "some_metric offset 1m @( 123 [10m:5s]",
  "some_metric[10m:5s] offsetoffset 1m @ 123",
  "stdd(some_metric)",
  "stddsome_metric)",
  "stdvar by (f(oo)(some_metric)",
  "stdvar by (foo)(some_metric^)",
  "su-m by (foo,)(some_metric)",
  "sum ,by (anchored)(some_metric)",
  "sum by ()(some",
  "sum by (*foo,bar,)(some_metric)",
  "sum by (anchored)(som)e_metric)",
  "sum by (foo(some_metric)",
  "sum by (foo)(some_metric/)",
  "sum by (foo,)(some_me",
  "sum by (foo,bar",
  "sum by (foo,bar[,)(some_metric)",
  "sum by (job)(rate(http_r",
  "sum by (job)(rate(http_requests_total[30m",
  "sum by (job/)(rate(http_requests_total[30m]))",
  "sum by (smoothed)(some_met",
  "sum by nchored)(some_metric)",
  "sum byoo,)(some_metric)",
  "sum without(and, by, avg, count, alert, anno",
  "sum without(and,5m by, avg, count, alert, annotations)(some_metric) [30m:10s]",
  "sum(s",
  "sum^ by ()(some_metric)",
  "su}m by ()(some_metric)",
  "t>est[1000ms]",
  "te^st[5w] offset 2w",
  "tes]t[5h] OFFSET 5m",
  "test=[1001ms]",
  "test[5d] OFF 10s",
  "test[5d]FFSET 10s",
  "test[5h] OFFS,ET 5m",
  "test[5m",
  "test[5w] oet 2w",
  "test[5w]fset 2w",
  "te}st[1000ms]",
  "time(:)",
  "topk sum without (pod) (x))",
  "topk(5, some_m",
  "topk(5, sum w",
  "topk(5, sum without (pod)} (x))",
  "topk(=~5, some_metric)",
  "var by (foo)(some_metric)",
  "{1 >= bool 1",
  "}a + sum",
];

function lookoutResult(query: string): string {
  try {
    return `OK ${formatPromql(parsePromql(query, { enableExperimentalFunctions: true }))}`;
  } catch (error) {
    return `ERR ${(error as Error).message}`;
  }
}

describe('PromQL parser side by side with Prometheus /api/v1/format_query', { timeout: 180_000 }, () => {
  let prometheus: ChildProcess | undefined;
  let base = '';
  let output = '';

  before(async () => {
    const probe = spawnSync(PROMETHEUS, ['--version'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      throw new Error(`${PROMETHEUS} is required for this test (Debian package "prometheus"): ${probe.error?.message ?? probe.stderr}`);
    }
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const dir = tempDir('prometheus-parser');
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, 'global: {}\n');
    prometheus = spawn(
      PROMETHEUS,
      [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    prometheus.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        if ((await fetch(`${base}/-/ready`)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`prometheus did not become ready: ${output}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await new Promise((r) => prometheus!.once('exit', r));
    }
  });

  it('formats and rejects queries exactly as Prometheus', async () => {
    const corpus = [...new Set([...VALID, ...INVALID.map(([query]) => query), ...LONG_QUERIES, ...MUTATED_QUERIES])];
    const mismatches: string[] = [];
    let compared = 0;
    for (const query of corpus) {
      if (CHANGED_SINCE_2_42.has(query) || INVALID_UTF8_STRINGS.has(query)) continue;
      const response = await fetch(`${base}/api/v1/format_query`, { method: 'POST', body: new URLSearchParams({ query }) });
      const body = (await response.json()) as { status: string; data?: string; error?: string };
      const theirs = body.status === 'success' ? `OK ${body.data}` : `ERR ${String(body.error).replace('invalid parameter "query": ', '')}`;
      const ours = lookoutResult(query);
      compared++;
      if (ours !== theirs) mismatches.push(`${JSON.stringify(query)}\n  prometheus: ${JSON.stringify(theirs)}\n  lookout:    ${JSON.stringify(ours)}`);
    }
    assert.deepEqual(mismatches, []);
    assert.ok(compared > 450, `compared ${compared} queries`);
  });
});
