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

export function lokiStreamLabels(resourceAttributes: readonly KeyValue[]): Labels {
  const labels: Labels = {};
  for (const kv of resourceAttributes) {
    if (!LOKI_DEFAULT_RESOURCE_LABELS.has(kv.key)) continue;
    const text = 'stringValue' in kv.value ? kv.value.stringValue : anyValueToText(kv.value)[0];
    if (text !== '') labels[lokiLabelName(kv.key)] = text;
  }
  // Loki gives every stream a service_name; without one it is "unknown_service".
  labels.service_name ??= 'unknown_service';
  return labels;
}
