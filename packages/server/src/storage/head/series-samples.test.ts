import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareValueFlags, SeriesSamples } from './series-samples.js';

function all(s: SeriesSamples) {
  const r = s.range(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  return r === undefined ? [] : Array.from(r.timestampsMs, (t, i) => [t, r.values[i], r.stale?.[i] ?? 0]);
}

describe('SeriesSamples', () => {
  it('keeps samples sorted whatever order they arrive in, growing past its first capacity', () => {
    const s = new SeriesSamples();
    const times = Array.from({ length: 100 }, (_, i) => i * 1000);
    const shuffled = [...times].sort((a, b) => ((a * 7919) % 101) - ((b * 7919) % 101));
    for (const t of shuffled) s.append(t, t / 1000, false);
    assert.equal(s.length, 100);
    assert.deepEqual(all(s), times.map((t) => [t, t / 1000, 0]));
  });

  it('keeps duplicates, ordering equal timestamps by value (NaN last) then marker flag', () => {
    const s = new SeriesSamples();
    s.append(10, 5, false);
    s.append(10, NaN, true);
    s.append(10, NaN, false);
    s.append(10, 1, false);
    s.append(10, 5, false);
    s.append(10, -Infinity, false);
    s.append(5, 7, false);
    assert.deepEqual(all(s), [
      [5, 7, 0],
      [10, -Infinity, 0],
      [10, 1, 0],
      [10, 5, 0],
      [10, 5, 0],
      [10, NaN, 0],
      [10, NaN, 1],
    ]);
    assert.equal(compareValueFlags(NaN, 0, NaN, 0), 0);
    assert.ok(compareValueFlags(NaN, 0, Infinity, 0) > 0);
  });

  it('reports staleness only for ranges that hold a marker', () => {
    const s = new SeriesSamples();
    s.append(1, 1, false);
    s.append(2, NaN, true);
    s.append(3, 3, false);
    assert.equal(s.range(1, 1)!.stale, undefined);
    assert.deepEqual(Array.from(s.range(1, 3)!.stale!), [0, 1, 0]);
    assert.equal(s.range(4, 9), undefined);
    assert.equal(s.range(3, 1), undefined);
    assert.ok(s.hasSampleIn(2, 2) && !s.hasSampleIn(4, 10) && !s.hasSampleIn(-5, 0));
  });

  it('returns copies that later appends and trims do not change', () => {
    const s = new SeriesSamples();
    for (let t = 0; t < 20; t++) s.append(t, t, false);
    const before = s.range(0, 19)!;
    s.trimBefore(10);
    for (let t = 20; t < 100; t++) s.append(t, -t, false);
    assert.equal(before.timestampsMs.length, 20);
    assert.equal(before.values[15], 15);
  });

  it('trims samples before a time, reusing and shrinking its columns', () => {
    const s = new SeriesSamples();
    for (let t = 0; t < 1000; t++) s.append(t, t, false);
    const big = s.bytes;
    assert.equal(s.trimBefore(990), 990);
    assert.equal(s.length, 10);
    assert.ok(s.bytes < big / 4, `${s.bytes} bytes after trimming, ${big} before`);
    assert.deepEqual(all(s)[0], [990, 990, 0]);
    assert.equal(s.trimBefore(5000), 10);
    assert.equal(s.length, 0);
    assert.equal(s.maxTimeMs, undefined);
    s.append(7, 7, true);
    assert.deepEqual(all(s), [[7, 7, 1]]);
  });
});
