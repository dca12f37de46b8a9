/**
 * Prometheus remote-write 1.0 (https://prometheus.io/docs/specs/remote_write_spec/): a
 * snappy block-compressed prometheus.WriteRequest → model samples, exemplars and metadata.
 *
 * Validation follows the specification's rules for senders, so that a sender's bug is a 400
 * (which senders do not retry) naming the series, never a silent corruption: every series
 * needs a valid, non-empty `__name__`; label names match [a-zA-Z_][a-zA-Z0-9_]*, are sorted
 * and unique. Invalid series are reported and the valid ones are still returned, so one bad
 * series does not lose a whole batch (the receiver answers 400 after storing the rest, as
 * Mimir does). Labels with empty values are dropped: Prometheus treats them as absent.
 *
 * Staleness markers (the NaN with bits 0x7ff0000000000002) keep their identity: the NaN
 * payload survives protobufjs's decoding and is turned into `stale: true` here, because it
 * would not survive ClickHouse's text formats.
 */
import { uncompressSync } from 'snappy';
import { LookoutError } from '../../errors.js';
import type { Labels, MetricMetadata, Sample } from '../../model/index.js';
import { WriteRequestType, type PbLabel, type PbWriteRequest } from './prompb.js';

/** An exemplar attached to a series (structurally the storage's MetricExemplar). */
export interface DecodedExemplar {
  seriesLabels: Labels;
  labels: Labels;
  value: number;
  timestampMs: number;
}

export interface RemoteWriteBatch {
  samples: Sample[];
  exemplars: DecodedExemplar[];
  metadata: MetricMetadata[];
  /** Series refused for invalid labels, and native-histogram samples (not supported). */
  rejectedSeries: number;
  rejectedSamples: number;
  /** Exemplars dropped for invalid labels (not an error, as in Prometheus). */
  droppedExemplars: number;
  /** The first problem found, for the 400 message; empty when nothing was rejected. */
  errorMessage: string;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
// OpenMetrics: an exemplar's label set is at most 128 UTF-8 characters (names and values).
const MAX_EXEMPLAR_LABEL_RUNES = 128;
const METADATA_TYPES: MetricMetadata['type'][] = ['unknown', 'counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset'];

const STALE_HIGH = 0x7ff00000;
const STALE_LOW = 0x00000002;
const scratch = new DataView(new ArrayBuffer(8));

/** Prometheus's staleness marker: a NaN with a specific payload (value.StaleNaN). */
export function isStaleNaN(value: number): boolean {
  if (!Number.isNaN(value)) return false;
  scratch.setFloat64(0, value);
  return scratch.getUint32(0) === STALE_HIGH && scratch.getUint32(4) === STALE_LOW;
}

/** The staleness-marker NaN, for senders in tests and benchmarks. */
export const STALE_NAN: number = (() => {
  scratch.setUint32(0, STALE_HIGH);
  scratch.setUint32(4, STALE_LOW);
  return scratch.getFloat64(0);
})();

/**
 * The uncompressed length a snappy block declares in its preamble (a varint), checked before
 * decompressing so that a small body cannot expand past the limit.
 */
function snappyDeclaredLength(body: Uint8Array): number {
  let result = 0;
  let shift = 0;
  for (let i = 0; i < Math.min(body.length, 5); i++) {
    const byte = body[i]!;
    result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return result;
    shift += 7;
  }
  throw new LookoutError('LOOKOUT_ERR_INGEST_UNDECODABLE', 'invalid snappy body: bad length preamble');
}

/** Snappy block decompression with a bound on the output. */
export function uncompressSnappy(body: Uint8Array, maxBytes: number): Buffer {
  if (body.length === 0) throw new LookoutError('LOOKOUT_ERR_INGEST_UNDECODABLE', 'empty request body: expected a snappy-compressed WriteRequest');
  const declared = snappyDeclaredLength(body);
  if (declared > maxBytes) {
    throw new LookoutError('LOOKOUT_ERR_INGEST_TOO_LARGE', `decompressed request body would be ${declared} bytes, over the limit of ${maxBytes}`);
  }
  try {
    return uncompressSync(Buffer.isBuffer(body) ? body : Buffer.from(body), { asBuffer: true }) as Buffer;
  } catch (error) {
    throw new LookoutError('LOOKOUT_ERR_INGEST_UNDECODABLE', `invalid snappy body: ${(error as Error).message}`);
  }
}

function int64ToNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value && typeof value === 'object' && 'low' in value && 'high' in value) {
    const { low, high } = value as { low: number; high: number };
    return high * 4294967296 + (low >>> 0);
  }
  return Number(value ?? 0);
}

/** Why a series' labels are invalid, or undefined; fills `out` with the non-empty labels. */
function checkSeriesLabels(labels: PbLabel[], out: Labels): string | undefined {
  let previous = '';
  let hasName = false;
  for (let i = 0; i < labels.length; i++) {
    const { name, value } = labels[i]!;
    if (!LABEL_NAME.test(name)) return `invalid label name ${JSON.stringify(name)}`;
    if (i > 0 && name <= previous) {
      return name === previous ? `duplicate label name ${JSON.stringify(name)}` : `labels not sorted by name (${JSON.stringify(name)} after ${JSON.stringify(previous)})`;
    }
    previous = name;
    if (name === '__name__') {
      if (!METRIC_NAME.test(value)) return value === '' ? 'empty metric name (__name__)' : `invalid metric name ${JSON.stringify(value)}`;
      hasName = true;
    }
    if (value !== '') out[name] = value;
  }
  return hasName ? undefined : 'missing metric name (__name__ label)';
}

function labelsText(labels: PbLabel[]): string {
  return `{${labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(', ')}}`;
}

function exemplarLabels(labels: PbLabel[]): Labels | undefined {
  const out: Labels = {};
  let runes = 0;
  for (const { name, value } of labels) {
    if (!LABEL_NAME.test(name) || name in out) return undefined;
    runes += [...name].length + [...value].length;
    if (value !== '') out[name] = value;
  }
  return runes > MAX_EXEMPLAR_LABEL_RUNES ? undefined : out;
}

/** Decodes an uncompressed prometheus.WriteRequest. */
export function decodeWriteRequest(body: Uint8Array): RemoteWriteBatch {
  let request: PbWriteRequest;
  try {
    request = WriteRequestType.decode(body) as unknown as PbWriteRequest;
  } catch (error) {
    throw new LookoutError('LOOKOUT_ERR_INGEST_UNDECODABLE', `invalid protobuf WriteRequest: ${(error as Error).message}`);
  }
  const batch: RemoteWriteBatch = {
    samples: [],
    exemplars: [],
    metadata: [],
    rejectedSeries: 0,
    rejectedSamples: 0,
    droppedExemplars: 0,
    errorMessage: '',
  };
  const reject = (message: string, samples: number) => {
    batch.rejectedSeries++;
    batch.rejectedSamples += samples;
    if (batch.errorMessage === '') batch.errorMessage = message;
  };

  for (const series of request.timeseries) {
    const labels: Labels = {};
    const sampleCount = series.samples.length + series.histograms.length;
    const problem = checkSeriesLabels(series.labels, labels);
    if (problem !== undefined) {
      reject(`${problem} in series ${labelsText(series.labels)}`, sampleCount);
      continue;
    }
    for (const s of series.samples) {
      const timestampMs = int64ToNumber(s.timestamp);
      const value = s.value;
      batch.samples.push(Number.isNaN(value) && isStaleNaN(value) ? { labels, timestampMs, value, stale: true } : { labels, timestampMs, value });
    }
    if (series.histograms.length > 0) {
      reject(`native histograms are not supported (series ${labelsText(series.labels)})`, series.histograms.length);
      // The series' float samples were kept; only the histogram samples are refused.
      batch.rejectedSeries--;
    }
    for (const e of series.exemplars) {
      const eLabels = exemplarLabels(e.labels);
      if (eLabels === undefined) {
        batch.droppedExemplars++;
        continue;
      }
      batch.exemplars.push({ seriesLabels: labels, labels: eLabels, value: e.value, timestampMs: int64ToNumber(e.timestamp) });
    }
  }

  for (const m of request.metadata) {
    if (!METRIC_NAME.test(m.metricFamilyName)) continue;
    batch.metadata.push({
      metricFamilyName: m.metricFamilyName,
      type: METADATA_TYPES[m.type] ?? 'unknown',
      help: m.help,
      unit: m.unit,
    });
  }
  return batch;
}

/** A remote-write body as sent on the wire: snappy, then protobuf. */
export function decodeRemoteWrite(body: Uint8Array, maxBytes: number): RemoteWriteBatch {
  return decodeWriteRequest(uncompressSnappy(body, maxBytes));
}
