import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileStages, newEntry, StageConfigError, type Entry } from './stages.js';
import { logfmtPairs } from './logfmt.js';
import { compileLogSelector } from '../logql/index.js';

const READ_AT = 1_000_000_000_000_000_000n;

function run(stages: unknown[], lines: string[], labels: Record<string, string> = { filename: '/var/log/app.log' }): Entry[] {
  const p = compileStages(stages).instantiate();
  const out: Entry[] = [];
  let offset = 0;
  for (const line of lines) {
    out.push(...p.process(newEntry(labels, line, READ_AT, offset, offset + line.length + 1)));
    offset += line.length + 1;
  }
  out.push(...p.flush(Date.now(), true));
  return out;
}

function configError(stages: unknown[]): StageConfigError {
  try {
    compileStages(stages);
  } catch (error) {
    if (error instanceof StageConfigError) return error;
    throw error;
  }
  assert.fail('expected a configuration error');
}

test('json: JMESPath expressions, nested values, source, non-scalars as JSON, malformed lines', () => {
  // Promtail docs example: output/stream/timestamp from a Docker JSON line, then `extra.user` via source.
  const [e] = run(
    [
      { json: { expressions: { output: 'log', stream: 'stream', timestamp: 'time', extra: null } } },
      { json: { expressions: { user: null }, source: 'extra' } },
      { json: { expressions: { first: 'tags[0]', tags: null, n: 'count', ok: 'ok', missing: 'nope', dashed: '"key-with-dash"' } } },
    ],
    ['{"log":"log message\\n","stream":"stderr","time":"2019-04-30T02:12:41.8443515Z","extra":"{\\"user\\":\\"marco\\"}","tags":["a","b"],"count":3,"ok":true,"key-with-dash":"d"}'],
  );
  assert.equal(e!.extracted.output, 'log message\n');
  assert.equal(e!.extracted.stream, 'stderr');
  assert.equal(e!.extracted.timestamp, '2019-04-30T02:12:41.8443515Z');
  assert.equal(e!.extracted.user, 'marco');
  assert.equal(e!.extracted.first, 'a');
  assert.equal(e!.extracted.tags, '["a","b"]');
  assert.equal(e!.extracted.n, 3);
  assert.equal(e!.extracted.ok, true);
  assert.equal(e!.extracted.missing, null);
  assert.equal(e!.extracted.dashed, 'd');
  // Malformed JSON keeps the entry unless drop_malformed.
  assert.equal(run([{ json: { expressions: { a: null } } }], ['not json']).length, 1);
  assert.equal(run([{ json: { expressions: { a: null }, drop_malformed: true } }], ['not json', '{"a":1}']).length, 1);
  assert.match(configError([{ json: { expressions: { a: 'a[' } } }]).message, /could not compile JMES expression/);
  assert.deepEqual(configError([{ json: { expressions: {} } }]).path, [0, 'json', 'expressions']);
});

test('logfmt: mapping extracted-name: logfmt-key, quoted values, source', () => {
  const [e] = run([{ logfmt: { mapping: { timestamp: 'time', app: null, duration: null, unknown: null } } }], [
    'time=2012-11-01T22:08:41+00:00 app=loki level=WARN duration=125 message="this is a log line" extra="user=foo"',
  ]);
  assert.deepEqual(
    { timestamp: e!.extracted.timestamp, app: e!.extracted.app, duration: e!.extracted.duration, unknown: e!.extracted.unknown },
    { timestamp: '2012-11-01T22:08:41+00:00', app: 'loki', duration: '125', unknown: undefined },
  );
  const [f] = run([{ logfmt: { mapping: { extra: null } } }, { logfmt: { mapping: { user: null }, source: 'extra' } }], ['extra="user=foo"']);
  assert.equal(f!.extracted.user, 'foo');
  assert.deepEqual([...logfmtPairs('a=1 b="x \\"y\\"" c d= e=\\u')], [['a', '1'], ['b', 'x "y"'], ['c', ''], ['d', ''], ['e', '\\u']]);
});

test('regex: RE2 named groups, unmatched groups are empty, source', () => {
  // Promtail docs example.
  const [e] = run([{ regex: { expression: '^(?s)(?P<time>\\S+?) (?P<stream>stdout|stderr) (?P<flags>\\S+?) (?P<content>.*)$' } }], [
    '2019-01-01T01:00:00.000000001Z stderr P i\'m a log message!',
  ]);
  assert.deepEqual(
    { time: e!.extracted.time, stream: e!.extracted.stream, flags: e!.extracted.flags, content: e!.extracted.content },
    { time: '2019-01-01T01:00:00.000000001Z', stream: 'stderr', flags: 'P', content: "i'm a log message!" },
  );
  const [f] = run([{ regex: { expression: '(?P<a>x)|(?P<b>y)' } }, { regex: { expression: '^(?P<year>\\d+)', source: 'time' } }], ['y'], { time: '2019-01' });
  assert.equal(f!.extracted.a, '');
  assert.equal(f!.extracted.b, 'y');
  assert.equal(f!.extracted.year, '2019');
  assert.match(configError([{ regex: { expression: '(?P<a>' } }]).message, /invalid regular expression/);
});

test('regex stage: Go RE2 syntax (model/re2.ts), `.` stops at newlines as in Go, unsupported syntax refused at load', () => {
  const [e] = run([{ regex: { expression: '(?i)^(?P<level>error)[[:space:]]\\Q1+1\\E(?P<rest>.*)' } }], ['ERROR 1+1 a\nb']);
  assert.equal(e!.extracted.level, 'ERROR');
  assert.equal(e!.extracted.rest, ' a');
  assert.match(configError([{ regex: { expression: 'a(?i)b' } }]).message, /invalid regular expression: inline flag groups/);
});

test('labels: from extracted values (renamed or same name); non-strings converted; missing skipped', () => {
  const [e] = run(
    [{ json: { expressions: { level: null, user: null, n: null, obj: null } } }, { labels: { level: null, username: 'user', n: '', nothing: null } }],
    ['{"level":"error","user":"anna","n":1.5}'],
  );
  assert.deepEqual(e!.labels, { filename: '/var/log/app.log', level: 'error', username: 'anna', n: '1.5' });
  assert.match(configError([{ labels: { 'bad-name': null } }]).message, /invalid label name/);
});

test('structured_metadata: from extracted values, or moved out of the labels', () => {
  const [e] = run(
    [{ regex: { expression: 'trace=(?P<trace_id>\\w+)' } }, { structured_metadata: { trace_id: null, pod: null } }],
    ['msg trace=abc123'],
    { filename: 'f', pod: 'pod-1' },
  );
  assert.deepEqual(e!.structuredMetadata, { trace_id: 'abc123', pod: 'pod-1' });
  assert.deepEqual(e!.labels, { filename: 'f' });
});

test('static_labels, labeldrop, labelallow', () => {
  const [e] = run([{ static_labels: { env: 'prod' } }, { labeldrop: ['filename'] }], ['x']);
  assert.deepEqual(e!.labels, { env: 'prod' });
  const [f] = run([{ static_labels: { a: '1', b: '2' } }, { labelallow: ['a'] }], ['x']);
  assert.deepEqual(f!.labels, { a: '1' });
});

test('timestamp: parsed from the extracted value; fallback formats; fudge and skip on failure', () => {
  const stages = [{ regex: { expression: '^(?P<ts>\\S+)' } }, { timestamp: { source: 'ts', format: 'RFC3339Nano', fallback_formats: ['UnixMs'] } }];
  const out = run(stages, ['2019-04-30T02:12:41.8443515Z a', '1556590361000 b', 'garbage c', 'garbage d']);
  assert.deepEqual(
    out.map((e) => e.timestamp),
    [1556590361844351500n, 1556590361000000000n, 1556590361000000001n, 1556590361000000002n],
  );
  const skipped = run([{ regex: { expression: '^(?P<ts>\\S+)' } }, { timestamp: { source: 'ts', format: 'RFC3339', action_on_failure: 'skip' } }], [
    '2019-04-30T02:12:41Z a',
    'garbage',
  ]);
  assert.equal(skipped[1]!.timestamp, READ_AT, 'skip keeps the time the line was read');
  // Without a parsed timestamp first, fudge has nothing to go on: the read time stays.
  assert.equal(run([{ timestamp: { source: 'ts', format: 'RFC3339' } }], ['x'])[0]!.timestamp, READ_AT);
  assert.deepEqual(configError([{ timestamp: { source: 'ts', format: 'RFC3339', location: 'Mars/Base' } }]).path, [0, 'timestamp', 'location']);
  assert.deepEqual(configError([{ timestamp: { source: 'ts', format: 'yyyy-MM-dd' } }]).path, [0, 'timestamp', 'format']);
  assert.deepEqual(configError([{ timestamp: { source: 'ts', format: 'Unix', action_on_failure: 'panic' } }]).path, [0, 'timestamp', 'action_on_failure']);
});

test('output: replaces the line with an extracted value', () => {
  const [e] = run([{ json: { expressions: { msg: 'message' } } }, { output: { source: 'msg' } }], ['{"message":"hello"}']);
  assert.equal(e!.line, 'hello');
  assert.equal(run([{ output: { source: 'nothing' } }], ['kept'])[0]!.line, 'kept');
  assert.deepEqual(configError([{ output: {} }]).path, [0, 'output', 'source']);
});

test('drop: source/value, expression, longer_than, older_than (all must hold)', () => {
  const lines = ['{"app":"a","level":"debug"}', '{"app":"b","level":"info"}', '{"app":"c"}'];
  const json = { json: { expressions: { app: null, level: null } } };
  // Promtail: a missing source value is absent from the map only when the key is absent; json sets null for missing paths.
  assert.deepEqual(run([json, { drop: { source: 'level', value: 'debug' } }], lines).map((e) => e.extracted.app), ['b', 'c']);
  assert.deepEqual(run([{ drop: { expression: '.*debug.*' } }], lines).map((e) => e.line), [lines[1], lines[2]]);
  assert.deepEqual(run([{ drop: { longer_than: 26 } }], lines).map((e) => e.line), [lines[1], lines[2]]);
  assert.deepEqual(run([{ drop: { longer_than: '1KB' } }], ['x'.repeat(1025), 'y']).map((e) => e.line), ['y']);
  const joined = run([json, { drop: { source: ['app', 'level'], separator: '|', expression: '^a\\|debug$' } }], lines);
  assert.deepEqual(joined.map((e) => e.extracted.app), ['b', 'c']);
  // source alone: drop when every source key is present in the extracted map.
  assert.deepEqual(run([{ regex: { expression: 'level=(?P<level>\\w+)' } }, { drop: { source: 'level' } }], ['level=debug x', 'y']).map((e) => e.line), ['y']);
  // older_than compares the entry's timestamp with now.
  const old = run(
    [{ regex: { expression: '^(?P<ts>\\S+)' } }, { timestamp: { source: 'ts', format: 'RFC3339' } }, { drop: { older_than: '24h' } }],
    ['2000-01-01T00:00:00Z old', `${new Date().toISOString()} new`],
  );
  assert.deepEqual(old.map((e) => e.line.split(' ')[1]), ['new']);
  assert.match(configError([{ drop: {} }]).message, /at least one of/);
  assert.deepEqual(configError([{ drop: { value: 'x', expression: 'y' } }]).path, [0, 'drop', 'value']);
  assert.deepEqual(configError([{ drop: { older_than: 'yesterday' } }]).path, [0, 'drop', 'older_than']);
});

test('multiline: joins lines from a firstline match, max_lines, lines before the first start pass through', () => {
  const stages = [{ multiline: { firstline: '^\\[\\d{4}-\\d{2}-\\d{2}', max_lines: 3 } }];
  const out = run(stages, [
    'orphan',
    '[2024-01-01 10:00:00] Exception',
    '  at a',
    '  at b',
    '  at c',
    '[2024-01-01 10:00:01] next',
  ]);
  assert.deepEqual(
    out.map((e) => e.line),
    ['orphan', '[2024-01-01 10:00:00] Exception\n  at a\n  at b', '  at c', '[2024-01-01 10:00:01] next'],
  );
  // The collapsed entry keeps the first line's timestamp and offsets span the block.
  assert.equal(out[1]!.startOffset, 'orphan\n'.length);
  assert.equal(out[1]!.endOffset, 'orphan\n[2024-01-01 10:00:00] Exception\n  at a\n  at b\n'.length);
});

test('multiline: max_wait_time flushes an idle block; stages after it see the joined line', async () => {
  const p = compileStages([{ multiline: { firstline: '^START', max_wait_time: '50ms' } }, { regex: { expression: '(?s)^START (?P<rest>.*)$' } }]).instantiate();
  assert.deepEqual(p.process(newEntry({}, 'START one', 1n, 0, 10)), []);
  assert.deepEqual(p.process(newEntry({}, 'two', 1n, 10, 14)), []);
  assert.equal(p.pendingStart(), 0);
  assert.deepEqual(p.flush(Date.now(), false), []);
  await new Promise((r) => setTimeout(r, 60));
  const [e] = p.flush(Date.now(), false);
  assert.equal(e!.extracted.rest, 'one\ntwo');
  assert.equal(p.pendingStart(), undefined);
});

test('pipeline_stages errors name the stage', () => {
  assert.match(configError([{ docker: {} }]).message, /unsupported stage "docker"/);
  assert.match(configError([{ json: { expressions: { a: null } }, regex: { expression: 'x' } }]).message, /exactly one stage name/);
  assert.deepEqual(configError([{ json: { expressions: { a: null }, typo: 1 } }]).path, [0, 'json']);
});

test('match: a LogQL selector with line filters runs nested stages or drops', () => {
  const options = { compileSelector: compileLogSelector };
  const p = compileStages(
    [
      { json: { expressions: { app: null } } },
      { labels: { app: null } },
      { match: { selector: '{app="loki"} |= "error"', stages: [{ static_labels: { matched: 'yes' } }] } },
      { match: { selector: '{app=~"prom.*"}', action: 'drop' } },
    ],
    options,
  ).instantiate();
  const out = ['{"app":"loki","m":"an error"}', '{"app":"loki","m":"fine"}', '{"app":"promtail"}', '{"app":"grafana"}'].flatMap((line) =>
    p.process(newEntry({}, line, 1n, 0, 1)),
  );
  assert.deepEqual(
    out.map((e) => [e.labels.app, e.labels.matched]),
    [
      ['loki', 'yes'],
      ['loki', undefined],
      ['grafana', undefined],
    ],
  );
  assert.throws(() => compileStages([{ match: { selector: '{app=', action: 'drop' } }], options), /invalid selector syntax for match stage/);
  assert.throws(() => compileStages([{ match: { selector: '{app="a"}' } }], options), /requires at least one additional stage/);
  assert.throws(() => compileStages([{ match: { selector: '{app="a"}', action: 'drop', stages: [{ labels: { a: null } }] } }], options), /cannot contain stages/);
  // Nested stage errors carry the nested path.
  try {
    compileStages([{ match: { selector: '{a="b"}', stages: [{ regex: { expression: '(' } }] } }], options);
    assert.fail('expected an error');
  } catch (error) {
    assert.deepEqual((error as StageConfigError).path, [0, 'match', 'stages', 0, 'regex', 'expression']);
  }
});
