import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { Binary, Expr, MatrixSelector, Subquery, VectorSelector } from '../ast.js';
import { PromqlParseError } from './errors.js';
import { parsePromql, parsePromqlSelector, type ParseOptions } from './parser.js';
import { exprToString } from './printer.js';
import { INVALID, VALID } from './prometheus-cases.test.js';

const experimental = { enableExperimentalFunctions: true };

function parseError(query: string, options: ParseOptions = experimental): PromqlParseError {
  try {
    parsePromql(query, options);
  } catch (e) {
    assert.ok(e instanceof PromqlParseError, `${JSON.stringify(query)} threw ${String(e)}`);
    return e;
  }
  assert.fail(`${JSON.stringify(query)} parsed but should not`);
}

/** A compact rendering of the tree shape: binary/unary/paren structure with leaves printed. */
function shape(e: Expr): string {
  switch (e.kind) {
    case 'Binary':
      return `(${shape(e.lhs)} ${e.op} ${shape(e.rhs)})`;
    case 'Unary':
      return `${e.op}(${shape(e.expr)})`;
    case 'Paren':
      return `[${shape(e.expr)}]`;
    default:
      return exprToString(e);
  }
}

describe('parsePromql: Prometheus parse_test.go cases', () => {
  it('parses every valid query and prints a string that parses to the same string', () => {
    for (const query of VALID) {
      let printed: string;
      try {
        printed = exprToString(parsePromql(query, experimental));
      } catch (e) {
        assert.fail(`${JSON.stringify(query)}: ${(e as Error).message}`);
      }
      assert.equal(exprToString(parsePromql(printed, experimental)), printed, `round trip of ${JSON.stringify(query)}`);
    }
  });

  it("rejects every invalid query with Prometheus's message and position", () => {
    const mismatches: string[] = [];
    for (const [query, start, message] of INVALID) {
      const e = parseError(query);
      if (e.detail !== message || e.positionRange.start !== start) {
        mismatches.push(`${JSON.stringify(query)}: want ${start} ${JSON.stringify(message)}, got ${e.positionRange.start} ${JSON.stringify(e.detail)}`);
      }
    }
    assert.deepEqual(mismatches, []);
  });
});

describe('parsePromql: precedence and associativity', () => {
  const cases: [string, string][] = [
    ['-1 ^ 2', '-((1 ^ 2))'],
    ['2 ^ 3 ^ 2', '(2 ^ (3 ^ 2))'],
    ['-1 ^ -2 ^ 3', '-((1 ^ -((2 ^ 3))))'],
    ['a - -1 ^ 2', '(a - -((1 ^ 2)))'],
    ['-a ^ 2', '-((a ^ 2))'],
    ['2 ^ -1', '(2 ^ -1)'],
    ['1 + 2 * 3', '(1 + (2 * 3))'],
    ['1 * 2 + 3', '((1 * 2) + 3)'],
    ['1 - 2 - 3', '((1 - 2) - 3)'],
    ['8 / 4 / 2', '((8 / 4) / 2)'],
    ['1 + -2 * 3', '(1 + (-2 * 3))'],
    ['-a * b', '(-(a) * b)'],
    ['a atan2 b * c', '((a atan2 b) * c)'],
    ['a % b ^ c', '(a % (b ^ c))'],
    ['a + b > bool c', '((a + b) > bool c)'.replace(' bool', '')],
    ['a > b and c < d', '((a > b) and (c < d))'],
    ['a and b or c unless d', '((a and b) or (c unless d))'],
    ['a or b and c', '(a or (b and c))'],
    ['a unless b and c', '((a unless b) and c)'],
    ['a == b != c', '((a == b) != c)'],
    ['(1 + 2) * 3', '([(1 + 2)] * 3)'],
  ];
  for (const [query, want] of cases) {
    it(`${query} → ${want}`, () => assert.equal(shape(parsePromql(query)), want));
  }

  it('folds signs into number literals and evaluates -1 ^ 2 to -1', () => {
    const e = parsePromql('-1 ^ 2');
    assert.equal(e.kind, 'Unary');
    assert.deepEqual(e.pos, { start: 0, end: 6 });
    const lit = parsePromql('- -1');
    assert.deepEqual([lit.kind, lit.kind === 'NumberLiteral' && lit.value, lit.pos], ['NumberLiteral', 1, { start: 0, end: 4 }]);
  });

  it('binds offset, @ and ranges to the nearest operand, as Prometheus', () => {
    assert.equal(shape(parsePromql('a / b offset 1d')), '(a / b offset 1d)');
    const div = parsePromql('a / b offset 1d') as Binary;
    assert.equal(div.rhs.kind, 'VectorSelector');
    assert.equal((div.rhs as VectorSelector).offsetMs, 86_400_000);
    assert.equal((div.lhs as VectorSelector).offsetMs, 0);
    const unary = parsePromql('-foo offset 5m');
    assert.equal(unary.kind, 'Unary');
    const at = parsePromql('a + b @ 5') as Binary;
    assert.deepEqual((at.rhs as VectorSelector).at, { kind: 'timestamp', ms: 5000 });
    assert.equal((at.lhs as VectorSelector).at, undefined);
    // `a - b[5m:1m] offset 1m` is `a - (b[5m:1m] offset 1m)`: a range vector operand.
    assert.deepEqual(
      [parseError('a - b[5m:1m] offset 1m').detail, parseError('a - b[5m:1m] offset 1m').positionRange.start],
      ['binary expression must contain only scalar and instant vector types', 4],
    );
    assert.equal(parseError('1 + 2 offset 1m').positionRange.start, 4);
    // `foo offset -2^2` is `(foo offset -2s) ^ 2` in Prometheus.
    assert.equal(shape(parsePromql('foo offset -2^2')), '(foo offset -2s ^ 2)');
  });
});

describe('parsePromql: literals', () => {
  const numbers: [string, number][] = [
    ['1', 1],
    ['0755', 493],
    ['08', 8],
    ['0x1F', 31],
    ['0xc', 12],
    ['1_000', 1000],
    ['5.', 5],
    ['.5', 0.5],
    ['1e3', 1000],
    ['5e-3', 0.005],
    ['1.e2', 100],
    ['+5.5e-3', 0.0055],
    ['-0755', -493],
    ['Inf', Infinity],
    ['-inf', -Infinity],
    ['+InF', Infinity],
    ['1h30m', 5400],
    ['5m', 300],
    ['1ms', 0.001],
    ['1y', 365 * 86400],
    ['2w', 14 * 86400],
  ];
  for (const [query, value] of numbers) {
    it(`number ${query} = ${value}`, () => {
      const e = parsePromql(query);
      assert.equal(e.kind, 'NumberLiteral');
      assert.equal(e.type, 'scalar');
      assert.equal(e.kind === 'NumberLiteral' && e.value, value);
    });
  }
  it('NaN', () => {
    const e = parsePromql('NaN');
    assert.ok(e.kind === 'NumberLiteral' && Number.isNaN(e.value));
  });

  const strings: [string, string][] = [
    ['"double"', 'double'],
    ["'single'", 'single'],
    ['`raw\\n`', 'raw\\n'],
    ['"tab\\tnl\\n"', 'tab\tnl\n'],
    ['"\\x41\\101\\u00e9\\U0001F600"', 'AAé😀'],
    ["'it\\'s'", "it's"],
    ['"say \\"hi\\""', 'say "hi"'],
    ['"\\a\\b\\f\\r\\v\\\\"', '\x07\b\f\r\v\\'],
    ['`multi\nline`', 'multi\nline'],
  ];
  for (const [query, value] of strings) {
    it(`string ${query}`, () => {
      const e = parsePromql(query);
      assert.equal(e.kind, 'StringLiteral');
      assert.equal(e.type, 'string');
      assert.equal(e.kind === 'StringLiteral' && e.value, value);
      assert.deepEqual(e.pos, { start: 0, end: query.length });
    });
  }

  it('skips comments', () => {
    assert.equal(exprToString(parsePromql('sum( # total\n  foo # the metric\n)')), 'sum(foo)');
  });
});

describe('parsePromql: selectors', () => {
  it('metric name with matchers; __name__ matcher last', () => {
    const e = parsePromql('foo{a="b", c!="d", e=~"f.*", g!~"h"}') as VectorSelector;
    assert.equal(e.kind, 'VectorSelector');
    assert.equal(e.type, 'vector');
    assert.equal(e.name, 'foo');
    assert.deepEqual(e.matchers, [
      { type: '=', name: 'a', value: 'b' },
      { type: '!=', name: 'c', value: 'd' },
      { type: '=~', name: 'e', value: 'f.*' },
      { type: '!~', name: 'g', value: 'h' },
      { type: '=', name: '__name__', value: 'foo' },
    ]);
    assert.equal(e.offsetMs, 0);
    assert.equal(e.at, undefined);
    assert.deepEqual(e.pos, { start: 0, end: 36 });
  });

  it('Prometheus 3 quoted metric and label names', () => {
    const e = parsePromql('{"my.metric", "service.name"="api", job="x"}') as VectorSelector;
    assert.equal(e.name, undefined);
    assert.deepEqual(e.matchers, [
      { type: '=', name: '__name__', value: 'my.metric' },
      { type: '=', name: 'service.name', value: 'api' },
      { type: '=', name: 'job', value: 'x' },
    ]);
    assert.equal(exprToString(e), '{"service.name"="api",__name__="my.metric",job="x"}');
  });

  it('__name__ regex selector and keywords as metric names', () => {
    const e = parsePromql('{__name__=~"http_.*"}') as VectorSelector;
    assert.deepEqual(e.matchers, [{ type: '=~', name: '__name__', value: 'http_.*' }]);
    for (const name of ['offset', 'by', 'sum', 'without', 'and', 'start', 'end', 'step', 'anchored', 'fill']) {
      const vs = parsePromql(`${name}{a="b"}`) as VectorSelector;
      assert.equal(vs.kind, 'VectorSelector', name);
      assert.equal(vs.name, name);
    }
    assert.equal((parsePromql('foo:bar:rate5m') as VectorSelector).name, 'foo:bar:rate5m');
  });

  it('range selectors, offsets (negative too) and @', () => {
    const m = parsePromql('foo[5m] offset -1h30m @ 1700000000.5') as MatrixSelector;
    assert.equal(m.kind, 'MatrixSelector');
    assert.equal(m.type, 'matrix');
    assert.equal(m.rangeMs, 300_000);
    assert.equal(m.vectorSelector.offsetMs, -5_400_000);
    assert.deepEqual(m.vectorSelector.at, { kind: 'timestamp', ms: 1_700_000_000_500 });
    assert.deepEqual(m.pos, { start: 0, end: 36 });
    assert.deepEqual((parsePromql('foo @ start()') as VectorSelector).at, { kind: 'start' });
    assert.deepEqual((parsePromql('foo @ end() offset 1m') as VectorSelector).at, { kind: 'end' });
    assert.equal((parsePromql('foo offset 1.5') as VectorSelector).offsetMs, 1500);
    assert.equal((parsePromql('foo[90]') as MatrixSelector).rangeMs, 90_000);
    assert.equal((parsePromql('foo OFFSET 1m') as VectorSelector).offsetMs, 60_000);
  });

  it('subqueries with and without step', () => {
    const s = parsePromql('rate(foo[1m])[1h:5m] offset 10m @ end()', experimental) as Subquery;
    assert.equal(s.kind, 'Subquery');
    assert.equal(s.type, 'matrix');
    assert.equal(s.rangeMs, 3_600_000);
    assert.equal(s.stepMs, 300_000);
    assert.equal(s.offsetMs, 600_000);
    assert.deepEqual(s.at, { kind: 'end' });
    assert.equal(s.expr.kind, 'Call');
    const d = parsePromql('foo[30m:]') as Subquery;
    assert.equal(d.stepMs, 0);
    assert.equal(exprToString(d), 'foo[30m:]');
  });

  it('regexes must be valid RE2', () => {
    assert.equal(parseError('foo{a=~"("}').detail, 'error parsing regexp: missing closing ): `(`');
    assert.equal(parseError('foo{a=~"a)"}').detail, 'error parsing regexp: unexpected ): `a)`');
    assert.equal(parseError('foo{a!~"*"}').detail, 'error parsing regexp: missing argument to repetition operator: `*`');
    assert.equal(parseError('foo{a=~"(?=x)"}').detail, 'error parsing regexp: invalid or unsupported Perl syntax: `(?=`');
    assert.equal(parseError('foo{a=~"[a"}').detail, 'error parsing regexp: missing closing ]: `[a`');
    assert.equal(parseError('foo{a=~"(a)\\\\1"}').detail, 'error parsing regexp: invalid escape sequence: `\\1`');
    assert.deepEqual(parseError('foo{a=~"("}').positionRange, { start: 4, end: 10 });
    parsePromql('foo{a=~"(?i)abc|d[[:alpha:]]+\\\\d{2,3}"}');
  });
});

describe('parsePromql: calls, aggregations and binary operators', () => {
  it('calls carry the resolved function and its return type', () => {
    const e = parsePromql('label_replace(rate(x[5m]), "dst", "$1", "src", "(.*)")');
    assert.equal(e.kind, 'Call');
    assert.equal(e.kind === 'Call' && e.func, 'label_replace');
    assert.equal(e.type, 'vector');
    assert.equal(parsePromql('time()').type, 'scalar');
    assert.equal(parsePromql('scalar(x)').type, 'scalar');
    assert.equal(parsePromql('round(x)').kind, 'Call');
    assert.equal(parsePromql('label_join(x, "d", ",", "a", "b", "c")').kind, 'Call');
    assert.equal(parseError('rate(x)').detail, 'expected type range vector in call to function "rate", got instant vector');
    assert.equal(parseError('round(x, 1, 2)').detail, 'expected at most 2 argument(s) in call to "round", got 3');
    assert.equal(parseError('label_join(x, "d")').detail, 'expected at least 3 argument(s) in call to "label_join", got 2');
    assert.equal(parseError('histogram_quantile(0.9)').detail, 'expected 2 argument(s) in call to "histogram_quantile", got 1');
  });

  it('experimental functions are rejected unless enabled, as in Prometheus', () => {
    for (const fn of ['sort_by_label(x, "a")', 'mad_over_time(x[5m])', 'double_exponential_smoothing(x[5m], 0.5, 0.5)', 'info(x)']) {
      const name = fn.slice(0, fn.indexOf('('));
      const e = parseError(fn, {});
      assert.equal(e.detail, `function "${name}" is not enabled`);
      assert.equal(parsePromql(fn, experimental).kind, 'Call');
    }
    assert.equal(
      parseError('limitk(1, x)', {}).detail,
      'limitk() is experimental and must be enabled with --enable-feature=promql-experimental-functions',
    );
  });

  it('min_of/max_of calls (experimental) and the native-histogram trim operators', () => {
    assert.equal(parseError('min_of(3, 5)', {}).detail, 'function "min_of" is not enabled');
    const m = parsePromql('max_of(NaN, 3) + 1', experimental) as Binary;
    assert.ok(m.lhs.kind === 'Call' && m.lhs.func === 'max_of' && m.lhs.type === 'scalar');
    assert.equal(parseError('min_of(3)').detail, 'expected 2 argument(s) in call to "min_of", got 1');
    const trim = parsePromql('h </ 2 + 3') as Binary;
    assert.equal(trim.op, '</');
    assert.equal(shape(trim), '(h </ (2 + 3))');
    assert.equal((parsePromql('a >/ on(x) b') as Binary).matching?.on, true);
    assert.equal(parseError('a >/ bool 1').detail, 'bool modifier can only be used on comparison operators');
  });

  it('aggregations: grouping before or after, parameters, without', () => {
    for (const q of ['sum by (a, b) (x)', 'sum(x) by (a, b)', 'SUM BY (a, b) (x)']) {
      const e = parsePromql(q);
      assert.ok(e.kind === 'Aggregate');
      assert.equal(e.op, 'sum');
      assert.deepEqual(e.grouping, ['a', 'b']);
      assert.equal(e.without, false);
      assert.equal(e.param, undefined);
      assert.deepEqual(e.pos, { start: 0, end: q.length });
    }
    const w = parsePromql('count_values without ("service.name") ("le", x)');
    assert.ok(w.kind === 'Aggregate');
    assert.equal(w.without, true);
    assert.deepEqual(w.grouping, ['service.name']);
    assert.equal(w.param?.kind, 'StringLiteral');
    for (const op of ['topk', 'bottomk', 'quantile']) {
      const e = parsePromql(`${op}(0.5, x)`);
      assert.ok(e.kind === 'Aggregate' && e.param?.kind === 'NumberLiteral');
    }
    const l = parsePromql('limit_ratio(0.5, x)', experimental);
    assert.ok(l.kind === 'Aggregate' && l.op === 'limit_ratio');
    assert.equal(parseError('topk(x, y)').detail, 'expected type scalar in aggregation parameter, got instant vector');
    assert.equal(parseError('sum(x[5m])').detail, 'expected type instant vector in aggregation expression, got range vector');
  });

  it('vector matching: on/ignoring, group_left/right with include, set operators many-to-many', () => {
    const b = parsePromql('a * on(x, y) group_left(z) b') as Binary;
    assert.deepEqual(b.matching, { card: 'many-to-one', on: true, labels: ['x', 'y'], include: ['z'] });
    const r = parsePromql('a / ignoring(x) group_right b') as Binary;
    assert.deepEqual(r.matching, { card: 'one-to-many', on: false, labels: ['x'], include: [] });
    const plain = parsePromql('a - b') as Binary;
    assert.deepEqual(plain.matching, { card: 'one-to-one', on: false, labels: [], include: [] });
    const set = parsePromql('a and on(x) b') as Binary;
    assert.deepEqual(set.matching, { card: 'many-to-many', on: true, labels: ['x'], include: [] });
    assert.equal((parsePromql('a unless b') as Binary).matching?.card, 'many-to-many');
    const scalar = parsePromql('a > bool 1') as Binary;
    assert.equal(scalar.matching, undefined);
    assert.equal(scalar.returnBool, true);
    assert.equal(scalar.type, 'vector');
    assert.equal(parsePromql('1 > bool 2').type, 'scalar');
  });

  it("Prometheus's binary-operator checks", () => {
    assert.deepEqual(
      [parseError('foo + bool bar').detail, parseError('foo + bool bar').positionRange],
      ['bool modifier can only be used on comparison operators', { start: 4, end: 9 }],
    );
    assert.equal(parseError('1 and 1').detail, 'set operator "and" not allowed in binary scalar expression');
    assert.equal(parseError('foo and on(a) group_left(b) bar').detail, 'no grouping allowed for "and" operation');
    assert.equal(parseError('a + on(x) group_left(x) b').detail, 'label "x" must not occur in ON and GROUP clause at once');
    assert.equal(parseError('1 < 2').detail, 'comparisons between scalars must use BOOL modifier');
    assert.equal(parseError('foo + on(a) 1').detail, 'vector matching only allowed between instant vectors');
    assert.equal(parseError('"a" + 1').detail, 'binary expression must contain only scalar and instant vector types');
  });
});

describe('parsePromql: syntax error messages (checked against a real Prometheus)', () => {
  // Truncated and mutated queries whose message and position Prometheus's /api/v1/format_query
  // returned identically (test/promql-parser-prometheus.test.ts keeps checking them side by side).
  const cases: [string, number, string][] = [
    [" != bool 1", 1, "unexpected <op:!=>"],
    [" +", 2, "unexpected end of input"],
    [" +so(me_metric", 14, "unclosed left parenthesis"],
    [" +some _metric", 7, "unexpected identifier \"_metric\""],
    [" +some_met)ric", 11, "unexpected right parenthesis ')'"],
    [" +some_metri}c", 12, "unexpected character: '}'"],
    [" > bool 1", 1, "unexpected <op:>>"],
    [" >= bool 1", 1, "unexpected <op:>=>"],
    [" offset 5m", 8, "unexpected duration \"5m\""],
    ["(1sum(foo))", 1, "bad number or duration syntax: \"1su\""],
    ["(s+um(foo))", 3, "unknown function with name \"um\""],
    ["(sum by (b+ar) (foo))", 10, "unexpected <op:+> in grouping opts, expected \",\" or \")\""],
    ["(sum by (bar) (fo,o))", 1, "wrong number of arguments for aggregate expression provided, expected 1, got 2"],
    ["(sum by (bar) (foo))=~", 20, "unexpected character after '=': '~'"],
    ["(sum by (bar) (foo<))", 19, "unexpected \")\" in aggregation"],
    ["(sum by (bar) ({foo))", 19, "unexpected character inside braces: ')'"],
    ["(sum by (bar)foo))", 13, "unexpected identifier \"foo\" in aggregation"],
    ["(sum by [(bar) (foo))", 8, "unexpected \"[\" in grouping opts, expected \"(\""],
    ["(sum by ar) (foo))", 8, "unexpected identifier \"ar\" in grouping opts, expected \"(\""],
    ["(sum())", 1, "no arguments for aggregate expression provided"],
    ["(sum(f]oo))", 6, "unexpected right bracket ']'"],
    ["(sum@(foo) by (bar))", 5, "unexpected \"(\" in @, expected timestamp"],
    ["+1 + -2 1", 8, "unexpected number \"1\""],
    ["+Inf@", 5, "unexpected end of input in @, expected timestamp"],
    ["+foo[5m30s]", 0, "unary expression only allowed on expressions of type scalar or instant vector, got \"range vector\""],
    ["+some_m@etric", 8, "unexpected identifier \"etric\" in @, expected timestamp"],
    ["-075>5", 4, "comparisons between scalars must use BOOL modifier"],
    ["-0:755", 2, "unexpected metric identifier \":755\""],
    ["-some_metr{ic", 13, "unexpected end of input inside braces"],
    ["1@ > bool 1", 3, "unexpected <op:>> in @, expected timestamp"],
    ["1@23.4567", 0, "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery"],
    ["5e*-3", 0, "error parsing number: strconv.ParseFloat: parsing \"5e\": invalid syntax"],
    ["a and on", 8, "unexpected end of input in grouping opts, expected \"(\""],
    ["a and on(x) b or{ c unless ignoring(y) d", 20, "unexpected identifier \"unless\" in label matching, expected label matching operator"],
    ["avg by ((foo)(some_metric)", 8, "unexpected \"(\" in grouping opts, expected label"],
    ["avg by (foo)", 12, "unexpected end of input in aggregation"],
    ["f/oo[3ms] @ 2.345", 2, "binary expression must contain only scalar and instant vector types"],
    ["foo * on(test,bl bar", 17, "unexpected identifier \"bar\" in grouping opts, expected \",\" or \")\""],
    ["foo - on(test:,blub) group_right(bar,foo) bar", 9, "unexpected metric identifier \"test:\" in grouping opts, expected label"],
    ["foo / ignoring(test,blub) group_left(blu>b) bar", 40, "unexpected <op:>> in grouping opts, expected \",\" or \")\""],
    ["foo /bool ignoring(test,blub) group_left(blub) bar", 4, "bool modifier can only be used on comparison operators"],
    ["foo @ -:3.3e1", 7, "unexpected metric identifier \":3\" in @, expected timestamp"],
    ["foo OFFSET 1m30m", 11, "not a valid duration string: \"1m30m\""],
    ["foo and on()group_left bar", 0, "no grouping allowed for \"and\" operation"],
    ["foo[0m:]", 4, "duration must be greater than 0"],
    ["foo[10m:", 8, "unclosed left bracket"],
    ["foo[10m:[]", 8, "unexpected left bracket '['"],
    ["foo[4s180ms 2.345", 12, "unexpected number \"2.345\" in subquery or range, expected \":\" or \"]\""],
    ["foo[4s18ms] @ 2.@345", 0, "@ <timestamp> may not be set multiple times"],
    ["foo[5m,30s]", 6, "unexpected \",\" in subquery or range, expected \":\" or \"]\""],
    ["round(some_m,etric, 5)", 0, "expected at most 2 argument(s) in call to \"round\", got 3"],
    ["round(some_metric,)", 17, "trailing commas not allowed in function call args"],
    ["some_metric @ 12+3 [10m:5s]", 17, "subquery is only allowed on instant vector, got scalar instead"],
    ["some_metric @ 123 [105s]", 18, "no @ modifiers allowed before range"],
    ["some_metric OFFSET 1m [10m5s]", 22, "no offset modifiers allowed before range"],
    ["sum by (job)(rate(http_requests_total[30m]1))", 42, "unexpected number \"1\" in aggregation"],
    ["sum by 5m(anchored)(some_metric)", 7, "unexpected duration \"5m\" in grouping opts, expected \"(\""],
    ["time(:)", 0, "expected 0 argument(s) in call to \"time\", got 1"],
    ["topk(5, sum without 1(pod) (x))", 20, "unexpected number \"1\" in grouping opts, expected \"(\""],
    ["topk(:5, sum without (pod) (x))", 5, "expected type scalar in aggregation parameter, got instant vector"],
    ["topk(some_metric)", 0, "wrong number of arguments for aggregate expression provided, expected 2, got 1"],
  ];
  it('gives the same message and position', () => {
    const mismatches: string[] = [];
    for (const [query, start, message] of cases) {
      const e = parseError(query);
      if (e.detail !== message || e.positionRange.start !== start) mismatches.push(`${JSON.stringify(query)}: got ${e.positionRange.start} ${e.detail}`);
    }
    assert.deepEqual(mismatches, []);
  });
});

describe('parsePromqlSelector (match[] parameters)', () => {
  it('returns the matchers of exactly one selector', () => {
    assert.deepEqual(parsePromqlSelector('up{job="a"}'), [
      { type: '=', name: 'job', value: 'a' },
      { type: '=', name: '__name__', value: 'up' },
    ]);
    assert.deepEqual(parsePromqlSelector('{"my.metric"}'), [{ type: '=', name: '__name__', value: 'my.metric' }]);
    assert.deepEqual(parsePromqlSelector('sum'), [{ type: '=', name: '__name__', value: 'sum' }]);
    // No type check: the API decides about empty matchers, as Prometheus does.
    assert.deepEqual(parsePromqlSelector('{}'), []);
  });

  it("rejects anything else with Prometheus's messages (checked against Prometheus's /api/v1/series)", () => {
    const cases: [string, string][] = [
      ['up + 1', '1:4: parse error: unexpected <op:+>'],
      ['rate(x[5m])', '1:5: parse error: unexpected "("'],
      ['up[5m]', '1:3: parse error: unexpected "["'],
      ['up offset 5m', '1:4: parse error: unexpected <offset>'],
      ['up{a=b}', '1:6: parse error: unexpected identifier "b" in label matching, expected string'],
      ['up{a="b', '1:6: parse error: unterminated quoted string'],
      ['up{', '1:4: parse error: unexpected end of input inside braces'],
      ['1', '1:1: parse error: unexpected number "1"'],
      ['up{a="b"} foo', '1:11: parse error: unexpected identifier "foo"'],
      ['up )', "1:5: parse error: unexpected right parenthesis ')'"],
      ['', 'unknown position: parse error: unexpected end of input'],
    ];
    for (const [input, message] of cases) {
      assert.throws(() => parsePromqlSelector(input), (e: unknown) => e instanceof PromqlParseError && e.message === message, input);
    }
  });
});

describe('parsePromql: cache', () => {
  it('returns an independent tree on every call', () => {
    const query = 'sum by (a) (rate(cache_test{x="y"}[5m])) > bool on(a) group_left(b) other';
    const first = parsePromql(query);
    const firstText = exprToString(first);
    (first as Binary).lhs = { kind: 'NumberLiteral', type: 'scalar', value: 1, pos: { start: 0, end: 1 } };
    const second = parsePromql(query);
    assert.notEqual(second, first);
    assert.equal(exprToString(second), firstText);
    ((second as Binary).matching!.labels as string[]).push('mutated');
    assert.deepEqual((parsePromql(query) as Binary).matching!.labels, ['a']);
  });
});

describe('parsePromql: errors', () => {
  it('messages carry line:col prefixes (columns count bytes)', () => {
    assert.equal(parseError('foo +').message, '1:6: parse error: unexpected end of input');
    assert.equal(parseError('sum(\n  rate(x)\n)').message, '2:8: parse error: expected type range vector in call to function "rate", got instant vector');
    assert.equal(parseError('{a="é"} + +').message, '1:13: parse error: unexpected end of input');
    assert.equal(parseError('').message, 'unknown position: parse error: no expression found in input');
    const e = parseError('rate(x)');
    assert.equal(e.code, 'LOOKOUT_ERR_PROMQL_PARSE');
    assert.equal(e.httpStatus, 400);
    assert.equal(e.errorType, 'bad_data');
  });

  it('experimental syntax (duration expressions, fill, anchored/smoothed) is rejected as in a default Prometheus', () => {
    assert.equal(parseError('foo[5m+1m]').detail, 'experimental duration expression is not enabled');
    assert.equal(parseError('foo offset step()').detail, 'experimental duration expression is not enabled');
    assert.equal(parseError('foo[5m] anchored').detail, 'anchored modifier is experimental and not enabled');
    assert.equal(parseError('a + fill(0) b').detail, 'binop fill modifiers are experimental and not enabled');
  });

  it('very deep or long expressions parse or fail with a parse error', () => {
    assert.equal(parsePromql(`${'('.repeat(500)}1${')'.repeat(500)}`).type, 'scalar');
    assert.equal(parsePromql(Array(300).fill('a').join(' + ')).type, 'vector');
    for (const query of [`${'('.repeat(20000)}1${')'.repeat(20000)}`, Array(5000).fill('a').join(' + '), `${'-'.repeat(20000)}a`]) {
      assert.ok(parseError(query) instanceof PromqlParseError);
    }
  });

  it('truncations and mutations of valid queries give parse errors, never crashes', () => {
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = '(){}[],:=!~<>+-*/%^@"\'`#\\ \n0123456789.eEaxy_';
    let outcomes = 0;
    for (const query of VALID) {
      for (let cut = 0; cut < query.length; cut++) {
        for (const candidate of [query.slice(0, cut), query.slice(cut)]) {
          for (const parse of [(q: string) => parsePromql(q, experimental), parsePromqlSelector]) {
            try {
              parse(candidate);
            } catch (e) {
              assert.ok(e instanceof PromqlParseError, `${JSON.stringify(candidate)} threw ${(e as Error).stack}`);
            }
          }
          outcomes++;
        }
      }
      for (let i = 0; i < 10; i++) {
        const at = random(query.length + 1);
        const mutated = query.slice(0, at) + alphabet[random(alphabet.length)]! + query.slice(at + random(2));
        try {
          parsePromql(mutated, experimental);
        } catch (e) {
          assert.ok(e instanceof PromqlParseError, `${JSON.stringify(mutated)} threw ${(e as Error).stack}`);
        }
        outcomes++;
      }
    }
    assert.ok(outcomes > 1000);
  });
});
