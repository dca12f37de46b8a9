/**
 * Loki's HTTP parameter rules (pkg/loghttp/params.go, query.go): times as RFC3339(Nano), Unix
 * seconds (≤ 10 digits, or with a fraction) or Unix nanoseconds; `since` and durations in
 * Prometheus notation or seconds; defaults limit 100, direction backward, range 1h, and a step of
 * max(floor(range/250 s), 1 s). Errors carry Loki's texts.
 */
import { LookoutError } from '../../errors.js';
import { parsePromDuration as parsePromDurationMs } from '../../model/index.js';

export type Params = Record<string, string | string[] | undefined>;

export function badParam(message: string): LookoutError {
  return new LookoutError('LOOKOUT_ERR_QUERY_BAD_PARAM', message);
}

/** The first value of a parameter (query strings may repeat keys). */
export function param(params: Params, name: string): string {
  const v = params[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

/** Every value of a parameter. */
export function params(all: Params, name: string): string[] {
  const v = all[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;
const MAX_INT64 = 9223372036854775807n;

export function nowNs(): bigint {
  return BigInt(Date.now()) * NS_PER_MS;
}

const GO_INT = /^[+-]?\d+$/;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

function rfc3339Ns(value: string): bigint | undefined {
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[8]!.toUpperCase() === 'Z' ? 'Z' : m[8]}`);
  if (Number.isNaN(ms)) return undefined;
  const fraction = m[7] ? BigInt(m[7].slice(1).padEnd(9, '0')) : 0n;
  return BigInt(ms) * NS_PER_MS + fraction;
}

/** Loki's parseTimestamp: nanoseconds since the epoch, or `fallback` when empty. */
export function parseTimestamp(value: string, fallback: bigint): bigint {
  if (value === '') return fallback;
  if (value.includes('.')) {
    const seconds = Number(value);
    if (value.trim() !== '' && Number.isFinite(seconds)) {
      const whole = Math.trunc(seconds);
      const fraction = Math.round((seconds - whole) * 1000) / 1000;
      return BigInt(whole) * NS_PER_S + BigInt(Math.round(fraction * 1e9));
    }
  }
  if (GO_INT.test(value)) {
    const n = BigInt(value);
    if (n > MAX_INT64 || n < -MAX_INT64 - 1n) throw badParam(`strconv.ParseInt: parsing ${JSON.stringify(value)}: value out of range`);
    return value.replace(/^[+-]/, '').length <= 10 ? n * NS_PER_S : n;
  }
  const parsed = rfc3339Ns(value);
  if (parsed !== undefined) return parsed;
  throw badParam(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
}

/** Prometheus's model.ParseDuration ("1h30m", "90s", "0"), nanoseconds. */
export function parsePromDuration(value: string): bigint | undefined {
  const ms = parsePromDurationMs(value);
  return ms === undefined ? undefined : BigInt(ms) * NS_PER_MS;
}

/** Loki's parseSecondsOrDuration: float seconds or a Prometheus duration, nanoseconds. */
export function parseSecondsOrDuration(value: string): bigint {
  const seconds = Number(value);
  if (value.trim() !== '' && Number.isFinite(seconds)) return BigInt(Math.round(seconds * 1e9));
  const d = parsePromDuration(value);
  if (d !== undefined) return d;
  throw badParam(`cannot parse ${JSON.stringify(value)} to a valid duration`);
}

function parseIntParam(value: string, fallback: number): number {
  if (value === '') return fallback;
  if (!GO_INT.test(value)) throw badParam(`strconv.Atoi: parsing ${JSON.stringify(value)}: invalid syntax`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw badParam(`strconv.Atoi: parsing ${JSON.stringify(value)}: value out of range`);
  return n;
}

export function parseLimit(all: Params, fallback = 100): number {
  const l = parseIntParam(param(all, 'limit'), fallback);
  if (l <= 0) throw badParam('limit must be a positive value');
  if (l > 4294967295) throw badParam(`limit value ${l} is out of range [0, 4294967295]`);
  return l;
}

export function parseDirection(all: Params): 'forward' | 'backward' {
  const value = param(all, 'direction');
  if (value === '') return 'backward';
  const d = value.toUpperCase();
  if (d === 'FORWARD') return 'forward';
  if (d === 'BACKWARD') return 'backward';
  throw badParam(`invalid direction '${value}'`);
}

/** Loki's bounds(): start, end (inclusive), with `since` (default 1h) before min(end, now). */
export function parseBounds(all: Params, now = nowNs()): { startNs: bigint; endNs: bigint } {
  let since = 3600n * NS_PER_S;
  const sinceText = param(all, 'since');
  if (sinceText !== '') {
    const d = parsePromDuration(sinceText);
    if (d === undefined) throw badParam(`could not parse 'since' parameter: not a valid duration string: ${JSON.stringify(sinceText)}`);
    since = d;
  }
  let endNs: bigint;
  try {
    endNs = parseTimestamp(param(all, 'end'), now);
  } catch (error) {
    throw badParam(`could not parse 'end' parameter: ${(error as Error).message}`);
  }
  const endOrNow = endNs > now ? now : endNs;
  let startNs: bigint;
  try {
    startNs = parseTimestamp(param(all, 'start'), endOrNow - since);
  } catch (error) {
    throw badParam(`could not parse 'start' parameter: ${(error as Error).message}`);
  }
  return { startNs, endNs };
}

export interface RangeQueryParams {
  query: string;
  startNs: bigint;
  endNs: bigint;
  limit: number;
  direction: 'forward' | 'backward';
  stepNs: bigint;
  intervalNs: bigint;
}

/** Loki's ParseRangeQuery. */
export function parseRangeQuery(all: Params, now = nowNs()): RangeQueryParams {
  const query = param(all, 'query');
  const { startNs, endNs } = parseBounds(all, now);
  if (endNs < startNs) throw badParam('end timestamp must not be before or equal to start time');
  const limit = parseLimit(all);
  const direction = parseDirection(all);
  const stepText = param(all, 'step');
  const rangeSeconds = Number(endNs - startNs) / 1e9;
  const stepNs = stepText === '' ? BigInt(Math.max(Math.floor(rangeSeconds / 250), 1)) * NS_PER_S : parseSecondsOrDuration(stepText);
  if (stepNs <= 0n) throw badParam('zero or negative query resolution step widths are not accepted. Try a positive integer');
  if ((endNs - startNs) / stepNs > 11000n) {
    throw badParam('exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter');
  }
  const intervalText = param(all, 'interval');
  const intervalNs = intervalText === '' ? 0n : parseSecondsOrDuration(intervalText);
  if (intervalNs < 0n) throw badParam('interval must be >= 0');
  return { query, startNs, endNs, limit, direction, stepNs, intervalNs };
}

/** Loki's ParseInstantQuery. */
export function parseInstantQuery(all: Params, now = nowNs()): { query: string; timeNs: bigint; limit: number; direction: 'forward' | 'backward' } {
  const query = param(all, 'query');
  const limit = parseLimit(all);
  const timeNs = parseTimestamp(param(all, 'time'), now);
  const direction = parseDirection(all);
  return { query, timeNs, limit, direction };
}
