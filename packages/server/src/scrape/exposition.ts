/**
 * Parsers for the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text, with the
 * acceptance rules of Prometheus's own scrape parsers (model/textparse promparse/openmetricsparse):
 * the text format tolerates spaces and tabs between tokens and free-form comments; OpenMetrics
 * wants single spaces, `# EOF` at the end, float-second timestamps, and allows exemplars and UNIT.
 * `_created` series are kept as ordinary series, as Prometheus does by default.
 */
import type { Labels, MetricMetadata } from '../model/index.js';

export interface ParsedSample {
  /** Including `__name__`. */
  labels: Labels;
  value: number;
  /** Milliseconds, when the exposition carried a timestamp. */
  timestampMs?: number;
}

export interface Exemplar {
  labels: Labels;
  value: number;
  timestampMs?: number;
}

export interface ParsedExposition {
  format: 'prometheus-text' | 'openmetrics';
  samples: ParsedSample[];
  /** Exemplars by index into `samples`. */
  exemplars: Map<number, Exemplar>;
  /** One entry per metric family that had TYPE, HELP or UNIT. */
  metadata: MetricMetadata[];
}

export class ExpositionParseError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = 'ExpositionParseError';
    this.line = line;
  }
}

/** The format Prometheus picks for a response Content-Type: OpenMetrics only when declared. */
export function formatForContentType(contentType: string | undefined | null): ParsedExposition['format'] {
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return mediaType === 'application/openmetrics-text' ? 'openmetrics' : 'prometheus-text';
}

export function parseExposition(text: string, contentType: string | undefined | null): ParsedExposition {
  return formatForContentType(contentType) === 'openmetrics' ? parseOpenMetrics(text) : parsePrometheusText(text);
}

const METRIC_NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;

/** The token a sticky regex matches at `pos`, without slicing the input. */
function tokenAt(regex: RegExp, text: string, pos: number): string | undefined {
  regex.lastIndex = pos;
  return regex.exec(text)?.[0];
}
const DECIMAL_FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL_FLOAT = /^(?:[+-]?(?:inf|infinity)|nan)$/i;
const TEXT_TYPES: Record<string, MetricMetadata['type']> = {
  counter: 'counter',
  gauge: 'gauge',
  histogram: 'histogram',
  summary: 'summary',
  untyped: 'unknown',
};
const OPENMETRICS_TYPES = new Set<MetricMetadata['type']>(['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown']);

/** Go's strconv.ParseFloat as Prometheus restricts it (no hex floats, no underscores). */
export function parseGoFloat(text: string): number | undefined {
  if (SPECIAL_FLOAT.test(text)) {
    const lower = text.toLowerCase();
    if (lower === 'nan') return NaN;
    return lower.startsWith('-') ? -Infinity : Infinity;
  }
  if (!DECIMAL_FLOAT.test(text)) return undefined;
  const value = Number(text);
  // Go reports a range error instead of rounding an overflow to infinity.
  return Number.isFinite(value) ? value : undefined;
}

/** Unescapes `\\`, `\"` and `\n`; any other backslash pair stays as written (Prometheus's replacer). */
function unescape(text: string, quote: boolean): string {
  if (!text.includes('\\')) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      const n = text[i + 1]!;
      if (n === '\\') {
        out += '\\';
        i++;
        continue;
      }
      if (n === 'n') {
        out += '\n';
        i++;
        continue;
      }
      if (n === '"' && quote) {
        out += '"';
        i++;
        continue;
      }
    }
    out += c;
  }
  return out;
}

/** strconv.FormatFloat(f, 'g', -1, 64): shortest digits, exponent form below 1e-4 and from 1e6, as Go. */
function formatGoShortest(f: number): string {
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const [mantissa, expText] = f.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(f);
}

/**
 * Prometheus 3 normalises `le` of histograms and `quantile` of summaries to one float spelling
 * ("1" and "1.0" are the same bucket), so a series keeps its identity across exposition formats.
 */
export function normalizeBucketLabel(type: MetricMetadata['type'] | undefined, name: string, value: string): string {
  if (!((type === 'histogram' && name === 'le') || (type === 'summary' && name === 'quantile'))) return value;
  const f = parseGoFloat(value);
  if (f === undefined) return value;
  if (f === 1) return '1.0';
  if (f === 0) return '0.0';
  if (f === -1) return '-1.0';
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  const text = formatGoShortest(f);
  return /[.eE]/.test(text) ? text : `${text}.0`;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Decodes a scrape body; invalid UTF-8 is a parse error, as Prometheus refuses it in label values and HELP. */
export function decodeExpositionBody(body: Uint8Array): string {
  try {
    return decoder.decode(body);
  } catch {
    throw new ExpositionParseError(0, 'the response is not valid UTF-8');
  }
}

class MetadataCollector {
  private readonly byName = new Map<string, MetricMetadata>();
  get(name: string): MetricMetadata {
    let entry = this.byName.get(name);
    if (!entry) this.byName.set(name, (entry = { metricFamilyName: name, type: 'unknown', help: '', unit: '' }));
    return entry;
  }
  list(): MetricMetadata[] {
    return [...this.byName.values()];
  }
}


/** Text format 0.0.4 as Prometheus's promlexer reads it. */
export function parsePrometheusText(input: string): ParsedExposition {
  const samples: ParsedSample[] = [];
  const metadata = new MetadataCollector();
  const text = input.endsWith('\n') ? input : `${input}\n`;
  let lastType: MetricMetadata['type'] | undefined;
  let pos = 0;
  let line = 1;

  const isBlank = (c: string | undefined) => c === ' ' || c === '\t';
  const skipBlanks = () => {
    while (isBlank(text[pos])) pos++;
  };
  const fail = (message: string): never => {
    throw new ExpositionParseError(line, message);
  };
  const restOfLine = () => {
    const end = text.indexOf('\n', pos);
    const value = text.slice(pos, end);
    pos = end + 1;
    line++;
    return value;
  };

  while (pos < text.length) {
    skipBlanks();
    const c = text[pos];
    if (c === '\n') {
      pos++;
      line++;
      continue;
    }
    if (c === '#') {
      pos++;
      if (!isBlank(text[pos])) {
        restOfLine(); // `#comment`
        continue;
      }
      skipBlanks();
      const keyword = text.slice(pos, pos + 4);
      if ((keyword !== 'HELP' && keyword !== 'TYPE') || !isBlank(text[pos + 4])) {
        restOfLine();
        continue;
      }
      pos += 4;
      skipBlanks();
      const name = tokenAt(METRIC_NAME, text, pos);
      if (name === undefined) fail(`expected a metric name after ${keyword}`);
      pos += name!.length;
      const rest = restOfLine();
      const value = rest.length > 0 ? rest.slice(1) : '';
      const entry = metadata.get(name!);
      if (keyword === 'TYPE') {
        const type = TEXT_TYPES[value];
        if (type === undefined) fail(`invalid metric type "${value}"`);
        entry.type = type!;
        lastType = type;
      } else {
        entry.help = unescape(value, false);
      }
      continue;
    }
    // A sample line.
    const name = tokenAt(METRIC_NAME, text, pos);
    if (name === undefined) fail(`expected a metric name, "#" or a blank line, got "${text.slice(pos, text.indexOf('\n', pos))}"`);
    pos += name!.length;
    const labels: Labels = { __name__: name! };
    skipBlanks();
    if (text[pos] === '{') {
      pos++;
      const seen = new Set<string>(['__name__']);
      for (;;) {
        skipBlanks();
        if (text[pos] === '}') {
          pos++;
          break;
        }
        const labelName = tokenAt(LABEL_NAME, text, pos);
        if (labelName === undefined) fail(`expected a label name or "}" in a sample of ${name}`);
        pos += labelName!.length;
        skipBlanks();
        if (text[pos] !== '=') fail(`expected "=" after label name "${labelName}"`);
        pos++;
        skipBlanks();
        if (text[pos] !== '"') fail(`expected a quoted value for label "${labelName}"`);
        const start = ++pos;
        while (pos < text.length && text[pos] !== '"') {
          if (text[pos] === '\\') pos++;
          if (text[pos] === '\n') line++;
          pos++;
        }
        if (pos >= text.length) fail(`unterminated value of label "${labelName}"`);
        if (seen.has(labelName!)) fail(`label name "${labelName}" is not unique in a sample of ${name}`);
        seen.add(labelName!);
        labels[labelName!] = normalizeBucketLabel(lastType, labelName!, unescape(text.slice(start, pos), true));
        pos++;
        skipBlanks();
        if (text[pos] === ',') pos++;
      }
      skipBlanks();
    }
    let end = pos;
    while (end < text.length && text[end] !== '\n' && text[end] !== '{' && !isBlank(text[end])) end++;
    const valueText = text.slice(pos, end);
    if (valueText === '') fail(`expected a value after ${name}`);
    const value = parseGoFloat(valueText);
    if (value === undefined) fail(`invalid value "${valueText}" for ${name}`);
    pos = end;
    skipBlanks();
    const sample: ParsedSample = { labels, value: value! };
    if (text[pos] !== '\n') {
      let tsEnd = pos;
      while (text[tsEnd]! >= '0' && text[tsEnd]! <= '9') tsEnd++;
      const tsText = text.slice(pos, tsEnd);
      if (tsText === '') fail(`expected a timestamp or the end of the line after the value of ${name}, got "${text.slice(pos, text.indexOf('\n', pos))}"`);
      const ts = BigInt(tsText);
      if (ts > 9223372036854775807n) fail(`timestamp ${tsText} out of range`);
      sample.timestampMs = Number(ts);
      pos = tsEnd;
      skipBlanks();
      if (text[pos] !== '\n') fail(`expected the end of the line after the timestamp of ${name}`);
    }
    pos++;
    line++;
    samples.push(sample);
  }
  return { format: 'prometheus-text', samples, exemplars: new Map(), metadata: metadata.list() };
}

/** OpenMetrics 1.0 text as Prometheus's OpenMetrics parser reads it. */
export function parseOpenMetrics(text: string): ParsedExposition {
  const samples: ParsedSample[] = [];
  const exemplars = new Map<number, Exemplar>();
  const metadata = new MetadataCollector();
  let pos = 0;
  let line = 1;
  let sawEof = false;
  let lastType: MetricMetadata['type'] | undefined;

  const fail = (message: string): never => {
    throw new ExpositionParseError(line, message);
  };
  const lineText = () => {
    const end = text.indexOf('\n', pos);
    return text.slice(pos, end < 0 ? text.length : end);
  };

  // Labels in `{...}` with no blanks; returns the position after `}`.
  const readLabels = (into: Labels, what: string): void => {
    pos++; // {
    const seen = new Set<string>(Object.keys(into));
    for (;;) {
      if (text[pos] === '}') {
        pos++;
        return;
      }
      const labelName = tokenAt(LABEL_NAME, text, pos);
      if (labelName === undefined) fail(`expected a label name or "}" in ${what}`);
      pos += labelName!.length;
      if (text[pos] !== '=') fail(`expected "=" after label name "${labelName}"`);
      pos++;
      if (text[pos] !== '"') fail(`expected a quoted value for label "${labelName}"`);
      const start = ++pos;
      while (pos < text.length && text[pos] !== '"' && text[pos] !== '\n') {
        if (text[pos] === '\\') pos++;
        pos++;
      }
      if (text[pos] !== '"') fail(`unterminated value of label "${labelName}"`);
      if (seen.has(labelName!)) fail(`label name "${labelName}" is not unique in ${what}`);
      seen.add(labelName!);
      into[labelName!] = what.startsWith('an exemplar') ? unescape(text.slice(start, pos), true) : normalizeBucketLabel(lastType, labelName!, unescape(text.slice(start, pos), true));
      pos++;
      if (text[pos] === ',') pos++;
      else if (text[pos] !== '}') fail(`expected "," or "}" after the value of label "${labelName}"`);
    }
  };
  // ` <token>` → token; undefined when the next char is not a single space.
  const readSpacedToken = (): string | undefined => {
    if (text[pos] !== ' ') return undefined;
    let end = pos + 1;
    while (end < text.length && text[end] !== ' ' && text[end] !== '\n') end++;
    if (end === pos + 1) return undefined;
    const token = text.slice(pos + 1, end);
    pos = end;
    return token;
  };
  const readSeconds = (token: string, what: string): number => {
    const seconds = parseGoFloat(token);
    if (seconds === undefined || !Number.isFinite(seconds)) fail(`invalid ${what} "${token}"`);
    return Math.trunc(seconds! * 1000);
  };
  const endOfLine = (what: string) => {
    if (pos >= text.length) fail('data does not end with # EOF');
    if (text[pos] !== '\n') fail(`expected the end of the line after ${what}, got "${lineText()}"`);
    pos++;
    line++;
  };

  while (pos < text.length) {
    if (text[pos] === '#') {
      if (text.startsWith('# EOF', pos) && (pos + 5 === text.length || (text[pos + 5] === '\n' && pos + 6 === text.length))) {
        sawEof = true;
        break;
      }
      if (text.startsWith('# EOF', pos) && (text[pos + 5] === '\n' || pos + 5 === text.length)) fail('unexpected data after # EOF');
      const keyword = text.slice(pos + 2, pos + 6);
      if (text[pos + 1] !== ' ' || (keyword !== 'HELP' && keyword !== 'TYPE' && keyword !== 'UNIT') || text[pos + 6] !== ' ') {
        fail(`comments other than HELP, TYPE, UNIT and EOF are not allowed in OpenMetrics, got "${lineText()}"`);
      }
      pos += 7;
      const name = tokenAt(METRIC_NAME, text, pos);
      if (name === undefined) fail(`expected a metric name after ${keyword}`);
      pos += name!.length;
      if (text[pos] !== ' ') fail(`expected a space and text after ${keyword} ${name}`);
      const end = text.indexOf('\n', pos);
      if (end < 0) fail('data does not end with # EOF');
      const value = text.slice(pos + 1, end);
      pos = end + 1;
      const entry = metadata.get(name!);
      if (keyword === 'TYPE') {
        if (!OPENMETRICS_TYPES.has(value as MetricMetadata['type'])) fail(`invalid metric type "${value}"`);
        entry.type = value as MetricMetadata['type'];
        lastType = entry.type;
      } else if (keyword === 'HELP') {
        entry.help = unescape(value, true);
      } else {
        if (value !== '' && !(name!.endsWith(`_${value}`) && name!.length > value.length + 1)) fail(`unit "${value}" not a suffix of metric "${name}"`);
        entry.unit = value;
      }
      line++;
      continue;
    }
    const name = tokenAt(METRIC_NAME, text, pos);
    if (name === undefined) fail(`expected a metric name or "#", got "${lineText()}"`);
    pos += name!.length;
    const labels: Labels = { __name__: name! };
    if (text[pos] === '{') readLabels(labels, `a sample of ${name}`);
    const valueText = readSpacedToken();
    if (valueText === undefined) fail(`expected a single space and a value after ${name}, got "${lineText()}"`);
    const value = parseGoFloat(valueText!);
    if (value === undefined) fail(`invalid value "${valueText}" for ${name}`);
    const sample: ParsedSample = { labels, value: value! };
    const readExemplar = () => {
      // ` # {labels} value [timestamp]`
      if (!text.startsWith(' # {', pos)) fail(`expected a timestamp, an exemplar or the end of the line after ${name}, got "${lineText()}"`);
      pos += 3;
      const exemplarLabels: Labels = {};
      readLabels(exemplarLabels, `an exemplar of ${name}`);
      const exemplarValueText = readSpacedToken();
      if (exemplarValueText === undefined) fail(`expected a value after the exemplar labels of ${name}`);
      const exemplarValue = parseGoFloat(exemplarValueText!);
      if (exemplarValue === undefined) fail(`invalid exemplar value "${exemplarValueText}"`);
      const exemplar: Exemplar = { labels: exemplarLabels, value: exemplarValue! };
      if (text[pos] === ' ') {
        const tsText = readSpacedToken();
        if (tsText === undefined) fail(`expected an exemplar timestamp after the exemplar value of ${name}`);
        exemplar.timestampMs = readSeconds(tsText!, 'exemplar timestamp');
      }
      exemplars.set(samples.length, exemplar);
    };
    if (text[pos] === ' ') {
      if (text.startsWith(' # ', pos)) readExemplar();
      else {
        const tsText = readSpacedToken();
        if (tsText === undefined) fail(`expected a timestamp after the value of ${name}`);
        sample.timestampMs = readSeconds(tsText!, 'timestamp');
        if (text.startsWith(' # ', pos)) readExemplar();
      }
    }
    endOfLine(`the sample of ${name}`);
    samples.push(sample);
  }
  if (!sawEof) fail('data does not end with # EOF');
  return { format: 'openmetrics', samples, exemplars, metadata: metadata.list() };
}
