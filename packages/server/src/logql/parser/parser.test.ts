import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { LogqlParseError } from '../errors.js';
import { parseLogql } from './index.js';

describe('parseLogql', () => {
  it('builds typed nodes for a log pipeline', () => {
    const expr = parseLogql('{app="foo", env=~"p.*"} |= "a" or "b" != "c" | json x="y.z" | level="error" and dur > 5s | line_format "{{.msg}}"');
    assert.equal(expr.kind, 'log');
    if (expr.kind !== 'log') return;
    assert.deepEqual(expr.matchers, [
      { type: '=', name: 'app', value: 'foo' },
      { type: '=~', name: 'env', value: 'p.*' },
    ]);
    assert.deepEqual(expr.stages, [
      { kind: 'line_filter', op: '|=', values: [{ kind: 'text', value: 'a' }, { kind: 'text', value: 'b' }] },
      { kind: 'line_filter', op: '!=', values: [{ kind: 'text', value: 'c' }] },
      { kind: 'json', extractions: [{ label: 'x', expression: 'y.z' }] },
      {
        kind: 'label_filter',
        filter: {
          kind: 'and',
          left: { kind: 'matcher', matcher: { type: '=', name: 'level', value: 'error' } },
          right: { kind: 'duration', name: 'dur', op: '>', value: 5e9, text: '5s' },
        },
      },
      { kind: 'line_format', template: '{{.msg}}' },
    ]);
  });

  it('reads range aggregations with offset, unwrap conversions, post filters and grouping', () => {
    const expr = parseLogql('quantile_over_time(0.9, {a="b"}[5m] offset 1h | logfmt | unwrap duration(took) | __error__="") by (host)');
    assert.equal(expr.kind, 'range_agg');
    if (expr.kind !== 'range_agg') return;
    assert.equal(expr.param, 0.9);
    assert.equal(expr.rangeMs, 300_000);
    assert.equal(expr.offsetMs, 3_600_000);
    assert.deepEqual(expr.unwrap, {
      label: 'took',
      conversion: 'duration',
      postFilters: [{ kind: 'matcher', matcher: { type: '=', name: '__error__', value: '' } }],
    });
    assert.deepEqual(expr.grouping, { without: false, labels: ['host'] });
  });

  it('applies Loki operator precedence (the grammar alone binds + tighter than *)', () => {
    assert.deepEqual(parseLogql('2 * 3 + 1'), { kind: 'literal', value: 7, pos: { start: 0, end: 9 } });
    assert.equal((parseLogql('2 ^ 3 ^ 2') as { value: number }).value, 512);
    const expr = parseLogql('rate({a="b"}[1m]) + rate({a="c"}[1m]) * 2 > bool 1');
    assert.equal(expr.kind, 'binary');
    if (expr.kind !== 'binary') return;
    assert.equal(expr.op, '>');
    assert.equal(expr.returnBool, true);
    assert.equal(expr.lhs.kind === 'binary' && expr.lhs.op, '+');
    assert.equal(expr.lhs.kind === 'binary' && expr.lhs.rhs.kind === 'binary' && expr.lhs.rhs.op, '*');
  });

  it('reads matching modifiers', () => {
    const expr = parseLogql('sum by (a) (rate({x="y"}[1m])) / on (a) group_left (b) sum by (a, b) (rate({x="z"}[1m]))');
    assert.ok(expr.kind === 'binary');
    assert.deepEqual(expr.matching, { on: true, labels: ['a'], card: 'many-to-one', include: ['b'] });
  });

  it('reports syntax errors with position and Loki wording', () => {
    assert.throws(() => parseLogql('{app="x" |= "y"'), (e: unknown) => e instanceof LogqlParseError && e.code === 'LOOKOUT_ERR_LOGQL_PARSE' && e.httpStatus === 400 && /^parse error at line 1, col 10: syntax error: unexpected \|=/.test(e.message));
    assert.throws(() => parseLogql('{app="x"}\n| json |'), (e: Error) => e.message === 'parse error at line 2, col 9: syntax error: unexpected $end');
    assert.throws(() => parseLogql('x'.repeat(131072)), /input size too long/);
    assert.throws(() => parseLogql('{a="b"} | line_format "{{ nosuch .x }}"'), (e: Error) => e.message === 'parse error : template: line:1: function "nosuch" not defined');
    assert.throws(() => parseLogql('{a="b"} | label_format x="{{ .y "'), (e: Error) => e.message === 'parse error : template: unclosed action');
  });

  it('parses or refuses every query of the conformance corpus as Loki does', () => {
    const corpus = readFileSync(new URL('../../../../../conformance/logql/corpus.txt', import.meta.url), 'utf8');
    let count = 0;
    for (const line of corpus.split('\n')) {
      const m = /^(ok|error): (.*)$/.exec(line);
      if (!m) continue;
      count++;
      if (m[1] === 'ok') assert.doesNotThrow(() => parseLogql(m[2]!), m[2]);
      else {
        const [query, message] = m[2]!.split(' => ');
        assert.throws(() => parseLogql(query!), (e: unknown) => e instanceof LogqlParseError && e.message === message, query);
      }
    }
    assert.ok(count > 100);
  });
});
