/**
 * Lookout's exposition parsers against reference implementations on the same inputs:
 * `promtool check metrics` (Debian `prometheus`) for the text format and the OpenMetrics parser
 * of the official Python client (Debian `python3-prometheus-client`). Only accept/reject is
 * compared: promtool also lints (exit 3), which is not a parse failure.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { parseOpenMetrics, parsePrometheusText } from '../packages/server/src/scrape/exposition.js';
import { OPENMETRICS_CORPUS, TEXT_FORMAT_CORPUS } from '../packages/server/src/scrape/testdata/exposition-corpus.js';

const PYTHON = '/usr/bin/python3';
const PY_OPENMETRICS = [
  'import sys',
  'from prometheus_client.openmetrics.parser import text_string_to_metric_families',
  'try:',
  '  list(text_string_to_metric_families(sys.stdin.read()))',
  "  print('accept')",
  'except Exception as e:',
  "  print('reject: ' + str(e))",
].join('\n');

/**
 * promtool parses with prometheus/common's expfmt, not with the scrape parser Prometheus (and
 * Lookout) use; these are the cases where the two Prometheus parsers disagree.
 */
const PROMTOOL_DIFFERS: Record<string, string> = {
  'no trailing newline': 'the scrape parser appends the final newline; expfmt requires it',
  'negative timestamp': 'the scrape lexer takes only digits as a timestamp; expfmt parses a signed integer',
};

function accepts(parse: () => unknown): { ok: boolean; error?: string } {
  try {
    parse();
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

test('text format: accept/reject agrees with promtool check metrics', () => {
  const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  assert.equal(probe.error, undefined, 'promtool is missing: install the Debian package "prometheus"');
  let compared = 0;
  for (const { name, text } of TEXT_FORMAT_CORPUS) {
    const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    // 0 = clean, 3 = lint problems only, 1 = "error while linting: text format parsing error".
    assert.ok([0, 1, 3].includes(run.status ?? -1), `${name}: promtool exited ${run.status}: ${run.stderr}`);
    const promtoolAccepts = run.status !== 1;
    if (!promtoolAccepts) assert.match(run.stderr, /parsing error/, name);
    const ours = accepts(() => parsePrometheusText(text));
    if (name in PROMTOOL_DIFFERS) {
      assert.notEqual(ours.ok, promtoolAccepts, `${name}: expected the documented difference (${PROMTOOL_DIFFERS[name]})`);
      continue;
    }
    assert.equal(ours.ok, promtoolAccepts, `${name}: promtool ${promtoolAccepts ? 'accepts' : `rejects (${run.stderr.trim()})`}, Lookout ${ours.ok ? 'accepts' : `rejects (${ours.error})`}`);
    compared++;
  }
  assert.ok(compared >= 40);
});

test('OpenMetrics: accept/reject agrees with the prometheus_client OpenMetrics parser', () => {
  assert.ok(existsSync(PYTHON), `${PYTHON} is missing`);
  const probe = spawnSync(PYTHON, ['-c', 'import prometheus_client'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, 'prometheus_client is missing: install the Debian package "python3-prometheus-client"');
  for (const { name, text } of OPENMETRICS_CORPUS) {
    const run = spawnSync(PYTHON, ['-c', PY_OPENMETRICS], { input: text, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const referenceAccepts = run.stdout.trim() === 'accept';
    const ours = accepts(() => parseOpenMetrics(text));
    assert.equal(ours.ok, referenceAccepts, `${name}: reference ${run.stdout.trim()}, Lookout ${ours.ok ? 'accepts' : `rejects (${ours.error})`}`);
  }
});
