/**
 * Runs the tailing configured under `tail:`: discovers files from the scrape configs' globs
 * (again every target_config.sync_period, so new files are picked up), runs one FileReader per
 * file, writes entries through the write pipeline (backing off while it is saturated, never
 * dropping or repeating a line) and saves the positions file every positions.sync_period and
 * at stop.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { isLookoutError, LookoutError } from '../errors.js';
import { compileLogSelector } from '../logql/index.js';
import type { WritePipeline } from '../pipeline/index.js';
import type { ServerMetrics } from '../telemetry/index.js';
import { compilePathGlob, type PathMatcher } from './discovery.js';
import { Positions } from './positions.js';
import { FileReader, SinkStoppedError, type EntrySink } from './reader.js';
import { toLogRecord } from './records.js';
import { compileStages, StageConfigError, type CompiledPipeline, type SelectorCompiler } from './stages.js';
import type { TailConfig } from './types.js';
import { parseGoDuration } from './units.js';

export const DEFAULT_POSITIONS_FILE = 'tail-positions.json';

interface Target {
  job: string;
  matcher: PathMatcher;
  /** Static labels without `__path__`/`__path_exclude__`. */
  labels: Record<string, string>;
  pipeline: CompiledPipeline;
}

interface CompiledConfig {
  positionsFile: string;
  positionsSyncMs: number;
  discoverEveryMs: number;
  pollEveryMs: number;
  targets: Target[];
}

export interface TailManagerOptions {
  pipeline: WritePipeline;
  dataDir: string;
  logger: Logger;
  /** Counts stored lines as lookout_ingested_records_total{signal="logs",protocol="tail"}. */
  metrics?: ServerMetrics;
  /** LogQL selector compiler for the match stage (default: logql's compileLogSelector). */
  compileSelector?: SelectorCompiler;
}

export interface TailManager {
  /** Validates and applies a `tail:` config (undefined: tail nothing). Throws LOOKOUT_ERR_CONFIG_INVALID naming the key. */
  applyConfig(config: TailConfig | undefined): Promise<void>;
  /** Files being tailed now. */
  files(): string[];
  /** Stops reading, ships what multiline stages hold, saves positions. Call before the pipeline closes. */
  stop(): Promise<void>;
}

function invalid(path: (string | number)[], message: string): LookoutError {
  return new LookoutError('LOOKOUT_ERR_CONFIG_INVALID', `${['tail', ...path].join('.')}: ${message}`);
}

function durationMs(text: string | undefined, fallback: number, path: (string | number)[]): number {
  if (text === undefined) return fallback;
  const ms = parseGoDuration(text);
  if (ms === undefined || ms <= 0) throw invalid(path, `expected a positive duration like "10s", got ${JSON.stringify(text)}`);
  return ms;
}

/** Checks and compiles a `tail:` config; errors name the key, as config/ does. */
export function compileTailConfig(config: TailConfig, dataDir: string, compileSelector: SelectorCompiler = compileLogSelector): CompiledConfig {
  const targets: Target[] = [];
  (config.scrape_configs ?? []).forEach((scrape, i) => {
    let pipeline: CompiledPipeline;
    try {
      pipeline = compileStages(scrape.pipeline_stages ?? [], { compileSelector }, ['scrape_configs', i, 'pipeline_stages']);
    } catch (error) {
      if (error instanceof StageConfigError) throw invalid(error.path, error.message);
      throw error;
    }
    (scrape.static_configs ?? []).forEach((sc, j) => {
      const labels = { ...(sc.labels ?? {}) };
      const path = labels.__path__;
      if (!path) throw invalid(['scrape_configs', i, 'static_configs', j, 'labels', '__path__'], 'required: the glob of the files to tail');
      const exclude = labels.__path_exclude__;
      delete labels.__path__;
      delete labels.__path_exclude__;
      targets.push({ job: scrape.job_name, matcher: compilePathGlob(path, exclude), labels, pipeline });
    });
  });
  return {
    positionsFile: config.positions?.filename ?? join(dataDir, DEFAULT_POSITIONS_FILE),
    positionsSyncMs: durationMs(config.positions?.sync_period, 10_000, ['positions', 'sync_period']),
    discoverEveryMs: durationMs(config.target_config?.sync_period, 10_000, ['target_config', 'sync_period']),
    pollEveryMs: durationMs(config.file_watch_config?.min_poll_frequency, 250, ['file_watch_config', 'min_poll_frequency']),
    targets,
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createTailManager(options: TailManagerOptions): TailManager {
  const { pipeline, logger } = options;
  let run: Running | undefined;
  let applying: Promise<void> = Promise.resolve();

  interface Running {
    config: CompiledConfig;
    positions: Positions;
    readers: Map<string, FileReader>;
    stopping: boolean;
    loop: Promise<void>;
  }

  /**
   * Writes entries, retrying with backoff while the pipeline refuses; gives up only when stopping.
   * Each refusal also halves the slice written at once, so a batch larger than the pipeline's
   * whole queue (maxPendingRows) still gets through. Resolves only when every entry is stored.
   */
  const makeSink = (state: { stopping: boolean }): EntrySink => {
    return async (entries) => {
      const observed = BigInt(Date.now()) * 1_000_000n;
      const records = entries.map((e) => toLogRecord(e, observed));
      let slice = records.length;
      let done = 0;
      let delay = 100;
      let stopDeadline: number | undefined;
      while (done < records.length) {
        const part = records.slice(done, done + slice);
        try {
          await pipeline.writeLogs(part);
          done += part.length;
          options.metrics?.ingestedRecords.inc({ signal: 'logs', protocol: 'tail' }, part.length);
          delay = 100;
          continue;
        } catch (error) {
          if (isLookoutError(error) && error.code === 'LOOKOUT_ERR_PIPELINE_SHUTTING_DOWN') throw new SinkStoppedError('the write pipeline is shutting down');
          if (isLookoutError(error) && error.code === 'LOOKOUT_ERR_PIPELINE_OVERLOADED') slice = Math.max(1, Math.floor(slice / 2));
          else logger.warn({ err: error }, 'tail: storing lines failed, retrying');
          // Once stopping, a refused write is not retried: the lines stay unacknowledged and are
          // read again next time. A half-stored batch is finished first (its stored part would be
          // read again too), for up to 30 s.
          if (state.stopping) {
            stopDeadline ??= Date.now() + 30_000;
            if (done === 0 || Date.now() > stopDeadline) {
              if (done > 0) logger.error({ stored: done, unstored: records.length - done }, 'tail: stopping with a partly stored batch; its stored lines will be read again');
              throw new SinkStoppedError('tailing is stopping');
            }
          }
        }
        await sleep(delay);
        delay = Math.min(delay * 2, 5000);
      }
    };
  };

  async function discover(state: Running, sink: EntrySink): Promise<void> {
    const wanted = new Map<string, Target>();
    for (const target of state.config.targets) {
      for (const path of await target.matcher.expand()) {
        if (!wanted.has(path)) wanted.set(path, target);
      }
    }
    for (const [path, reader] of state.readers) {
      if (!wanted.has(path)) {
        // Gone (deleted, or renamed with no replacement yet): finish what is left.
        state.readers.delete(path);
        try {
          await reader.close(true);
          // Everything in it is stored: a file appearing under this name later starts from 0.
          state.positions.delete(path);
        } catch (error) {
          logger.warn({ err: error, path }, 'tail: finishing a removed file failed');
        }
      }
    }
    for (const [path, target] of wanted) {
      if (state.readers.has(path)) continue;
      logger.info({ path, job: target.job }, 'tail: following file');
      state.readers.set(
        path,
        new FileReader({
          path,
          labels: { ...target.labels, filename: path },
          pipeline: target.pipeline.instantiate(),
          positions: state.positions,
          sink,
          logger,
        }),
      );
    }
  }

  async function loop(state: Running): Promise<void> {
    const sink = makeSink(state);
    let nextDiscovery = 0;
    let nextSave = Date.now() + state.config.positionsSyncMs;
    while (!state.stopping) {
      try {
        if (Date.now() >= nextDiscovery) {
          await discover(state, sink);
          nextDiscovery = Date.now() + state.config.discoverEveryMs;
        }
        for (const reader of state.readers.values()) {
          if (state.stopping) break;
          try {
            await reader.poll();
          } catch (error) {
            if (error instanceof SinkStoppedError) break;
            logger.warn({ err: error, path: reader.path }, 'tail: reading failed');
          }
        }
        if (Date.now() >= nextSave) {
          await state.positions.save();
          nextSave = Date.now() + state.config.positionsSyncMs;
        }
      } catch (error) {
        logger.warn({ err: error }, 'tail: discovery failed');
      }
      if (!state.stopping) await sleep(state.config.pollEveryMs);
    }
  }

  async function shutdown(state: Running): Promise<void> {
    state.stopping = true;
    await state.loop;
    // Entries still held by multiline stages: ship them while the pipeline still accepts.
    for (const reader of state.readers.values()) {
      try {
        await reader.flushHeld();
      } catch (error) {
        if (!(error instanceof SinkStoppedError)) logger.warn({ err: error, path: reader.path }, 'tail: flushing held lines failed');
      }
      await reader.close(false).catch(() => undefined);
    }
    await state.positions.save();
  }

  return {
    applyConfig(config) {
      const next = applying.then(async () => {
        const compiled = config === undefined ? undefined : compileTailConfig(config, options.dataDir, options.compileSelector);
        if (run) {
          await shutdown(run);
          run = undefined;
        }
        if (!compiled || compiled.targets.length === 0) return;
        const positions = new Positions(compiled.positionsFile);
        try {
          await positions.load();
        } catch (error) {
          throw invalid(['positions', 'filename'], `cannot read ${compiled.positionsFile}: ${(error as Error).message}`);
        }
        // Paths no glob matches any more are forgotten, so the file does not grow forever.
        positions.retain((path) => compiled.targets.some((t) => t.matcher.matches(path)));
        const state: Running = { config: compiled, positions, readers: new Map(), stopping: false, loop: Promise.resolve() };
        state.loop = loop(state);
        run = state;
      });
      applying = next.catch(() => undefined);
      return next;
    },
    files: () => (run ? [...run.readers.keys()] : []),
    async stop() {
      await applying;
      if (run) {
        await shutdown(run);
        run = undefined;
      }
    },
  };
}
