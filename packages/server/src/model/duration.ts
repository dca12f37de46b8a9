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

const GO_UNITS_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n,
  'μs': 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Prometheus's d, w and y, which Loki and Tempo accept beside Go's units. */
const PROMETHEUS_UNITS_NS: Record<string, bigint> = {
  ...GO_UNITS_NS,
  d: 86_400_000_000_000n,
  w: 7n * 86_400_000_000_000n,
  y: 365n * 86_400_000_000_000n,
};

/**
 * Go's time.ParseDuration ("300ms", "1.5h", "2h45m"), in nanoseconds; with `prometheusUnits`
 * also d, w and y. Throws an Error with Go's message (Tempo puts it into its 400 responses).
 */
export function parseGoDurationNs(text: string, options: { prometheusUnits?: boolean } = {}): bigint {
  const units = options.prometheusUnits ? PROMETHEUS_UNITS_NS : GO_UNITS_NS;
  const quoted = JSON.stringify(text);
  const invalid = (): Error => new Error(`time: invalid duration ${quoted}`);
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw invalid();
  let total = 0n;
  while (s !== '') {
    const number = /^([0-9]*)(?:\.([0-9]*))?/.exec(s)!;
    const whole = number[1]!;
    const fraction = number[2];
    if (whole === '' && (fraction === undefined || fraction === '')) throw invalid();
    s = s.slice(number[0].length);
    const unitMatch = /^[^0-9.]+/.exec(s);
    if (!unitMatch) throw new Error(`time: missing unit in duration ${quoted}`);
    const unit = unitMatch[0];
    const scale = units[unit];
    if (scale === undefined) throw new Error(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    s = s.slice(unit.length);
    total += BigInt(whole === '' ? '0' : whole) * scale;
    if (fraction !== undefined && fraction !== '') {
      total += BigInt(Math.floor((Number(`0.${fraction}`) * Number(scale)) + 1e-9));
    }
  }
  if (total > 9_223_372_036_854_775_807n) throw invalid();
  return negative ? -total : total;
}
