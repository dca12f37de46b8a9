import { z } from 'zod';
import { parsePromDuration, type ScrapeConfig } from '../model/index.js';
import { DEFAULT_LOKI_LIMITS, lokiConfigSchema, type LokiLimitsConfig } from './loki.js';
import { scrapeConfigsSchema, scrapeGlobalSchema } from './scrape.js';
import { tailConfigSchema, type TailConfigFile } from './tail.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Longest retention: a TTL is a DateTime, which ends in 2106; a later expiry wraps into the
 * past and ClickHouse would drop every row on insert.
 */
export const MAX_RETENTION_DAYS = 25_000;

/** "7d", "12h", "2w" or a whole number of days → whole days (1 to MAX_RETENTION_DAYS; hours round up). */
export function parseRetention(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isInteger(text) && text >= 1 && text <= MAX_RETENTION_DAYS ? text : undefined;
  const m = /^(\d+)(h|d|w)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const days = m[2] === 'h' ? Math.ceil(n / 24) : m[2] === 'w' ? n * 7 : n;
  return days >= 1 && days <= MAX_RETENTION_DAYS ? days : undefined;
}

const retentionValue = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const days = parseRetention(value);
  if (days === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like "7d", "12h" or "2w" (1 to ${MAX_RETENTION_DAYS} days), got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return days;
});

const port = z.number().int().min(0).max(65535);

/** A Prometheus duration ("5m", "1h30m") → milliseconds, at least 1 ms. */
const promDurationValue = z.string().transform((value, ctx) => {
  const ms = parsePromDuration(value);
  if (ms === undefined || ms < 1) {
    ctx.addIssue({ code: 'custom', message: `expected a Prometheus duration like "5m" or "1h30m", got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return ms;
});

/** storage.head.window: a Prometheus duration, or 0 for no head. */
const headWindowValue = z.union([z.string(), z.number()]).transform((value, ctx) => {
  if (value === 0 || value === '0') return 0;
  const ms = typeof value === 'string' ? parsePromDuration(value) : undefined;
  if (ms === undefined || ms < 1) {
    ctx.addIssue({ code: 'custom', message: `expected a Prometheus duration like "2h", or 0 to disable the head, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return ms;
});

/** lookout.yml. Every key is optional; unknown keys are errors (a typo must not pass silently). */
export const configFileSchema = z
  .object({
    server: z
      .object({
        host: z.string().min(1).optional(),
        port: port.optional(),
        grpcPort: port.optional(),
        /** Largest request body accepted, after decompression. */
        maxBodyBytes: z.number().int().min(1024).optional(),
      })
      .strict()
      .optional(),
    storage: z
      .object({
        dataDir: z.string().min(1).optional(),
        clickhouseUrl: z.url({ protocol: /^https?$/ }).optional(),
        readPoolSize: z.number().int().min(1).max(32).optional(),
        /** The in-memory head of recent metric samples (embedded engine only). */
        head: z
          .object({ window: headWindowValue.optional(), maxSamples: z.number().int().min(1).optional() })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    retention: z
      .object({ logs: retentionValue.optional(), traces: retentionValue.optional(), metrics: retentionValue.optional() })
      .strict()
      .optional(),
    log: z.object({ level: z.enum(LOG_LEVELS).optional() }).strict().optional(),
    /** Loki's ingestion and query limits (limits_config); Loki's defaults when absent. */
    loki: lokiConfigSchema.optional(),
    pipeline: z
      .object({
        maxBatchRows: z.number().int().min(1).optional(),
        maxPendingRows: z.number().int().min(1).optional(),
      })
      .strict()
      .optional(),
    /** PromQL engine limits, as Prometheus's --query.* flags. */
    promql: z
      .object({
        lookbackDelta: promDurationValue.optional(),
        timeout: promDurationValue.optional(),
        maxSamples: z.number().int().min(1).optional(),
        enableExperimentalFunctions: z.boolean().optional(),
      })
      .strict()
      .optional(),
    /** Prometheus's `global` section: scrape defaults (scrape_interval, scrape_timeout). */
    global: scrapeGlobalSchema.optional(),
    /** Prometheus scrape_configs, in Prometheus's own format. */
    scrape_configs: scrapeConfigsSchema.optional(),
    /** Promtail-style file tailing (positions, scrape_configs with __path__ globs, pipeline_stages). */
    tail: tailConfigSchema.optional(),
  })
  .strict();

export type ConfigFile = z.infer<typeof configFileSchema>;

export interface LookoutConfig {
  host: string;
  port: number;
  grpcPort: number;
  maxBodyBytes: number;
  dataDir: string;
  clickhouseUrl: string | undefined;
  readPoolSize: number;
  /** storage.head: window (ms, 0: no head) and sample bound of the in-memory metric head. */
  metricHead: { windowMs: number; maxSamples: number };
  retention: { logs: number; traces: number; metrics: number };
  logLevel: (typeof LOG_LEVELS)[number];
  pipeline: { maxBatchRows: number; maxPendingRows: number };
  /** PromQL engine limits (lookout.yml `promql:`; Prometheus's --query.* flags). */
  promql: { lookbackDeltaMs: number; timeoutMs: number; maxSamples: number; enableExperimentalFunctions: boolean };
  /** Loki push and query limits (lookout.yml `loki:`). */
  loki: LokiLimitsConfig;
  /** The config file that was read, if any. */
  configFile: string | undefined;
  /** Resolved Prometheus scrape configs (lookout.yml `scrape_configs` plus `--scrape-config`). */
  scrapeConfigs: ScrapeConfig[];
  /** The prometheus.yml whose scrape section was read (`--scrape-config`), if any. */
  scrapeConfigFile: string | undefined;
  /** The `tail:` section (Promtail shape), if any; its pipeline stages are checked by tail/. */
  tail: TailConfigFile | undefined;
}

export const LOG_LEVEL_NAMES = LOG_LEVELS;

export const DEFAULT_CONFIG: LookoutConfig = {
  host: '0.0.0.0',
  port: 4318,
  grpcPort: 4317,
  maxBodyBytes: 16 * 1024 * 1024,
  dataDir: './lookout-data',
  clickhouseUrl: undefined,
  readPoolSize: 3,
  metricHead: { windowMs: 2 * 3_600_000, maxSamples: 10_000_000 },
  retention: { logs: 7, traces: 7, metrics: 30 },
  logLevel: 'info',
  pipeline: { maxBatchRows: 50_000, maxPendingRows: 200_000 },
  promql: { lookbackDeltaMs: 5 * 60_000, timeoutMs: 2 * 60_000, maxSamples: 50_000_000, enableExperimentalFunctions: false },
  loki: DEFAULT_LOKI_LIMITS,
  configFile: undefined,
  scrapeConfigs: [],
  scrapeConfigFile: undefined,
  tail: undefined,
};
