/**
 * ClickHouse's Native format, written column by column: the embedded engine reads it about four
 * times cheaper than JSONEachRow (it copies columns instead of parsing text; docs/BENCHMARKS.md),
 * and building it in JavaScript costs less than building the JSON text.
 *
 * Only what Lookout's tables need: String, LowCardinality(String), fixed-width integers and
 * floats, DateTime64 (Int64 ticks), Map and Array of those. The layout, as ClickHouse writes it
 * to a file (no block info, no custom serialization flags): varint column count, varint row
 * count, then per column its name, its type name and its data. Strings are a varint byte length
 * and the UTF-8 bytes; Array and Map are cumulative UInt64 offsets per row followed by the
 * elements (a Map's keys, then its values); a LowCardinality column's state prefix comes before
 * all of its column's data (a Map's before its offsets). native.test.ts checks the bytes
 * against the engine's own output.
 */

export class NativeBuffer {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 1 << 20) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + bytes) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  varUInt(value: number): void {
    this.ensure(10);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  string(text: string): void {
    const length = text.length;
    // Up to 42 UTF-16 units are at most 126 UTF-8 bytes: one length byte, patched after
    // writing. Encoded here rather than by Buffer#write, whose per-call overhead is most of the
    // cost of a short string (attribute keys and values, ids, names).
    if (length < 43) {
      this.ensure(1 + length * 3);
      const buf = this.buf;
      const start = this.pos;
      let p = start + 1;
      for (let i = 0; i < length; i++) {
        let c = text.charCodeAt(i);
        if (c < 0x80) {
          buf[p++] = c;
        } else if (c < 0x800) {
          buf[p++] = 0xc0 | (c >> 6);
          buf[p++] = 0x80 | (c & 0x3f);
        } else {
          if (c >= 0xd800 && c <= 0xdfff) {
            const next = i + 1 < length ? text.charCodeAt(i + 1) : 0;
            if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
              const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
              buf[p++] = 0xf0 | (cp >> 18);
              buf[p++] = 0x80 | ((cp >> 12) & 0x3f);
              buf[p++] = 0x80 | ((cp >> 6) & 0x3f);
              buf[p++] = 0x80 | (cp & 0x3f);
              i++;
              continue;
            }
            // A lone surrogate becomes U+FFFD, as Buffer#write makes it.
            c = 0xfffd;
          }
          buf[p++] = 0xe0 | (c >> 12);
          buf[p++] = 0x80 | ((c >> 6) & 0x3f);
          buf[p++] = 0x80 | (c & 0x3f);
        }
      }
      buf[start] = p - start - 1;
      this.pos = p;
      return;
    }
    const bytes = Buffer.byteLength(text, 'utf8');
    this.varUInt(bytes);
    this.ensure(bytes);
    this.pos += this.buf.write(text, this.pos, bytes, 'utf8');
  }

  /** Bytes already in Native layout (e.g. a cached column slice). */
  bytes(chunk: Uint8Array): void {
    this.ensure(chunk.length);
    this.buf.set(chunk, this.pos);
    this.pos += chunk.length;
  }

  uint8(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value & 0xff;
  }

  uint16(value: number): void {
    this.ensure(2);
    this.buf[this.pos++] = value & 0xff;
    this.buf[this.pos++] = (value >>> 8) & 0xff;
  }

  uint32(value: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(value >>> 0, this.pos);
    this.pos += 4;
  }

  int32(value: number): void {
    this.ensure(4);
    this.buf.writeInt32LE(value | 0, this.pos);
    this.pos += 4;
  }

  /** A non-negative integer below 2^53 as UInt64 (offsets, counts). */
  uint64(value: number): void {
    this.ensure(8);
    this.buf.writeUInt32LE(value % 0x1_0000_0000, this.pos);
    this.buf.writeUInt32LE(Math.floor(value / 0x1_0000_0000), this.pos + 4);
    this.pos += 8;
  }

  int64(value: bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64LE(value, this.pos);
    this.pos += 8;
  }

  uint64Big(value: bigint): void {
    this.ensure(8);
    this.buf.writeBigUInt64LE(value, this.pos);
    this.pos += 8;
  }

  float64(value: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  get length(): number {
    return this.pos;
  }

  /** Bytes allocated (grows to the largest content written since construction). */
  get capacity(): number {
    return this.buf.length;
  }

  /** The bytes written so far (a view; valid until the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  reset(): void {
    this.pos = 0;
  }
}

// SerializationLowCardinality (ClickHouse src/DataTypes/Serializations): the state prefix is
// the key version, and each block's dictionary travels with it as "additional keys".
const LOW_CARDINALITY_KEY_VERSION = 1; // SharedDictionariesWithAdditionalKeys
const HAS_ADDITIONAL_KEYS = 1 << 9;
const NEED_UPDATE_DICTIONARY = 1 << 10;

/**
 * A LowCardinality(String) column being built, laid out as ClickHouse writes it to Native: a
 * per-block dictionary (the default '' first, then values in order of first use) and one index
 * per row, as narrow as the dictionary allows. Inserting it skips the engine's String →
 * LowCardinality conversion, most of the cost of reading a String block (docs/BENCHMARKS.md).
 */
export class LowCardinalityColumn {
  private readonly positions = new Map<string, number>();
  private readonly keys: string[] = [];
  private indexes = new Uint32Array(1024);
  count = 0;
  /** Changes on every reset: lets callers cache dictionary positions for one block. */
  epoch = 0;

  constructor() {
    this.reset();
  }

  reset(): void {
    this.positions.clear();
    this.positions.set('', 0);
    this.keys.length = 0;
    this.keys.push('');
    this.count = 0;
    this.epoch++;
  }

  /** The value's dictionary position, adding it to the dictionary (not as a row). */
  position(value: string): number {
    let index = this.positions.get(value);
    if (index === undefined) {
      index = this.keys.length;
      this.keys.push(value);
      this.positions.set(value, index);
    }
    return index;
  }

  add(value: string): void {
    this.addPosition(this.position(value));
  }

  addPosition(index: number): void {
    if (this.count === this.indexes.length) {
      const next = new Uint32Array(this.indexes.length * 2);
      next.set(this.indexes);
      this.indexes = next;
    }
    this.indexes[this.count++] = index;
  }

  /** The state prefix: written once per column, before any data of the column it belongs to. */
  static writePrefix(out: NativeBuffer): void {
    out.uint64(LOW_CARDINALITY_KEY_VERSION);
  }

  writeData(out: NativeBuffer): void {
    // No rows, no data (not even the dictionary): an Array or Map with no elements in the
    // whole block writes only the prefix.
    if (this.count === 0) return;
    const keys = this.keys;
    // The widths the engine picks for a dictionary of this size (UInt8 below 256 entries).
    const width = keys.length <= 0xff ? 0 : keys.length <= 0xffff ? 1 : 2;
    out.uint64(HAS_ADDITIONAL_KEYS | NEED_UPDATE_DICTIONARY | width);
    out.uint64(keys.length);
    for (let i = 0; i < keys.length; i++) out.string(keys[i]!);
    out.uint64(this.count);
    const n = this.count;
    const indexes = this.indexes;
    if (width === 0) {
      for (let i = 0; i < n; i++) out.uint8(indexes[i]!);
    } else if (width === 1) {
      for (let i = 0; i < n; i++) out.uint16(indexes[i]!);
    } else {
      for (let i = 0; i < n; i++) out.uint32(indexes[i]!);
    }
  }
}

const discarded = new NativeBuffer(1 << 10);

/** A block under construction: columns are added in order, each written whole. */
export class NativeBlock {
  readonly out: NativeBuffer;
  readonly columns: string[] = [];
  private columnCount = 0;
  private readonly expected: number;

  constructor(
    readonly rows: number,
    expectedColumns: number,
    out = new NativeBuffer(),
  ) {
    this.out = out;
    // The column count is known up front for every table; finish() checks it.
    out.varUInt(expectedColumns);
    out.varUInt(rows);
    this.expected = expectedColumns;
  }

  /** Starts a column: the caller then writes exactly `rows` values of `type`. */
  column(name: string, type: string): NativeBuffer {
    this.columns.push(name);
    this.columnCount++;
    this.out.string(name);
    this.out.string(type);
    // A block of no rows has no column data at all, not even LowCardinality's state prefix
    // (the engine's reader and writer skip it): what the caller writes is discarded.
    if (this.rows === 0) {
      discarded.reset();
      return discarded;
    }
    return this.out;
  }

  /** String column from a per-row accessor. */
  strings<T>(name: string, items: readonly T[], get: (item: T) => string): void {
    const out = this.column(name, 'String');
    for (const item of items) out.string(get(item));
  }

  /**
   * Map(String, String) column from per-row key/value objects: offsets, then all keys, then all
   * values, in each object's own key order (the order JSON.stringify would give).
   */
  stringMaps<T>(name: string, items: readonly T[], get: (item: T) => Record<string, string>): void {
    const out = this.column(name, 'Map(String, String)');
    const maps: Record<string, string>[] = new Array(items.length);
    const keys: string[][] = new Array(items.length);
    let offset = 0;
    for (let i = 0; i < items.length; i++) {
      const map = get(items[i]!);
      const k = Object.keys(map);
      maps[i] = map;
      keys[i] = k;
      offset += k.length;
      out.uint64(offset);
    }
    for (const k of keys) for (const key of k) out.string(key);
    for (let i = 0; i < maps.length; i++) {
      const map = maps[i]!;
      for (const key of keys[i]!) out.string(map[key]!);
    }
  }

  finish(): Buffer {
    if (this.columnCount !== this.expected) {
      throw new Error(`Native block: ${this.columnCount} columns written, ${this.expected} declared`);
    }
    return this.out.view();
  }
}
