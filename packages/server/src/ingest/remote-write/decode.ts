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
import protobuf from 'protobufjs';
import { ExemplarType, MetricMetadataType, type PbExemplar, type PbLabel, type PbMetricMetadata } from './prompb.js';

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

/**
 * Label sets already seen, keyed by their encoded bytes: a sender repeats the same series in
 * every request, so a repeated series costs a map lookup instead of UTF-8 decoding, label
 * validation and a new object. The interned (frozen) object is also what lets storage cache
 * the series' fingerprint by identity. Only valid label sets are kept. Bounded: when full it
 * starts over, which costs only the work it saves.
 */
const MAX_INTERNED_SERIES = 200_000;
const internedLabels = new Map<string, Labels>();

/** Reads a protobuf varint int64 as a number (exact up to 2^53; negative via protobufjs's Long). */
function readInt64(reader: protobuf.Reader): number {
  const buf = reader.buf;
  let pos = reader.pos;
  let result = 0;
  let scale = 1;
  // Seven bytes hold 49 bits: every millisecond timestamp until the year 19800.
  for (let i = 0; i < 7 && pos < reader.len; i++) {
    const byte = buf[pos++]!;
    result += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      reader.pos = pos;
      return result;
    }
    scale *= 128;
  }
  return int64ToNumber(reader.int64());
}

const WIRE_BYTES = 2;

function expectWire(tag: number, wire: number, what: string): void {
  if ((tag & 7) !== wire) throw new Error(`${what} has wire type ${tag & 7}, expected ${wire}`);
}

/** Labels of one series from their encoded fields (only when not interned). */
function decodeLabelFields(reader: protobuf.Reader, ranges: number[], rangeCount: number): PbLabel[] {
  const labels: PbLabel[] = [];
  const saved = reader.pos;
  const savedLen = reader.len;
  for (let i = 0; i < rangeCount; i += 2) {
    reader.pos = ranges[i]!;
    reader.len = ranges[i + 1]!;
    let name = '';
    let value = '';
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      if (tag === 0x0a) name = reader.string();
      else if (tag === 0x12) value = reader.string();
      else reader.skipType(tag & 7);
    }
    labels.push({ name, value });
  }
  reader.pos = saved;
  reader.len = savedLen;
  return labels;
}

// Per-series scratch, reused: values and timestamps are read before the labels may be known.
// Staleness is noted as the value is read: a number array of doubles does not keep NaN payloads.
const seriesValues: number[] = [];
const seriesStale: number[] = [];
const seriesTimestamps: number[] = [];
const labelRanges: number[] = [];

function decodeTimeSeries(reader: protobuf.Reader, end: number, batch: RemoteWriteBatch, reject: (message: string, samples: number) => void): void {
  // Counts rather than length resets: truncating an array is not free on this path.
  let sampleCount = 0;
  let rangeCount = 0;
  // The series key: the encoded label fields, as one latin1 string (bytes, not text).
  let keyStart = -1;
  let keyEnd = -1;
  let keyExtra = '';
  let histograms = 0;
  let exemplars: PbExemplar[] | undefined;
  while (reader.pos < end) {
    const tagStart = reader.pos;
    const tag = reader.uint32();
    switch (tag >>> 3) {
      case 1: {
        expectWire(tag, WIRE_BYTES, 'TimeSeries.labels');
        const length = reader.uint32();
        const start = reader.pos;
        reader.skip(length);
        labelRanges[rangeCount++] = start;
        labelRanges[rangeCount++] = reader.pos;
        if (keyStart < 0) keyStart = tagStart;
        else if (tagStart !== keyEnd) {
          // Labels interleaved with other fields: rare, the key takes the extra bytes as text.
          keyExtra += (reader.buf as Buffer).toString('latin1', tagStart, reader.pos);
          break;
        }
        if (keyExtra === '') keyEnd = reader.pos;
        break;
      }
      case 2: {
        expectWire(tag, WIRE_BYTES, 'TimeSeries.samples');
        const sampleEnd = reader.uint32() + reader.pos;
        if (sampleEnd > end) throw new Error('Sample extends past its TimeSeries');
        let value = 0;
        let timestamp = 0;
        while (reader.pos < sampleEnd) {
          const field = reader.uint32();
          if (field === 0x09) value = reader.double();
          else if (field === 0x10) timestamp = readInt64(reader);
          else reader.skipType(field & 7);
        }
        seriesValues[sampleCount] = value;
        seriesStale[sampleCount] = value !== value && isStaleNaN(value) ? 1 : 0;
        seriesTimestamps[sampleCount] = timestamp;
        sampleCount++;
        break;
      }
      case 3: {
        expectWire(tag, WIRE_BYTES, 'TimeSeries.exemplars');
        (exemplars ??= []).push(ExemplarType.decode(reader, reader.uint32()) as unknown as PbExemplar);
        break;
      }
      case 4: {
        expectWire(tag, WIRE_BYTES, 'TimeSeries.histograms');
        reader.skip(reader.uint32());
        histograms++;
        break;
      }
      default:
        reader.skipType(tag & 7);
    }
  }
  if (reader.pos !== end) throw new Error('TimeSeries length mismatch');

  const key = keyStart < 0 ? '' : (reader.buf as Buffer).toString('latin1', keyStart, keyEnd) + keyExtra;
  let labels = internedLabels.get(key);
  if (labels === undefined) {
    const pbLabels = decodeLabelFields(reader, labelRanges, rangeCount);
    const fresh: Labels = {};
    const problem = checkSeriesLabels(pbLabels, fresh);
    if (problem !== undefined) {
      reject(`${problem} in series ${labelsText(pbLabels)}`, sampleCount + histograms);
      return;
    }
    labels = Object.freeze(fresh);
    if (internedLabels.size >= MAX_INTERNED_SERIES) internedLabels.clear();
    internedLabels.set(key, labels);
  }
  const samples = batch.samples;
  for (let i = 0; i < sampleCount; i++) {
    const value = seriesValues[i]!;
    const timestampMs = seriesTimestamps[i]!;
    samples.push(seriesStale[i] === 1 ? { labels, timestampMs, value, stale: true } : { labels, timestampMs, value });
  }
  if (histograms > 0) {
    reject(`native histograms are not supported (series ${labelsText(decodeLabelFields(reader, labelRanges, rangeCount))})`, histograms);
    // The series' float samples were kept; only the histogram samples are refused.
    batch.rejectedSeries--;
  }
  if (exemplars) {
    for (const e of exemplars) {
      const eLabels = exemplarLabels(e.labels);
      if (eLabels === undefined) {
        batch.droppedExemplars++;
        continue;
      }
      batch.exemplars.push({ seriesLabels: labels, labels: eLabels, value: e.value, timestampMs: int64ToNumber(e.timestamp) });
    }
  }
}

/**
 * Decodes an uncompressed prometheus.WriteRequest. The hot messages (TimeSeries, Label,
 * Sample) are read field by field with protobufjs's Reader, so no object is built per sample
 * beyond the model's own; exemplars and metadata go through protobufjs's generated decoders.
 */
export function decodeWriteRequest(body: Uint8Array): RemoteWriteBatch {
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
  const metadata: PbMetricMetadata[] = [];
  try {
    const reader = protobuf.Reader.create(Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const field = tag >>> 3;
      if (field === 1) {
        expectWire(tag, WIRE_BYTES, 'WriteRequest.timeseries');
        const end = reader.uint32() + reader.pos;
        if (end > reader.len) throw new Error(`index out of range: ${end} > ${reader.len}`);
        decodeTimeSeries(reader, end, batch, reject);
      } else if (field === 3) {
        expectWire(tag, WIRE_BYTES, 'WriteRequest.metadata');
        metadata.push(MetricMetadataType.decode(reader, reader.uint32()) as unknown as PbMetricMetadata);
      } else {
        if (field === 0) throw new Error('invalid field number 0');
        reader.skipType(tag & 7);
      }
    }
  } catch (error) {
    throw new LookoutError('LOOKOUT_ERR_INGEST_UNDECODABLE', `invalid protobuf WriteRequest: ${(error as Error).message}`);
  }

  for (const m of metadata) {
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
