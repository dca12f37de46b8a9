/**
 * OTLP metrics → Prometheus samples, following the OpenTelemetry specification "Prometheus and
 * OpenMetrics Compatibility" (OTLP Metric points to Prometheus) the way Prometheus 3.x's own
 * OTLP receiver does it: storage/remote/otlptranslator/prometheusremotewrite (metrics_to_prw.go,
 * helper.go, number_data_points.go, otlp_to_openmetrics_metadata.go) and its config defaults
 * (config/config.go DefaultOTLPConfig). Names come from ./prometheus-names.ts.
 *
 * Where Lookout differs on purpose:
 * - Prometheus fails the whole request on the first bad metric (HTTP 500); here the bad data
 *   points are rejected and counted (OTLP partial success) and the rest is kept.
 * - Exponential histograms would become native histograms, which Lookout does not store: rejected.
 * - Scope labels (`otel_scope_*`) are on by default, as the specification asks; Prometheus has
 *   them behind `promote_scope_metadata` (off by default).
 * - Exemplars and start timestamps are dropped: `Sample` has no place for them yet.
 */
import type { Labels, MetricMetadata, Sample } from '../../model/index.js';
import type {
  PbAnyValue,
  PbExportMetricsRequest,
  PbHistogramDataPoint,
  PbInt64,
  PbKeyValue,
  PbMetric,
  PbNumberDataPoint,
  PbSummaryDataPoint,
} from './proto.js';
import { bytesToBase64, uint64ToBigInt } from './attributes.js';
import { int64ToBigInt } from './proto.js';
import type { LabelNameOptions, OtlpMetricKind } from './prometheus-names.js';
import { buildLabelName, buildMetricName, buildUnitName, formatGoFloat, formatGoJsonFloat } from './prometheus-names.js';

export interface ConvertMetricsOptions {
  /** Unit and type suffixes on metric names (`UnderscoreEscapingWithSuffixes`). Default true. */
  addMetricSuffixes?: boolean;
  /** `otel_scope_name`, `otel_scope_version`, `otel_scope_schema_url`, `otel_scope_<attr>` labels. Default true. */
  promoteScopeMetadata?: boolean;
  /** Prometheus `label_name_underscore_sanitization`: `_foo` → `key_foo`. Default true, as in Prometheus. */
  labelNameUnderscoreSanitization?: boolean;
  /** Prometheus `label_name_preserve_multiple_underscores`: `a__b` stays. Default true, as in Prometheus. */
  labelNamePreserveMultipleUnderscores?: boolean;
  /** PromQL lookback delta: target_info is repeated every half of it over a resource's time span. Default 5 min. */
  lookbackDeltaMs?: number;
}

export interface ConvertMetricsResult {
  samples: Sample[];
  /** One entry per metric family that produced samples (first description wins), target_info included. */
  metadata: MetricMetadata[];
  /** Data points rejected (OTLP `rejected_data_points`). */
  rejected: number;
  /** Why points were rejected, deduplicated; empty when nothing went wrong. */
  errorMessage: string;
  /** What Prometheus reports as annotations (label-name collisions, empty metrics): worth a log line. */
  warnings: string[];
}

const NO_RECORDED_VALUE = 1;
const TEMPORALITY_CUMULATIVE = 2;
const TEMPORALITY_NAMES = ['UNSPECIFIED', 'DELTA', 'CUMULATIVE'];
const DEFAULT_LOOKBACK_DELTA_MS = 5 * 60 * 1000;
/** Guard against a request spanning years (a point at time 0): target_info keeps its latest samples only. */
const MAX_TARGET_INFO_SAMPLES = 1000;
const MAX_ERROR_MESSAGES = 20;
const SERVICE_NAME = 'service.name';
const SERVICE_NAMESPACE = 'service.namespace';
const SERVICE_INSTANCE_ID = 'service.instance.id';
const IDENTIFYING_ATTRIBUTES = [SERVICE_NAMESPACE, SERVICE_NAME, SERVICE_INSTANCE_ID];
/** Data point attributes that would clash with labels set from elsewhere. */
const RESERVED_ATTRIBUTES = ['__name__'];
const TARGET_INFO = 'target_info';

/**
 * Converts an OTLP metrics export request into Prometheus samples and metadata.
 * Never throws for bad content: what cannot be converted is counted in `rejected` with a reason.
 */
export function convertMetrics(request: PbExportMetricsRequest, options: ConvertMetricsOptions = {}): ConvertMetricsResult {
  return new Converter(options).convert(request);
}

/** A Prometheus label value for an OTLP attribute value (pdata `Value.AsString`). */
export function attributeValueToLabel(value: PbAnyValue | null | undefined): string {
  switch (value?.value) {
    case 'stringValue':
      return value.stringValue ?? '';
    case 'boolValue':
      return value.boolValue ? 'true' : 'false';
    case 'intValue':
      return int64ToBigInt(value.intValue).toString();
    case 'doubleValue':
      return formatGoJsonFloat(value.doubleValue ?? 0);
    case 'bytesValue':
      return bytesToBase64(value.bytesValue);
    case 'arrayValue':
    case 'kvlistValue':
      try {
        return goJson(value);
      } catch {
        return ''; // encoding/json refuses NaN and infinities; pdata then gives an empty string.
      }
    default:
      return '';
  }
}

/** labels.Builder semantics: setting an empty value removes the label. */
class LabelBuilder {
  readonly map = new Map<string, string>();
  get(name: string): string {
    return this.map.get(name) ?? '';
  }
  set(name: string, value: string): void {
    if (value === '') this.map.delete(name);
    else this.map.set(name, value);
  }
  toLabels(): Labels {
    return Object.fromEntries(this.map);
  }
}

interface ResourceContext {
  attributes: PbKeyValue[];
  job: string;
  instance: string;
}

interface ScopeContext {
  /** In the order Prometheus sets them (they override data point attributes). */
  labels: [string, string][];
}

type Family = Omit<MetricMetadata, 'metricFamilyName'>;

class Converter {
  private readonly samples: Sample[] = [];
  private readonly metadata = new Map<string, MetricMetadata>();
  private readonly errors = new Set<string>();
  private readonly warnings = new Set<string>();
  private readonly labelNames = new Map<string, string>();
  private readonly recordedCollisions = new Set<string>();
  private readonly seenTargetInfo = new Set<string>();
  private rejected = 0;
  private readonly addSuffixes: boolean;
  private readonly promoteScope: boolean;
  private readonly labelNameOptions: LabelNameOptions;
  private readonly targetInfoIntervalNs: bigint;

  constructor(options: ConvertMetricsOptions) {
    this.addSuffixes = options.addMetricSuffixes ?? true;
    this.promoteScope = options.promoteScopeMetadata ?? true;
    this.labelNameOptions = {
      underscoreSanitization: options.labelNameUnderscoreSanitization ?? true,
      preserveMultipleUnderscores: options.labelNamePreserveMultipleUnderscores ?? true,
    };
    const lookback = options.lookbackDeltaMs && options.lookbackDeltaMs > 0 ? options.lookbackDeltaMs : DEFAULT_LOOKBACK_DELTA_MS;
    this.targetInfoIntervalNs = BigInt(Math.max(1, Math.floor(lookback / 2))) * 1_000_000n;
  }

  convert(request: PbExportMetricsRequest): ConvertMetricsResult {
    for (const resourceMetrics of request.resourceMetrics ?? []) {
      const attributes = resourceMetrics.resource?.attributes ?? [];
      const resource = resourceContext(attributes);
      let earliest: bigint | undefined;
      let latest: bigint | undefined;
      for (const scopeMetrics of resourceMetrics.scopeMetrics ?? []) {
        const metrics = scopeMetrics.metrics ?? [];
        let scope: ScopeContext | undefined;
        try {
          scope = this.scopeContext(
            scopeMetrics.scope?.name ?? '',
            scopeMetrics.scope?.version ?? '',
            scopeMetrics.schemaUrl ?? '',
            scopeMetrics.scope?.attributes ?? [],
          );
        } catch (error) {
          for (const metric of metrics) this.reject(dataPoints(metric).length, (error as Error).message);
          continue;
        }
        for (const metric of metrics) {
          // As the reference does, points of metrics rejected below still place target_info in time.
          for (const point of dataPoints(metric)) {
            const ts = uint64ToBigInt(point.timeUnixNano);
            if (earliest === undefined || ts < earliest) earliest = ts;
            if (latest === undefined || ts > latest) latest = ts;
          }
          this.convertMetric(metric, resource, scope);
        }
      }
      if (earliest !== undefined && latest !== undefined) this.addTargetInfo(resource, earliest, latest);
    }
    return {
      samples: this.samples,
      metadata: [...this.metadata.values()],
      rejected: this.rejected,
      errorMessage: joinMessages(this.errors),
      warnings: [...this.warnings],
    };
  }

  private convertMetric(metric: PbMetric, resource: ResourceContext, scope: ScopeContext | undefined): void {
    const otelName = metric.name ?? '';
    const points = dataPoints(metric);
    const kind = metricKind(metric);
    if (kind === undefined) {
      this.reject(0, `could not get aggregation temporality for ${otelName} as it has unsupported metric type Empty`);
      return;
    }
    const temporality = aggregationTemporality(metric);
    if (temporality !== undefined && temporality !== TEMPORALITY_CUMULATIVE) {
      const temporalityName = TEMPORALITY_NAMES[temporality] ?? String(temporality);
      this.reject(
        points.length,
        `invalid temporality and type combination for metric ${JSON.stringify(otelName)} (${temporalityName} ${metric.data} is not supported)`,
      );
      return;
    }
    let family: string;
    try {
      family = buildMetricName(otelName, metric.unit ?? '', kind, this.addSuffixes);
    } catch (error) {
      this.reject(points.length, (error as Error).message);
      return;
    }
    if (points.length === 0) {
      this.warnings.add(`empty data points. ${otelName} is dropped`);
      return;
    }
    const meta: Family = {
      type: promType(kind),
      help: metric.description ?? '',
      unit: buildUnitName(metric.unit ?? ''),
    };
    const before = this.samples.length;
    switch (metric.data) {
      case 'gauge':
      case 'sum':
        for (const point of points as PbNumberDataPoint[]) this.withPoint(() => this.addNumber(point, family, resource, scope));
        break;
      case 'histogram':
        for (const point of points as PbHistogramDataPoint[]) this.withPoint(() => this.addHistogram(point, family, resource, scope));
        break;
      case 'summary':
        for (const point of points as PbSummaryDataPoint[]) this.withPoint(() => this.addSummary(point, family, resource, scope));
        break;
      case 'exponentialHistogram':
        this.reject(
          points.length,
          `exponential histogram ${JSON.stringify(otelName)} rejected: Prometheus stores it as a native histogram, which Lookout does not support yet`,
        );
        break;
    }
    if (this.samples.length > before && !this.metadata.has(family)) {
      this.metadata.set(family, { metricFamilyName: family, ...meta });
    }
  }

  /** A point whose labels cannot be built is rejected alone. */
  private withPoint(add: () => void): void {
    try {
      add();
    } catch (error) {
      this.reject(1, (error as Error).message);
    }
  }

  private addNumber(point: PbNumberDataPoint, family: string, resource: ResourceContext, scope: ScopeContext | undefined): void {
    const base = this.createLabels(point.attributes ?? [], RESERVED_ATTRIBUTES, resource, scope, 'data point');
    base.set('__name__', family);
    let value = 0;
    if (point.value === 'asInt') value = Number(int64ToBigInt(point.asInt));
    else if (point.value === 'asDouble') value = point.asDouble ?? 0;
    this.push(base.toLabels(), point.timeUnixNano, point.flags, value);
  }

  private addHistogram(point: PbHistogramDataPoint, family: string, resource: ResourceContext, scope: ScopeContext | undefined): void {
    const base = this.createLabels(point.attributes ?? [], RESERVED_ATTRIBUTES, resource, scope, 'data point').toLabels();
    const ts = point.timeUnixNano;
    const count = uint64ToBigInt(point.count);
    // An unset sum means the _sum series is left out.
    if (point._sum === 'sum') this.push({ ...base, __name__: `${family}_sum` }, ts, point.flags, point.sum ?? 0);
    this.push({ ...base, __name__: `${family}_count` }, ts, point.flags, Number(count));
    const bounds = point.explicitBounds ?? [];
    const counts = point.bucketCounts ?? [];
    let cumulative = 0n;
    for (let i = 0; i < bounds.length && i < counts.length; i++) {
      cumulative = BigInt.asUintN(64, cumulative + uint64ToBigInt(counts[i]));
      const le = formatGoFloat(bounds[i] ?? 0);
      this.push({ ...base, le, __name__: `${family}_bucket` }, ts, point.flags, Number(cumulative));
    }
    this.push({ ...base, le: '+Inf', __name__: `${family}_bucket` }, ts, point.flags, Number(count));
  }

  private addSummary(point: PbSummaryDataPoint, family: string, resource: ResourceContext, scope: ScopeContext | undefined): void {
    const base = this.createLabels(point.attributes ?? [], RESERVED_ATTRIBUTES, resource, scope, 'data point').toLabels();
    const ts = point.timeUnixNano;
    this.push({ ...base, __name__: `${family}_sum` }, ts, point.flags, point.sum ?? 0);
    this.push({ ...base, __name__: `${family}_count` }, ts, point.flags, Number(uint64ToBigInt(point.count)));
    for (const quantile of point.quantileValues ?? []) {
      const q = formatGoFloat(quantile.quantile ?? 0);
      this.push({ ...base, quantile: q, __name__: family }, ts, point.flags, quantile.value ?? 0);
    }
  }

  private push(labels: Labels, timeUnixNano: PbInt64, flags: number | null | undefined, value: number): void {
    const timestampMs = nanosToMs(uint64ToBigInt(timeUnixNano));
    if (((flags ?? 0) & NO_RECORDED_VALUE) !== 0) {
      this.samples.push({ labels, timestampMs, value: Number.NaN, stale: true });
    } else {
      this.samples.push({ labels, timestampMs, value });
    }
  }

  /**
   * helper.go createAttributes: attributes sorted by key, names sanitized, values of keys that
   * collide after sanitizing joined with `;`; then job/instance, then the scope labels.
   */
  private createLabels(
    attributes: readonly PbKeyValue[],
    ignore: readonly string[],
    resource: ResourceContext,
    scope: ScopeContext | undefined,
    source: 'data point' | 'resource',
  ): LabelBuilder {
    const pairs: [string, string][] = [];
    for (const kv of attributes) {
      const key = kv.key ?? '';
      if (!ignore.includes(key)) pairs.push([key, attributeValueToLabel(kv.value)]);
    }
    pairs.sort(([a], [b]) => compareUtf8(a, b));
    const builder = new LabelBuilder();
    for (const [key, value] of pairs) {
      const name = this.labelName(key);
      const existing = builder.get(name);
      if (existing !== '') {
        this.recordCollision(pairs, name, source);
        builder.set(name, `${existing};${value}`);
      } else {
        builder.set(name, value);
      }
    }
    if (resource.job !== '') builder.set('job', resource.job);
    if (resource.instance !== '') builder.set('instance', resource.instance);
    if (scope) for (const [name, value] of scope.labels) builder.set(name, value);
    return builder;
  }

  private labelName(key: string): string {
    let name = this.labelNames.get(key);
    if (name === undefined) {
      name = buildLabelName(key, this.labelNameOptions);
      this.labelNames.set(key, name);
    }
    return name;
  }

  private labelNameOrEmpty(key: string): string {
    try {
      return this.labelName(key);
    } catch {
      return '';
    }
  }

  private recordCollision(pairs: readonly [string, string][], name: string, source: string): void {
    if (this.recordedCollisions.has(name)) return;
    this.recordedCollisions.add(name);
    const keys = pairs.filter(([key]) => this.labelNameOrEmpty(key) === name).map(([key]) => JSON.stringify(key));
    this.warnings.add(
      `OTLP ${source} attributes ${keys.join(', ')} collide as label ${JSON.stringify(name)} after name sanitization, values are concatenated with ';'`,
    );
  }

  /** metrics_to_prw.go setScopeContext: nothing for a scope without a name. Throws for a bad attribute key. */
  private scopeContext(name: string, version: string, schemaUrl: string, attributes: readonly PbKeyValue[]): ScopeContext | undefined {
    if (!this.promoteScope || name === '') return undefined;
    const attributeLabels = new LabelBuilder();
    for (const kv of attributes) {
      attributeLabels.set(this.labelName(`otel_scope_${kv.key ?? ''}`), attributeValueToLabel(kv.value));
    }
    return {
      labels: [
        ...attributeLabels.map,
        ['otel_scope_name', name],
        ['otel_scope_version', version],
        ['otel_scope_schema_url', schemaUrl],
      ],
    };
  }

  /**
   * helper.go addResourceTargetInfo: a `target_info` gauge of 1 carrying the resource attributes
   * other than service.name/namespace/instance.id, at the resource's earliest point time, then
   * every lookback delta / 2, then at its latest point time; identical samples from several
   * resources of the request are written once. Not written when the resource has no other
   * attributes, or neither job nor instance.
   */
  private addTargetInfo(resource: ResourceContext, earliestNs: bigint, latestNs: bigint): void {
    const present = IDENTIFYING_ATTRIBUTES.filter((key) => findAttribute(resource.attributes, key) !== undefined).length;
    if (resource.attributes.length - present === 0) return;
    let labels: Labels;
    try {
      const builder = this.createLabels(resource.attributes, IDENTIFYING_ATTRIBUTES, resource, undefined, 'resource');
      if (builder.get('job') === '' && builder.get('instance') === '') return;
      builder.set('__name__', TARGET_INFO);
      labels = builder.toLabels();
    } catch (error) {
      this.errors.add(`${TARGET_INFO} not written: ${(error as Error).message}`);
      return;
    }
    const identity = JSON.stringify(Object.entries(labels).sort(([a], [b]) => compareUtf8(a, b)));
    const times: number[] = [];
    const interval = this.targetInfoIntervalNs;
    let start = earliestNs;
    if (latestNs > earliestNs) {
      const steps = (latestNs - earliestNs + interval - 1n) / interval;
      if (steps > BigInt(MAX_TARGET_INFO_SAMPLES)) start = earliestNs + (steps - BigInt(MAX_TARGET_INFO_SAMPLES)) * interval;
    }
    for (let t = start; t < latestNs; t += interval) times.push(nanosToMs(t));
    times.push(nanosToMs(latestNs));
    let written = false;
    for (const timestampMs of times) {
      const key = `${timestampMs} ${identity}`;
      if (this.seenTargetInfo.has(key)) continue;
      this.seenTargetInfo.add(key);
      this.samples.push({ labels: { ...labels }, timestampMs, value: 1 });
      written = true;
    }
    if (written && !this.metadata.has(TARGET_INFO)) {
      this.metadata.set(TARGET_INFO, { metricFamilyName: TARGET_INFO, type: 'gauge', help: 'Target metadata', unit: '' });
    }
  }

  private reject(points: number, reason: string): void {
    this.rejected += points;
    this.errors.add(reason);
  }
}

/** job = `service.namespace/service.name` (or `service.name`), instance = `service.instance.id`; absent otherwise. */
function resourceContext(attributes: PbKeyValue[]): ResourceContext {
  let job = '';
  const serviceName = findAttribute(attributes, SERVICE_NAME);
  if (serviceName !== undefined) {
    job = attributeValueToLabel(serviceName);
    const namespace = findAttribute(attributes, SERVICE_NAMESPACE);
    if (namespace !== undefined) job = `${attributeValueToLabel(namespace)}/${job}`;
  }
  const instanceId = findAttribute(attributes, SERVICE_INSTANCE_ID);
  const instance = instanceId === undefined ? '' : attributeValueToLabel(instanceId);
  return { attributes, job, instance };
}

/** pcommon.Map.Get: the first attribute with the key. */
function findAttribute(attributes: readonly PbKeyValue[], key: string): PbAnyValue | null | undefined {
  for (const kv of attributes) if ((kv.key ?? '') === key) return kv.value ?? null;
  return undefined;
}

type AnyDataPoint = { timeUnixNano?: PbInt64 };

function dataPoints(metric: PbMetric): AnyDataPoint[] {
  switch (metric.data) {
    case 'gauge':
      return metric.gauge?.dataPoints ?? [];
    case 'sum':
      return metric.sum?.dataPoints ?? [];
    case 'histogram':
      return metric.histogram?.dataPoints ?? [];
    case 'exponentialHistogram':
      return metric.exponentialHistogram?.dataPoints ?? [];
    case 'summary':
      return metric.summary?.dataPoints ?? [];
    default:
      return [];
  }
}

function metricKind(metric: PbMetric): OtlpMetricKind | undefined {
  switch (metric.data) {
    case 'gauge':
      return 'gauge';
    case 'sum':
      return metric.sum?.isMonotonic ? 'monotonic-counter' : 'non-monotonic-counter';
    case 'histogram':
      return 'histogram';
    case 'exponentialHistogram':
      return 'exponential-histogram';
    case 'summary':
      return 'summary';
    default:
      return undefined;
  }
}

function aggregationTemporality(metric: PbMetric): number | undefined {
  switch (metric.data) {
    case 'sum':
      return metric.sum?.aggregationTemporality ?? 0;
    case 'histogram':
      return metric.histogram?.aggregationTemporality ?? 0;
    case 'exponentialHistogram':
      return metric.exponentialHistogram?.aggregationTemporality ?? 0;
    default:
      return undefined;
  }
}

/** otlp_to_openmetrics_metadata.go (delta sums never get here: they are rejected). */
function promType(kind: OtlpMetricKind): MetricMetadata['type'] {
  switch (kind) {
    case 'gauge':
    case 'non-monotonic-counter':
      return 'gauge';
    case 'monotonic-counter':
      return 'counter';
    case 'histogram':
    case 'exponential-histogram':
      return 'histogram';
    case 'summary':
      return 'summary';
    default:
      return 'unknown';
  }
}

/** Integer division like Go's int64(ns) / 1e6 (truncating). */
function nanosToMs(ns: bigint): number {
  return Number(ns / 1_000_000n);
}

/**
 * Go's `json.Marshal(value.AsRaw())`: map keys sorted, later duplicate keys win, `<>&` and
 * U+2028/U+2029 escaped, bytes as base64 strings. Throws for NaN and infinities, as Go does.
 */
function goJson(value: PbAnyValue | null | undefined): string {
  switch (value?.value) {
    case 'stringValue':
      return goJsonString(value.stringValue ?? '');
    case 'boolValue':
      return value.boolValue ? 'true' : 'false';
    case 'intValue':
      return int64ToBigInt(value.intValue).toString();
    case 'doubleValue': {
      const n = value.doubleValue ?? 0;
      if (!Number.isFinite(n)) throw new Error('json: unsupported value');
      return formatGoJsonFloat(n);
    }
    case 'bytesValue':
      return goJsonString(bytesToBase64(value.bytesValue));
    case 'arrayValue':
      return `[${(value.arrayValue?.values ?? []).map(goJson).join(',')}]`;
    case 'kvlistValue': {
      const entries = new Map<string, PbAnyValue | null | undefined>();
      for (const kv of value.kvlistValue?.values ?? []) entries.set(kv.key ?? '', kv.value);
      const keys = [...entries.keys()].sort(compareUtf8);
      return `{${keys.map((key) => `${goJsonString(key)}:${goJson(entries.get(key))}`).join(',')}}`;
    }
    default:
      return 'null';
  }
}

function goJsonString(text: string): string {
  return JSON.stringify(text).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Go string order (UTF-8 bytes, i.e. code points), not JavaScript's UTF-16 unit order. */
function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates stand for code points above U+FFFF: move them above U+E000..U+FFFF.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

function joinMessages(messages: Set<string>): string {
  const list = [...messages];
  if (list.length <= MAX_ERROR_MESSAGES) return list.join('; ');
  return `${list.slice(0, MAX_ERROR_MESSAGES).join('; ')}; and ${list.length - MAX_ERROR_MESSAGES} more`;
}
