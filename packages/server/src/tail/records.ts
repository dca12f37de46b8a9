/** Tailed entries → LogRecords, labelled the way Loki 3 labels pushed streams. */
import { DEFAULT_TENANT, type KeyValue, type Labels, type LogRecord, type Resource, type Scope } from '../model/index.js';
import type { Entry } from './stages.js';

/** Loki 3's `discover_service_name` defaults, in order of preference. */
export const SERVICE_NAME_LABELS = [
  'service',
  'app',
  'application',
  'name',
  'app_kubernetes_io_name',
  'container',
  'container_name',
  'component',
  'workload',
  'job',
] as const;

const SEVERITY_NUMBERS: Record<string, number> = {
  trace: 1,
  debug: 5,
  dbug: 5,
  info: 9,
  information: 9,
  notice: 10,
  warn: 13,
  warning: 13,
  error: 17,
  err: 17,
  eror: 17,
  critical: 21,
  crit: 21,
  fatal: 21,
  panic: 21,
};

// Shared by every tailed record: storage caches resource and scope columns by object identity.
const RESOURCE: Resource = Object.freeze({ attributes: [], droppedAttributesCount: 0, schemaUrl: '' }) as Resource;
const SCOPE: Scope = Object.freeze({ name: '', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' }) as Scope;

/** Stream labels as Loki stores them: no `__` labels, and a service_name. */
export function streamLabelsOf(labels: Record<string, string>): Labels {
  const out: Labels = {};
  for (const [name, value] of Object.entries(labels)) if (!name.startsWith('__') && value !== '') out[name] = value;
  if (out.service_name === undefined) {
    const from = SERVICE_NAME_LABELS.find((name) => out[name] !== undefined && out[name] !== '');
    out.service_name = from === undefined ? 'unknown_service' : out[from]!;
  }
  return out;
}

export function toLogRecord(entry: Entry, observed: bigint): LogRecord {
  const streamLabels = streamLabelsOf(entry.labels);
  const attributes: KeyValue[] = Object.entries(entry.structuredMetadata).map(([key, value]) => ({ key, value: { stringValue: value } }));
  const level = streamLabels.level;
  return {
    tenant: DEFAULT_TENANT,
    timestamp: entry.timestamp,
    observedTimestamp: observed,
    traceId: '',
    spanId: '',
    flags: 0,
    severityText: level ?? '',
    severityNumber: level === undefined ? 0 : (SEVERITY_NUMBERS[level.toLowerCase()] ?? 0),
    serviceName: streamLabels.service_name!,
    streamLabels,
    body: entry.line,
    bodyType: '',
    eventName: '',
    attributes,
    droppedAttributesCount: 0,
    resource: RESOURCE,
    scope: SCOPE,
  };
}
