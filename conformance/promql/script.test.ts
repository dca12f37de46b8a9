import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration, parseScript, parseSequence, parseSeriesLine } from './script.js';

const values = (text: string): (number | string)[] =>
  parseSequence(text).map((v) => (v.kind === 'value' ? v.value : v.kind));

describe('PromQL test-script parser', () => {
  it('expands promtool sequences like Prometheus (x is repetition, never hex)', () => {
    assert.deepEqual(values('1+2x3'), [1, 3, 5, 7]);
    assert.deepEqual(values('0+0x2'), [0, 0, 0]);
    assert.deepEqual(values('0x3'), [0, 0, 0, 0]);
    assert.deepEqual(values('5-1x2 _ _x2 stale'), [5, 4, 3, 'omitted', 'omitted', 'omitted', 'stale']);
    assert.deepEqual(values('Inf -Inf NaN 1.78264E+50'), [Infinity, -Infinity, NaN, 1.78264e50]);
    assert.deepEqual(values('{{schema:0 sum:1 count:2}}x1'), ['histogram', 'histogram']);
  });

  it('parses series descriptions with quoted names and Go escapes', () => {
    assert.deepEqual(parseSeriesLine('foo{a="b", c="x\\"y"} 1').labels, { __name__: 'foo', a: 'b', c: 'x"y' });
    assert.deepEqual(parseSeriesLine('{"my.metric", "l.x"="v"} 1').labels, { __name__: 'my.metric', 'l.x': 'v' });
    assert.deepEqual(parseSeriesLine('{} 1').labels, {});
  });

  it('parses durations and commands with expectations', () => {
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('10s53ms'), 10_053);
    const cmds = parseScript(`
load 5m
  m{a="1"} 0+1x2

# comment
eval instant at 10m sum(m)
  expect no_warn
  expect fail msg: boom
  {} 2

eval range from 0 to 10m step 5m m
  m{a="1"} 0 1 _

clear
`);
    assert.deepEqual(
      cmds.map((c) => c.kind),
      ['load', 'eval', 'eval', 'clear'],
    );
    const inst = cmds[1];
    assert.ok(inst?.kind === 'eval');
    assert.equal(inst.timeMs, 600_000);
    assert.deepEqual(
      inst.expects.map((e) => [e.type, e.message]),
      [
        ['no_warn', undefined],
        ['fail', 'boom'],
      ],
    );
    const range = cmds[2];
    assert.ok(range?.kind === 'eval' && !range.instant);
    assert.equal(range.stepMs, 300_000);
    assert.deepEqual(range.expected[0]?.values.map((v) => v.kind), ['value', 'value', 'omitted']);
  });
});
