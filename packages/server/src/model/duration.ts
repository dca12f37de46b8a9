/** Prometheus durations (model.Duration): "1h30m", "7d", "500ms", as Prometheus parses and prints them. */

const UNITS: readonly [string, number][] = [
  ['y', 365 * 86_400_000],
  ['w', 7 * 86_400_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];
// Units in this order, each at most once, whole numbers only.
const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const INT64_MAX_NS = 2 ** 63;

/** model.ParseDuration in milliseconds; undefined when it is not a duration or overflows int64 nanoseconds. "0" is allowed. */
export function parsePromDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (text === '') return undefined;
  const m = DURATION.exec(text);
  if (!m) return undefined;
  let ms = 0;
  for (let i = 0; i < UNITS.length; i++) if (m[i + 1] !== undefined) ms += Number(m[i + 1]) * UNITS[i]![1];
  return ms * 1e6 > INT64_MAX_NS ? undefined : ms;
}

/** model.Duration.String: largest units first, years and weeks only when exact ("8d", not "1w1d"); "0s" for zero. */
export function formatPromDuration(ms: number): string {
  let rest = Math.trunc(ms);
  if (rest === 0) return '0s';
  const sign = rest < 0 ? '-' : '';
  rest = Math.abs(rest);
  let out = '';
  for (const [unit, size] of UNITS) {
    if ((unit === 'y' || unit === 'w') && rest % size !== 0) continue;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return sign + out;
}
