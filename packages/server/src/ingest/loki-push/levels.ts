/**
 * Loki 3's log level discovery (`limits_config.discover_log_levels`, on by default): every pushed
 * entry gets a `detected_level` structured-metadata field unless it has one, taken from, in order,
 * a level-like stream label, a level-like structured-metadata field, the line's JSON (two levels
 * deep) or logfmt field, or the first level word in the line; else "unknown".
 */

export const DEFAULT_LOG_LEVEL_FIELDS: readonly string[] = [
  'level', 'LEVEL', 'Level', 'log.level', 'severity', 'SEVERITY', 'Severity', 'SeverityText',
  'lvl', 'LVL', 'Lvl', 'severity_text', 'Severity_Text',
];

/** Loki's level names and the OTLP severity number of each (first of its range). */
export const LEVEL_SEVERITY: Readonly<Record<string, number>> = {
  trace: 1, debug: 5, info: 9, warn: 13, error: 17, critical: 21, fatal: 21, unknown: 0,
};

const ALIASES: Record<string, string> = {
  trace: 'trace', trc: 'trace', debug: 'debug', dbg: 'debug', info: 'info', inf: 'info', information: 'info',
  warn: 'warn', wrn: 'warn', warning: 'warn', error: 'error', err: 'error', critical: 'critical', fatal: 'fatal',
};

/** A level word in Loki's canonical spelling; other values are kept as given. */
export function normalizeLevel(value: string): string {
  return ALIASES[value.toLowerCase()] ?? value;
}

// Loki's word search order: the earliest position wins; at equal positions the first of these.
const LEVEL_WORDS: [string, string][] = [
  ['trace', 'trace'], ['debug', 'debug'], ['fatal', 'fatal'], ['critical', 'critical'], ['error', 'error'],
  ['err', 'error'], ['warning', 'warn'], ['warn', 'warn'], ['info', 'info'],
];
const LEFT_BOUNDARY = new Set([' ', '\t', '\n', '[', '(', '{', '"', "'", '=', '|']);
const RIGHT_BOUNDARY = new Set([' ', '\t', '\n', '[', ']', '(', ')', '{', '}', ':', ',', '!', '"', "'", '=', '|']);

function boundedIndex(text: string, word: string): number {
  let from = 0;
  for (;;) {
    const at = text.indexOf(word, from);
    if (at < 0) return -1;
    const before = at === 0 ? undefined : text[at - 1];
    const after = text[at + word.length];
    if ((before === undefined || LEFT_BOUNDARY.has(before)) && (after === undefined || RIGHT_BOUNDARY.has(after))) return at;
    from = at + 1;
  }
}

export function levelFromPlainText(line: string): string {
  const lower = line.toLowerCase();
  let best = lower.length;
  let level = 'unknown';
  for (const [word, name] of LEVEL_WORDS) {
    const at = boundedIndex(lower, word);
    if (at < 0 || at >= best) continue;
    best = at;
    level = name;
    if (at === 0) break;
  }
  return level;
}

function isJsonObjectText(line: string): boolean {
  return /^\s*\{/.test(line) && /\}\s*$/.test(line);
}

function levelFromJson(line: string, fields: ReadonlySet<string>): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const search = (object: unknown, depth: number): string | undefined => {
    if (depth >= 2 || typeof object !== 'object' || object === null || Array.isArray(object)) return undefined;
    for (const [key, v] of Object.entries(object)) {
      if (typeof v === 'string' && fields.has(key)) return v;
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
        const found = search(v, depth + 1);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };
  return search(value, 0);
}

// key=value or key="quoted value" pairs, as Loki's logfmt decoder reads them.
const LOGFMT_PAIR = /([^\s="]+)=("(?:[^"\\]|\\.)*"|[^\s]*)/g;

function levelFromLogfmt(line: string, fields: readonly string[]): string | undefined {
  let bestRank = fields.length;
  let found: string | undefined;
  for (const m of line.matchAll(LOGFMT_PAIR)) {
    const key = m[1]!.toLowerCase();
    const rank = fields.findIndex((f) => f.toLowerCase() === key);
    if (rank < 0 || rank >= bestRank) continue;
    const raw = m[2]!;
    found = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    bestRank = rank;
    if (rank === 0) break;
  }
  return found;
}

export class LevelDetector {
  private readonly fieldSet: ReadonlySet<string>;
  constructor(private readonly fields: readonly string[] = DEFAULT_LOG_LEVEL_FIELDS) {
    this.fieldSet = new Set(fields);
  }

  /** The value of the first level field present in `labels` (stream labels or metadata). */
  fromLabels(get: (name: string) => string | undefined): string | undefined {
    for (const field of this.fields) {
      const value = get(field);
      if (value !== undefined) return normalizeLevel(value);
    }
    return undefined;
  }

  fromLine(line: string): string {
    let value: string | undefined;
    if (isJsonObjectText(line)) value = levelFromJson(line, this.fieldSet);
    else if (line.includes('=')) value = levelFromLogfmt(line, this.fields);
    else return levelFromPlainText(line);
    if (value === undefined) return levelFromPlainText(line);
    const normalized = ALIASES[value.toLowerCase()];
    return normalized ?? levelFromPlainText(line);
  }
}
