import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileRe2, expandRe2Template, re2GroupNames, re2SyntaxError, Re2Error } from './re2.js';

const prom = (source: string): RegExp => compileRe2(source, { anchored: true, dotAll: true });

test("Go's regexp/syntax error text for invalid patterns", () => {
  const cases: [string, string][] = [
    ['(', 'missing closing ): `(`'],
    ['a)', 'unexpected ): `a)`'],
    ['*', 'missing argument to repetition operator: `*`'],
    ['a**', 'invalid nested repetition operator: `**`'],
    ['(?=x)', 'invalid or unsupported Perl syntax: `(?=`'],
    ['(?<!x)', 'invalid or unsupported Perl syntax: `(?<`'],
    ['[a', 'missing closing ]: `[a`'],
    ['(a)\\1', 'invalid escape sequence: `\\1`'],
    ['a{1001}', 'invalid repeat count: `{1001}`'],
    ['a{3,2}', 'invalid repeat count: `{3,2}`'],
    ['(?P<x', 'invalid named capture: `(?P<x`'],
    ['\\', 'trailing backslash at end of expression: ``'],
  ];
  for (const [source, message] of cases) {
    assert.equal(re2SyntaxError(source), `error parsing regexp: ${message}`, source);
    assert.throws(() => compileRe2(source), (e: Error) => e instanceof Re2Error && e.message === `error parsing regexp: ${message}`, source);
  }
  for (const ok of ['a*?', '(?i)abc|d[[:alpha:]]+\\d{2,3}', '(?i:x)', '(?P<n>a)', '[]a]', '\\Q(*\\E', 'a{2,}', '\\pL', '\\x{41}']) {
    assert.equal(re2SyntaxError(ok), undefined, ok);
  }
});

test('anchoring and `.`: Prometheus (^(?s:…)$) versus Go defaults', () => {
  assert.ok(prom('foo').test('foo'));
  assert.ok(!prom('foo').test('xfoox'));
  assert.ok(!prom('a|b').test('ab'));
  assert.ok(prom('a.b').test('a\nb'));
  assert.ok(compileRe2('foo').test('xfoox'));
  assert.ok(!compileRe2('a.b').test('a\nb'));
  assert.ok(compileRe2('(?s)a.b').test('a\nb'));
  // (?-s) turns Prometheus's dotAll back off.
  assert.ok(!prom('(?-s)a.b').test('a\nb'));
});

test('leading flag groups map onto RegExp flags; elsewhere they are refused', () => {
  assert.ok(compileRe2('(?i)^error').test('ERROR: x'));
  assert.ok(prom('(?i)FOO').test('foo'));
  // Promtail's documented form puts the flags after a leading ^.
  assert.equal(compileRe2('^(?s)(?P<t>\\S+?) (?P<rest>.*)').exec('a b\nc')?.groups?.rest, 'b\nc');
  assert.throws(() => compileRe2('a(?i)b'), /inline flag groups/);
  assert.throws(() => compileRe2('(?i:a)b'), /inline flag groups/);
});

test('(?m): ^ and $ at lines inside, anchoring and \\A \\z still at the text ends', () => {
  assert.ok(compileRe2('(?m)^b$').test('a\nb\nc'));
  assert.ok(prom('(?m)a$\\n^b').test('a\nb'));
  assert.ok(!prom('(?m)b').test('a\nb'));
  assert.ok(!compileRe2('(?m)\\Ab').test('a\nb'));
  assert.ok(!compileRe2('^(?m)b').test('a\nb'));
});

test('(?U) swaps greedy and lazy repetition', () => {
  assert.equal(compileRe2('(?U)a+').exec('aaa')?.[0], 'a');
  assert.equal(compileRe2('(?U)a+?').exec('aaa')?.[0], 'aaa');
  assert.equal(compileRe2('(?U)a{1,3}').exec('aaa')?.[0], 'a');
  assert.equal(compileRe2('(?U)(?P<x>a*)b').exec('aab')?.groups?.x, 'aa');
});

test('RE2 spellings: \\A \\z, POSIX classes, \\Q…\\E, \\x{…}, ] first in a class, (?P<name>)', () => {
  assert.ok(compileRe2('\\Aabc\\z').test('abc'));
  assert.ok(!compileRe2('\\Aabc\\z').test('abc\n'));
  assert.ok(compileRe2('^[[:digit:]]+[[:space:]]\\Q1+1\\E$').test('42 1+1'));
  assert.ok(prom('[[:^digit:]]+').test('ab'));
  assert.ok(!prom('[[:^digit:]]+').test('a1'));
  assert.ok(prom('[^[:alpha:]]').test('1'));
  assert.ok(prom('[[:punct:]]+').test('[]\\/'));
  assert.ok(compileRe2('[]a]').test(']'));
  assert.ok(compileRe2('[^]a]').test('b'));
  assert.ok(!compileRe2('[^]a]').test(']'));
  assert.ok(prom('\\x{41}\\x{1F600}').test('A😀'));
  assert.ok(prom('\\Qa.b').test('a.b'));
  assert.ok(!prom('\\Qa.b').test('axb'));
  assert.equal(prom('(?P<host>[^:]+):\\d+').exec('h:1')?.groups?.host, 'h');
});

test('what JavaScript cannot express is refused, not mistranslated', () => {
  assert.throws(() => compileRe2('\\C'), Re2Error);
  assert.throws(() => compileRe2('[a[:^digit:]]'), /negated POSIX class/);
  assert.throws(() => compileRe2('[[:nope:]]'), /unknown POSIX class/);
});

test('group names in order, skipping escaped parentheses', () => {
  assert.deepEqual(re2GroupNames(compileRe2('(?P<a>x)|(?<b>y)\\(?<c>z\\)(?:w)')), ['a', 'b']);
});

test("Go's Regexp.Expand: $1, ${1}, $name, $$ and the longest-name rule", () => {
  const match = /^(?<first>a)(b)$/.exec('ab')!;
  assert.equal(expandRe2Template('$1-${2}-$first-${first}-$$', match), 'a-b-a-a-$');
  assert.equal(expandRe2Template('$1x', match), ''); // "$1x" names group "1x", which does not exist
  assert.equal(expandRe2Template('${1}x', match), 'ax');
  assert.equal(expandRe2Template('$9', match), '');
  assert.equal(expandRe2Template('${1', match), '${1');
  assert.equal(expandRe2Template('cost: $', match), 'cost: $');
  assert.equal(expandRe2Template('$-', match), '$-');
});

test('compiled patterns are cached, but not stateful (g/y) ones', () => {
  assert.equal(prom('x+'), prom('x+'));
  assert.notEqual(compileRe2('x+', { flags: 'g' }), compileRe2('x+', { flags: 'g' }));
  assert.notEqual(compileRe2('x+'), prom('x+'));
});

test('Unicode classes match as RE2 matches them (\\pL, \\p{Greek}, \\p{^L}, \\PL, inside classes)', () => {
  const m = (pattern: string, text: string) => compileRe2(pattern, { anchored: true }).test(text);
  assert.equal(m('\\p{L}+', 'héllo'), true);
  assert.equal(m('\\p{L}+', 'p{L}'), false, 'not the literal text');
  assert.equal(m('\\pL+', 'abc'), true);
  assert.equal(m('\\PL+', '123'), true);
  assert.equal(m('\\PL+', 'a'), false);
  assert.equal(m('\\p{^L}', '1'), true);
  assert.equal(m('\\p{Greek}+', 'αβγ'), true);
  assert.equal(m('\\p{Greek}+', 'abc'), false);
  assert.equal(m('[\\p{Lu}\\d]x', 'Ax'), true);
  assert.equal(m('[\\p{Lu}\\d]x', 'ax'), false);
});

test('code points, not UTF-16 units, as RE2 matches (unicode mode throughout)', () => {
  assert.ok(prom('.').test('😀'), '. takes an astral character whole');
  assert.ok(prom('[^a]').test('😀'));
  assert.ok(prom('a.b').test('a😀b'));
  assert.ok(!prom('..').test('😀'));
  assert.ok(prom('[\\x{1F600}-\\x{1F64F}]+').test('😀🙏'));
  assert.ok(prom('x\\x{1F600}').test('x😀'));
});

test("RE2's loose escapes and literal braces translate to what unicode mode accepts", () => {
  const cases: [string, string, string][] = [
    ['a\\:b', 'a:b', 'a\\b'],
    ['\\"q\\"', '"q"', 'q'],
    ['\\-x', '-x', 'x'],
    ['[a\\-z]', '-', 'b'],
    ['\\#\\%\\@\\=\\!\\,\\<\\>\\~\\`\\\'\\&\\_', "#%@=!,<>~`'&_", ''],
    ['a{', 'a{', 'a'],
    ['a{,2}', 'a{,2}', 'aa'],
    ['a{2}', 'aa', 'a{2}'],
    ['x}', 'x}', 'x'],
    ['x]', 'x]', 'x'],
    ['\\a', '\x07', 'a'],
    ['\\0', '\0', '0'],
    ['\\012', '\n', '012'],
    ['\\Q-.\\E', '-.', '-x'],
    ['[\\Q-.\\E]+', '-.', 'x'],
  ];
  for (const [pattern, matching, other] of cases) {
    assert.ok(prom(pattern).test(matching), `${pattern} matches ${JSON.stringify(matching)}`);
    assert.ok(!prom(pattern).test(other), `${pattern} does not match ${JSON.stringify(other)}`);
  }
});

test("\\s is RE2's ASCII whitespace", () => {
  assert.ok(prom('a\\sb').test('a\tb'));
  assert.ok(!prom('a\\sb').test('a\u00a0b'), 'no-break space is not \\s in RE2');
  assert.ok(!prom('a\\sb').test('a\vb'));
  assert.ok(prom('a\\Sb').test('a\u00a0b'));
  assert.ok(prom('a[\\s,]b').test('a,b') && prom('a[\\s,]b').test('a b') && !prom('a[\\s,]b').test('a\u2003b'));
  // Inside a class \S is everything but those five, astral characters included.
  for (const ch of ['\u00a0', '\u2003', '\v', 'x', '\u{1F600}', '\0']) assert.ok(prom('a[\\S]b').test(`a${ch}b`), JSON.stringify(ch));
  for (const ch of [' ', '\t', '\n', '\f', '\r']) assert.ok(!prom('a[\\S]b').test(`a${ch}b`), JSON.stringify(ch));
  assert.ok(prom('a[^\\S]b').test('a b') && !prom('a[^\\S]b').test('a\u00a0b'));
});
