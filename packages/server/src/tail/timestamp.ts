/**
 * Timestamp parsing with Go's reference-time layouts (`2006-01-02T15:04:05.000Z07:00`) and the
 * named formats of Promtail's timestamp stage, following Go's time.Parse rules: numeric fields
 * of flexible or fixed width, a fractional second accepted after the seconds even when the
 * layout has none, runs of spaces matching runs of spaces, and UTC when the input names no
 * zone (or the configured location's wall time when one is set).
 */

export type TimestampParser = (text: string) => bigint;

const NS_PER_SECOND = 1_000_000_000n;

export const NAMED_LAYOUTS: Record<string, string> = {
  ANSIC: 'Mon Jan _2 15:04:05 2006',
  UnixDate: 'Mon Jan _2 15:04:05 MST 2006',
  RubyDate: 'Mon Jan 02 15:04:05 -0700 2006',
  RFC822: '02 Jan 06 15:04 MST',
  RFC822Z: '02 Jan 06 15:04 -0700',
  RFC850: 'Monday, 02-Jan-06 15:04:05 MST',
  RFC1123: 'Mon, 02 Jan 2006 15:04:05 MST',
  RFC1123Z: 'Mon, 02 Jan 2006 15:04:05 -0700',
  RFC3339: '2006-01-02T15:04:05Z07:00',
  RFC3339Nano: '2006-01-02T15:04:05.999999999Z07:00',
};

const LONG_MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const SHORT_MONTHS = LONG_MONTHS.map((m) => m.slice(0, 3));
const LONG_DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const SHORT_DAYS = LONG_DAYS.map((d) => d.slice(0, 3));

type Std =
  | 'January' | 'Jan' | '1' | '01' | 'Monday' | 'Mon' | '2' | '_2' | '02' | '__2' | '002'
  | '15' | '3' | '03' | '4' | '04' | '5' | '05' | '2006' | '06' | 'PM' | 'pm' | 'MST'
  | 'Z0700' | 'Z07:00' | 'Z07' | 'Z070000' | 'Z07:00:00' | '-0700' | '-07:00' | '-07' | '-070000' | '-07:00:00'
  | 'frac0' | 'frac9';

interface Chunk {
  literal: string;
  std?: Std;
  /** Digits of a fractional-second field. */
  fracDigits?: number;
}

/** Splits a Go layout into literal text and std fields, as Go's nextStdChunk does. */
export function splitLayout(layout: string): Chunk[] {
  const chunks: Chunk[] = [];
  let literal = '';
  const push = (std: Std, len: number, i: number, fracDigits?: number): number => {
    chunks.push({ literal, std, ...(fracDigits === undefined ? {} : { fracDigits }) });
    literal = '';
    return i + len;
  };
  let i = 0;
  while (i < layout.length) {
    const rest = layout.slice(i);
    const c = layout[i]!;
    let matched: Std | undefined;
    const first = (candidates: Std[]) => candidates.find((s) => rest.startsWith(s));
    switch (c) {
      case 'J':
        matched = first(['January', 'Jan']);
        break;
      case 'M':
        matched = first(['Monday', 'Mon', 'MST']);
        break;
      case '0':
        matched = first(['002', '01', '02', '03', '04', '05', '06']);
        break;
      case '1':
        matched = first(['15', '1']);
        break;
      case '2':
        matched = first(['2006', '2']);
        break;
      case '_':
        if (rest.startsWith('_2006')) {
          // "_2006" is a literal underscore and a year, as in Go.
          literal += '_';
          i++;
          continue;
        }
        matched = first(['__2', '_2']);
        break;
      case '3':
      case '4':
      case '5':
        matched = c as Std;
        break;
      case 'P':
        matched = first(['PM']);
        break;
      case 'p':
        matched = first(['pm']);
        break;
      case '-':
        matched = first(['-07:00:00', '-070000', '-07:00', '-0700', '-07']);
        break;
      case 'Z':
        matched = first(['Z07:00:00', 'Z070000', 'Z07:00', 'Z0700', 'Z07']);
        break;
      case '.':
      case ',': {
        const d = layout[i + 1];
        if (d === '0' || d === '9') {
          let j = i + 1;
          while (layout[j] === d) j++;
          if (!/[0-9]/.test(layout[j] ?? '')) {
            i = push(d === '0' ? 'frac0' : 'frac9', j - i, i, j - i - 1);
            continue;
          }
        }
        break;
      }
    }
    if (matched !== undefined) {
      i = push(matched, matched.length, i);
      continue;
    }
    literal += c;
    i++;
  }
  if (literal !== '') chunks.push({ literal });
  return chunks;
}

class ParseError extends Error {}

function fail(message: string): never {
  throw new ParseError(message);
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysIn(month: number, year: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

const zoneFormatters = new Map<string, Intl.DateTimeFormat>();

/** Throws a RangeError for an unknown IANA zone name. */
export function checkLocation(zone: string): void {
  zoneFormatter(zone);
}

function zoneFormatter(zone: string): Intl.DateTimeFormat {
  let f = zoneFormatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    zoneFormatters.set(zone, f);
  }
  return f;
}

/** Offset east of UTC, in seconds, of a zone at an instant. */
function zoneOffsetSeconds(zone: string, epochSeconds: number): number {
  const parts = zoneFormatter(zone).formatToParts(new Date(epochSeconds * 1000));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  let year = get('year');
  if (parts.find((p) => p.type === 'era')?.value === 'BC') year = 1 - year;
  const wall = daysFromCivil(year, get('month'), get('day')) * 86400 + get('hour') * 3600 + get('minute') * 60 + get('second');
  return wall - epochSeconds;
}

/** Wall-clock seconds in a zone → epoch seconds (the earlier instant in a fall-back overlap). */
function wallToEpoch(zone: string, wallSeconds: number): number {
  let guess = wallSeconds - zoneOffsetSeconds(zone, wallSeconds);
  guess = wallSeconds - zoneOffsetSeconds(zone, guess);
  return guess;
}

function getNum(value: string, fixed: boolean): [number, string] {
  if (!/^[0-9]/.test(value)) fail('expected a number');
  if (!/^[0-9]{2}/.test(value)) {
    if (fixed) fail('expected two digits');
    return [Number(value[0]), value.slice(1)];
  }
  return [Number(value.slice(0, 2)), value.slice(2)];
}

function lookup(names: string[], value: string): [number, string] {
  const lower = value.toLowerCase();
  for (let i = 0; i < names.length; i++) {
    if (lower.startsWith(names[i]!)) return [i, value.slice(names[i]!.length)];
  }
  fail('bad month or day name');
}

/** Go's skip: literal text must match, except that a run of spaces matches any run of spaces. */
function skip(value: string, prefix: string): string {
  while (prefix.length > 0) {
    if (prefix[0] === ' ') {
      if (value.length > 0 && value[0] !== ' ') fail('expected a space');
      prefix = prefix.replace(/^ +/, '');
      value = value.replace(/^ +/, '');
      continue;
    }
    if (value.length === 0 || value[0] !== prefix[0]) fail(`expected "${prefix}"`);
    prefix = prefix.slice(1);
    value = value.slice(1);
  }
  return value;
}

/** ".123456" → nanoseconds; more than nine digits are truncated. */
function fractionNanos(digits: string): number {
  return Number(digits.slice(0, 9).padEnd(9, '0'));
}

export interface ParsedFields {
  year: number | undefined;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  nanos: number;
  /** Seconds east of UTC when the input carries a zone. */
  offset: number | undefined;
}

function parseFields(chunks: Chunk[], input: string): ParsedFields {
  let value = input;
  let year: number | undefined;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let nanos = 0;
  let offset: number | undefined;
  let pm: boolean | undefined;
  for (let ci = 0; ci < chunks.length; ci++) {
    const chunk = chunks[ci]!;
    value = skip(value, chunk.literal);
    const std = chunk.std;
    if (std === undefined) continue;
    let n: number;
    switch (std) {
      case '2006':
        if (!/^[0-9]{4}/.test(value)) fail('bad year');
        year = Number(value.slice(0, 4));
        value = value.slice(4);
        break;
      case '06':
        if (!/^[0-9]{2}/.test(value)) fail('bad year');
        n = Number(value.slice(0, 2));
        year = n >= 69 ? 1900 + n : 2000 + n;
        value = value.slice(2);
        break;
      case 'January':
        [n, value] = lookup(LONG_MONTHS, value);
        month = n + 1;
        break;
      case 'Jan':
        [n, value] = lookup(SHORT_MONTHS, value);
        month = n + 1;
        break;
      case '1':
      case '01':
        [month, value] = getNum(value, std === '01');
        if (month < 1 || month > 12) fail('month out of range');
        break;
      case 'Monday':
        [, value] = lookup(LONG_DAYS, value);
        break;
      case 'Mon':
        [, value] = lookup(SHORT_DAYS, value);
        break;
      case '2':
      case '_2':
      case '02':
        if (std === '_2' && value[0] === ' ') value = value.slice(1);
        [day, value] = getNum(value, std === '02');
        break;
      case '__2':
      case '002': {
        const m = /^ {0,2}([0-9]{1,3})/.exec(value);
        if (!m) fail('bad day of year');
        value = value.slice(m[0].length);
        break;
      }
      case '15':
        [hour, value] = getNum(value, false);
        if (hour > 23) fail('hour out of range');
        break;
      case '3':
      case '03':
        [hour, value] = getNum(value, std === '03');
        if (hour > 12) fail('hour out of range');
        break;
      case '4':
      case '04':
        [minute, value] = getNum(value, std === '04');
        if (minute > 59) fail('minute out of range');
        break;
      case '5':
      case '05': {
        [second, value] = getNum(value, std === '05');
        if (second > 59) fail('second out of range');
        // A fraction right after the seconds is accepted even when the layout has none.
        const nextIsFrac = chunks[ci + 1]?.literal === '' && (chunks[ci + 1]?.std === 'frac0' || chunks[ci + 1]?.std === 'frac9');
        const m = /^[.,]([0-9]+)/.exec(value);
        if (m && !nextIsFrac) {
          nanos = fractionNanos(m[1]!);
          value = value.slice(m[0].length);
        }
        break;
      }
      case 'PM':
      case 'pm': {
        const text = value.slice(0, 2);
        const am = std === 'PM' ? 'AM' : 'am';
        const pmText = std === 'PM' ? 'PM' : 'pm';
        if (text === pmText) pm = true;
        else if (text === am) pm = false;
        else fail('bad AM/PM');
        value = value.slice(2);
        break;
      }
      case 'MST': {
        if (value.startsWith('UTC')) {
          offset = 0;
          value = value.slice(3);
          break;
        }
        const gmt = /^GMT([+-][0-9]{1,2})?/.exec(value);
        if (gmt) {
          offset = gmt[1] ? Number(gmt[1]) * 3600 : 0;
          value = value.slice(gmt[0].length);
          break;
        }
        const abbr = /^[A-Z][A-Za-z]{2,4}/.exec(value);
        if (!abbr) fail('bad time zone');
        // Go records an unknown abbreviation with a zero offset.
        offset = 0;
        value = value.slice(abbr[0].length);
        break;
      }
      case 'frac0':
      case 'frac9': {
        const digits = chunk.fracDigits!;
        if (std === 'frac0') {
          const m = new RegExp(`^[.,]([0-9]{${digits}})`).exec(value);
          if (!m) fail('bad fractional second');
          nanos = fractionNanos(m[1]!);
          value = value.slice(m[0].length);
        } else {
          const m = /^[.,]([0-9]+)/.exec(value);
          if (m) {
            nanos = fractionNanos(m[1]!);
            value = value.slice(m[0].length);
          }
        }
        break;
      }
      default: {
        // Numeric zones: Z…: "Z" means UTC; otherwise ±hh[[:]mm[[:]ss]].
        if (std.startsWith('Z') && value[0] === 'Z') {
          offset = 0;
          value = value.slice(1);
          break;
        }
        const shape = std.slice(1);
        const pattern =
          shape === '07:00:00' ? /^([+-])(\d\d):(\d\d):(\d\d)/
          : shape === '070000' ? /^([+-])(\d\d)(\d\d)(\d\d)/
          : shape === '07:00' ? /^([+-])(\d\d):(\d\d)/
          : shape === '0700' ? /^([+-])(\d\d)(\d\d)/
          : /^([+-])(\d\d)/;
        const m = pattern.exec(value);
        if (!m) fail('bad time zone offset');
        const seconds = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
        offset = m[1] === '-' ? -seconds : seconds;
        value = value.slice(m[0].length);
      }
    }
  }
  if (value.length > 0) fail(`extra text "${value}"`);
  if (pm === true && hour < 12) hour += 12;
  else if (pm === false && hour === 12) hour = 0;
  return { year, month, day, hour, minute, second, nanos, offset };
}

function toEpochNanos(f: ParsedFields, year: number, location: string | undefined): bigint {
  if (f.day < 1 || f.day > daysIn(f.month, year)) fail('day out of range');
  const wall = daysFromCivil(year, f.month, f.day) * 86400 + f.hour * 3600 + f.minute * 60 + f.second;
  let epoch: number;
  if (f.offset !== undefined) epoch = wall - f.offset;
  else if (location !== undefined) epoch = wallToEpoch(location, wall);
  else epoch = wall;
  return BigInt(epoch) * NS_PER_SECOND + BigInt(f.nanos);
}

/** Go time.Parse / time.ParseInLocation with a reference-time layout. */
export function parseGoLayout(layout: string, input: string, location?: string, now: Date = new Date()): bigint {
  const fields = parseFields(splitLayout(layout), input);
  if (fields.year !== undefined) return toEpochNanos(fields, fields.year, location);
  // No year in the layout (syslog style): the year closest to now, across new year's eve.
  const nowMonth = now.getUTCMonth() + 1;
  const nowYear = now.getUTCFullYear();
  const year = fields.month === 12 && nowMonth === 1 ? nowYear - 1 : fields.month === 1 && nowMonth === 12 ? nowYear + 1 : nowYear;
  return toEpochNanos(fields, year, location);
}

function parseInteger(text: string): bigint {
  if (!/^[+-]?[0-9]+$/.test(text)) fail('expected an integer');
  return BigInt(text);
}

/** A parser for one Promtail timestamp `format`: a named format, Unix*, or a Go layout. */
export function timestampParser(format: string, location?: string): TimestampParser {
  switch (format) {
    case 'Unix':
      return (text) => {
        const parts = text.split('.');
        if (parts.length === 2) {
          const frac = parts[1]!;
          if (!/^[0-9]+$/.test(frac)) fail('bad fraction');
          return parseInteger(parts[0]!) * NS_PER_SECOND + BigInt(fractionNanos(frac));
        }
        return parseInteger(text) * NS_PER_SECOND;
      };
    case 'UnixMs':
      return (text) => parseInteger(text) * 1_000_000n;
    case 'UnixUs':
      return (text) => parseInteger(text) * 1_000n;
    case 'UnixNs':
      return (text) => parseInteger(text);
  }
  const named = NAMED_LAYOUTS[format];
  // Promtail parses the named formats with time.Parse: the location applies to custom layouts only.
  if (named !== undefined) return (text) => parseGoLayout(named, text);
  return (text) => parseGoLayout(format, text, location);
}

/** A named format, Unix*, or a layout with at least one reference-time field. */
export function isTimestampFormat(format: string): boolean {
  if (format in NAMED_LAYOUTS || /^Unix(Ms|Us|Ns)?$/.test(format)) return true;
  return splitLayout(format).some((chunk) => chunk.std !== undefined);
}
