/** The scrape configuration the subsystem runs, as resolved by config/ (Prometheus defaults applied). */
export interface RelabelConfig {
  sourceLabels: string[];
  separator: string;
  targetLabel: string;
  regex: string;
  modulus: number;
  replacement: string;
  action: string;
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

/** A group of targets from service discovery (Prometheus's targetgroup.Group). */
export interface TargetGroup {
  /** Identifies the group within its provider, e.g. "file.yml:0". */
  source: string;
  targets: string[];
  labels: Record<string, string>;
}
