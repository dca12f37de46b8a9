/** Loki's ingestion limits (`limits_config`), shared by the configuration and the push decoder. */

/** Loki's `limits_config` defaults for ingestion. */
export interface LokiPushLimits {
  /** Bytes; 0 = no limit. */
  maxLineSize: number;
  maxLineSizeTruncate: boolean;
  maxLabelNameLength: number;
  maxLabelValueLength: number;
  maxLabelNamesPerSeries: number;
  rejectOldSamples: boolean;
  rejectOldSamplesMaxAgeMs: number;
  /** Entries further than this in the future are refused. */
  creationGracePeriodMs: number;
  /** Bytes of names + values; 0 = no limit. */
  maxStructuredMetadataSize: number;
  maxStructuredMetadataEntriesCount: number;
  /**
   * Out-of-order window per stream (Loki: max_chunk_age / 2): an entry older than the stream's
   * newest entry minus this is refused as "too far behind". 0 disables the check.
   */
  outOfOrderWindowMs: number;
  /** Labels tried, in order, for a missing service_name; empty disables. */
  discoverServiceName: string[];
  discoverLogLevels: boolean;
  logLevelFields: string[];
}

export const DEFAULT_LOKI_PUSH_LIMITS: LokiPushLimits = {
  maxLineSize: 256 * 1024,
  maxLineSizeTruncate: false,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
  maxLabelNamesPerSeries: 15,
  rejectOldSamples: true,
  rejectOldSamplesMaxAgeMs: 7 * 24 * 3600 * 1000,
  creationGracePeriodMs: 10 * 60 * 1000,
  maxStructuredMetadataSize: 64 * 1024,
  maxStructuredMetadataEntriesCount: 128,
  outOfOrderWindowMs: 60 * 60 * 1000,
  discoverServiceName: [
    'service', 'app', 'application', 'app_name', 'name', 'app_kubernetes_io_name', 'container',
    'container_name', 'k8s_container_name', 'component', 'workload', 'job', 'k8s_job_name',
  ],
  discoverLogLevels: true,
  logLevelFields: ['level', 'LEVEL', 'Level', 'log.level', 'severity', 'SEVERITY', 'Severity', 'SeverityText', 'lvl', 'LVL', 'Lvl', 'severity_text', 'Severity_Text'],
};
