/**
 * Request parameters as Prometheus's HTTP API reads them (web/api/v1/api.go): the same
 * accepted forms and the same error texts, so clients that match on them keep working.
 */
import { parsePromDuration } from '../../model/index.js';

/** A bad_data error of the Prometheus API (HTTP 400). */
export class BadDataError extends Error {
  override readonly name = 'BadDataError';
}

/** `invalid parameter "<name>": <reason>`, Prometheus's invalidParamError. */
export function invalidParam(name: string, reason: string): BadDataError {
  return new BadDataError(`invalid parameter ${JSON.stringify(name)}: ${reason}`);
}

// web/api/v1 MinTime/MaxTime (the open ends of optional ranges) in milliseconds, and the
// RFC 3339 texts clients send for them (Go's time parser cannot read 5-digit years).
export const MIN_TIME_MS = -9_223_309_901_257_974;
export const MAX_TIME_MS = 9_223_309_901_257_974;
const MIN_TIME_TEXT = '-292273086-05-16T16:47:06Z';
const MAX_TIME_TEXT = '292277025-08-18T07:12:54.999999999Z';

// Go's strconv.ParseFloat syntax: decimal or hex floats, Inf/Infinity/NaN, optional underscores
// are not accepted without a base prefix, so plain decimal (and the special words) suffice.
const GO_FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

function parseGoFloat(text: string): number | undefined {
  if (!GO_FLOAT.test(text)) return undefined;
  const lower = text.toLowerCase().replace(/^\+/, '');
  if (lower === 'inf' || lower === 'infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  if (lower === 'nan') return NaN;
  return Number(text);
}

/** A timestamp: unix seconds as a float (rounded to milliseconds) or RFC 3339. Milliseconds. */
export function parseTime(text: string): number {
  const seconds = parseGoFloat(text);
  if (seconds !== undefined) {
    if (!Number.isFinite(seconds)) {
      // Go converts ±Inf/NaN seconds to an int64 overflow; treat them as the open range ends.
      if (seconds === Infinity) return MAX_TIME_MS;
      if (seconds === -Infinity) return MIN_TIME_MS;
      throw new BadDataError(`cannot parse ${JSON.stringify(text)} to a valid timestamp`);
    }
    const whole = Math.trunc(seconds);
    const fraction = Math.round((seconds - whole) * 1000) / 1000;
    // Go's int64(seconds) turns out-of-range values into MinInt64 (amd64) and the conversion to
    // milliseconds wraps around int64: emulated, so `time=1e100` answers as Prometheus does.
    const goSeconds = Math.abs(whole) >= 2 ** 63 ? -(2n ** 63n) : BigInt(whole);
    return Number(BigInt.asIntN(64, goSeconds * 1000n + BigInt(Math.round(fraction * 1000))));
  }
  const m = RFC3339.exec(text);
  if (m) {
    const [, y, mo, d, h, mi, s, frac, zone] = m;
    const month = Number(mo);
    const day = Number(d);
    if (month >= 1 && month <= 12 && day >= 1 && day <= 31 && Number(h) < 24 && Number(mi) < 60 && Number(s) < 60) {
      let ms = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(s));
      // Date.UTC rolls over invalid days (Feb 30); Go refuses them.
      if (new Date(ms).getUTCDate() === day) {
        if (frac) ms += Math.floor(Number(`0${frac}`) * 1000 + 1e-9);
        if (zone && zone !== 'Z' && zone !== 'z') {
          const sign = zone[0] === '-' ? -1 : 1;
          ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
        }
        return ms;
      }
    }
  }
  if (text === MIN_TIME_TEXT) return MIN_TIME_MS;
  if (text === MAX_TIME_TEXT) return MAX_TIME_MS;
  throw new BadDataError(`cannot parse ${JSON.stringify(text)} to a valid timestamp`);
}

const INT64_MAX_NS = 2 ** 63;

/** A duration: float seconds or a Prometheus duration. Milliseconds (fractions kept). */
export function parseDuration(text: string): number {
  const seconds = parseGoFloat(text);
  if (seconds !== undefined) {
    const ns = seconds * 1e9;
    if (Number.isNaN(ns) || ns > INT64_MAX_NS || ns < -INT64_MAX_NS) {
      throw new BadDataError(`cannot parse ${JSON.stringify(text)} to a valid duration. It overflows int64`);
    }
    return Math.trunc(ns) / 1e6;
  }
  const ms = parsePromDuration(text);
  if (ms !== undefined) return ms;
  throw new BadDataError(`cannot parse ${JSON.stringify(text)} to a valid duration`);
}

/** `limit`: empty = 0 (no limit); otherwise a non-negative integer (strconv.Atoi). */
export function parseLimit(text: string | undefined): number {
  if (text === undefined || text === '') return 0;
  if (!/^[+-]?\d+$/.test(text)) throw invalidParam('limit', `strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax`);
  const limit = Number(text);
  if (!Number.isSafeInteger(limit)) throw invalidParam('limit', `strconv.Atoi: parsing ${JSON.stringify(text)}: value out of range`);
  if (limit < 0) throw invalidParam('limit', 'limit must be non-negative');
  return limit;
}

/** An optional time parameter (parseTimeParam): the default when absent. */
export function parseTimeParam(value: string | undefined, name: string, defaultMs: number): number {
  if (value === undefined || value === '') return defaultMs;
  try {
    return parseTime(value);
  } catch (error) {
    throw invalidParam(name, `invalid time value for '${name}': ${(error as Error).message}`);
  }
}

/** Request parameters from the URL and a form-encoded body, as Go's Request.Form merges them. */
export class Params {
  constructor(
    private readonly query: Record<string, string | string[] | undefined>,
    private readonly body: Record<string, string | string[] | undefined> | undefined,
  ) {}

  /** All values: body first, then URL (Go's ParseForm order). */
  all(name: string): string[] {
    const out: string[] = [];
    for (const source of [this.body, this.query]) {
      const v = source?.[name];
      if (v === undefined) continue;
      if (Array.isArray(v)) out.push(...v);
      else out.push(v);
    }
    return out;
  }

  /** The first value (Go's FormValue), or undefined. */
  get(name: string): string | undefined {
    return this.all(name)[0];
  }
}
