/**
 * Loki 3's mapping of OTLP resources to stream labels (Loki's `distributor.otlp_config`
 * defaults): a fixed set of resource attributes become index labels, with dots turned into
 * underscores; everything else stays structured metadata (here: the attribute columns).
 */
import { anyValueToText, type KeyValue, type Labels } from '../../model/index.js';

export const LOKI_DEFAULT_RESOURCE_LABELS: ReadonlySet<string> = new Set([
  'cloud.availability_zone',
  'cloud.region',
  'container.name',
  'deployment.environment',
  'deployment.environment.name',
  'k8s.cluster.name',
  'k8s.container.name',
  'k8s.cronjob.name',
  'k8s.daemonset.name',
  'k8s.deployment.name',
  'k8s.job.name',
  'k8s.namespace.name',
  'k8s.pod.name',
  'k8s.replicaset.name',
  'k8s.statefulset.name',
  'service.instance.id',
  'service.name',
  'service.namespace',
]);

/** Loki names a label by replacing every character outside [a-zA-Z0-9_] with `_`. */
export function lokiLabelName(attributeKey: string): string {
  return attributeKey.replace(/[^a-zA-Z0-9_]/g, '_');
}

/**
 * Loki's `discover_service_name` default: without `service.name`, the first of these index
 * labels that has a value becomes service_name (e.g. k8s_container_name), else "unknown_service".
 */
export const LOKI_DISCOVER_SERVICE_NAME: readonly string[] = [
  'service', 'app', 'application', 'app_name', 'name', 'app_kubernetes_io_name', 'container',
  'container_name', 'k8s_container_name', 'component', 'workload', 'job', 'k8s_job_name',
];

export function lokiStreamLabels(resourceAttributes: readonly KeyValue[]): Labels {
  const labels: Labels = {};
  for (const kv of resourceAttributes) {
    if (!LOKI_DEFAULT_RESOURCE_LABELS.has(kv.key)) continue;
    const text = 'stringValue' in kv.value ? kv.value.stringValue : anyValueToText(kv.value)[0];
    if (text !== '') labels[lokiLabelName(kv.key)] = text;
  }
  if (labels.service_name === undefined) {
    const from = LOKI_DISCOVER_SERVICE_NAME.find((name) => labels[name] !== undefined && labels[name] !== '');
    labels.service_name = from === undefined ? 'unknown_service' : labels[from]!;
  }
  return labels;
}
