/**
 * pino logging with correlation ids, per-module levels and redaction. One root logger writes to
 * a dispatcher whose sinks (stdout, rotating file, OTLP, test captures) can change after loggers
 * exist: `getLogger()` is often called at module load, before `init()` configures anything.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { currentCorrelation } from './context.js';
import { Redactor } from './redact.js';

export type { Logger } from 'pino';

export type LogLevel = LevelWithSilent;
const LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const LEVEL_VALUES: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/** A parsed, already redacted log record. */
export type LogRecordJson = Record<string, unknown> & { level: string; msg?: string; time: string };

export interface LogSink {
  write(line: string, record: LogRecordJson): void;
  flush?(): void;
  close?(): void;
}

export interface LevelSpec {
  level: LogLevel;
  modules: Map<string, LogLevel>;
}

function isLevel(value: string): value is LogLevel {
  return (LEVELS as readonly string[]).includes(value);
}

/**
 * Parses `LOG_LEVEL` syntax: a default level and optional per-module overrides,
 * `info,db=debug,http=warn`. Unknown levels are reported, not silently ignored.
 */
export function parseLevelSpec(spec: string | undefined, fallback: LogLevel = 'info'): LevelSpec {
  const result: LevelSpec = { level: fallback, modules: new Map() };
  if (!spec) return result;
  for (const rawPart of spec.split(',')) {
    const part = rawPart.trim();
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq < 0) {
      const level = part.toLowerCase();
      if (!isLevel(level)) throw new Error(`LOG_LEVEL: unknown level "${part}" (expected one of ${LEVELS.join(', ')})`);
      result.level = level;
    } else {
      const module = part.slice(0, eq).trim();
      const level = part.slice(eq + 1).trim().toLowerCase();
      if (!module || !isLevel(level)) throw new Error(`LOG_LEVEL: bad module override "${part}" (expected module=level)`);
      result.modules.set(module, level);
    }
  }
  return result;
}

// Fields the logger writes itself: never redacted (ids are hex/UUIDs, and scanning them costs time).
const TRUSTED_FIELDS = new Set(['time', 'level', 'service', 'module', 'trace_id', 'span_id', 'request_id', 'version', 'environment']);

interface CoreState {
  service: string | undefined;
  levels: LevelSpec;
  redactor: Redactor;
  sinks: Set<LogSink>;
  root: Logger | undefined;
  children: Map<string, Logger>;
  lastRecord: LogRecordJson | undefined;
}

const state: CoreState = {
  service: process.env.LOOKOUT_SERVICE ?? process.env.OTEL_SERVICE_NAME,
  levels: safeLevelSpec(process.env.LOG_LEVEL),
  redactor: new Redactor(),
  sinks: new Set(),
  root: undefined,
  children: new Map(),
  lastRecord: undefined,
};

function safeLevelSpec(spec: string | undefined): LevelSpec {
  try {
    return parseLevelSpec(spec);
  } catch {
    return parseLevelSpec(undefined);
  }
}

let stdoutSink: LogSink | undefined = createStdoutSink();
state.sinks.add(stdoutSink);

function createStdoutSink(): LogSink {
  // Asynchronous writes so a slow reader of stdout does not stall request handling; flushed
  // synchronously on shutdown and before exiting on a crash.
  const destination = pino.destination({ dest: 1, sync: false, minLength: 0 });
  return {
    write: (line) => void destination.write(line),
    flush: () => {
      try {
        destination.flushSync();
      } catch {
        // flushSync throws while a write is pending (EAGAIN); nothing better to do on exit.
      }
    },
  };
}

const dispatcher = {
  write(line: string): void {
    const record = state.lastRecord;
    state.lastRecord = undefined;
    if (!record) return;
    for (const sink of state.sinks) {
      try {
        sink.write(line, record);
      } catch {
        // A broken sink must not break logging for the others, nor the caller.
      }
    }
  },
};

function levelOf(module: string): LogLevel {
  return state.levels.modules.get(module) ?? state.levels.level;
}

function minimumLevel(): LogLevel {
  let min: LogLevel = state.levels.level;
  for (const level of state.levels.modules.values()) if (LEVEL_VALUES[level] < LEVEL_VALUES[min]) min = level;
  return min;
}

function rootLogger(): Logger {
  if (state.root) return state.root;
  state.root = pino(
    {
      level: minimumLevel(),
      base: undefined,
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
      mixin: () => {
        const correlation = currentCorrelation();
        return state.service === undefined ? correlation : { service: state.service, ...correlation };
      },
      hooks: {
        // The final line is parsed once: redaction covers every field, the message and error
        // stacks, and the sinks that need structure (OTLP, captures) reuse the parsed record.
        streamWrite: (line: string) => {
          let record: LogRecordJson;
          try {
            record = JSON.parse(line) as LogRecordJson;
          } catch {
            return line;
          }
          const changed = state.redactor.redactInPlace(record, TRUSTED_FIELDS);
          state.lastRecord = record;
          return changed ? JSON.stringify(record) + '\n' : line;
        },
      },
    },
    dispatcher,
  );
  return state.root;
}

/** A child logger whose records carry `module`; its level follows LOG_LEVEL's per-module overrides. */
export function getLogger(module = 'app'): Logger {
  let child = state.children.get(module);
  if (!child) {
    child = rootLogger().child({ module }, { level: levelOf(module) });
    state.children.set(module, child);
  }
  return child;
}

export interface LoggingConfig {
  service?: string;
  level?: string;
  redactor?: Redactor;
  stdout?: boolean;
}

/** Applies init()'s logging configuration to existing and future loggers. */
export function configureLogging(config: LoggingConfig): void {
  if (config.service !== undefined) state.service = config.service;
  if (config.level !== undefined) state.levels = parseLevelSpec(config.level);
  if (config.redactor) state.redactor = config.redactor;
  if (config.stdout === false && stdoutSink) {
    state.sinks.delete(stdoutSink);
    stdoutSink = undefined;
  } else if (config.stdout === true && !stdoutSink) {
    stdoutSink = createStdoutSink();
    state.sinks.add(stdoutSink);
  }
  const root = rootLogger();
  root.level = minimumLevel();
  for (const [module, child] of state.children) child.level = levelOf(module);
}

export function currentRedactor(): Redactor {
  return state.redactor;
}

export function addSink(sink: LogSink): () => void {
  state.sinks.add(sink);
  return () => {
    state.sinks.delete(sink);
  };
}

export function flushLogs(): void {
  for (const sink of state.sinks) {
    try {
      sink.flush?.();
    } catch {
      // best effort at exit
    }
  }
}

export interface SampleOptions {
  /** Keep one record in every N. */
  every?: number;
  /** Keep at most N records per second. */
  perSecond?: number;
}

export type SampledLogger = Pick<Logger, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> & {
  /** Records dropped by sampling so far. */
  readonly dropped: number;
};

/**
 * Sampling for noisy lines (typically debug): a logger that forwards every Nth call and/or at
 * most N calls per second to `logger`. The kept records carry `sampled: true`.
 */
export function sampled(logger: Logger, options: SampleOptions): SampledLogger {
  const every = options.every && options.every > 1 ? Math.floor(options.every) : 1;
  const perSecond = options.perSecond && options.perSecond > 0 ? options.perSecond : Infinity;
  let calls = 0;
  let windowStart = 0;
  let windowCount = 0;
  let dropped = 0;
  const marked = logger.child({ sampled: true });
  const keep = (): boolean => {
    calls++;
    if ((calls - 1) % every !== 0) return false;
    const now = Date.now();
    if (now - windowStart >= 1000) {
      windowStart = now;
      windowCount = 0;
    }
    if (windowCount >= perSecond) return false;
    windowCount++;
    return true;
  };
  const method =
    (level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal') =>
    (...args: unknown[]): void => {
      if (!marked.isLevelEnabled(level)) return;
      if (!keep()) {
        dropped++;
        return;
      }
      (marked[level] as (...a: unknown[]) => void)(...args);
    };
  return {
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    fatal: method('fatal'),
    get dropped() {
      return dropped;
    },
  } as SampledLogger;
}

export interface FileLogOptions {
  /** Base path; pino-roll appends a number (and `extension`) per rotated file. */
  path: string;
  /** Rotate when a file reaches this size (`10m`, `1g`, or bytes). */
  size?: string | number;
  /** Rotate `daily`, `hourly`, or every N milliseconds. */
  frequency?: 'daily' | 'hourly' | number;
  /** Rotated files kept besides the current one. */
  count?: number;
  extension?: string;
}

/** Rotating file output through pino-roll in a worker thread (pino.transport). */
export function createFileSink(options: FileLogOptions): LogSink {
  const transport = pino.transport({
    target: 'pino-roll',
    options: {
      file: options.path,
      size: options.size ?? '10m',
      frequency: options.frequency ?? 'daily',
      limit: { count: options.count ?? 7 },
      extension: options.extension ?? '.log',
      mkdir: true,
    },
  });
  return {
    write: (line) => void transport.write(line),
    flush: () => {
      try {
        transport.flushSync();
      } catch {
        // worker not ready yet
      }
    },
    close: () => transport.end(),
  };
}
