/**
 * POST /loki/api/v1/push as Loki's distributor answers it (pkg/distributor/http.go): JSON or
 * snappy protobuf, gzip/deflate bodies; 204 when stored; 400 with Loki's grouped messages when
 * some streams or entries are invalid (the valid ones are stored first); 413 over the size limit;
 * 429 + Retry-After when the write queue is full. Error bodies are plain text, as Loki's.
 */
import { promisify } from 'node:util';
import { gunzip, inflate, inflateRaw } from 'node:zlib';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { LookoutError, toLookoutError } from '../../errors.js';
import { convertPush, decodePushJson, decodePushProtobuf, type LokiPushLimits, type PushStream, type StreamOrderTracker } from '../../ingest/index.js';
import type { WritePipeline } from '../../pipeline/index.js';
import type { ServerMetrics } from '../../telemetry/index.js';
import { tenantFromHeader } from '../common/tenant.js';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);
const inflateRawAsync = promisify(inflateRaw);

export interface LokiPushOptions {
  pipeline: WritePipeline;
  metrics: ServerMetrics;
  maxBodyBytes: number;
  limits: LokiPushLimits;
  order: StreamOrderTracker;
}

const PROTOCOL = 'loki_push';

function overloaded(): LookoutError {
  return new LookoutError('LOOKOUT_ERR_PIPELINE_OVERLOADED', 'ingestion rate limit exceeded: the logs write queue is full, retry later', { retryAfterSeconds: 1 });
}

async function decompress(encoding: string, body: Buffer, maxBytes: number): Promise<Buffer> {
  if (encoding === '' || encoding === 'snappy') return body; // protobuf bodies are snappy-framed anyway
  try {
    if (encoding === 'gzip') return await gunzipAsync(body, { maxOutputLength: maxBytes });
    if (encoding === 'deflate') {
      // Loki reads raw DEFLATE (Go's compress/flate); HTTP's "deflate" is zlib-wrapped. Take both.
      const zlibHeader = body.length >= 2 && (body[0]! & 0x0f) === 8 && ((body[0]! << 8) | body[1]!) % 31 === 0;
      return zlibHeader ? await inflateAsync(body, { maxOutputLength: maxBytes }) : await inflateRawAsync(body, { maxOutputLength: maxBytes });
    }
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
      throw new LookoutError('LOOKOUT_ERR_INGEST_TOO_LARGE', `request body too large: decompressed body exceeds the limit of ${maxBytes} bytes`);
    }
    throw new LookoutError('LOOKOUT_ERR_INGEST_UNDECODABLE', `${encoding}: invalid body: ${(error as Error).message}`);
  }
  throw new LookoutError('LOOKOUT_ERR_INGEST_UNDECODABLE', `Content-Encoding ${JSON.stringify(encoding)} not supported`);
}

function decodeBody(request: FastifyRequest, body: Buffer, maxBytes: number): PushStream[] {
  const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType === '') throw new LookoutError('LOOKOUT_ERR_INGEST_UNDECODABLE', 'mime: no media type');
  // Loki: application/json is JSON; every other media type is snappy protobuf.
  return contentType === 'application/json' ? decodePushJson(body) : decodePushProtobuf(body, maxBytes);
}

function sendText(reply: FastifyReply, status: number, text: string, retryAfterSeconds?: number) {
  if (retryAfterSeconds !== undefined) void reply.header('Retry-After', String(retryAfterSeconds));
  return reply.code(status).type('text/plain; charset=utf-8').send(`${text}\n`);
}

export function lokiPushApi(options: LokiPushOptions): FastifyPluginAsync {
  const { pipeline, metrics, maxBodyBytes, limits, order } = options;
  return async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (_request, body, done) => done(null, body));

    app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return sendText(reply, 413, `request body too large: more than the limit of ${maxBodyBytes} bytes`);
      }
      if (!(error instanceof LookoutError) && error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
        return sendText(reply, error.statusCode, error.message);
      }
      const e = toLookoutError(error);
      if (e.code === 'LOOKOUT_ERR_PIPELINE_OVERLOADED') return sendText(reply, 429, e.message, e.retryAfterSeconds ?? 1);
      if (e.httpStatus >= 500 && e.retryAfterSeconds === undefined) request.log.error({ err: e }, 'Loki push failed');
      return sendText(reply, e.httpStatus, e.message, e.retryAfterSeconds);
    });

    app.post(
      '/loki/api/v1/push',
      {
        onRequest: async () => {
          // Refused before the body is read: a refusal must cost less than an acceptance.
          if (pipeline.saturated('logs')) {
            metrics.refusedRequests.inc({ signal: 'logs', reason: 'overloaded' });
            throw overloaded();
          }
        },
      },
      async (request, reply) => {
        const tenant = tenantFromHeader(request.headers['x-scope-orgid']);
        const encoding = String(request.headers['content-encoding'] ?? '').trim().toLowerCase();
        const raw = await decompress(encoding, (request.body as Buffer | undefined) ?? Buffer.alloc(0), maxBodyBytes);
        const streams = decodeBody(request, raw, maxBodyBytes);
        if (streams.length === 0) {
          return sendText(reply, 422, 'error at least one valid stream is required for ingestion');
        }
        const result = convertPush(streams, { tenant, nowNs: BigInt(Date.now()) * 1_000_000n, limits, order });
        if (result.records.length > 0) {
          try {
            await pipeline.writeLogs(result.records);
          } catch (error) {
            const code = (error as { code?: string }).code;
            metrics.rejectedRecords.inc({ signal: 'logs', reason: code === 'LOOKOUT_ERR_PIPELINE_OVERLOADED' ? 'overloaded' : 'storage' }, result.records.length);
            if (code === 'LOOKOUT_ERR_PIPELINE_OVERLOADED') throw overloaded();
            throw error;
          }
          metrics.ingestedRecords.inc({ signal: 'logs', protocol: PROTOCOL }, result.records.length);
        }
        if (result.rejected > 0) {
          metrics.rejectedRecords.inc({ signal: 'logs', reason: 'invalid' }, result.rejected);
          return sendText(reply, 400, result.errorMessage);
        }
        return reply.code(204).send();
      },
    );
  };
}
