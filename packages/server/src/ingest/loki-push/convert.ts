/**
 * Validation and conversion of pushed Loki streams into log records, as Loki's distributor and
 * ingester validate them (pkg/distributor/validator.go, pkg/validation): invalid streams and
 * entries are dropped with Loki's messages while the rest of the request is stored.
 */
import type { KeyValue, Labels, LogRecord, LokiPushLimits } from '../../model/index.js';
import type { PushStream } from './decode.js';
import { LEVEL_SEVERITY, LevelDetector, normalizeLevel } from './levels.js';
import { formatLabels } from './selector.js';

export const SERVICE_NAME_LABEL = 'service_name';
export const UNKNOWN_SERVICE = 'unknown_service';
export const DETECTED_LEVEL = 'detected_level';

/**
 * The newest timestamp seen per stream, for the out-of-order window. Bounded: the oldest
 * streams are forgotten first (a forgotten stream accepts any timestamp within max age).
 * Per process: Lookout instances sharing one ClickHouse each keep their own.
 */
export class StreamOrderTracker {
  private readonly newest = new Map<string, bigint>();
  constructor(private readonly maxStreams = 100_000) {}

  get(key: string): bigint | undefined {
    return this.newest.get(key);
  }

  update(key: string, ts: bigint): void {
    const previous = this.newest.get(key);
    if (previous !== undefined && previous >= ts) return;
    this.newest.delete(key);
    this.newest.set(key, ts);
    if (this.newest.size > this.maxStreams) {
      const oldest = this.newest.keys().next().value;
      if (oldest !== undefined) this.newest.delete(oldest);
    }
  }
}

export interface ConvertPushContext {
  tenant: string;
  /** Receive time, nanoseconds; becomes the observed timestamp. */
  nowNs: bigint;
  limits: LokiPushLimits;
  order?: StreamOrderTracker;
}

export interface ConvertPushResult {
  records: LogRecord[];
  /** Entries refused. */
  rejected: number;
  /** Loki's grouped error text ("2 errors like: …; …"), empty when nothing was refused. */
  errorMessage: string;
  /** Streams that had at least one entry. */
  streams: number;
}

/** Go's time.Time.Format(time.RFC3339) in UTC. */
function rfc3339(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Go's time.Time.String() in UTC: "2006-01-02 15:04:05.999999999 +0000 UTC". */
function goTimeString(ns: bigint): string {
  const seconds = ns >= 0n ? ns / 1_000_000_000n : (ns - 999_999_999n) / 1_000_000_000n;
  const frac = ns - seconds * 1_000_000_000n;
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19).replace('T', ' ');
  const fraction = frac === 0n ? '' : '.' + frac.toString().padStart(9, '0').replace(/0+$/, '');
  return `${base}${fraction} +0000 UTC`;
}

class GroupedErrors {
  private readonly counts = new Map<string, number>();
  count = 0;
  add(message: string, n = 1): void {
    this.counts.set(message, (this.counts.get(message) ?? 0) + n);
    this.count += n;
  }
  text(): string {
    const unique = this.counts.size;
    return [...this.counts].map(([message, n]) => (unique > 1 || n > 1 ? `${n} errors like: ${message}` : message)).join('; ');
  }
}

// Pushed lines have no OTLP resource or scope. One shared object each: storage serialises a
// resource/scope once per object, so per-record copies would cost a serialisation per row.
const NO_RESOURCE: LogRecord['resource'] = Object.freeze({ attributes: [], droppedAttributesCount: 0, schemaUrl: '' }) as LogRecord['resource'];
const NO_SCOPE: LogRecord['scope'] = Object.freeze({ name: '', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' }) as LogRecord['scope'];

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

/**
 * The OTLP severity number of a detected level. SeverityText stays empty: the level is the
 * `detected_level` metadata, as in Loki, and a severity text would surface as an extra
 * `severity_text` metadata field that Loki does not have for pushed lines.
 */
function severityNumberOf(level: string | undefined): number {
  return level === undefined ? 0 : (LEVEL_SEVERITY[level] ?? 0);
}

export function convertPush(streams: readonly PushStream[], context: ConvertPushContext): ConvertPushResult {
  const { limits, tenant, nowNs, order } = context;
  const errors = new GroupedErrors();
  const records: LogRecord[] = [];
  const detector = limits.discoverLogLevels ? new LevelDetector(limits.logLevelFields) : undefined;
  const oldestNs = limits.rejectOldSamples ? nowNs - BigInt(limits.rejectOldSamplesMaxAgeMs) * 1_000_000n : undefined;
  const newestNs = nowNs + BigInt(limits.creationGracePeriodMs) * 1_000_000n;
  const windowNs = BigInt(limits.outOfOrderWindowMs) * 1_000_000n;
  let streamCount = 0;

  for (const stream of streams) {
    if (stream.entries.length === 0) continue;
    streamCount++;
    const labels: Labels = { ...stream.labels };
    if (!Object.hasOwn(labels, SERVICE_NAME_LABEL) && limits.discoverServiceName.length > 0) {
      let service = UNKNOWN_SERVICE;
      for (const name of limits.discoverServiceName) {
        const value = labels[name];
        if (value !== undefined && value !== '') {
          service = value;
          break;
        }
      }
      labels[SERVICE_NAME_LABEL] = service;
    }
    const streamText = formatLabels(labels);
    const labelError = validateLabels(labels, streamText, stream.duplicateLabel, limits);
    if (labelError !== undefined) {
      errors.add(labelError, 1);
      continue;
    }
    const serviceName = labels[SERVICE_NAME_LABEL] ?? '';
    const levelFromStream = detector?.fromLabels((name) => labels[name]);
    const orderKey = `${tenant}\u0000${streamText}`;
    let streamNewest = order?.get(orderKey);
    const tooFarBehind: string[] = [];

    for (const entry of stream.entries) {
      const ts = entry.timestampNs;
      if (oldestNs !== undefined && ts < oldestNs) {
        errors.add(`entry for stream '${streamText}' has timestamp too old: ${rfc3339(ts)}, oldest acceptable timestamp is: ${rfc3339(oldestNs)}`);
        continue;
      }
      if (ts > newestNs) {
        errors.add(`entry for stream '${streamText}' has timestamp too new: ${rfc3339(ts)}`);
        continue;
      }
      let line = entry.line;
      if (limits.maxLineSize > 0 && Buffer.byteLength(line) > limits.maxLineSize) {
        if (limits.maxLineSizeTruncate) {
          line = Buffer.from(line).subarray(0, limits.maxLineSize).toString('utf8').replace(/\uFFFD$/, '');
        } else {
          errors.add(`max entry size '${limits.maxLineSize}' bytes exceeded for stream '${streamText}' while adding an entry with length '${Buffer.byteLength(line)}' bytes`);
          continue;
        }
      }
      const metadata = entry.structuredMetadata;
      if (metadata.length > 0) {
        let size = 0;
        for (const [name, value] of metadata) size += name.length + value.length;
        if (limits.maxStructuredMetadataSize > 0 && size > limits.maxStructuredMetadataSize) {
          errors.add(
            `stream '${streamText}' has structured metadata too large: '${size}' bytes, limit: '${limits.maxStructuredMetadataSize}' bytes. Please see \`limits_config.max_structured_metadata_size\` or contact your Loki administrator to increase it`,
          );
          continue;
        }
        if (limits.maxStructuredMetadataEntriesCount > 0 && metadata.length > limits.maxStructuredMetadataEntriesCount) {
          errors.add(
            `stream '${streamText}' has too many structured metadata labels: '${metadata.length}', limit: '${limits.maxStructuredMetadataEntriesCount}'. Please see \`limits_config.max_structured_metadata_entries_count\` or contact your Loki administrator to increase it`,
          );
          continue;
        }
      }
      if (windowNs > 0n && streamNewest !== undefined && ts < streamNewest - windowNs) {
        tooFarBehind.push(
          `entry with timestamp ${goTimeString(ts)} ignored, reason: 'entry too far behind, entry timestamp is: ${rfc3339(ts)}, oldest acceptable timestamp is: ${rfc3339(streamNewest - windowNs)}',`,
        );
        continue;
      }
      if (streamNewest === undefined || ts > streamNewest) streamNewest = ts;

      const attributes: KeyValue[] = [];
      let traceId = '';
      let spanId = '';
      let level: string | undefined;
      for (const [name, value] of metadata) {
        // Loki sanitises metadata names to Prometheus label names.
        const key = name.replace(/[^a-zA-Z0-9_]/g, '_');
        const existing = attributes.findIndex((a) => a.key === key);
        const kv: KeyValue = { key, value: { stringValue: key === DETECTED_LEVEL ? normalizeLevel(value) : value } };
        if (existing >= 0) attributes[existing] = kv;
        else attributes.push(kv);
        if (key === 'trace_id' && HEX32.test(value)) traceId = value;
        else if (key === 'span_id' && HEX16.test(value)) spanId = value;
        else if (key === DETECTED_LEVEL) level = normalizeLevel(value);
      }
      if (detector !== undefined && level === undefined) {
        level = levelFromStream ?? detector.fromLabels((name) => metadata.find(([n]) => n === name)?.[1]) ?? detector.fromLine(line);
        attributes.push({ key: DETECTED_LEVEL, value: { stringValue: level } });
      }
      records.push({
        tenant,
        timestamp: ts,
        observedTimestamp: nowNs,
        traceId,
        spanId,
        flags: 0,
        severityText: '',
        severityNumber: severityNumberOf(level),
        serviceName,
        streamLabels: labels,
        body: line,
        bodyType: '',
        eventName: '',
        attributes,
        droppedAttributesCount: 0,
        resource: NO_RESOURCE,
        scope: NO_SCOPE,
      });
    }
    if (order !== undefined && streamNewest !== undefined) order.update(orderKey, streamNewest);
    if (tooFarBehind.length > 0) {
      errors.add(`${tooFarBehind.join('\n')}\nuser '${tenant}', total ignored: ${tooFarBehind.length} out of ${stream.entries.length} for stream: ${streamText}`, tooFarBehind.length);
    }
  }
  return { records, rejected: errors.count, errorMessage: errors.text(), streams: streamCount };
}

function validateLabels(labels: Labels, streamText: string, duplicate: string | undefined, limits: LokiPushLimits): string | undefined {
  const names = Object.keys(labels);
  if (names.length === 0) return 'error at least one label pair is required per stream';
  // service_name is often added by Loki itself; it does not count against the limit.
  const counted = names.length - (Object.hasOwn(labels, SERVICE_NAME_LABEL) ? 1 : 0);
  if (counted > limits.maxLabelNamesPerSeries) {
    return `entry for stream '${streamText}' has ${counted} label names; limit ${limits.maxLabelNamesPerSeries}`;
  }
  for (const name of names.sort()) {
    if (name.length > limits.maxLabelNameLength) return `stream '${streamText}' has label name too long: '${name}'`;
    if (labels[name]!.length > limits.maxLabelValueLength) return `stream '${streamText}' has label value too long: '${labels[name]}'`;
  }
  if (duplicate !== undefined) return `stream '${streamText}' has duplicate label name: '${duplicate}'`;
  return undefined;
}
