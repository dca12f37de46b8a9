/**
 * One series' samples in the head: growable columns (timestamps, values, staleness) kept in the
 * order the ClickHouse read returns them, so the head answers exactly what storage would.
 *
 * metric_samples is a plain MergeTree: duplicate rows are all kept, and the read sorts a
 * series' rows as (TimestampMs, Value, Flags) tuples (metric-querier.ts, `arraySort`), where
 * NaN sorts after every number and equals another NaN. Appends insert at that position.
 */

/** Capacity of a new series' columns; doubled as they fill. */
const INITIAL_CAPACITY = 16;

/** ClickHouse's order of two (timestamp, value, flags) rows with equal timestamps. */
export function compareValueFlags(va: number, fa: number, vb: number, fb: number): number {
  if (va !== va) {
    if (vb === vb) return 1;
  } else if (vb !== vb) {
    return -1;
  } else if (va !== vb) {
    return va < vb ? -1 : 1;
  }
  return fa - fb;
}

export class SeriesSamples {
  private t = new Float64Array(INITIAL_CAPACITY);
  private v = new Float64Array(INITIAL_CAPACITY);
  /** Allocated when the first staleness marker arrives. */
  private s: Uint8Array | undefined;
  /** The live samples are [start, end). */
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
  }

  /** Timestamp of the newest sample (undefined when empty). */
  get maxTimeMs(): number | undefined {
    return this.end > this.start ? this.t[this.end - 1] : undefined;
  }

  /** Adds one sample (timestamp whole ms; value already as storage keeps it: NaN for markers). */
  append(timestampMs: number, value: number, stale: boolean): void {
    if (stale && this.s === undefined) this.s = new Uint8Array(this.t.length);
    if (this.end === this.t.length) this.grow();
    const flag = stale ? 1 : 0;
    let at = this.end;
    if (at > this.start) {
      const last = this.t[at - 1]!;
      if (timestampMs < last || (timestampMs === last && compareValueFlags(value, flag, this.v[at - 1]!, this.s?.[at - 1] ?? 0) < 0)) {
        at = this.insertionPoint(timestampMs, value, flag);
        this.t.copyWithin(at + 1, at, this.end);
        this.v.copyWithin(at + 1, at, this.end);
        this.s?.copyWithin(at + 1, at, this.end);
      }
    }
    this.t[at] = timestampMs;
    this.v[at] = value;
    if (this.s !== undefined) this.s[at] = flag;
    this.end++;
  }

  /** Drops samples older than minTimeMs; returns how many were dropped. */
  trimBefore(minTimeMs: number): number {
    const cut = this.lowerBound(minTimeMs);
    const dropped = cut - this.start;
    this.start = cut;
    if (this.start === this.end) this.start = this.end = 0;
    else if (dropped > 0 && this.length < this.t.length / 4 && this.t.length > INITIAL_CAPACITY) this.resize(Math.max(INITIAL_CAPACITY, this.length * 2));
    return dropped;
  }

  /** Copies of the samples with startMs ≤ t ≤ endMs; undefined when there are none. */
  range(startMs: number, endMs: number): { timestampsMs: Float64Array; values: Float64Array; stale?: Uint8Array } | undefined {
    const lo = this.lowerBound(startMs);
    const hi = this.upperBound(endMs);
    if (hi <= lo) return undefined;
    const out: { timestampsMs: Float64Array; values: Float64Array; stale?: Uint8Array } = {
      timestampsMs: this.t.slice(lo, hi),
      values: this.v.slice(lo, hi),
    };
    if (this.s !== undefined) {
      const stale = this.s.subarray(lo, hi);
      if (stale.includes(1)) out.stale = stale.slice();
    }
    return out;
  }

  /** Whether any sample lies in [startMs, endMs]. */
  hasSampleIn(startMs: number, endMs: number): boolean {
    const lo = this.lowerBound(startMs);
    return lo < this.end && this.t[lo]! <= endMs;
  }

  /** Bytes held by the columns (capacity, not only live samples). */
  get bytes(): number {
    return this.t.byteLength + this.v.byteLength + (this.s?.byteLength ?? 0);
  }

  /** First position whose timestamp is ≥ ms. */
  private lowerBound(ms: number): number {
    let lo = this.start;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.t[mid]! < ms) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First position whose timestamp is > ms. */
  private upperBound(ms: number): number {
    let lo = this.start;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.t[mid]! <= ms) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Position after every sample that sorts before or equal to (t, v, flag). */
  private insertionPoint(timestampMs: number, value: number, flag: number): number {
    let at = this.upperBound(timestampMs);
    while (at > this.start && this.t[at - 1] === timestampMs && compareValueFlags(value, flag, this.v[at - 1]!, this.s?.[at - 1] ?? 0) < 0) at--;
    return at;
  }

  private grow(): void {
    // Compact in place when trimming freed at least half; otherwise double.
    if (this.start >= this.t.length / 2) this.resize(this.t.length);
    else this.resize(this.t.length * 2);
  }

  private resize(capacity: number): void {
    const n = this.length;
    const t = new Float64Array(capacity);
    const v = new Float64Array(capacity);
    t.set(this.t.subarray(this.start, this.end));
    v.set(this.v.subarray(this.start, this.end));
    if (this.s !== undefined) {
      const s = new Uint8Array(capacity);
      s.set(this.s.subarray(this.start, this.end));
      this.s = s;
    }
    this.t = t;
    this.v = v;
    this.start = 0;
    this.end = n;
  }
}
