/**
 * /api/v1/status/config: the scrape configuration in effect, as Prometheus prints its own:
 * YAML with Prometheus's key names and duration format, defaults filled in, secrets masked.
 */
import { stringify } from 'yaml';
import { formatDurationMs } from '../../promql/index.js';

/** The fields of a resolved scrape config this view prints (config/scrape.ts). */
export interface ScrapeConfigView {
  jobName: string;
  scrapeIntervalMs: number;
  scrapeTimeoutMs: number;
  metricsPath: string;
  scheme: string;
  params: Record<string, string[]>;
  honorLabels: boolean;
  honorTimestamps: boolean;
  enableCompression: boolean;
  followRedirects: boolean;
  basicAuth: { username: string; password?: string; passwordFile?: string } | undefined;
  authorization: { type: string; credentials?: string; credentialsFile?: string } | undefined;
  staticConfigs: { targets: string[]; labels: Record<string, string> }[];
  fileSdConfigs: { files: string[]; refreshIntervalMs: number }[];
  relabelConfigs: readonly unknown[];
  metricRelabelConfigs: readonly unknown[];
  sampleLimit: number;
  labelLimit: number;
}

const SECRET = '<secret>';

export function scrapeConfigYaml(configs: readonly ScrapeConfigView[], global: { scrapeIntervalMs: number; scrapeTimeoutMs: number } = { scrapeIntervalMs: 60_000, scrapeTimeoutMs: 10_000 }): string {
  const document = {
    global: {
      scrape_interval: formatDurationMs(global.scrapeIntervalMs),
      scrape_timeout: formatDurationMs(global.scrapeTimeoutMs),
      evaluation_interval: '1m',
    },
    scrape_configs: configs.map((c) => ({
      job_name: c.jobName,
      honor_labels: c.honorLabels,
      honor_timestamps: c.honorTimestamps,
      scrape_interval: formatDurationMs(c.scrapeIntervalMs),
      scrape_timeout: formatDurationMs(c.scrapeTimeoutMs),
      metrics_path: c.metricsPath,
      scheme: c.scheme,
      enable_compression: c.enableCompression,
      ...(Object.keys(c.params).length > 0 ? { params: c.params } : {}),
      ...(c.basicAuth
        ? {
            basic_auth: {
              username: c.basicAuth.username,
              ...(c.basicAuth.password !== undefined ? { password: SECRET } : {}),
              ...(c.basicAuth.passwordFile !== undefined ? { password_file: c.basicAuth.passwordFile } : {}),
            },
          }
        : {}),
      ...(c.authorization
        ? {
            authorization: {
              type: c.authorization.type,
              ...(c.authorization.credentials !== undefined ? { credentials: SECRET } : {}),
              ...(c.authorization.credentialsFile !== undefined ? { credentials_file: c.authorization.credentialsFile } : {}),
            },
          }
        : {}),
      follow_redirects: c.followRedirects,
      ...(c.sampleLimit > 0 ? { sample_limit: c.sampleLimit } : {}),
      ...(c.labelLimit > 0 ? { label_limit: c.labelLimit } : {}),
      ...(c.relabelConfigs.length > 0 ? { relabel_configs: c.relabelConfigs } : {}),
      ...(c.metricRelabelConfigs.length > 0 ? { metric_relabel_configs: c.metricRelabelConfigs } : {}),
      ...(c.fileSdConfigs.length > 0
        ? { file_sd_configs: c.fileSdConfigs.map((f) => ({ files: f.files, refresh_interval: formatDurationMs(f.refreshIntervalMs) })) }
        : {}),
      ...(c.staticConfigs.length > 0
        ? { static_configs: c.staticConfigs.map((s) => ({ targets: s.targets, ...(Object.keys(s.labels).length > 0 ? { labels: s.labels } : {}) })) }
        : {}),
    })),
  };
  return stringify(document, { lineWidth: 0 });
}
