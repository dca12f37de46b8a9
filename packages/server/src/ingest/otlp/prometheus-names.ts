/**
 * OTLP → Prometheus names and number formatting, ported from the `prometheus/otlptranslator`
 * Go package (v1.0.0, the version Prometheus 3.x uses): `metric_namer.go`, `unit_namer.go`,
 * `label_namer.go`, `strconv.go`. Only the escaping strategies are implemented
 * (`UnderscoreEscapingWithSuffixes`, `UnderscoreEscapingWithoutSuffixes`); UTF-8 names are not
 * passed through. Errors carry the reference's messages.
 */

/** The otlptranslator MetricType: what decides the `_total` and `_ratio` suffixes. */
export type OtlpMetricKind =
  | 'gauge'
  | 'monotonic-counter'
  | 'non-monotonic-counter'
  | 'histogram'
  | 'exponential-histogram'
  | 'summary'
  | 'unknown';

/** UCUM (OTel) unit → Prometheus unit word. A Map, so names like "constructor" are not found. */
const UNIT_MAP = new Map<string, string>([
  // Time
  ['d', 'days'],
  ['h', 'hours'],
  ['min', 'minutes'],
  ['s', 'seconds'],
  ['ms', 'milliseconds'],
  ['us', 'microseconds'],
  ['ns', 'nanoseconds'],
  // Bytes
  ['By', 'bytes'],
  ['KiBy', 'kibibytes'],
  ['MiBy', 'mebibytes'],
  ['GiBy', 'gibibytes'],
  ['TiBy', 'tibibytes'],
  ['KBy', 'kilobytes'],
  ['MBy', 'megabytes'],
  ['GBy', 'gigabytes'],
  ['TBy', 'terabytes'],
  // SI
  ['m', 'meters'],
  ['V', 'volts'],
  ['A', 'amperes'],
  ['J', 'joules'],
  ['W', 'watts'],
  ['g', 'grams'],
  // Misc
  ['Cel', 'celsius'],
  ['Hz', 'hertz'],
  ['1', ''],
  ['%', 'percent'],
]);

/** The unit after `/`, singular: `s` → `per_second`. */
const PER_UNIT_MAP = new Map<string, string>([
  ['s', 'second'],
  ['m', 'minute'],
  ['h', 'hour'],
  ['d', 'day'],
  ['w', 'week'],
  ['mo', 'month'],
  ['y', 'year'],
]);

/** Runs of characters outside [a-zA-Z0-9:] (metric-name tokens are separated by them, `_` included). */
const METRIC_SEPARATORS = /[^a-zA-Z0-9:]+/u;
/** Runs outside [a-zA-Z0-9:_] (the no-suffix path keeps underscores as they are). */
const METRIC_INVALID_RUNS = /[^a-zA-Z0-9:_]+/u;
const METRIC_INVALID_CHAR = /[^a-zA-Z0-9:]/gu;
const LABEL_INVALID_CHAR = /[^a-zA-Z0-9]/gu;
const ASCII_DIGIT = /^[0-9]/;
const UNDERSCORES_ONLY = /^_*$/;

/**
 * The Prometheus metric family name for an OTLP metric (otlptranslator `MetricNamer.Build` with
 * `UTF8Allowed: false`). With suffixes: `http.server.duration` + `s` (histogram) →
 * `http_server_duration_seconds`; monotonic sums get `_total`, gauges with unit `1` get `_ratio`;
 * suffixes already present are not repeated. Throws when nothing valid is left of the name.
 */
export function buildMetricName(name: string, unit: string, kind: OtlpMetricKind, addSuffixes: boolean): string {
  let normalized: string;
  if (addSuffixes) {
    normalized = normalizeName(name, unit, kind);
  } else {
    normalized = fields(name, METRIC_INVALID_RUNS).join('_');
    if (ASCII_DIGIT.test(normalized)) normalized = `_${normalized}`;
  }
  if (normalized.length === 0) throw new Error(`normalization for metric ${goQuote(name)} resulted in empty name`);
  if (normalized !== name && UNDERSCORES_ONLY.test(normalized)) {
    throw new Error(`normalization for metric ${goQuote(name)} resulted in invalid name ${goQuote(normalized)}`);
  }
  return normalized;
}

function normalizeName(name: string, unit: string, kind: OtlpMetricKind): string {
  // Splitting on invalid characters also collapses runs of underscores, as the spec asks.
  let tokens = fields(name, METRIC_SEPARATORS);
  const [mainSuffix, perSuffix] = buildUnitSuffixes(unit);
  tokens = addUnitTokens(tokens, cleanUpUnit(mainSuffix), cleanUpUnit(perSuffix));
  if (kind === 'monotonic-counter') tokens = [...tokens.filter((t) => t !== 'total'), 'total'];
  // Only gauges get `_ratio`: some receivers wrongly use unit "1" for counts of things.
  if (unit === '1' && kind === 'gauge') tokens = [...tokens.filter((t) => t !== 'ratio'), 'ratio'];
  let normalized = tokens.join('_');
  if (ASCII_DIGIT.test(normalized)) normalized = `_${normalized}`;
  return normalized;
}

function addUnitTokens(tokens: string[], mainSuffix: string, perSuffix: string): string[] {
  let main = tokens.includes(mainSuffix) ? '' : mainSuffix;
  let per: string;
  if (perSuffix === 'per_') {
    per = '';
  } else {
    per = perSuffix.endsWith('_') ? perSuffix.slice(0, -1) : perSuffix;
    if (tokens.includes(per)) per = '';
  }
  if (per !== '' && main.endsWith('_')) main = main.slice(0, -1);
  const out = [...tokens];
  if (main !== '') out.push(main);
  if (per !== '') out.push(per);
  return out;
}

/**
 * The unit word Prometheus keeps in metadata (otlptranslator `UnitNamer.Build`, escaping on):
 * `s` → `seconds`, `By/s` → `bytes_per_second`, `1` and `{request}` → ``.
 */
export function buildUnitName(unit: string): string {
  const [mainRaw, perRaw] = buildUnitSuffixes(unit);
  const main = cleanUpUnit(mainRaw);
  const per = cleanUpUnit(perRaw);
  let out = main !== '' && per !== '' ? `${main}_${per}` : main !== '' ? main : per;
  if (out.startsWith('_')) out = out.slice(1);
  if (out.endsWith('_')) out = out.slice(0, -1);
  return out;
}

/** [main unit word, `per_<unit>`]; annotations in braces (`{request}`) give nothing. */
function buildUnitSuffixes(unit: string): [string, string] {
  const slash = unit.indexOf('/');
  const mainOtel = (slash < 0 ? unit : unit.slice(0, slash)).trim();
  const perToken = slash < 0 ? undefined : unit.slice(slash + 1);
  let main = '';
  if (mainOtel !== '' && !/[{}]/.test(mainOtel)) main = UNIT_MAP.get(mainOtel) ?? mainOtel;
  let per = '';
  if (perToken !== undefined && perToken !== '') {
    const perOtel = perToken.trim();
    if (perOtel !== '' && !/[{}]/.test(perOtel)) per = PER_UNIT_MAP.get(perOtel) ?? perOtel;
    if (per !== '') per = `per_${per}`;
  }
  return [main, per];
}

function cleanUpUnit(unit: string): string {
  const cleaned = unit.replace(METRIC_INVALID_CHAR, '_').replace(/_+/g, '_');
  return cleaned.startsWith('_') ? cleaned.slice(1) : cleaned;
}

export interface LabelNameOptions {
  /** Prefix `key` to names starting with a single `_` (Prometheus `label_name_underscore_sanitization`). */
  underscoreSanitization: boolean;
  /** Keep runs of `_` instead of collapsing them (Prometheus `label_name_preserve_multiple_underscores`). */
  preserveMultipleUnderscores: boolean;
}

/**
 * A Prometheus label name for an OTLP attribute key (otlptranslator `LabelNamer.Build`,
 * `UTF8Allowed: false`): characters outside [a-zA-Z0-9_] → `_`, a leading digit gets `key_`.
 * Throws for an empty key or one that leaves only underscores.
 */
export function buildLabelName(label: string, options: LabelNameOptions): string {
  if (label.length === 0) throw new Error('label name is empty');
  let normalized = sanitizeLabelName(label, options.preserveMultipleUnderscores);
  if (ASCII_DIGIT.test(normalized)) {
    normalized = `key_${normalized}`;
  } else if (options.underscoreSanitization && normalized.startsWith('_') && !normalized.startsWith('__')) {
    normalized = `key${normalized}`;
  }
  if (UNDERSCORES_ONLY.test(normalized)) {
    throw new Error(`normalization for label name ${goQuote(label)} resulted in invalid name ${goQuote(normalized)}`);
  }
  return normalized;
}

function sanitizeLabelName(name: string, preserveMultipleUnderscores: boolean): string {
  if (preserveMultipleUnderscores) return name.replace(LABEL_INVALID_CHAR, '_');
  // Reserved names (`__x__`) keep their double underscores around a collapsed inside.
  const reserved = name.length >= 4 && name.startsWith('__') && name.endsWith('__');
  const inner = reserved ? name.slice(2, -2) : name;
  const collapsed = inner.replace(/[^a-zA-Z0-9]+/gu, '_');
  return reserved ? `__${collapsed}__` : collapsed;
}

/**
 * Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest digits that round-trip, never in
 * exponent form. Prometheus formats `le` and `quantile` label values with it (`0.005`, `1`, `+Inf`).
 */
export function formatGoFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  const sign = value < 0 || Object.is(value, -0) ? '-' : '';
  const text = Math.abs(value).toString();
  const e = text.indexOf('e');
  if (e < 0) return sign + text;
  const mantissa = text.slice(0, e);
  const exponent = Number(text.slice(e + 1));
  const digits = mantissa.replace('.', '');
  const point = (mantissa.indexOf('.') < 0 ? mantissa.length : mantissa.indexOf('.')) + exponent;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/**
 * pdata's `float64AsString` (the `encoding/json` float format): like JavaScript's own number to
 * string (exponent form below 1e-6 and from 1e21), with Go's texts for NaN and the infinities.
 */
export function formatGoJsonFloat(value: number): string {
  if (Number.isNaN(value)) return 'json: unsupported value: NaN';
  if (value === Infinity) return 'json: unsupported value: +Inf';
  if (value === -Infinity) return 'json: unsupported value: -Inf';
  if (Object.is(value, -0)) return '-0';
  return String(value);
}

/** strings.FieldsFunc: the non-empty pieces between separator runs. */
function fields(text: string, separators: RegExp): string[] {
  return text.split(separators).filter((piece) => piece !== '');
}

/** Close enough to Go's %q for error messages. */
function goQuote(text: string): string {
  return JSON.stringify(text);
}
