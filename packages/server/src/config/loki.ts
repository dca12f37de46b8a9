/**
 * lookout.yml `loki:` — Loki's ingestion and query limits (`limits_config`), with Loki's
 * defaults. Sizes take bytes or "256KB"/"1MB" (1 KB = 1024 bytes, as Loki); durations take
 * Prometheus durations ("10m", "1h", "7d").
 */
import { z } from 'zod';
import { DEFAULT_LOKI_PUSH_LIMITS, LEGACY_LABEL_NAME, parsePromDuration, type LokiPushLimits } from '../model/index.js';

export interface LokiLimitsConfig extends LokiPushLimits {
  /** Largest `limit` of a log query. */
  maxEntriesLimitPerQuery: number;
  /** Largest number of series a metric query may return. */
  maxQuerySeries: number;
}

export const DEFAULT_LOKI_LIMITS: LokiLimitsConfig = {
  ...DEFAULT_LOKI_PUSH_LIMITS,
  maxEntriesLimitPerQuery: 5000,
  maxQuerySeries: 500,
};

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2, gb: 1024 ** 3, gib: 1024 ** 3 };

/** Bytes from a number or "256KB"; undefined when malformed. */
export function parseByteSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  const m = /^(\d+)\s*([a-zA-Z]*)$/.exec(value.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  return m && unit !== undefined ? Number(m[1]) * unit : undefined;
}

const byteSize = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const bytes = parseByteSize(value);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a size like 262144, "256KB" or "1MB", got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return bytes;
});

const duration = z.string().transform((value, ctx) => {
  const ms = parsePromDuration(value.trim());
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like "10m", "1h" or "7d", got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return ms;
});

const count = z.number().int().min(0);
const labelName = z.string().regex(LEGACY_LABEL_NAME, 'expected a label name ([a-zA-Z_][a-zA-Z0-9_]*)');

export const lokiConfigSchema = z
  .object({
    maxLineSize: byteSize.optional(),
    maxLineSizeTruncate: z.boolean().optional(),
    maxLabelNameLength: count.min(1).optional(),
    maxLabelValueLength: count.min(1).optional(),
    maxLabelNamesPerSeries: count.min(1).optional(),
    rejectOldSamples: z.boolean().optional(),
    rejectOldSamplesMaxAge: duration.optional(),
    creationGracePeriod: duration.optional(),
    maxStructuredMetadataSize: byteSize.optional(),
    maxStructuredMetadataEntriesCount: count.optional(),
    /** 0 disables the out-of-order check. */
    outOfOrderWindow: duration.optional(),
    discoverServiceName: z.array(labelName).optional(),
    discoverLogLevels: z.boolean().optional(),
    logLevelFields: z.array(z.string().min(1)).optional(),
    maxEntriesLimitPerQuery: count.min(1).optional(),
    maxQuerySeries: count.min(1).optional(),
  })
  .strict();

export type LokiConfigInput = z.infer<typeof lokiConfigSchema>;

/** The file's `loki:` section over the defaults. */
export function resolveLokiConfig(input: LokiConfigInput | undefined, base: LokiLimitsConfig = DEFAULT_LOKI_LIMITS): LokiLimitsConfig {
  if (input === undefined) return base;
  const { rejectOldSamplesMaxAge, creationGracePeriod, outOfOrderWindow, ...rest } = input;
  const resolved: LokiLimitsConfig = { ...base };
  for (const [key, value] of Object.entries(rest)) if (value !== undefined) (resolved as unknown as Record<string, unknown>)[key] = value;
  if (rejectOldSamplesMaxAge !== undefined) resolved.rejectOldSamplesMaxAgeMs = rejectOldSamplesMaxAge;
  if (creationGracePeriod !== undefined) resolved.creationGracePeriodMs = creationGracePeriod;
  if (outOfOrderWindow !== undefined) resolved.outOfOrderWindowMs = outOfOrderWindow;
  return resolved;
}
