/**
 * Promtail pipeline stages with Promtail's semantics (clients/pkg/logentry/stages): every entry
 * carries labels, an extracted map (seeded with the labels), a timestamp and the line; parsing
 * stages fill the extracted map, action stages turn it into labels, structured metadata, the
 * timestamp or a new line; filtering stages drop entries; multiline joins lines into one entry.
 *
 * A pipeline is compiled once per scrape config and instantiated per file, because multiline
 * and the timestamp stage's "fudge" keep per-stream state. Entries carry the byte offset just
 * after their last line, so the reader commits positions only past what has been written.
 */
import { compile as compileJmes, TreeInterpreter, type JSONValue } from '@jmespath-community/jmespath';
import { z } from 'zod';
import { compileRe2, isLegacyLabelName, re2GroupNames } from '../model/index.js';
import { logfmtPairs } from './logfmt.js';
import { checkLocation, isTimestampFormat, timestampParser, type TimestampParser } from './timestamp.js';
import { parseByteSize, parseGoDuration } from './units.js';

type ExpressionNode = ReturnType<typeof compileJmes>;

export interface Entry {
  labels: Record<string, string>;
  extracted: Record<string, unknown>;
  structuredMetadata: Record<string, string>;
  /** Nanoseconds since the epoch. */
  timestamp: bigint;
  line: string;
  /** Byte offset of the first byte of the entry's first line. */
  startOffset: number;
  /** Byte offset just after the entry's last line (its newline included). */
  endOffset: number;
}

type Emit = (entry: Entry) => void;

/** One stage's per-file state. */
interface StageInstance {
  process(entry: Entry, emit: Emit): void;
  /** Emits buffered entries: all when `force`, otherwise those idle past their wait. */
  flush?(emit: Emit, nowMs: number, force: boolean): void;
  /** Start offset of the earliest buffered entry, if any. */
  pendingStart?(): number | undefined;
}

type StageFactory = () => StageInstance;

/** A stage configuration error; `path` is relative to the stage list. */
export class StageConfigError extends Error {
  constructor(
    readonly path: (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

/** Go's getString: extracted values that can become text; others are skipped. */
export function extractedToString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    const text = String(value);
    if (!/e/i.test(text)) return text;
    // strconv.FormatFloat(f, 'f', -1, 64): never exponent notation.
    return value.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 });
  }
  if (typeof value === 'bigint') return value.toString();
  return undefined;
}

/**
 * What a parsing stage reads: the line, or its `source` from the extracted map; undefined when
 * that is missing or not text (the entry then passes through untouched).
 */
function stageInput(entry: Entry, source: string | undefined): string | undefined {
  if (source === undefined) return entry.line;
  return source in entry.extracted ? extractedToString(entry.extracted[source]) : undefined;
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, path: (string | number)[]): T {
  const result = schema.safeParse(value ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const message =
      issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
    throw new StageConfigError([...path, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))], message);
  }
  return result.data;
}

function regexOrThrow(expression: string, path: (string | number)[]): RegExp {
  try {
    return compileRe2(expression);
  } catch (error) {
    throw new StageConfigError(path, `invalid regular expression: ${(error as Error).message}`);
  }
}

function durationOrThrow(text: string, path: (string | number)[]): number {
  const ms = parseGoDuration(text);
  if (ms === undefined) throw new StageConfigError(path, `expected a duration like "3s" or "1h30m", got ${JSON.stringify(text)}`);
  return ms;
}

const source = z.string().min(1, 'empty source').optional();

// ---- parsing stages -------------------------------------------------------------------------

function jsonStage(config: unknown, path: (string | number)[]): StageFactory {
  const cfg = parseWith(
    z.strictObject({
      expressions: z.record(z.string(), z.string().nullable()).refine((e) => Object.keys(e).length > 0, 'JMES expression is required'),
      source,
      drop_malformed: z.boolean().optional(),
    }),
    config,
    path,
  );
  const expressions: [string, ExpressionNode][] = Object.entries(cfg.expressions).map(([name, expr]) => {
    try {
      return [name, compileJmes(expr || name)];
    } catch (error) {
      throw new StageConfigError([...path, 'expressions', name], `could not compile JMES expression: ${(error as Error).message}`);
    }
  });
  const stage: StageInstance = {
    process(entry, emit) {
      const input = stageInput(entry, cfg.source);
      if (input === undefined) return emit(entry);
      let data: unknown;
      try {
        data = JSON.parse(input);
      } catch {
        data = undefined;
      }
      if (data === null || typeof data !== 'object' || Array.isArray(data)) {
        // malformed json: kept unless drop_malformed
        if (!cfg.drop_malformed) emit(entry);
        return;
      }
      for (const [name, node] of expressions) {
        let result: unknown;
        try {
          result = TreeInterpreter.search(node, data as JSONValue);
        } catch {
          continue;
        }
        if (result === null || typeof result === 'string' || typeof result === 'number' || typeof result === 'boolean') entry.extracted[name] = result;
        else entry.extracted[name] = JSON.stringify(result);
      }
      emit(entry);
    },
  };
  return () => stage;
}

function logfmtStage(config: unknown, path: (string | number)[]): StageFactory {
  const cfg = parseWith(
    z.strictObject({
      mapping: z.record(z.string(), z.string().nullable()).refine((m) => Object.keys(m).length > 0, 'logfmt mapping is required'),
      source,
    }),
    config,
    path,
  );
  // logfmt key → extracted name (the mapping is written extracted-name: logfmt-key).
  const inverse = new Map<string, string>();
  for (const [name, key] of Object.entries(cfg.mapping)) inverse.set(key || name, name);
  const stage: StageInstance = {
    process(entry, emit) {
      const input = stageInput(entry, cfg.source);
      if (input === undefined) return emit(entry);
      for (const [key, value] of logfmtPairs(input)) {
        const name = inverse.get(key);
        if (name !== undefined) entry.extracted[name] = value;
      }
      emit(entry);
    },
  };
  return () => stage;
}

function regexStage(config: unknown, path: (string | number)[]): StageFactory {
  const cfg = parseWith(z.strictObject({ expression: z.string().min(1, 'expression is required'), source }), config, path);
  const re = regexOrThrow(cfg.expression, [...path, 'expression']);
  const names = re2GroupNames(re);
  const stage: StageInstance = {
    process(entry, emit) {
      const input = stageInput(entry, cfg.source);
      if (input === undefined) return emit(entry);
      const m = re.exec(input);
      if (m?.groups) {
        // Go sets every named group, with "" for those that did not participate.
        for (const name of names) entry.extracted[name] = m.groups[name] ?? '';
      }
      emit(entry);
    },
  };
  return () => stage;
}

// ---- action stages --------------------------------------------------------------------------

/** labels / structured_metadata config: label name → extracted key (empty: the same name). */
function labelMapping(config: unknown, path: (string | number)[]): [string, string][] {
  const cfg = parseWith(z.record(z.string(), z.string().nullable()), config, path);
  const entries = Object.entries(cfg);
  if (entries.length === 0) throw new StageConfigError(path, 'label stage config cannot be empty');
  return entries.map(([name, from]) => {
    if (!isLegacyLabelName(name)) throw new StageConfigError([...path, name], `invalid label name: ${name}`);
    return [name, from || name];
  });
}

function labelsStage(config: unknown, path: (string | number)[]): StageFactory {
  const mapping = labelMapping(config, path);
  const stage: StageInstance = {
    process(entry, emit) {
      for (const [name, from] of mapping) {
        if (!(from in entry.extracted)) continue;
        const value = extractedToString(entry.extracted[from]);
        if (value !== undefined) entry.labels[name] = value;
      }
      emit(entry);
    },
  };
  return () => stage;
}

function structuredMetadataStage(config: unknown, path: (string | number)[]): StageFactory {
  const mapping = labelMapping(config, path);
  const stage: StageInstance = {
    process(entry, emit) {
      // As Promtail: from the extracted map first, else from a label, which then stops being a label.
      const moved = new Map<string, string>();
      for (const [name, from] of mapping) {
        if (!(from in entry.extracted)) continue;
        const value = extractedToString(entry.extracted[from]);
        if (value === undefined) continue;
        entry.structuredMetadata[name] = value;
        moved.set(from, value);
      }
      for (const [name, from] of mapping) {
        if (moved.has(from)) continue;
        const value = entry.labels[from];
        if (value !== undefined) {
          entry.structuredMetadata[name] = value;
          moved.set(from, value);
        }
      }
      for (const [from, value] of moved) if (entry.labels[from] === value) delete entry.labels[from];
      emit(entry);
    },
  };
  return () => stage;
}

function staticLabelsStage(config: unknown, path: (string | number)[]): StageFactory {
  const cfg = parseWith(z.record(z.string(), z.string().nullable()), config, path);
  for (const name of Object.keys(cfg)) if (!isLegacyLabelName(name)) throw new StageConfigError([...path, name], `invalid label name: ${name}`);
  const stage: StageInstance = {
    process(entry, emit) {
      for (const [name, value] of Object.entries(cfg)) if (value) entry.labels[name] = value;
      emit(entry);
    },
  };
  return () => stage;
}

function labelDropStage(config: unknown, path: (string | number)[], allow: boolean): StageFactory {
  const names = new Set(parseWith(z.array(z.string()).min(1, 'at least one label name is required'), config, path));
  const stage: StageInstance = {
    process(entry, emit) {
      for (const name of Object.keys(entry.labels)) if (names.has(name) !== allow) delete entry.labels[name];
      emit(entry);
    },
  };
  return () => stage;
}

function outputStage(config: unknown, path: (string | number)[]): StageFactory {
  const cfg = parseWith(z.strictObject({ source: z.string({ message: 'output source value is required' }).min(1, 'output source value is required') }), config, path);
  const stage: StageInstance = {
    process(entry, emit) {
      if (cfg.source in entry.extracted) {
        const text = extractedToString(entry.extracted[cfg.source]);
        if (text !== undefined) entry.line = text;
      }
      emit(entry);
    },
  };
  return () => stage;
}

const TIMESTAMP_FORMAT_HINT = 'a Go layout such as "2006-01-02T15:04:05.000Z07:00" or one of ANSIC, UnixDate, RubyDate, RFC822, RFC822Z, RFC850, RFC1123, RFC1123Z, RFC3339, RFC3339Nano, Unix, UnixMs, UnixUs, UnixNs';

function timestampStage(config: unknown, path: (string | number)[]): StageFactory {
  const cfg = parseWith(
    z.strictObject({
      source: z.string({ message: 'timestamp source value is required' }).min(1, 'timestamp source value is required'),
      format: z.string({ message: `timestamp format is required: ${TIMESTAMP_FORMAT_HINT}` }).min(1, 'timestamp format is required'),
      fallback_formats: z.array(z.string().min(1)).optional(),
      location: z.string().optional(),
      action_on_failure: z.enum(['skip', 'fudge']).optional(),
    }),
    config,
    path,
  );
  if (cfg.location !== undefined) {
    try {
      checkLocation(cfg.location);
    } catch {
      throw new StageConfigError([...path, 'location'], `invalid location specified: unknown time zone ${JSON.stringify(cfg.location)}`);
    }
  }
  for (const [index, format] of [cfg.format, ...(cfg.fallback_formats ?? [])].entries()) {
    // Go would accept any text as a layout and then never parse anything: refuse layouts without a single field.
    if (!isTimestampFormat(format)) {
      throw new StageConfigError(index === 0 ? [...path, 'format'] : [...path, 'fallback_formats', index - 1], `unknown timestamp format ${JSON.stringify(format)}: expected ${TIMESTAMP_FORMAT_HINT}`);
    }
  }
  const parsers: TimestampParser[] = [cfg.format, ...(cfg.fallback_formats ?? [])].map((f) => timestampParser(f, cfg.location));
  const fudge = (cfg.action_on_failure ?? 'fudge') === 'fudge';
  const parse = (text: string): bigint | undefined => {
    for (const parser of parsers) {
      try {
        return parser(text);
      } catch {
        // try the next format
      }
    }
    return undefined;
  };
  return () => {
    // Last parsed timestamp per label set, for "fudge": a failed entry gets the previous one + 1ns.
    const lastKnown = new Map<string, bigint>();
    return {
      process(entry, emit) {
        const raw = entry.extracted[cfg.source];
        const text = raw === undefined ? undefined : extractedToString(raw);
        const parsed = text === undefined ? undefined : parse(text);
        if (parsed !== undefined) {
          entry.timestamp = parsed;
          if (fudge) lastKnown.set(labelKey(entry.labels), parsed);
        } else if (fudge) {
          const key = labelKey(entry.labels);
          const last = lastKnown.get(key);
          if (last !== undefined) {
            entry.timestamp = last + 1n;
            lastKnown.set(key, entry.timestamp);
          }
        }
        emit(entry);
      },
    };
  };
}

function labelKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// ---- filtering stages -----------------------------------------------------------------------

function dropStage(config: unknown, path: (string | number)[]): StageFactory {
  const cfg = parseWith(
    z.strictObject({
      source: z.union([z.string(), z.array(z.string())]).optional(),
      value: z.string().optional(),
      separator: z.string().optional(),
      expression: z.string().optional(),
      older_than: z.string().optional(),
      longer_than: z.union([z.string(), z.number()]).optional(),
      drop_counter_reason: z.string().optional(),
    }),
    config,
    path,
  );
  if (cfg.source === undefined && cfg.expression === undefined && cfg.older_than === undefined && cfg.longer_than === undefined) {
    throw new StageConfigError(path, 'drop stage config must contain at least one of `source`, `expression`, `older_than` or `longer_than`');
  }
  if (cfg.value !== undefined && cfg.source === undefined) throw new StageConfigError([...path, 'value'], 'drop stage config must contain `source` if `value` is specified');
  if (cfg.value !== undefined && cfg.expression !== undefined) throw new StageConfigError([...path, 'value'], '`value` and `expression` cannot both be defined');
  const sources = cfg.source === undefined ? undefined : Array.isArray(cfg.source) ? cfg.source : [cfg.source];
  const separator = cfg.separator ?? ';';
  const olderThanMs = cfg.older_than === undefined ? undefined : durationOrThrow(cfg.older_than, [...path, 'older_than']);
  let longerThan: number | undefined;
  if (cfg.longer_than !== undefined) {
    longerThan = parseByteSize(cfg.longer_than);
    if (longerThan === undefined) throw new StageConfigError([...path, 'longer_than'], `expected a byte size like "8KB", got ${JSON.stringify(cfg.longer_than)}`);
  }
  let re: RegExp | undefined;
  if (cfg.expression !== undefined) re = regexOrThrow(cfg.expression, [...path, 'expression']);
  if (cfg.value !== undefined) re = new RegExp(`^${cfg.value.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')}$`);

  const shouldDrop = (entry: Entry): boolean => {
    // All configured conditions must hold (an AND), as in Promtail.
    if (longerThan !== undefined && !(Buffer.byteLength(entry.line) > longerThan)) return false;
    if (olderThanMs !== undefined && !(entry.timestamp < BigInt(Date.now() - olderThanMs) * 1_000_000n)) return false;
    if (sources !== undefined && re === undefined) {
      if (!sources.every((s) => s in entry.extracted)) return false;
    }
    if (sources === undefined && re !== undefined && !re.test(entry.line)) return false;
    if (sources !== undefined && re !== undefined) {
      const values: string[] = [];
      for (const s of sources) {
        if (!(s in entry.extracted)) continue;
        const text = extractedToString(entry.extracted[s]);
        if (text === undefined) return false;
        values.push(text);
      }
      if (!re.test(values.join(separator))) return false;
    }
    return true;
  };
  const stage: StageInstance = {
    process(entry, emit) {
      if (!shouldDrop(entry)) emit(entry);
    },
  };
  return () => stage;
}

function multilineStage(config: unknown, path: (string | number)[]): StageFactory {
  const cfg = parseWith(
    z.strictObject({
      firstline: z.string({ message: 'multiline stage config must define `firstline` regular expression' }),
      max_wait_time: z.string().optional(),
      max_lines: z.number().int().min(0).optional(),
    }),
    config,
    path,
  );
  const firstline = regexOrThrow(cfg.firstline, [...path, 'firstline']);
  const maxWaitMs = cfg.max_wait_time === undefined ? 3000 : durationOrThrow(cfg.max_wait_time, [...path, 'max_wait_time']);
  const maxLines = cfg.max_lines ?? 128;

  interface Block {
    start: Entry;
    lines: string[];
    endOffset: number;
    lastAppendMs: number;
  }
  return () => {
    // One block per label set (Promtail keys multiline state by stream).
    const blocks = new Map<string, Block>();
    const flushBlock = (key: string, block: Block, emit: Emit) => {
      blocks.delete(key);
      emit({
        ...block.start,
        labels: { ...block.start.labels },
        extracted: { ...block.start.extracted },
        structuredMetadata: { ...block.start.structuredMetadata },
        line: block.lines.join('\n'),
        endOffset: block.endOffset,
      });
    };
    return {
      process(entry, emit) {
        const key = labelKey(entry.labels);
        const isFirst = firstline.test(entry.line);
        let block = blocks.get(key);
        if (!block && !isFirst) return emit(entry); // lines before the first start line pass through
        if (block && isFirst) {
          flushBlock(key, block, emit);
          block = undefined;
        }
        if (!block) {
          block = { start: entry, lines: [], endOffset: entry.endOffset, lastAppendMs: Date.now() };
          blocks.set(key, block);
        }
        block.lines.push(entry.line);
        block.endOffset = entry.endOffset;
        block.lastAppendMs = Date.now();
        if (block.lines.length === maxLines) flushBlock(key, block, emit);
      },
      flush(emit, nowMs, force) {
        for (const [key, block] of [...blocks]) if (force || nowMs - block.lastAppendMs >= maxWaitMs) flushBlock(key, block, emit);
      },
      pendingStart() {
        let min: number | undefined;
        for (const block of blocks.values()) if (min === undefined || block.start.startOffset < min) min = block.start.startOffset;
        return min;
      },
    };
  };
}

// ---- match ----------------------------------------------------------------------------------

/** Decides whether an entry matches a match stage's selector (labels and line filters). */
export type EntryMatcher = (labels: Record<string, string>, line: string) => boolean;
/** Compiles a LogQL stream selector with optional line filters; throws with a message when invalid. */
export type SelectorCompiler = (selector: string) => EntryMatcher;

function matchStage(config: unknown, path: (string | number)[], options: CompileOptions): StageFactory {
  const cfg = parseWith(
    z.strictObject({
      selector: z.string({ message: 'selector statement required for match stage' }).min(1, 'selector statement required for match stage'),
      stages: z.array(z.unknown()).optional(),
      action: z.enum(['keep', 'drop']).optional(),
      pipeline_name: z.string().min(1, 'match stage pipeline name can be omitted but cannot be an empty string').optional(),
      drop_counter_reason: z.string().optional(),
    }),
    config,
    path,
  );
  const action = cfg.action ?? 'keep';
  if (action === 'keep' && (cfg.stages ?? []).length === 0) {
    throw new StageConfigError([...path, 'stages'], "match stage requires at least one additional stage to be defined in '- stages'");
  }
  if (action === 'drop' && (cfg.stages ?? []).length > 0) throw new StageConfigError([...path, 'stages'], 'match stage configured to drop entries cannot contain stages');
  if (!options.compileSelector) throw new StageConfigError([...path, 'selector'], 'the match stage is not available');
  let matches: EntryMatcher;
  try {
    matches = options.compileSelector(cfg.selector);
  } catch (error) {
    throw new StageConfigError([...path, 'selector'], `invalid selector syntax for match stage: ${(error as Error).message}`);
  }
  const nested = action === 'keep' ? compileStages(cfg.stages ?? [], options, [...path, 'stages']) : undefined;
  return () => {
    const inner = nested?.instantiate();
    return {
      process(entry, emit) {
        if (!matches(entry.labels, entry.line)) return emit(entry);
        if (inner) for (const out of inner.process(entry)) emit(out);
      },
      flush(emit, nowMs, force) {
        if (inner) for (const out of inner.flush(nowMs, force)) emit(out);
      },
      pendingStart: () => inner?.pendingStart(),
    };
  };
}

// ---- pipeline -------------------------------------------------------------------------------

export interface CompileOptions {
  compileSelector?: SelectorCompiler;
}

type StageBuilder = (config: unknown, at: (string | number)[], options: CompileOptions) => StageFactory;

/** Promtail's stage names and what builds each. */
const STAGE_BUILDERS: Record<string, StageBuilder> = {
  json: jsonStage,
  logfmt: logfmtStage,
  regex: regexStage,
  labels: labelsStage,
  structured_metadata: structuredMetadataStage,
  static_labels: staticLabelsStage,
  labeldrop: (config, at) => labelDropStage(config, at, false),
  labelallow: (config, at) => labelDropStage(config, at, true),
  timestamp: timestampStage,
  output: outputStage,
  drop: dropStage,
  multiline: multilineStage,
  match: matchStage,
};

export const SUPPORTED_STAGES: readonly string[] = Object.keys(STAGE_BUILDERS);

/** A pipeline's per-file state. */
export interface PipelineInstance {
  process(entry: Entry): Entry[];
  /** Entries held by multiline stages that are ready (all of them when `force`). */
  flush(nowMs: number, force: boolean): Entry[];
  /** Start offset of the earliest entry still held, if any: positions must not pass it. */
  pendingStart(): number | undefined;
}

export interface CompiledPipeline {
  instantiate(): PipelineInstance;
}

export function compileStages(stages: readonly unknown[], options: CompileOptions = {}, basePath: (string | number)[] = []): CompiledPipeline {
  const factories: StageFactory[] = stages.map((raw, index) => {
    const path = [...basePath, index];
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new StageConfigError(path, 'expected a map with one stage name as its key');
    const keys = Object.keys(raw);
    if (keys.length !== 1) throw new StageConfigError(path, `expected exactly one stage name as the key, got ${keys.length === 0 ? 'none' : keys.map((k) => `"${k}"`).join(', ')}`);
    const name = keys[0]!;
    const config = (raw as Record<string, unknown>)[name];
    const at = [...path, name];
    const build = Object.hasOwn(STAGE_BUILDERS, name) ? STAGE_BUILDERS[name] : undefined;
    if (build === undefined) throw new StageConfigError(path, `unsupported stage "${name}" (supported: ${SUPPORTED_STAGES.join(', ')})`);
    return build(config, at, options);
  });
  return {
    instantiate(): PipelineInstance {
      const instances = factories.map((f) => f());
      const runFrom = (entry: Entry, index: number, out: Entry[]) => {
        if (index === instances.length) {
          out.push(entry);
          return;
        }
        instances[index]!.process(entry, (next) => runFrom(next, index + 1, out));
      };
      return {
        process(entry) {
          const out: Entry[] = [];
          runFrom(entry, 0, out);
          return out;
        },
        flush(nowMs, force) {
          const out: Entry[] = [];
          instances.forEach((stage, index) => stage.flush?.((e) => runFrom(e, index + 1, out), nowMs, force));
          return out;
        },
        pendingStart() {
          let min: number | undefined;
          for (const stage of instances) {
            const start = stage.pendingStart?.();
            if (start !== undefined && (min === undefined || start < min)) min = start;
          }
          return min;
        },
      };
    },
  };
}

/** A new entry for a line read from a file, as Promtail builds it: extracted seeded with the labels. */
export function newEntry(labels: Record<string, string>, line: string, timestamp: bigint, startOffset: number, endOffset: number): Entry {
  return { labels: { ...labels }, extracted: { ...labels }, structuredMetadata: {}, timestamp, line, startOffset, endOffset };
}
