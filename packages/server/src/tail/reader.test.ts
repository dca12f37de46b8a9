import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { Positions } from './positions.js';
import { FileReader } from './reader.js';
import { compileStages, type Entry } from './stages.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'lookout-tail-'));
  dirs.push(d);
  return d;
}
const logger = pino({ level: 'silent' });

function setup(dir: string, stages: unknown[] = []) {
  const shipped: Entry[] = [];
  const positions = new Positions(join(dir, 'positions.json'));
  const path = join(dir, 'app.log');
  const make = (p = positions) =>
    new FileReader({
      path,
      labels: { job: 'test', filename: path },
      pipeline: compileStages(stages).instantiate(),
      positions: p,
      sink: async (entries) => {
        shipped.push(...entries);
      },
      logger,
    });
  return { shipped, positions, path, make, lines: () => shipped.map((e) => e.line) };
}

test('ships complete lines only; a partial last line waits for its newline', async () => {
  const t = setup(tempDir());
  writeFileSync(t.path, 'one\ntwo\nthr');
  const reader = t.make();
  await reader.poll();
  assert.deepEqual(t.lines(), ['one', 'two']);
  assert.equal(t.positions.get(t.path)!.offset, 8);
  appendFileSync(t.path, 'ee\r\nfour\n');
  await reader.poll();
  assert.deepEqual(t.lines(), ['one', 'two', 'three', 'four']);
  assert.equal(t.positions.get(t.path)!.offset, 20);
  assert.deepEqual(t.shipped[0]!.labels, { job: 'test', filename: t.path });
  await reader.close(false);
});

test('rotation by rename: the old file is finished, the new one read from the start', async () => {
  const dir = tempDir();
  const t = setup(dir);
  writeFileSync(t.path, 'a1\na2\n');
  const reader = t.make();
  await reader.poll();
  appendFileSync(t.path, 'a3\na4'); // written before the rename, not yet read; last line unterminated
  renameSync(t.path, join(dir, 'app.log.1'));
  writeFileSync(t.path, 'b1\nb2\n');
  await reader.poll();
  assert.deepEqual(t.lines(), ['a1', 'a2', 'a3', 'a4', 'b1', 'b2']);
  appendFileSync(t.path, 'b3\n');
  await reader.poll();
  assert.deepEqual(t.lines(), ['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'b3']);
  await reader.close(false);
});

test('copytruncate: lines written between the last read and the copy are recovered from the copy', async () => {
  const dir = tempDir();
  const t = setup(dir);
  writeFileSync(t.path, 'first line of the file\nsecond\n');
  const reader = t.make();
  await reader.poll();
  appendFileSync(t.path, 'third\nfour'); // unread when the copy is taken
  await reader.poll(); // reads "third", keeps "four" partial
  appendFileSync(t.path, 'th\nfifth\n');
  copyFileSync(t.path, join(dir, 'app.log.1'));
  truncateSync(t.path, 0);
  appendFileSync(t.path, 'after truncate\n');
  await reader.poll();
  assert.deepEqual(t.lines(), ['first line of the file', 'second', 'third', 'fourth', 'fifth', 'after truncate']);
  await reader.close(false);
});

test('copytruncate where the file grew past the old offset again is detected by its first bytes', async () => {
  const dir = tempDir();
  const t = setup(dir);
  writeFileSync(t.path, 'old 1\nold 2\n');
  const reader = t.make();
  await reader.poll();
  copyFileSync(t.path, join(dir, 'app.log.1'));
  truncateSync(t.path, 0);
  appendFileSync(t.path, 'new line number 1\nnew line number 2\n');
  await reader.poll();
  assert.deepEqual(t.lines(), ['old 1', 'old 2', 'new line number 1', 'new line number 2']);
  await reader.close(false);
});

test('a restart resumes from the positions file, also across a rename or a copytruncate while stopped', async () => {
  const dir = tempDir();
  const t = setup(dir);
  writeFileSync(t.path, 'l1\nl2\n');
  let reader = t.make();
  await reader.poll();
  await reader.close(false);
  await t.positions.save();

  // Restart with nothing changed, then append.
  appendFileSync(t.path, 'l3\n');
  let positions = new Positions(join(dir, 'positions.json'));
  await positions.load();
  reader = t.make(positions);
  await reader.poll();
  assert.deepEqual(t.lines(), ['l1', 'l2', 'l3']);
  await reader.close(false);
  await positions.save();

  // Stopped; the file gets lines, is renamed, a new one is created.
  appendFileSync(t.path, 'l4\n');
  renameSync(t.path, join(dir, 'app.log.1'));
  writeFileSync(t.path, 'm1 of the new file\n');
  positions = new Positions(join(dir, 'positions.json'));
  await positions.load();
  reader = t.make(positions);
  await reader.poll();
  assert.deepEqual(t.lines(), ['l1', 'l2', 'l3', 'l4', 'm1 of the new file']);
  await reader.close(false);
  await positions.save();

  // Stopped; the file gets lines, is copied and truncated.
  appendFileSync(t.path, 'm2\n');
  copyFileSync(t.path, join(dir, 'app.log.2'));
  truncateSync(t.path, 0);
  appendFileSync(t.path, 'n1\n');
  positions = new Positions(join(dir, 'positions.json'));
  await positions.load();
  reader = t.make(positions);
  await reader.poll();
  assert.deepEqual(t.lines(), ['l1', 'l2', 'l3', 'l4', 'm1 of the new file', 'm2', 'n1']);
  await reader.close(false);
});

test('multiline blocks held by the pipeline keep the position at their first line', async () => {
  const dir = tempDir();
  const t = setup(dir, [{ multiline: { firstline: '^\\[', max_wait_time: '1h' } }]);
  writeFileSync(t.path, '[1] start\n  at a\n[2] start\n  at b\n');
  const reader = t.make();
  await reader.poll();
  assert.deepEqual(t.lines(), ['[1] start\n  at a']);
  assert.equal(t.positions.get(t.path)!.offset, '[1] start\n  at a\n'.length, 'the held block [2] is not committed');
  await reader.flushHeld();
  assert.deepEqual(t.lines(), ['[1] start\n  at a', '[2] start\n  at b']);
  assert.equal(t.positions.get(t.path)!.offset, 34);
  await reader.close(false);
});

test('a failing sink does not advance the position', async () => {
  const dir = tempDir();
  const path = join(dir, 'app.log');
  writeFileSync(path, 'x1\nx2\n');
  const positions = new Positions(join(dir, 'positions.json'));
  const reader = new FileReader({
    path,
    labels: {},
    pipeline: compileStages([]).instantiate(),
    positions,
    sink: () => Promise.reject(new Error('refused')),
    logger,
  });
  await assert.rejects(reader.poll(), /refused/);
  assert.equal(positions.get(path)!.offset, 0);
  await reader.close(false);
});

test('close(finish) reads what is left, the unterminated last line included', async () => {
  const t = setup(tempDir());
  writeFileSync(t.path, 'p1\n');
  const reader = t.make();
  await reader.poll();
  appendFileSync(t.path, 'p2\np3');
  await reader.close(true);
  assert.deepEqual(t.lines(), ['p1', 'p2', 'p3']);
  assert.equal(t.positions.get(t.path)!.offset, 8);
});

test('rename with a gap before the new file appears: the old file is finished, the new one read once', async () => {
  const dir = tempDir();
  const t = setup(dir);
  writeFileSync(t.path, 'g1\n');
  let reader = t.make();
  await reader.poll();
  appendFileSync(t.path, 'g2\n');
  renameSync(t.path, join(dir, 'app.log.1'));
  await reader.poll(); // path missing: keeps reading the open file
  assert.deepEqual(t.lines(), ['g1', 'g2']);
  await reader.close(true); // discovery no longer sees the path
  writeFileSync(t.path, 'h1\n');
  reader = t.make();
  await reader.poll();
  assert.deepEqual(t.lines(), ['g1', 'g2', 'h1']);
  await reader.close(false);
});
