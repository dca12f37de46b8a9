/**
 * Loki push bodies → streams of entries, before validation. Two wire forms (Loki's
 * pkg/loghttp/push): JSON `{"streams":[{"stream":{…},"values":[["<ns>","<line>",{…}]]}]}` and
 * snappy-compressed protobuf `logproto.PushRequest` whose stream labels are label-syntax text.
 * A body that does not decode is refused whole (Loki answers 400 before looking at entries).
 */
import snappy from 'snappy';
import { LookoutError } from '../../errors.js';
import type { Labels } from '../../model/index.js';
import { PushRequestType, type PbLong, type PbPushRequest } from './push-proto.js';
import { parseLabelSet, SelectorSyntaxError } from './selector.js';

export interface PushEntry {
  timestampNs: bigint;
  line: string;
  /** Name/value pairs in the order sent. */
  structuredMetadata: [string, string][];
}

export interface PushStream {
  labels: Labels;
  /** A label name given twice (Loki rejects the stream). */
  duplicateLabel?: string;
  entries: PushEntry[];
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const NANOS = /^-?\d{1,19}$/;
const MAX_INT64 = 9223372036854775807n;

function undecodable(message: string): LookoutError {
  return new LookoutError('LOOKOUT_ERR_INGEST_UNDECODABLE', message);
}

function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/** Decodes a JSON push body (already decompressed). */
export function decodePushJson(body: Buffer | string): PushStream[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (error) {
    throw undecodable(`invalid JSON push request: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw undecodable(`push request must be a JSON object with "streams", got ${typeOf(parsed)}`);
  }
  const streams = (parsed as { streams?: unknown }).streams;
  if (streams === undefined || streams === null) return [];
  if (!Array.isArray(streams)) throw undecodable(`"streams" must be an array, got ${typeOf(streams)}`);
  return streams.map((stream, s) => decodeJsonStream(stream, s));
}

function decodeJsonStream(stream: unknown, s: number): PushStream {
  const where = `streams[${s}]`;
  if (typeof stream !== 'object' || stream === null || Array.isArray(stream)) throw undecodable(`${where} must be an object, got ${typeOf(stream)}`);
  const { stream: labelObject, values } = stream as { stream?: unknown; values?: unknown };
  const labels: Labels = {};
  if (labelObject !== undefined && labelObject !== null) {
    if (typeof labelObject !== 'object' || Array.isArray(labelObject)) throw undecodable(`${where}.stream must be an object of label names to values`);
    for (const [name, value] of Object.entries(labelObject)) {
      if (typeof value !== 'string') throw undecodable(`${where}.stream.${name}: label values must be strings, got ${typeOf(value)}`);
      // Loki re-parses the labels as LogQL label syntax, which only admits identifier names.
      if (!LABEL_NAME.test(name)) throw undecodable(`couldn't parse labels: invalid label name ${JSON.stringify(name)} in ${where}.stream`);
      labels[name] = value;
    }
  }
  // Loki re-parses `{}` as a selector, which must name at least one label.
  if (Object.keys(labels).length === 0) throw undecodable(`couldn't parse labels: parse error at line 1, col 2: syntax error: unexpected }, expecting IDENTIFIER (${where}.stream is empty)`);
  const entries: PushEntry[] = [];
  if (values !== undefined && values !== null) {
    if (!Array.isArray(values)) throw undecodable(`${where}.values must be an array, got ${typeOf(values)}`);
    for (let v = 0; v < values.length; v++) entries.push(decodeJsonEntry(values[v], `${where}.values[${v}]`));
  }
  return { labels, entries };
}

function decodeJsonEntry(value: unknown, where: string): PushEntry {
  if (!Array.isArray(value) || value.length < 2 || value.length > 3) {
    throw undecodable(`${where} must be ["<unix epoch in nanoseconds>", "<log line>"] with optional structured metadata object`);
  }
  const [ts, line, metadata] = value as unknown[];
  if (typeof ts !== 'string' || !NANOS.test(ts)) throw undecodable(`${where}[0]: timestamp must be a string of Unix epoch nanoseconds, got ${JSON.stringify(ts)}`);
  const timestampNs = BigInt(ts);
  if (timestampNs > MAX_INT64 || timestampNs < -MAX_INT64) throw undecodable(`${where}[0]: timestamp ${ts} is out of the int64 range`);
  if (typeof line !== 'string') throw undecodable(`${where}[1]: log line must be a string, got ${typeOf(line)}`);
  const structuredMetadata: [string, string][] = [];
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw undecodable(`${where}[2]: structured metadata must be an object of names to string values, got ${typeOf(metadata)}`);
    }
    for (const [name, value] of Object.entries(metadata)) {
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        // Loki's query-response form `{"structuredMetadata":{…},"parsed":{…}}` is accepted too;
        // parsed labels are not stored.
        if (name !== 'structuredMetadata') continue;
        for (const [inner, text] of Object.entries(value)) {
          if (typeof text !== 'string') throw undecodable(`${where}[2].structuredMetadata.${inner}: values must be strings, got ${typeOf(text)}`);
          structuredMetadata.push([inner, text]);
        }
        continue;
      }
      // Loki takes numbers, booleans and arrays as their JSON text.
      structuredMetadata.push([name, typeof value === 'string' ? value : JSON.stringify(value)]);
    }
  }
  return { timestampNs, line, structuredMetadata };
}

/** Snappy block-format length preamble (a uvarint), read before inflating to enforce the size limit. */
function snappyDecodedLength(body: Buffer): number | undefined {
  let result = 0;
  let shift = 0;
  for (let i = 0; i < 5 && i < body.length; i++) {
    const b = body[i]!;
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return result;
    shift += 7;
  }
  return undefined;
}

/** Decodes a snappy-compressed protobuf push body. */
export function decodePushProtobuf(body: Buffer, maxDecompressedBytes: number): PushStream[] {
  const length = snappyDecodedLength(body);
  if (length === undefined) throw undecodable('invalid snappy body: bad length preamble');
  if (length > maxDecompressedBytes) {
    throw new LookoutError('LOOKOUT_ERR_INGEST_TOO_LARGE', `request body too large: decompressed size ${length} bytes, limit: ${maxDecompressedBytes} bytes`);
  }
  let raw: Buffer;
  try {
    raw = snappy.uncompressSync(body) as Buffer;
  } catch (error) {
    throw undecodable(`invalid snappy body: ${(error as Error).message}`);
  }
  let message: PbPushRequest;
  try {
    message = PushRequestType.decode(raw) as unknown as PbPushRequest;
  } catch (error) {
    throw undecodable(`invalid protobuf push request: ${(error as Error).message}`);
  }
  const labelCache = new Map<string, { labels: Labels; duplicate?: string }>();
  return (message.streams ?? []).map((stream, s) => {
    const text = stream.labels ?? '';
    let parsed = labelCache.get(text);
    if (parsed === undefined) {
      try {
        parsed = parseLabelSet(text);
      } catch (error) {
        if (error instanceof SelectorSyntaxError) throw undecodable(`couldn't parse labels: ${error.message} (streams[${s}].labels ${JSON.stringify(text.slice(0, 200))})`);
        throw error;
      }
      labelCache.set(text, parsed);
    }
    const entries: PushEntry[] = (stream.entries ?? []).map((entry) => ({
      timestampNs: timestampNanos(entry.timestamp),
      line: entry.line ?? '',
      structuredMetadata: (entry.structuredMetadata ?? []).map((pair) => [pair.name ?? '', pair.value ?? ''] as [string, string]),
    }));
    const result: PushStream = { labels: { ...parsed.labels }, entries };
    if (parsed.duplicate !== undefined) result.duplicateLabel = parsed.duplicate;
    return result;
  });
}

function timestampNanos(ts: { seconds?: number | PbLong | null; nanos?: number | null } | null | undefined): bigint {
  if (!ts) return 0n;
  const s = ts.seconds;
  let seconds: bigint;
  if (s === undefined || s === null) seconds = 0n;
  else if (typeof s === 'number') seconds = BigInt(s);
  else seconds = (BigInt(s.high) << 32n) | BigInt(s.low >>> 0);
  return seconds * 1_000_000_000n + BigInt(ts.nanos ?? 0);
}
