/**
 * The `tail:` section of lookout.yml as tail/ receives it (config/ validates its structure;
 * this folder validates the stages). Promtail's configuration shape and key names.
 */
export interface TailConfig {
  positions?: { filename?: string | undefined; sync_period?: string | undefined } | undefined;
  target_config?: { sync_period?: string | undefined } | undefined;
  file_watch_config?: { min_poll_frequency?: string | undefined; max_poll_frequency?: string | undefined } | undefined;
  scrape_configs?: TailScrapeConfig[] | undefined;
}

export interface TailScrapeConfig {
  job_name: string;
  static_configs?: { targets?: string[] | undefined; labels?: Record<string, string> | undefined }[] | undefined;
  pipeline_stages?: Record<string, unknown>[] | undefined;
}
