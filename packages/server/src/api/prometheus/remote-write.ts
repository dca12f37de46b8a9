/**
 * POST /api/v1/write: Prometheus remote-write 1.0 receiver
 * (https://prometheus.io/docs/specs/remote_write_spec/).
 *
 * 204 once stored. Answers follow the specification's retry rules: 400 for data that cannot
 * be stored (senders drop it and do not retry), 413 over the body limit, 415 for other
 * encodings or content types (remote-write 2.0's `proto=io.prometheus.write.v2.Request` among
 * them, until it is supported), and 503 with Retry-After while the write queue is full or
 * storage fails: retryable, because nothing of the request was acknowledged. Error bodies are
 * plain text, as Prometheus writes them.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LookoutError } from '../../errors.js';
import { decodeRemoteWrite, type DecodedExemplar } from '../../ingest/index.js';
import type { WritePipeline } from '../../pipeline/index.js';
import type { ServerMetrics } from '../../telemetry/index.js';

export interface RemoteWriteOptions {
  pipeline: WritePipeline;
  metrics: ServerMetrics;
  /** Stores exemplars beside the samples; failures are logged, not returned (as Prometheus). */
  appendExemplars: (tenant: string, exemplars: readonly DecodedExemplar[]) => Promise<void>;
  maxBodyBytes: number;
}

const V1_PROTO = 'prometheus.WriteRequest';

/** Checks the headers of the specification before the body is decoded. */
export function checkRemoteWriteHeaders(headers: FastifyRequest['headers']): void {
  const encoding = String(headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'snappy') {
    throw new LookoutError('LOOKOUT_ERR_INGEST_BAD_ENCODING', `unsupported Content-Encoding ${JSON.stringify(encoding)}: remote-write bodies are snappy-compressed`);
  }
  const contentType = String(headers['content-type'] ?? '');
  if (contentType === '') return;
  const [mediaType, ...parameters] = contentType.split(';').map((part) => part.trim());
  if (mediaType!.toLowerCase() !== 'application/x-protobuf') {
    throw new LookoutError('LOOKOUT_ERR_INGEST_BAD_CONTENT_TYPE', `unsupported Content-Type ${JSON.stringify(contentType)}: use application/x-protobuf`);
  }
  for (const parameter of parameters) {
    const [key, value = ''] = parameter.split('=').map((s) => s.trim());
    if (key?.toLowerCase() === 'proto' && value.replace(/^"|"$/g, '') !== V1_PROTO) {
      throw new LookoutError(
        'LOOKOUT_ERR_INGEST_BAD_CONTENT_TYPE',
        `unsupported remote-write message ${JSON.stringify(value)}: only remote-write 1.0 (${V1_PROTO}) is supported`,
      );
    }
  }
}

export async function handleRemoteWrite(options: RemoteWriteOptions, request: FastifyRequest, reply: FastifyReply, tenant: string) {
  const { pipeline, metrics } = options;
  checkRemoteWriteHeaders(request.headers);
  if (pipeline.saturated('metrics')) {
    metrics.refusedRequests.inc({ signal: 'metrics', reason: 'overloaded' });
    throw new LookoutError('LOOKOUT_ERR_PIPELINE_OVERLOADED', 'metrics write queue is full; retry later', { retryAfterSeconds: 1 });
  }
  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const batch = decodeRemoteWrite(body, options.maxBodyBytes);
  const exemplarsStored = options.appendExemplars(tenant, batch.exemplars).catch((error: unknown) => {
    request.log.warn({ err: error, exemplars: batch.exemplars.length }, 'remote-write exemplars not stored');
  });
  try {
    await pipeline.writeSamples(tenant, batch.samples, batch.metadata);
  } catch (error) {
    const code = (error as { code?: string }).code;
    metrics.rejectedRecords.inc({ signal: 'metrics', reason: code === 'LOOKOUT_ERR_PIPELINE_OVERLOADED' ? 'overloaded' : 'storage' }, batch.samples.length);
    throw error;
  } finally {
    await exemplarsStored;
  }
  metrics.ingestedRecords.inc({ signal: 'metrics', protocol: 'prometheus_remote_write' }, batch.samples.length);
  if (batch.rejectedSamples > 0) {
    metrics.rejectedRecords.inc({ signal: 'metrics', reason: 'invalid' }, batch.rejectedSamples);
    throw new LookoutError(
      'LOOKOUT_ERR_INGEST_UNDECODABLE',
      `${batch.errorMessage}; ${batch.rejectedSamples} samples refused, the other ${batch.samples.length} stored`,
    );
  }
  return reply.code(204).send();
}
