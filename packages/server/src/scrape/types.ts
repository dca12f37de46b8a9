/** A group of targets from service discovery (Prometheus's targetgroup.Group). */
export interface TargetGroup {
  /** Identifies the group within its provider, e.g. "file.yml:0". */
  source: string;
  targets: string[];
  labels: Record<string, string>;
}
