import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { parsePromql } from './parser.js';
import { exprToString, formatFloat, formatPromql, promqlAstToJson } from './printer.js';
import { PRETTY_CASES, STRING_CASES } from './prometheus-cases.test.js';

const experimental = { enableExperimentalFunctions: true };

describe('exprToString (Prometheus String())', () => {
  it("matches Prometheus's printer_test.go outputs", () => {
    for (const [query, want] of STRING_CASES) {
      assert.equal(exprToString(parsePromql(query, experimental)), want, JSON.stringify(query));
    }
  });

  it('prints numbers, durations, offsets and @ as Prometheus', () => {
    const cases: [string, string][] = [
      ['1e21', '1000000000000000000000'],
      ['1e-7', '0.0000001'],
      ['-Inf', '-Inf'],
      ['nan', 'NaN'],
      ['0x1F', '31'],
      ['90m', '1h30m'],
      ['-5m', '-5m'],
      ['foo offset 90d', 'foo offset 90d'],
      ['foo offset 91d', 'foo offset 13w'],
      ['foo offset 365d', 'foo offset 1y'],
      ['foo offset -1500ms', 'foo offset -1s500ms'],
      ['foo @ 1.2345', 'foo @ 1.235'],
      ['foo[1h] @ start() offset 5m', 'foo[1h] @ start() offset 5m'],
      ['foo offset 5m @ 100', 'foo @ 100.000 offset 5m'],
      ['sum(x)[1h:] @ end()', 'sum(x)[1h:] @ end()'],
      ['{"a.b", c="d"}', '{__name__="a.b",c="d"}'],
      ['foo{"a.b"=~"x\\n"}', 'foo{"a.b"=~"x\\n"}'],
      ['-(1)', '-(1)'],
      ['- foo', '-foo'],
      ['a > bool on(x) group_left(y) b', 'a > bool on (x) group_left (y) b'],
      ['"é\\u0001"', '"é\\x01"'],
    ];
    for (const [query, want] of cases) assert.equal(exprToString(parsePromql(query)), want, query);
  });

  it('formatFloat', () => {
    assert.equal(formatFloat(0.1 + 0.2), '0.30000000000000004');
    assert.equal(formatFloat(123456789012), '123456789012');
    assert.equal(formatFloat(-2.5e-8), '-0.000000025');
  });
});

describe('formatPromql (Prometheus Prettify)', () => {
  it("matches Prometheus's prettier_test.go outputs", () => {
    for (const [query, want] of PRETTY_CASES) {
      assert.equal(formatPromql(parsePromql(query, experimental), 10), want, JSON.stringify(query));
    }
  });

  it('keeps short queries on one line at the default 100 characters', () => {
    assert.equal(formatPromql(parsePromql('sum by(job)(rate(x[5m]))')), 'sum by (job) (rate(x[5m]))');
    const long = 'sum by (job) (rate(http_requests_total{job="api-server",handler="/api/v1/query_range",code=~"5.."}[5m]))';
    assert.equal(
      formatPromql(parsePromql(long)),
      'sum by (job) (\n  rate(http_requests_total{code=~"5..",handler="/api/v1/query_range",job="api-server"}[5m])\n)',
    );
  });
});

describe('promqlAstToJson (/api/v1/parse_query)', () => {
  it('selectors', () => {
    assert.deepEqual(promqlAstToJson(parsePromql('foo{a!~"b"} offset 1m @ start()')), {
      matchers: [
        { name: 'a', type: '!~', value: 'b' },
        { name: '__name__', type: '=', value: 'foo' },
      ],
      name: 'foo',
      offset: 60000,
      offsetExpr: null,
      startOrEnd: 'start',
      timestamp: null,
      type: 'vectorSelector',
      anchored: false,
      smoothed: false,
    });
    assert.deepEqual(promqlAstToJson(parsePromql('foo[5m] @ 10')), {
      anchored: false,
      matchers: [{ name: '__name__', type: '=', value: 'foo' }],
      name: 'foo',
      offset: 0,
      offsetExpr: null,
      range: 300000,
      rangeExpr: null,
      smoothed: false,
      startOrEnd: null,
      timestamp: 10000,
      type: 'matrixSelector',
    });
  });

  it('binary, aggregation, call, subquery, literals, unary, paren', () => {
    const json = promqlAstToJson(parsePromql('-(max_over_time(sum by (a) (rate(x[1m]))[5m:1m]) > bool 1) * on(a) group_left(b) topk(3, y) + 1 / 2', experimental));
    assert.equal(typeof json, 'object');
    assert.doesNotThrow(() => JSON.stringify(json));
    const b = promqlAstToJson(parsePromql('a * on(x) group_left(y) b')) as Record<string, unknown>;
    assert.deepEqual(b, {
      bool: false,
      lhs: promqlAstToJson(parsePromql('a')),
      matching: { card: 'many-to-one', fillValues: { lhs: null, rhs: null }, include: ['y'], labels: ['x'], on: true },
      op: '*',
      rhs: promqlAstToJson(parsePromql('b')),
      type: 'binaryExpr',
    });
    assert.deepEqual(Object.keys(b), ['bool', 'lhs', 'matching', 'op', 'rhs', 'type']);
    assert.deepEqual((promqlAstToJson(parsePromql('1 + 2')) as { matching: unknown }).matching, null);
    assert.deepEqual(promqlAstToJson(parsePromql('topk(3, x) without (a)')), {
      expr: promqlAstToJson(parsePromql('x')),
      grouping: ['a'],
      op: 'topk',
      param: { type: 'numberLiteral', val: '3' },
      type: 'aggregation',
      without: true,
    });
    assert.deepEqual(promqlAstToJson(parsePromql('sum(x)')), {
      expr: promqlAstToJson(parsePromql('x')),
      grouping: [],
      op: 'sum',
      param: null,
      type: 'aggregation',
      without: false,
    });
    assert.deepEqual(promqlAstToJson(parsePromql('round(x, 5)')), {
      args: [promqlAstToJson(parsePromql('x')), { type: 'numberLiteral', val: '5' }],
      func: { argTypes: ['vector', 'scalar'], name: 'round', returnType: 'vector', variadic: 1 },
      type: 'call',
    });
    assert.deepEqual(promqlAstToJson(parsePromql('x[1h:] offset -5m')), {
      expr: promqlAstToJson(parsePromql('x')),
      offset: -300000,
      offsetExpr: null,
      range: 3600000,
      rangeExpr: null,
      startOrEnd: null,
      step: 0,
      stepExpr: null,
      timestamp: null,
      type: 'subquery',
    });
    assert.deepEqual(promqlAstToJson(parsePromql('-(x)')), { expr: { expr: promqlAstToJson(parsePromql('x')), type: 'parenExpr' }, op: '-', type: 'unaryExpr' });
    assert.deepEqual(promqlAstToJson(parsePromql('"a\\nb"')), { type: 'stringLiteral', val: 'a\nb' });
    assert.deepEqual(promqlAstToJson(parsePromql('-Inf')), { type: 'numberLiteral', val: '-Inf' });
    assert.deepEqual(promqlAstToJson(parsePromql('5m')), { type: 'numberLiteral', val: '300' });
  });
});
