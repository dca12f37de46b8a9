/**
 * The `tail:` section of lookout.yml, in Promtail's configuration shape (positions,
 * target_config, file_watch_config, scrape_configs with static_configs and pipeline_stages).
 * This checks the structure; the tail subsystem checks each pipeline stage's options when it
 * compiles them, and reports errors with the same key paths.
 */
import { z } from 'zod';
import { isLegacyLabelName } from '../model/index.js';

const GO_DURATION = /^([0-9]*\.?[0-9]+(ns|us|µs|ms|s|m|h))+$/;
const duration = z.string().regex(GO_DURATION, 'expected a duration like "10s", "250ms" or "1m30s"');

const staticConfig = z
  .strictObject({
    targets: z.array(z.string()).optional(),
    labels: z.record(z.string(), z.string()),
  })
  .superRefine((value, ctx) => {
    for (const name of Object.keys(value.labels)) {
      if (!isLegacyLabelName(name)) ctx.addIssue({ code: 'custom', path: ['labels', name], message: `invalid label name "${name}"` });
    }
    if (!value.labels.__path__) ctx.addIssue({ code: 'custom', path: ['labels', '__path__'], message: 'required: the glob of the files to tail' });
  });

const pipelineStage = z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
  const keys = Object.keys(value);
  if (keys.length !== 1) {
    ctx.addIssue({ code: 'custom', message: `expected exactly one stage name as the key, got ${keys.length === 0 ? 'none' : keys.map((k) => `"${k}"`).join(', ')}` });
  }
});

const scrapeConfig = z.strictObject({
  job_name: z.string().min(1),
  static_configs: z
    .array(staticConfig, { error: (issue) => (issue.input === undefined ? 'required: a list of { labels: { __path__: <glob>, ... } }' : 'expected a list') })
    .min(1, 'at least one static_config is required'),
  pipeline_stages: z.array(pipelineStage).optional(),
});

export const tailConfigSchema = z
  .strictObject({
    positions: z.strictObject({ filename: z.string().min(1).optional(), sync_period: duration.optional() }).optional(),
    target_config: z.strictObject({ sync_period: duration.optional() }).optional(),
    file_watch_config: z.strictObject({ min_poll_frequency: duration.optional(), max_poll_frequency: duration.optional() }).optional(),
    scrape_configs: z.array(scrapeConfig).optional(),
  })
  .superRefine((value, ctx) => {
    const seen = new Set<string>();
    value.scrape_configs?.forEach((c, i) => {
      if (seen.has(c.job_name)) ctx.addIssue({ code: 'custom', path: ['scrape_configs', i, 'job_name'], message: `duplicate job_name "${c.job_name}"` });
      seen.add(c.job_name);
    });
  });

export type TailConfigFile = z.infer<typeof tailConfigSchema>;
