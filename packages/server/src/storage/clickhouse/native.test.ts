/**
 * The Native writer against the engine itself: a block written by NativeBlock is read into a
 * table, and the engine's own Native output of that table must be the same bytes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LowCardinalityColumn, NativeBlock, NativeBuffer } from './native.js';
import { openPool, type Pool } from './pool.js';

let dataDir: string;
let pool: Pool;

before(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'lookout-native-'));
  pool = openPool({ dataDir, size: 1 });
});

after(async () => {
  await pool.close();
  rmSync(dataDir, { recursive: true, force: true });
});

// Around the writer's one-byte-length fast path (42 UTF-16 units) and the varint boundaries.
const STRINGS = [
  '',
  'a',
  'é'.repeat(42), // 84 bytes
  '€'.repeat(42), // 126 bytes, one length byte
  '€'.repeat(43), // 129 bytes, two length bytes
  '😀'.repeat(21), // 42 units, 84 bytes
  'x'.repeat(127),
  'x'.repeat(128),
  'ü'.repeat(10_000), // 20 000 bytes, three length bytes
  'tab\tnew\nline "q" \\ \u0000',
];

describe('NativeBuffer', () => {
  it('writes varints and strings as ClickHouse does', () => {
    const out = new NativeBuffer(4);
    for (const v of [0, 1, 127, 128, 16_383, 16_384, 2 ** 32, 2 ** 53 - 1]) out.varUInt(v);
    assert.equal(out.view().toString('hex'), ['00', '01', '7f', '8001', 'ff7f', '808001', '8080808010', 'ffffffffffffff0f'].join(''));
    out.reset();
    for (const s of STRINGS) out.string(s);
    const bytes = out.view();
    let pos = 0;
    for (const s of STRINGS) {
      let length = 0;
      let shift = 1;
      for (;;) {
        const b = bytes[pos++]!;
        length += (b & 0x7f) * shift;
        shift *= 128;
        if (b < 0x80) break;
      }
      assert.equal(length, Buffer.byteLength(s));
      assert.equal(bytes.subarray(pos, pos + length).toString('utf8'), s);
      pos += length;
    }
    assert.equal(pos, bytes.length);
  });

  it('encodes UTF-8 as Buffer does, lone surrogates included', () => {
    const pieces = ['a', '~', '\u007f', '\u0080', 'é', '\u07ff', '\u0800', '€', '\uffff', '😀', '\u{10ffff}', '\ud800', '\udc00', '\udbff', '\u0000'];
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648);
    const out = new NativeBuffer(16);
    for (let round = 0; round < 2_000; round++) {
      let text = '';
      const parts = next() % 50;
      for (let i = 0; i < parts; i++) text += pieces[next() % pieces.length];
      out.reset();
      out.string(text);
      const expected = new NativeBuffer(16);
      expected.varUInt(Buffer.byteLength(text));
      expected.bytes(Buffer.from(text));
      assert.equal(out.view().toString('hex'), expected.view().toString('hex'), JSON.stringify(text));
    }
  });

  it('writes fixed-width numbers little-endian', () => {
    const out = new NativeBuffer(1);
    out.uint8(0x1ff);
    out.uint32(0xffffffff);
    out.int32(-2);
    out.uint64(2 ** 53 - 1);
    out.int64(-1n);
    out.uint64Big(1n << 63n);
    out.float64(-0.5);
    assert.equal(out.view().toString('hex'), 'ff' + 'ffffffff' + 'feffffff' + 'ffffffffffff1f00' + 'ffffffffffffffff' + '0000000000000080' + '000000000000e0bf');
  });
});

describe('NativeBlock', () => {
  it('refuses a block with fewer columns than declared', () => {
    const block = new NativeBlock(0, 2);
    block.column('a', 'String');
    assert.throws(() => block.finish(), /1 columns written, 2 declared/);
  });

  it('is read by the engine and equals the engine own Native output byte for byte', async () => {
    const rows = STRINGS.length;
    const maps = STRINGS.map((s, i): Record<string, string> => (i % 3 === 0 ? {} : { z: s, '10': 'ten', a: String(i) }));
    const block = new NativeBlock(rows, 9);
    block.strings('s', STRINGS, (s) => s);
    let out = block.column('u8', 'UInt8');
    for (let i = 0; i < rows; i++) out.uint8(i * 40);
    out = block.column('u32', 'UInt32');
    for (let i = 0; i < rows; i++) out.uint32(0xffffffff - i);
    out = block.column('i64', 'Int64');
    for (let i = 0; i < rows; i++) out.int64(BigInt(i) * -1_000_000_000_000n);
    out = block.column('u64', 'UInt64');
    for (let i = 0; i < rows; i++) out.uint64Big((1n << 64n) - 1n - BigInt(i));
    out = block.column('f64', 'Float64');
    for (let i = 0; i < rows; i++) out.float64(i / 3);
    out = block.column('t', 'DateTime64(9)');
    for (let i = 0; i < rows; i++) out.int64(1_700_000_000_123_456_789n + BigInt(i));
    block.stringMaps('m', maps, (m) => m);
    out = block.column('arr', 'Array(String)');
    let offset = 0;
    for (let i = 0; i < rows; i++) out.uint64((offset += i % 3));
    for (let i = 0; i < rows; i++) for (let k = 0; k < i % 3; k++) out.string(STRINGS[(i + k) % rows]!);
    const bytes = Buffer.from(block.finish());
    assert.deepEqual(block.columns, ['s', 'u8', 'u32', 'i64', 'u64', 'f64', 't', 'm', 'arr']);

    await pool.command(
      `CREATE TABLE native_roundtrip (s String, u8 UInt8, u32 UInt32, i64 Int64, u64 UInt64, f64 Float64,
        t DateTime64(9), m Map(String, String), arr Array(String)) ENGINE = Memory`,
    );
    await pool.insertNative!('native_roundtrip', block.columns, bytes);
    const stored = await pool.select<{ s: string; m: string; u64: string }>('SELECT s, toString(m) AS m, toString(u64) AS u64 FROM native_roundtrip');
    assert.deepEqual(
      stored.map((r) => r.s),
      STRINGS,
    );
    assert.equal(stored[1]!.m, `{'10':'ten','z':'a','a':'1'}`);
    assert.equal(stored[0]!.u64, '18446744073709551615');

    const path = join(dataDir, 'engine-written.native');
    await pool.command(`INSERT INTO FUNCTION file({path:String}, 'Native') SELECT * FROM native_roundtrip`, { path });
    assert.equal(readFileSync(path).toString('hex'), bytes.toString('hex'));
  });

  it('writes LowCardinality columns, alone and in Map and Array, as the engine does', async () => {
    // Dictionary sizes around the index widths: UInt8 up to 256 entries, UInt16, UInt32.
    for (const distinct of [1, 255, 256, 257, 70_000]) {
      const rows = distinct + 3;
      const values = Array.from({ length: rows }, (_, i) => (i < distinct ? `v${i}` : i === distinct ? '' : 'v0'));
      const block = new NativeBlock(rows, 4);
      const lc = new LowCardinalityColumn();
      let out = block.column('s', 'LowCardinality(String)');
      LowCardinalityColumn.writePrefix(out);
      for (const v of values) lc.add(v);
      lc.writeData(out);
      // Map(LowCardinality(String), LowCardinality(String)): both prefixes, offsets, keys, values.
      const keys = new LowCardinalityColumn();
      const mapValues = new LowCardinalityColumn();
      out = block.column('m', 'Map(LowCardinality(String), LowCardinality(String))');
      LowCardinalityColumn.writePrefix(out);
      LowCardinalityColumn.writePrefix(out);
      let count = 0;
      for (let i = 0; i < rows; i++) {
        if (i % 2 === 0) {
          keys.add('k');
          mapValues.add(values[i]!);
          count++;
        }
        out.uint64(count);
      }
      keys.writeData(out);
      mapValues.writeData(out);
      // Array(LowCardinality(String)) with no elements at all: the prefix only.
      out = block.column('empty', 'Array(LowCardinality(String))');
      LowCardinalityColumn.writePrefix(out);
      for (let i = 0; i < rows; i++) out.uint64(0);
      new LowCardinalityColumn().writeData(out);
      // Array(Map(LowCardinality(String), String)).
      out = block.column('am', 'Array(Map(LowCardinality(String), String))');
      LowCardinalityColumn.writePrefix(out);
      const amKeys = new LowCardinalityColumn();
      for (let i = 0; i < rows; i++) out.uint64(i < 3 ? i + 1 : 3);
      let elements = 0;
      for (let e = 0; e < 3; e++) {
        if (e !== 1) {
          amKeys.add(`key${e}`);
          elements++;
        }
        out.uint64(elements);
      }
      amKeys.writeData(out);
      out.string('x');
      out.string('z');
      const bytes = Buffer.from(block.finish());

      const table = `native_lc_${distinct}`;
      await pool.command(
        `CREATE TABLE ${table} (s LowCardinality(String), m Map(LowCardinality(String), LowCardinality(String)),
          empty Array(LowCardinality(String)), am Array(Map(LowCardinality(String), String))) ENGINE = Memory`,
      );
      await pool.insertNative!(table, block.columns, bytes);
      const [head] = await pool.select<{ n: string; s: string; m: string; am: string; empties: string }>(
        `SELECT toString(count()) AS n, toString(groupArray(s)[${distinct + 1}]) AS s, toString(groupArray(m)[1]) AS m,
           toString(arrayFlatten(groupArray(am))) AS am, toString(countIf(empty = [])) AS empties FROM ${table}`,
      );
      assert.deepEqual(head, { n: String(rows), s: '', m: "{'k':'v0'}", am: "[{'key0':'x'},{},{'key2':'z'}]", empties: String(rows) });
      const path = join(dataDir, `${table}.native`);
      await pool.command(`INSERT INTO FUNCTION file({path:String}, 'Native') SELECT * FROM ${table}`, { path });
      const written = readFileSync(path);
      assert.ok(written.equals(bytes), `engine output equals the block (${distinct} distinct values)`);
    }
  });
});
