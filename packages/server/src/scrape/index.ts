/**
 * Prometheus-style scraping: scrape pools per job (static_configs, file_sd_configs), target
 * relabeling, one loop per target writing through the write pipeline, and the targets view the
 * /api/v1/targets endpoint serves.
 */
import type { Logger } from 'pino';
import { DEFAULT_TENANT, formatPromDuration, type Labels, type ScrapeConfig } from '../model/index.js';
import type { WritePipeline } from '../pipeline/index.js';
import type { MetricExemplar } from '../storage/index.js';
import { FileDiscovery } from './file-sd.js';
import { createScrapeClient, type ScrapeClient } from './http.js';
import { ScrapeLoop, type LoopState } from './loop.js';
import type { RelabelRule } from './relabel.js';
import { buildTargets, compileRelabelConfigs, publicLabels, type DroppedTarget } from './target.js';
import type { TargetGroup } from './types.js';

export type { ScrapeConfig, RelabelConfig } from '../model/index.js';
export type { TargetGroup } from './types.js';
export { parseExposition, parseOpenMetrics, parsePrometheusText, ExpositionParseError, type ParsedExposition, type ParsedSample } from './exposition.js';
export { relabel, compileRelabelRegex } from './relabel.js';
export { acceptHeader } from './http.js';

/** What /api/v1/targets serves, already in Prometheus's JSON shape. */
export interface ScrapeTargetsView {
  activeTargets(): object[];
  droppedTargets(): object[];
}

export interface ScrapeManager extends ScrapeTargetsView {
  /** Starts, keeps or stops scrape pools so that they match `configs`. */
  applyConfig(configs: readonly ScrapeConfig[]): Promise<void>;
  /** Stops every loop for shutdown (no staleness markers, as Prometheus). */
  stop(): Promise<void>;
}

interface Pool {
  config: ScrapeConfig;
  configKey: string;
  targetRules: RelabelRule[];
  metricRules: RelabelRule[];
  client: ScrapeClient;
  groups: Map<string, TargetGroup[]>;
  discoveries: FileDiscovery[];
  loops: Map<string, ScrapeLoop>;
  dropped: DroppedTarget[];
  /** Set once stopped: a discovery update queued before must not start loops again. */
  stopped: boolean;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface ScrapeManagerOptions {
  pipeline: WritePipeline;
  logger: Logger;
  tenant?: string;
  userAgent?: string;
  /** Stores exemplars of OpenMetrics scrapes; without it they are parsed and dropped. */
  appendExemplars?: (tenant: string, exemplars: readonly MetricExemplar[]) => Promise<void>;
}

export function createScrapeManager(options: ScrapeManagerOptions): ScrapeManager {
  const { pipeline, logger } = options;
  const tenant = options.tenant ?? DEFAULT_TENANT;
  const userAgent = options.userAgent ?? 'Lookout';
  const pools = new Map<string, Pool>();
  let chain: Promise<void> = Promise.resolve();
  const pendingStaleness = new Set<NodeJS.Timeout>();

  const write = async (samples: Parameters<WritePipeline['writeSamples']>[1], metadata: Parameters<WritePipeline['writeSamples']>[2]) => {
    if (samples.length === 0) return;
    await pipeline.writeSamples(tenant, samples, metadata);
  };

  const appendExemplars = options.appendExemplars;
  const writeExemplars = appendExemplars ? (exemplars: MetricExemplar[]) => appendExemplars(tenant, exemplars) : undefined;

  /** Brings a pool's loops in line with its discovered groups. `inherited` carries loop state across a reload. */
  async function syncPool(pool: Pool, inherited?: Map<string, LoopState>): Promise<void> {
    if (pool.stopped) return;
    const { active, dropped } = buildTargets(pool.config, pool.targetRules, [...pool.groups.values()].flat());
    pool.dropped = dropped;
    for (const d of dropped) {
      if (d.reason !== 'dropped by relabeling') logger.warn({ scrape_pool: pool.config.jobName, target: d.discoveredLabels.__address__, err: d.reason }, 'creating target failed');
    }
    const wanted = new Map(active.map((t) => [t.key, t]));
    const stopping: Promise<void>[] = [];
    for (const [key, loop] of pool.loops) {
      if (!wanted.has(key)) {
        pool.loops.delete(key);
        stopping.push(loop.stop().then(() => endOfRunStaleness(loop)));
      }
    }
    for (const [key, target] of wanted) {
      if (pool.loops.has(key)) continue;
      const loop = new ScrapeLoop(target, pool.config, pool.metricRules, pool.client, write, logger.child({ scrape_pool: pool.config.jobName }), inherited?.get(key), writeExemplars);
      pool.loops.set(key, loop);
      loop.start();
    }
    await Promise.all(stopping);
  }

  /** Everything that can fail for a pool (CA and key files, regexes), prepared before anything is replaced. */
  function preparePool(config: ScrapeConfig): Pick<Pool, 'targetRules' | 'metricRules' | 'client'> {
    try {
      return {
        targetRules: compileRelabelConfigs(config.relabelConfigs),
        metricRules: compileRelabelConfigs(config.metricRelabelConfigs),
        client: createScrapeClient(config, userAgent),
      };
    } catch (error) {
      throw new Error(`scrape_configs job ${JSON.stringify(config.jobName)}: ${(error as Error).message}`, { cause: error });
    }
  }

  async function startPool(config: ScrapeConfig, prepared: Pick<Pool, 'targetRules' | 'metricRules' | 'client'>, inherited?: Map<string, LoopState>): Promise<Pool> {
    const pool: Pool = {
      config,
      configKey: JSON.stringify(config),
      ...prepared,
      groups: new Map(),
      discoveries: [],
      loops: new Map(),
      dropped: [],
      stopped: false,
    };
    pool.groups.set(
      'static',
      config.staticConfigs.map((sc, i) => ({ source: `static:${i}`, targets: sc.targets, labels: sc.labels })),
    );
    pools.set(config.jobName, pool);
    for (const [i, fileSd] of config.fileSdConfigs.entries()) {
      const discovery = new FileDiscovery(
        fileSd.files,
        fileSd.refreshIntervalMs,
        (groups) => {
          if (pools.get(config.jobName) !== pool) return;
          pool.groups.set(`file:${i}`, groups);
          chain = chain.then(() => syncPool(pool)).catch((error: unknown) => logger.error({ err: error }, 'scrape: target update failed'));
        },
        logger.child({ scrape_pool: config.jobName, discovery: 'file' }),
      );
      pool.discoveries.push(discovery);
    }
    // Initial discovery before the first sync, so a reload does not mark file targets stale.
    await Promise.all(pool.discoveries.map((d) => d.start()));
    await syncPool(pool, inherited);
    return pool;
  }

  /**
   * Prometheus's end-of-run staleness: a target that went away gets markers at the time its next
   * scrape would have been, written only after that scrape and one more interval (+10%) have
   * passed without the same target coming back (a flapping discovery must not cut its series).
   */
  function endOfRunStaleness(loop: ScrapeLoop): void {
    const { lastScrapeMs } = loop.state;
    if (lastScrapeMs === 0) return;
    const interval = loop.target.intervalMs;
    const now = Date.now();
    const staleTime = Math.max(now, lastScrapeMs + interval);
    const timer = setTimeout(
      () => {
        pendingStaleness.delete(timer);
        for (const pool of pools.values()) if (pool.loops.has(loop.target.key)) return;
        write(loop.endOfRunMarkers(staleTime), undefined).catch((error: unknown) => logger.warn({ err: error, target: loop.target.url }, 'scrape: could not write staleness markers'));
      },
      staleTime - now + interval + interval / 10,
    );
    timer.unref();
    pendingStaleness.add(timer);
  }

  /** Stops a pool's loops; the caller decides about staleness. */
  async function stopPool(pool: Pool): Promise<Map<string, ScrapeLoop>> {
    pool.stopped = true;
    for (const d of pool.discoveries) d.stop();
    const loops = new Map(pool.loops);
    await Promise.all([...loops.values()].map((loop) => loop.stop()));
    pool.loops.clear();
    pool.client.close();
    return loops;
  }

  async function apply(configs: readonly ScrapeConfig[]): Promise<void> {
    const wanted = new Map(configs.map((c) => [c.jobName, c]));
    const changed = configs.filter((c) => pools.get(c.jobName)?.configKey !== JSON.stringify(c));
    const prepared = new Map<string, ReturnType<typeof preparePool>>();
    try {
      for (const config of changed) prepared.set(config.jobName, preparePool(config));
    } catch (error) {
      // A reload that cannot be applied leaves every running pool untouched.
      for (const p of prepared.values()) p.client.close();
      throw error;
    }
    for (const [job, pool] of [...pools]) {
      if (!wanted.has(job)) {
        pools.delete(job);
        for (const loop of (await stopPool(pool)).values()) endOfRunStaleness(loop);
      }
    }
    for (const config of changed) {
      const existing = pools.get(config.jobName);
      let oldLoops: Map<string, ScrapeLoop> | undefined;
      if (existing) {
        pools.delete(config.jobName);
        oldLoops = await stopPool(existing);
      }
      // Targets that survive the reload continue from their state, without markers, as in
      // Prometheus; the ones the new configuration no longer has get end-of-run staleness.
      const inherited = oldLoops && new Map([...oldLoops].map(([key, loop]) => [key, loop.state] as [string, LoopState]));
      await startPool(config, prepared.get(config.jobName)!, inherited);
      for (const loop of oldLoops?.values() ?? []) endOfRunStaleness(loop);
    }
    logger.info({ jobs: configs.map((c) => c.jobName) }, 'scrape configuration applied');
  }

  function activeTargets(): object[] {
    const out: object[] = [];
    for (const pool of pools.values()) {
      for (const loop of pool.loops.values()) {
        const { target, state } = loop;
        out.push({
          discoveredLabels: target.discoveredLabels,
          labels: publicLabels(target.labels),
          scrapePool: pool.config.jobName,
          scrapeUrl: target.url,
          globalUrl: target.url,
          lastError: state.lastError,
          lastScrape: state.lastScrapeMs === 0 ? ZERO_TIME : new Date(state.lastScrapeMs).toISOString(),
          lastScrapeDuration: state.lastDurationSeconds,
          health: state.health,
          scrapeInterval: formatPromDuration(target.intervalMs),
          scrapeTimeout: formatPromDuration(target.timeoutMs),
        });
      }
    }
    return out;
  }

  function droppedTargets(): object[] {
    const out: object[] = [];
    for (const pool of pools.values()) for (const d of pool.dropped) out.push({ discoveredLabels: d.discoveredLabels as Labels, scrapePool: pool.config.jobName });
    return out;
  }

  return {
    applyConfig(configs) {
      const next = chain.then(() => apply(configs));
      chain = next.catch(() => undefined);
      return next;
    },
    async stop() {
      const done = chain.then(async () => {
        const all = [...pools.values()];
        pools.clear();
        // Shutting down is not the end of the targets' series: like Prometheus, no markers (a
        // restart continues them), and pending end-of-run markers are dropped.
        for (const timer of pendingStaleness) clearTimeout(timer);
        pendingStaleness.clear();
        await Promise.all(all.map((pool) => stopPool(pool)));
      });
      chain = done.catch(() => undefined);
      await done;
    },
    activeTargets,
    droppedTargets,
  };
}
