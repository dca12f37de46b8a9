/** Quantiles as Prometheus's promql/quantile.go computes them (classic buckets and plain values). */

export interface Bucket {
  upperBound: number;
  count: number;
}

const MIN_NORMAL = 2.2250738585072014e-308;
const SMALL_DELTA_TOLERANCE = 1e-12;

/** Prometheus's util/almost.Equal: relative tolerance, NaN equals NaN. */
export function almostEqual(a: number, b: number, epsilon: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

export interface BucketQuantileResult {
  quantile: number;
  forcedMonotonic: boolean;
}

/** histogram_quantile over classic buckets, with Prometheus's monotonicity and precision fixes. */
export function bucketQuantile(q: number, input: Bucket[]): BucketQuantileResult {
  if (Number.isNaN(q)) return { quantile: NaN, forcedMonotonic: false };
  if (q < 0) return { quantile: -Infinity, forcedMonotonic: false };
  if (q > 1) return { quantile: Infinity, forcedMonotonic: false };
  const sorted = input.map((b) => ({ ...b })).sort((a, b) => (a.upperBound < b.upperBound ? -1 : a.upperBound > b.upperBound ? 1 : 0));
  if ((sorted[sorted.length - 1] as Bucket).upperBound !== Infinity) return { quantile: NaN, forcedMonotonic: false };
  const buckets = coalesce(sorted);
  const forcedMonotonic = ensureMonotonic(buckets, SMALL_DELTA_TOLERANCE);
  if (buckets.length < 2) return { quantile: NaN, forcedMonotonic };
  const observations = (buckets[buckets.length - 1] as Bucket).count;
  if (observations === 0) return { quantile: NaN, forcedMonotonic };
  let rank = q * observations;
  // sort.Search over the first n-1 buckets.
  let b = buckets.length - 1;
  for (let i = 0; i < buckets.length - 1; i++) {
    if ((buckets[i] as Bucket).count >= rank) {
      b = i;
      break;
    }
  }
  if (b === buckets.length - 1) return { quantile: (buckets[buckets.length - 2] as Bucket).upperBound, forcedMonotonic };
  if (b === 0 && (buckets[0] as Bucket).upperBound <= 0) return { quantile: (buckets[0] as Bucket).upperBound, forcedMonotonic };
  let bucketStart = 0;
  const bucketEnd = (buckets[b] as Bucket).upperBound;
  let count = (buckets[b] as Bucket).count;
  if (b > 0) {
    bucketStart = (buckets[b - 1] as Bucket).upperBound;
    count -= (buckets[b - 1] as Bucket).count;
    rank -= (buckets[b - 1] as Bucket).count;
  }
  return { quantile: bucketStart + (bucketEnd - bucketStart) * (rank / count), forcedMonotonic };
}

/** histogram_fraction over classic buckets (Prometheus's BucketFraction). */
export function bucketFraction(lower: number, upper: number, input: Bucket[]): number {
  const sorted = input.map((b) => ({ ...b })).sort((a, b) => (a.upperBound < b.upperBound ? -1 : a.upperBound > b.upperBound ? 1 : 0));
  if ((sorted[sorted.length - 1] as Bucket).upperBound !== Infinity) return NaN;
  const buckets = coalesce(sorted);
  const count = (buckets[buckets.length - 1] as Bucket).count;
  if (count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  let lowerBound = (buckets[0] as Bucket).upperBound <= 0 ? -Infinity : 0;
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i] as Bucket;
    if (i > 0) lowerBound = (buckets[i - 1] as Bucket).upperBound;
    const upperBound = b.upperBound;
    const interpolate = (v: number): number => {
      if (lowerBound === -Infinity) return b.count;
      return rank + ((b.count - rank) * (v - lowerBound)) / (upperBound - lowerBound);
    };
    if (!lowerSet && lowerBound >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && lowerBound >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && lowerBound < lower && upperBound > lower) {
      lowerRank = interpolate(lower);
      lowerSet = true;
    }
    if (!upperSet && lowerBound < upper && upperBound > upper) {
      upperRank = interpolate(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank = b.count;
  }
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / count;
}

function coalesce(buckets: Bucket[]): Bucket[] {
  const out: Bucket[] = [];
  let last = { ...(buckets[0] as Bucket) };
  for (let i = 1; i < buckets.length; i++) {
    const b = buckets[i] as Bucket;
    if (b.upperBound === last.upperBound) last.count += b.count;
    else {
      out.push(last);
      last = { ...b };
    }
  }
  out.push(last);
  return out;
}

function ensureMonotonic(buckets: Bucket[], tolerance: number): boolean {
  let forced = false;
  let prev = (buckets[0] as Bucket).count;
  for (let i = 1; i < buckets.length; i++) {
    const b = buckets[i] as Bucket;
    const curr = b.count;
    if (curr === prev) continue;
    if (almostEqual(prev, curr, tolerance)) {
      b.count = prev;
      continue;
    }
    if (curr < prev) {
      b.count = prev;
      forced = true;
      continue;
    }
    prev = curr;
  }
  return forced;
}

/** The q-quantile of values by linear interpolation (Prometheus's `quantile`); sorts NaN first. */
export function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...values].sort((a, b) => {
    const an = Number.isNaN(a);
    const bn = Number.isNaN(b);
    if (an || bn) return an === bn ? 0 : an ? -1 : 1;
    return a - b;
  });
  const n = sorted.length;
  const rank = q * (n - 1);
  const lowerIndex = Math.max(0, Math.floor(rank));
  const upperIndex = Math.min(n - 1, lowerIndex + 1);
  const weight = rank - Math.floor(rank);
  return (sorted[lowerIndex] as number) * (1 - weight) + (sorted[upperIndex] as number) * weight;
}
