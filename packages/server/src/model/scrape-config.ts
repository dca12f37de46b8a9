/**
 * The resolved Prometheus scrape configuration (defaults applied): the contract between config/,
 * which validates prometheus.yml's scrape section, and scrape/, which runs it.
 */

export const RELABEL_ACTIONS = ['replace', 'keep', 'drop', 'keepequal', 'dropequal', 'hashmod', 'labelmap', 'labeldrop', 'labelkeep', 'lowercase', 'uppercase'] as const;
export type RelabelAction = (typeof RELABEL_ACTIONS)[number];

/** A relabel_config with Prometheus's defaults: separator ";", regex "(.*)", replacement "$1", action replace. */
export interface RelabelConfig {
  sourceLabels: string[];
  separator: string;
  targetLabel: string;
  /** RE2, unanchored as written (relabeling anchors it). */
  regex: string;
  modulus: number;
  replacement: string;
  action: RelabelAction;
}

export interface ScrapeConfig {
  jobName: string;
  scrapeIntervalMs: number;
  scrapeTimeoutMs: number;
  scrapeProtocols: string[];
  metricsPath: string;
  scheme: 'http' | 'https';
  params: Record<string, string[]>;
  honorLabels: boolean;
  honorTimestamps: boolean;
  enableCompression: boolean;
  followRedirects: boolean;
  basicAuth: { username: string; usernameFile?: string; password?: string; passwordFile?: string } | undefined;
  authorization: { type: string; credentials?: string; credentialsFile?: string } | undefined;
  tls: { ca?: string; caFile?: string; cert?: string; certFile?: string; key?: string; keyFile?: string; serverName?: string; insecureSkipVerify: boolean; minVersion?: string };
  staticConfigs: { targets: string[]; labels: Record<string, string> }[];
  fileSdConfigs: { files: string[]; refreshIntervalMs: number }[];
  relabelConfigs: RelabelConfig[];
  metricRelabelConfigs: RelabelConfig[];
  sampleLimit: number;
  labelLimit: number;
  labelNameLengthLimit: number;
  labelValueLengthLimit: number;
  bodySizeLimitBytes: number;
}

/** What Prometheus negotiates when neither the job nor `global` sets scrape_protocols. */
export const DEFAULT_SCRAPE_PROTOCOLS: readonly string[] = ['OpenMetricsText1.0.0', 'OpenMetricsText0.0.1', 'PrometheusText1.0.0', 'PrometheusText0.0.4'];

/** Prometheus's defaults for a job that sets nothing but its name (global scrape_interval 1m, scrape_timeout 10s). */
export function defaultScrapeConfig(jobName: string): ScrapeConfig {
  return {
    jobName,
    scrapeIntervalMs: 60_000,
    scrapeTimeoutMs: 10_000,
    scrapeProtocols: [...DEFAULT_SCRAPE_PROTOCOLS],
    metricsPath: '/metrics',
    scheme: 'http',
    params: {},
    honorLabels: false,
    honorTimestamps: true,
    enableCompression: true,
    followRedirects: true,
    basicAuth: undefined,
    authorization: undefined,
    tls: { insecureSkipVerify: false },
    staticConfigs: [],
    fileSdConfigs: [],
    relabelConfigs: [],
    metricRelabelConfigs: [],
    sampleLimit: 0,
    labelLimit: 0,
    labelNameLengthLimit: 0,
    labelValueLengthLimit: 0,
    bodySizeLimitBytes: 0,
  };
}
