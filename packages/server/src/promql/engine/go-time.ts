/**
 * Go's civil calendar for any int64 Unix second, as Prometheus's date functions compute it:
 * `time.Unix(int64(v), 0).UTC()` (promql/functions.go dateWrapper). Go converts NaN, ±Inf and
 * floats out of int64's range to min int64 on amd64, and its calendar works on an unsigned
 * "absolute" second count that wraps, so such inputs give dates like year 292277026596. JS
 * Dates cover ±8.64e15 ms only; this reproduces Go ≤ 1.22's absDate (the Go Prometheus 2.42
 * and the 3.x releases tested against were built with give the same answers here) in BigInt.
 */

const SECONDS_PER_DAY = 86_400n;
const DAYS_PER_400_YEARS = 365n * 400n + 97n;
const DAYS_PER_100_YEARS = 365n * 100n + 24n;
const DAYS_PER_4_YEARS = 365n * 4n + 1n;
const ABSOLUTE_ZERO_YEAR = -292277022399n;
// (absoluteZeroYear - internalYear) * 365.2425 * secondsPerDay, a Go constant expression.
const ABSOLUTE_TO_INTERNAL = ((ABSOLUTE_ZERO_YEAR - 1n) * 3652425n * SECONDS_PER_DAY) / 10000n;
const UNIX_TO_INTERNAL = (1969n * 365n + 1969n / 4n - 1969n / 100n + 1969n / 400n) * SECONDS_PER_DAY;
const UINT64 = 1n << 64n;
const INT64_MIN = -(1n << 63n);
const DAYS_BEFORE = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

export interface GoCivil {
  year: number;
  /** 1–12 */
  month: number;
  /** 1–31 */
  day: number;
  /** 1–366 */
  yearDay: number;
  /** 0 = Sunday */
  weekday: number;
  hour: number;
  minute: number;
}

/** Go's int64(f) on amd64: truncation, and min int64 for NaN, ±Inf and anything out of range. */
export function goInt64(f: number): bigint {
  if (!Number.isFinite(f) || f >= 2 ** 63 || f < -(2 ** 63)) return INT64_MIN;
  return BigInt(Math.trunc(f));
}

function isLeap(year: bigint): boolean {
  return year % 4n === 0n && (year % 100n !== 0n || year % 400n === 0n);
}

/** The UTC calendar fields of Unix second `unix` as Go computes them. */
export function goCivil(unix: bigint): GoCivil {
  const abs = (((unix + UNIX_TO_INTERNAL - ABSOLUTE_TO_INTERNAL) % UINT64) + UINT64) % UINT64;
  let d = abs / SECONDS_PER_DAY;
  let n = d / DAYS_PER_400_YEARS;
  let y = 400n * n;
  d -= DAYS_PER_400_YEARS * n;
  n = d / DAYS_PER_100_YEARS;
  n -= n >> 2n;
  y += 100n * n;
  d -= DAYS_PER_100_YEARS * n;
  n = d / DAYS_PER_4_YEARS;
  y += 4n * n;
  d -= DAYS_PER_4_YEARS * n;
  n = d / 365n;
  n -= n >> 2n;
  y += n;
  d -= 365n * n;
  // Go: int(int64(y) + absoluteZeroYear); y < 2^64 / 365 days, so int64(y) == y.
  const year = y + ABSOLUTE_ZERO_YEAR;
  const yday = Number(d);
  let day = yday;
  let month: number;
  if (isLeap(year) && day >= 31 + 29 - 1) {
    if (day === 31 + 29 - 1) return civil(year, 2, 29, yday, abs);
    day--;
  }
  month = Math.floor(day / 31);
  const end = DAYS_BEFORE[month + 1]!;
  let begin: number;
  if (day >= end) {
    month++;
    begin = end;
  } else {
    begin = DAYS_BEFORE[month]!;
  }
  return civil(year, month + 1, day - begin + 1, yday, abs);
}

function civil(year: bigint, month: number, day: number, yday: number, abs: bigint): GoCivil {
  const ofDay = Number(abs % SECONDS_PER_DAY);
  return {
    year: Number(year),
    month,
    day,
    yearDay: yday + 1,
    // January 1 of the absolute year was a Monday.
    weekday: Number(((abs + SECONDS_PER_DAY) % (7n * SECONDS_PER_DAY)) / SECONDS_PER_DAY),
    hour: Math.floor(ofDay / 3600),
    minute: Math.floor((ofDay % 3600) / 60),
  };
}

/** Go's `32 - time.Date(y, m, 32, 0, 0, 0, 0, UTC).Day()`: the month's length in Go's calendar. */
export function goDaysInMonth(c: GoCivil): number {
  if (c.month === 2) return isLeap(BigInt(c.year)) ? 29 : 28;
  return DAYS_BEFORE[c.month]! - DAYS_BEFORE[c.month - 1]!;
}
