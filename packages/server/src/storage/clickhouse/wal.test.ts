import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openClickHouseStorage } from './index.js';
import { NativeBlock } from './native.js';
import { openPool } from './pool.js';
import { BlockLog } from './wal.js';

const retention = { logs: 7, traces: 7, metrics: 30 };

interface Stored {
  table: string;
  columns: readonly string[] | undefined;
  bytes: Buffer;
  token: string;
}

function recorder(fail = 0): { stored: Stored[]; insert: ConstructorParameters<typeof BlockLog>[0]['insert'] } {
  const stored: Stored[] = [];
  let failures = fail;
  return {
    stored,
    async insert(table, columns, path, token) {
      if (failures-- > 0) throw new Error('engine says no');
      stored.push({ table, columns, bytes: readFileSync(path), token });
    },
  };
}

const dir = () => mkdtempSync(join(tmpdir(), 'lookout-wal-'));

test('appends are stored one segment per table, in order, and the files go away', async () => {
  const d = dir();
  const { stored, insert } = recorder();
  const log = new BlockLog({ dir: d, insert, maxAgeMs: 60_000 });
  await log.replay();
  await log.append('a', ['x'], Buffer.from('one'), 1);
  await log.append('b', ['y'], Buffer.from('two'), 1);
  await log.append('a', ['x'], Buffer.from('three'), 2);
  assert.equal(stored.length, 0, 'nothing is inserted before the segment rolls');
  await log.flushed();
  assert.deepEqual(
    stored.map((s) => [s.table, s.columns, s.bytes.toString()]),
    [
      ['a', ['x'], 'onethree'],
      ['b', ['y'], 'two'],
    ],
  );
  assert.notEqual(stored[0]!.token, stored[1]!.token);
  assert.deepEqual(readdirSync(d), []);
  await log.close();
});

test('a segment rolls at its row limit and by age', async () => {
  const d = dir();
  const { stored, insert } = recorder();
  const log = new BlockLog({ dir: d, insert, segmentRows: 3, maxAgeMs: 50 });
  await log.append('a', ['x'], Buffer.from('1'), 2);
  await log.append('a', ['x'], Buffer.from('2'), 2);
  await log.append('a', ['x'], Buffer.from('3'), 1);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(
    stored.map((s) => s.bytes.toString()),
    ['12', '3'],
  );
  await log.close();
});

test('a new column list starts a new segment', async () => {
  const { stored, insert } = recorder();
  const log = new BlockLog({ dir: dir(), insert, maxAgeMs: 60_000 });
  await log.append('a', ['x'], Buffer.from('1'), 1);
  await log.append('a', ['x', 'y'], Buffer.from('2'), 1);
  await log.flushed();
  assert.deepEqual(
    stored.map((s) => [s.columns, s.bytes.toString()]),
    [
      [['x'], '1'],
      [['x', 'y'], '2'],
    ],
  );
});

test('replay stores what a dead process left, cut to its last complete block, with the same token', async () => {
  const d = dir();
  const first = recorder();
  const log = new BlockLog({ dir: d, insert: first.insert, maxAgeMs: 60_000 });
  await log.append('otel_logs', ['x'], Buffer.from('AAAA'), 1);
  await log.append('otel_logs', ['x'], Buffer.from('BBBB'), 1);
  // The process dies here: the segment was never handed over. A half-written block follows.
  const [segment] = readdirSync(d).filter((f) => f.endsWith('.native'));
  assert.ok(segment);
  writeFileSync(join(d, segment), 'AAAABBBBCC');
  const second = recorder();
  const replayed = new BlockLog({ dir: d, insert: second.insert });
  assert.equal(await replayed.replay(), 1);
  assert.equal(second.stored.length, 1);
  assert.equal(second.stored[0]!.bytes.toString(), 'AAAABBBB');
  assert.equal(second.stored[0]!.table, 'otel_logs');
  assert.equal(second.stored[0]!.columns, undefined, 'the file header names the columns');
  assert.equal(`${second.stored[0]!.token}.otel_logs.native`, segment);
  assert.deepEqual(readdirSync(d), []);
});

test('a segment the engine keeps refusing is retried, then moved aside and reported', async () => {
  const d = dir();
  const { stored, insert } = recorder(10);
  const failed: string[] = [];
  const log = new BlockLog({ dir: d, insert, retryDelaysMs: [1, 1], onSegmentFailed: (path) => failed.push(path) });
  await log.append('a', ['x'], Buffer.from('1'), 1);
  await log.flushed();
  assert.equal(stored.length, 0);
  assert.equal(failed.length, 1);
  assert.ok(existsSync(failed[0]!));
  assert.equal(readFileSync(failed[0]!).toString(), '1');
  // A transient failure is retried and stored.
  const retried = recorder(1);
  const log2 = new BlockLog({ dir: dir(), insert: retried.insert, retryDelaysMs: [1, 1] });
  await log2.append('a', ['x'], Buffer.from('2'), 1);
  await log2.flushed();
  assert.equal(retried.stored.length, 1);
});

test('appends wait while too much is not yet stored', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let inserts = 0;
  const log = new BlockLog({
    dir: dir(),
    maxPendingBytes: 5,
    maxAgeMs: 60_000,
    insert: async () => {
      inserts++;
      await gate;
    },
  });
  await log.append('a', ['x'], Buffer.from('123456'), 1);
  let second = false;
  const pending = log.append('a', ['x'], Buffer.from('7'), 1).then(() => (second = true));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(second, false, 'the second append waits for the first segment');
  assert.equal(inserts, 1);
  release();
  await pending;
  await log.close();
});

test('appends after close are refused', async () => {
  const log = new BlockLog({ dir: dir(), insert: async () => undefined });
  await log.close();
  await assert.rejects(log.append('a', ['x'], Buffer.from('1'), 1), /closing/);
});

test('on the embedded engine a segment inserted twice with its token is stored once', async () => {
  const dataDir = dir();
  // Migrations (including the deduplication window) come with the storage.
  const storage = await openClickHouseStorage({ dataDir, retention });
  await storage.close();
  const pool = openPool({ dataDir, size: 1 });
  try {
    const rows = 3;
    const block = new NativeBlock(rows, 5);
    block.strings('TenantId', [0, 1, 2], () => 't');
    const fp = block.column('Fingerprint', 'UInt64');
    for (let i = 0; i < rows; i++) fp.uint64(7);
    const ts = block.column('TimestampMs', 'Int64');
    for (let i = 0; i < rows; i++) ts.int64(BigInt(Date.now() - i * 1000));
    const v = block.column('Value', 'Float64');
    for (let i = 0; i < rows; i++) v.float64(i);
    const f = block.column('Flags', 'UInt8');
    for (let i = 0; i < rows; i++) f.uint8(0);
    const path = join(dataDir, 'segment.native');
    writeFileSync(path, block.finish());
    await pool.insertNativeFile!('metric_samples', undefined, path, 'seg-1');
    await pool.insertNativeFile!('metric_samples', undefined, path, 'seg-1');
    const count = async () => Number((await pool.select<{ n: string }>('SELECT toString(count()) AS n FROM metric_samples'))[0]!.n);
    assert.equal(await count(), 3);
    await pool.insertNativeFile!('metric_samples', ['TenantId', 'Fingerprint', 'TimestampMs', 'Value', 'Flags'], path, 'seg-2');
    assert.equal(await count(), 6, 'another token is another insert');
    // Inserts without a token are never taken for repeats.
    await pool.insertText('metric_samples', 'TabSeparated', `t\t7\t${Date.now()}\t1\t0\n`);
    await pool.insertText('metric_samples', 'TabSeparated', `t\t7\t${Date.now()}\t1\t0\n`.replace(/\t1\t0/, '\t1\t0'));
    assert.equal(await count(), 8);
  } finally {
    await pool.close();
  }
});

test('storage reads see every acknowledged append at once (read-your-writes over the log)', async () => {
  const dataDir = dir();
  const storage = await openClickHouseStorage({ dataDir, retention });
  try {
    const now = Date.now();
    const labels = Object.freeze({ __name__: 'wal_metric', job: 'x' });
    await storage.appender.appendSamples('t', [
      { labels, timestampMs: now - 1000, value: 1 },
      { labels, timestampMs: now, value: 2 },
    ]);
    const found = await storage.series.select({ tenant: 't', matchers: [{ type: '=', name: '__name__', value: 'wal_metric' }], startMs: now - 5000, endMs: now });
    assert.deepEqual(
      found.map((s) => s.samples.map((x) => x.value)),
      [[1, 2]],
    );
    assert.ok(existsSync(join(dataDir, 'wal')));
    assert.deepEqual(readdirSync(join(dataDir, 'wal')), [], 'the read flushed the log');
  } finally {
    await storage.close();
  }
});

test('a barrier on one table neither waits for nor rolls another table’s segment', async () => {
  const { stored, insert } = recorder();
  const log = new BlockLog({ dir: dir(), insert, maxAgeMs: 60_000 });
  await log.append('a', ['x'], Buffer.from('1'), 1);
  await log.flushed(['b']);
  assert.equal(stored.length, 0);
  await log.append('b', ['y'], Buffer.from('2'), 1);
  await log.flushed(['b']);
  assert.deepEqual(
    stored.map((s) => s.table),
    ['b'],
  );
  await log.close();
  assert.deepEqual(
    stored.map((s) => s.table),
    ['b', 'a'],
  );
});
