import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LookoutError } from '../errors.js';
import { parseGoDurationNs as parseGoDuration } from '../model/index.js';
import { escapeRegex, extractConditionsLenient, parseTempoTags, parseTraceQL } from './traceql.js';

function parseError(query: string): string {
  try {
    parseTraceQL(query);
  } catch (error) {
    assert.ok(error instanceof LookoutError);
    assert.equal(error.code, 'LOOKOUT_ERR_QUERY_PARSE');
    return error.message;
  }
  assert.fail(`expected ${query} to be rejected`);
}

describe('parseTraceQL', () => {
  it('reads the empty spanset as match-all', () => {
    assert.deepEqual(parseTraceQL('{}'), []);
    assert.deepEqual(parseTraceQL('  { }  '), []);
  });

  it('reads scoped, unscoped and quoted attributes', () => {
    assert.deepEqual(
      parseTraceQL('{ resource.service.name = "api" && span.http.status_code >= 500 && .region != "eu" && span."a b".c = `x` }'),
      [
        { scope: 'resource', key: 'service.name', op: '=', value: 'api' },
        { scope: 'span', key: 'http.status_code', op: '>=', value: 500 },
        { scope: 'any', key: 'region', op: '!=', value: 'eu' },
        { scope: 'span', key: 'a b.c', op: '=', value: 'x' },
      ],
    );
  });

  it('reads a span attribute called name as an attribute, not the intrinsic', () => {
    assert.deepEqual(parseTraceQL('{span.name="x"}'), [{ scope: 'span', key: 'name', op: '=', value: 'x' }]);
  });

  it('reads intrinsics in their bare and colon forms', () => {
    assert.deepEqual(
      parseTraceQL(
        '{ name = "GET /x" && status = error && kind = server && duration > 100ms && statusMessage =~ "time.*" && ' +
          'span:name != "a" && span:status = ok && span:kind = client && span:duration <= 1.5s && span:statusMessage = "" && ' +
          'trace:rootService = "gw" && trace:rootName = "root" && trace:duration > 2m && rootServiceName = "gw" && ' +
          'rootName = "r" && traceDuration < 1h }',
      ),
      [
        { scope: 'intrinsic', key: 'name', op: '=', value: 'GET /x' },
        { scope: 'intrinsic', key: 'status', op: '=', value: 'error' },
        { scope: 'intrinsic', key: 'kind', op: '=', value: 'server' },
        { scope: 'intrinsic', key: 'duration', op: '>', value: 100_000_000 },
        { scope: 'intrinsic', key: 'statusMessage', op: '=~', value: 'time.*' },
        { scope: 'intrinsic', key: 'name', op: '!=', value: 'a' },
        { scope: 'intrinsic', key: 'status', op: '=', value: 'ok' },
        { scope: 'intrinsic', key: 'kind', op: '=', value: 'client' },
        { scope: 'intrinsic', key: 'duration', op: '<=', value: 1_500_000_000 },
        { scope: 'intrinsic', key: 'statusMessage', op: '=', value: '' },
        { scope: 'intrinsic', key: 'rootServiceName', op: '=', value: 'gw' },
        { scope: 'intrinsic', key: 'rootName', op: '=', value: 'root' },
        { scope: 'intrinsic', key: 'traceDuration', op: '>', value: 120_000_000_000 },
        { scope: 'intrinsic', key: 'rootServiceName', op: '=', value: 'gw' },
        { scope: 'intrinsic', key: 'rootName', op: '=', value: 'r' },
        { scope: 'intrinsic', key: 'traceDuration', op: '<', value: 3_600_000_000_000 },
      ],
    );
  });

  it('reads every literal type', () => {
    const values = (q: string) => parseTraceQL(q).map((c) => c.value);
    assert.deepEqual(values('{.a=1 && .b=-2 && .c=1.25 && .d=true && .e=false && .f=nil && .g!=nil && .h=500us && .i=10ns}'), [
      1, -2, 1.25, true, false, null, null, 500_000, 10,
    ]);
    assert.deepEqual(values('{.a = 1h30m && .b = 1d && .c = 2.5ms && .d=-5s}'), [5_400_000_000_000, 86_400_000_000_000, 2_500_000, -5e9]);
    assert.deepEqual(values('{.a = "tab\\there \\"q\\" \\u00e9\\x41" && .b = `\\d+`}'), ['tab\there "q" éA', '\\d+']);
    assert.deepEqual(values('{.a = maxInt && .b = minInt}'), [2 ** 63, -(2 ** 63)]);
  });

  it('turns same-field || groups into one condition (Grafana multi-value filters)', () => {
    assert.deepEqual(parseTraceQL('{(resource.service.name="a" || resource.service.name="b") && status=error}'), [
      { scope: 'resource', key: 'service.name', op: '=', value: ['a', 'b'] },
      { scope: 'intrinsic', key: 'status', op: '=', value: 'error' },
    ]);
    assert.deepEqual(parseTraceQL('{ span.code = 500 || span.code = 503 || span.code = 500 }'), [
      { scope: 'span', key: 'code', op: '=', value: [500, 503] },
    ]);
    assert.deepEqual(parseTraceQL('{ name =~ "a.*" || name =~ "b" }'), [
      { scope: 'intrinsic', key: 'name', op: '=~', value: '(?:a.*)|(?:b)' },
    ]);
    // Grafana's != multi-value form is a plain conjunction in parentheses.
    assert.deepEqual(parseTraceQL('{(.a != "x" && .a != "y")}'), [
      { scope: 'any', key: 'a', op: '!=', value: 'x' },
      { scope: 'any', key: 'a', op: '!=', value: 'y' },
    ]);
  });

  it('names position and construct of unsupported TraceQL', () => {
    assert.match(parseError('{ .a = 1 } | count() > 2'), /^parse error at line 1, col 12: unsupported construct: pipelines \(\|\)/);
    assert.match(parseError('{ .a = 1 } || { .b = 2 }'), /col 12: unsupported construct: combining spansets with \|\|/);
    assert.match(parseError('{ .a = 1 } && { .b = 2 }'), /col 12: unsupported construct: combining spansets with &&/);
    assert.match(parseError('{ .a = 1 } >> { .b = 2 }'), /col 12: unsupported construct: structural operator >>/);
    assert.match(parseError('{ .a = 1 } ~ { .b = 2 }'), /col 12: unsupported construct: structural operator ~/);
    assert.match(parseError('{ .a = 1 || .b = 2 }'), /col 10: unsupported construct: \|\| here/);
    assert.match(parseError('{ .a = 1 || (.a = 2 && .b = 3) }'), /unsupported construct: \|\| between groups/);
    assert.match(parseError('{ .a + 1 > 2 }'), /col 6: unsupported construct: arithmetic \(\+\)/);
    assert.match(parseError('{ .a = .b }'), /col 8: unsupported construct: comparing an attribute with another attribute/);
    assert.match(parseError('{ event.name = "x" }'), /col 3: unsupported construct: event\. attributes/);
    assert.match(parseError('{ span:id = "x" }'), /unsupported construct: intrinsic span:id/);
    assert.match(parseError('{ !(.a = 1) }'), /unsupported construct: negation/);
    assert.match(parseError('rate()'), /col 1: unsupported construct: rate\(\) outside a spanset/);
    assert.match(parseError('{ .a = 1 }\n| select(.b)'), /^parse error at line 2, col 1: unsupported construct: pipelines/);
  });

  it('rejects malformed queries with Tempo-style syntax errors', () => {
    assert.match(parseError(''), /^parse error at line 1, col 1: syntax error: unexpected end of query, expecting \{/);
    assert.match(parseError('{ .a = 1'), /col 9: syntax error: unexpected end of query, expecting && or \}/);
    assert.match(parseError('{ .a 1 }'), /col 6: syntax error: unexpected 1, expecting a comparison operator/);
    assert.match(parseError('{ foo = 1 }'), /col 3: syntax error: unexpected identifier foo/);
    assert.match(parseError('{ .a = "x }'), /col 8: literal not terminated/);
    assert.match(parseError('{ .a = "\\d" }'), /col 9: invalid escape sequence \\d/);
    assert.match(parseError('{ .a = 5xyz }'), /invalid number or duration 5xyz/);
    assert.match(parseError('{ .a = 5mss }'), /invalid duration 5mss/);
    assert.match(parseError('{ .é = 1 } |'), /^parse error at line 1, col 12:/);
  });

  // The Lezer grammar lexes and groups some things differently from Tempo's lexer; Tempo's way wins.
  it('keeps Tempo lexing where the grammar differs', () => {
    const values = (q: string) => parseTraceQL(q).map((c) => c.value);
    // The grammar gives prefix - the loosest precedence: -(2 && .b = 1).
    assert.deepEqual(values('{ .a = -2 && (.b = 1 || .b = 3) }'), [-2, [1, 3]]);
    assert.deepEqual(values('{ .a = - 5s && .b = 1.5e3 && .c = .5 && .d = 1y && .e = 2w1d }'), [
      -5e9, 1500, 0.5, 365 * 86_400e9, 15 * 86_400e9,
    ]);
    assert.deepEqual(parseTraceQL('{ span."x y"-z = 1 && .é = "\\u00e9" }'), [
      { scope: 'span', key: 'x y-z', op: '=', value: 1 },
      { scope: 'any', key: 'é', op: '=', value: 'é' },
    ]);
    // Keywords need a word boundary: the grammar would read `name` `duration`.
    assert.match(parseError('{ nameduration = 1 }'), /col 3: syntax error: unexpected identifier nameduration$/);
    assert.match(parseError('{ .a = truex }'), /col 8: syntax error: unexpected identifier truex, expecting a value/);
    assert.match(parseError('{ span:namex = "a" }'), /col 3: unsupported construct: intrinsic span:namex/);
    assert.match(parseError('{ kind >> server }'), /col 8: syntax error: unexpected >>, expecting a comparison operator/);
    assert.match(parseError('{ .a = -maxInt }'), /col 9: syntax error: unexpected identifier maxInt, expecting a number or duration after -/);
    // The grammar accepts comments, template variables and hints; Tempo's TraceQL here does not.
    assert.match(parseError('{ .a = 1 } // c'), /col 12: syntax error: unexpected \/ after the spanset/);
    assert.match(parseError('{ .a = $x }'), /col 8: syntax error: unexpected character "\$"/);
    assert.match(parseError('{ .a = 1 } with(most_recent=true)'), /col 12: syntax error: unexpected identifier with after the spanset/);
    // A problem before a syntax error is reported first, even where error recovery reshaped the tree.
    assert.match(parseError('{ name = 1 && .a = 1 && *x'), /col 10: invalid comparison: name must be compared with a string/);
  });

  it('type-checks intrinsics and operators', () => {
    assert.match(parseError('{ status = "error" }'), /status must be compared with error, ok or unset/);
    assert.match(parseError('{ status > error }'), /status only supports = and !=/);
    assert.match(parseError('{ kind = error }'), /kind must be compared with unspecified, internal/);
    assert.match(parseError('{ duration = "1s" }'), /duration must be compared with a duration/);
    assert.match(parseError('{ name = 5 }'), /name must be compared with a string/);
    assert.match(parseError('{ .a =~ 5 }'), /=~ needs a string value/);
    assert.match(parseError('{ .a > nil }'), /nil only supports = and !=/);
    assert.match(parseError('{ .a = error }'), /error is a status keyword/);
    assert.match(parseError('{ .a =~ "(?=x)" }'), /lookaround is not supported/);
    assert.match(parseError('{ .a =~ "(" }'), /invalid regular expression/);
    assert.deepEqual(parseTraceQL('{ .a =~ "(?i)get" }'), [{ scope: 'any', key: 'a', op: '=~', value: '(?i)get' }]);
  });
});

describe('extractConditionsLenient', () => {
  it('keeps the complete conditions of an incomplete query', () => {
    assert.deepEqual(extractConditionsLenient('{ resource.service.name = "api" && span.http.method = }'), [
      { scope: 'resource', key: 'service.name', op: '=', value: 'api' },
    ]);
    assert.deepEqual(extractConditionsLenient('{ .a = "x && y" && .b = 2'), [
      { scope: 'any', key: 'a', op: '=', value: 'x && y' },
      { scope: 'any', key: 'b', op: '=', value: 2 },
    ]);
    assert.deepEqual(extractConditionsLenient('garbage'), []);
    assert.deepEqual(extractConditionsLenient('{}'), []);
  });
});

describe('parseTempoTags', () => {
  it('maps tags the way Tempo block search does', () => {
    assert.deepEqual(
      parseTempoTags('service.name=api http.status_code=500 name="GET /x" status.code=error region=eu http.method=GE root.service.name=gw'),
      [
        { scope: 'resource', key: 'service.name', op: '=~', value: '(?s).*api.*' },
        { scope: 'span', key: 'http.status_code', op: '=', value: 500 },
        { scope: 'intrinsic', key: 'name', op: '=~', value: '(?s).*GET /x.*' },
        { scope: 'intrinsic', key: 'status', op: '=', value: 'error' },
        { scope: 'any', key: 'region', op: '=', value: 'eu' },
        { scope: 'span', key: 'http.method', op: '=~', value: '(?s).*GE.*' },
        { scope: 'intrinsic', key: 'rootServiceName', op: '=~', value: '(?s).*gw.*' },
      ],
    );
    assert.deepEqual(parseTempoTags('http.status_code=abc status.code=bogus flag'), [
      { scope: 'any', key: 'http.status_code', op: '=', value: 'abc' },
      { scope: 'intrinsic', key: 'status', op: '=', value: 'unset' },
      { scope: 'any', key: 'flag', op: '=', value: '' },
    ]);
    assert.deepEqual(parseTempoTags('name="a.b(c)"'), [{ scope: 'intrinsic', key: 'name', op: '=~', value: '(?s).*a\\.b\\(c\\).*' }]);
    assert.deepEqual(parseTempoTags('msg="say \\"hi\\"\\n"'), [{ scope: 'any', key: 'msg', op: '=', value: 'say "hi"\n' }]);
    assert.deepEqual(parseTempoTags(''), []);
  });

  it('rejects malformed logfmt and duplicate keys as Tempo does', () => {
    assert.throws(() => parseTempoTags('a=1 a=2'), { code: 'LOOKOUT_ERR_QUERY_BAD_PARAM', message: 'invalid tags: tag a has been set twice' });
    assert.throws(() => parseTempoTags('a="x'), { message: 'invalid tags: unterminated quoted value at pos 5' });
    assert.throws(() => parseTempoTags('=x'), { message: "invalid tags: unexpected '=' at pos 1" });
    assert.throws(() => parseTempoTags('a=b=c'), { message: "invalid tags: unexpected '=' at pos 4" });
  });
});

describe('parseGoDuration', () => {
  it('parses Go durations', () => {
    assert.equal(parseGoDuration('0'), 0n);
    assert.equal(parseGoDuration('100ms'), 100_000_000n);
    assert.equal(parseGoDuration('1.5s'), 1_500_000_000n);
    assert.equal(parseGoDuration('2h45m'), 9_900_000_000_000n);
    assert.equal(parseGoDuration('-1us'), -1_000n);
    assert.equal(parseGoDuration('3µs'), 3_000n);
  });

  it("throws Go's messages", () => {
    assert.throws(() => parseGoDuration('abc'), { message: 'time: invalid duration "abc"' });
    assert.throws(() => parseGoDuration('5'), { message: 'time: missing unit in duration "5"' });
    assert.throws(() => parseGoDuration('1d'), { message: 'time: unknown unit "d" in duration "1d"' });
    assert.throws(() => parseGoDuration(''), { message: 'time: invalid duration ""' });
  });
});

describe('escapeRegex', () => {
  it('escapes RE2 metacharacters', () => {
    assert.equal(escapeRegex('a.b*c(d)|[e]{f}^$\\+?'), 'a\\.b\\*c\\(d\\)\\|\\[e\\]\\{f\\}\\^\\$\\\\\\+\\?');
  });
});
