/**
 * OTLP/HTTP (https://opentelemetry.io/docs/specs/otlp/#otlphttp): POST /v1/{traces,logs,metrics}
 * with binary protobuf or JSON bodies, optionally gzip/deflate compressed. Responses use the
 * request's encoding; failures carry a google.rpc.Status.
 */
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import protobuf from 'protobufjs';
import { LookoutError, toLookoutError } from '../../errors.js';
import {
  decodeJsonRequest,
  decodeProtobufRequest,
  encodeExportResponse,
  exportResponseJson,
  type OtlpSignal,
} from '../../ingest/index.js';
import { tenantFromHeader } from '../common/tenant.js';
import { exportSignal, refuseIfSaturated, type ExportContext } from './export.js';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

// google.rpc.Status, the OTLP error body. Declared through protobufjs reflection (the type is
// not part of the OTLP packages); details are left empty.
const StatusType = new protobuf.Type('Status')
  .add(new protobuf.Field('code', 1, 'int32'))
  .add(new protobuf.Field('message', 2, 'string'));

// gRPC codes matching the HTTP statuses we answer with, for the Status body.
const GRPC_CODE_FOR_HTTP: Record<number, number> = { 400: 3, 413: 8, 415: 3, 429: 8, 500: 13, 503: 14 };

type Encoding = 'protobuf' | 'json';

function encodingOf(request: FastifyRequest): Encoding | undefined {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  return undefined;
}

export interface OtlpHttpOptions extends ExportContext {
  maxBodyBytes: number;
}

export function otlpHttpApi(options: OtlpHttpOptions): FastifyPluginAsync {
  const { maxBodyBytes } = options;
  return async (app) => {
    // Bodies are taken raw whatever their type, so that an unsupported type gets OTLP's 415
    // from our handler instead of Fastify's generic error. Compressed bodies are limited to
    // the same size; decompressed size is checked in decompress().
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (_request, body, done) => done(null, body));

    app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
      let lookoutError: LookoutError;
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        lookoutError = new LookoutError('LOOKOUT_ERR_INGEST_TOO_LARGE', `request body is larger than the limit of ${maxBodyBytes} bytes`);
      } else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
        lookoutError = new LookoutError('LOOKOUT_ERR_INGEST_UNDECODABLE', error.message);
      } else {
        lookoutError = toLookoutError(error);
      }
      sendError(request, reply, lookoutError);
    });

    for (const signal of ['traces', 'logs', 'metrics'] as const) {
      app.post(`/v1/${signal}`, { onRequest: async () => refuseIfSaturated(options, signal) }, async (request, reply) => {
        const encoding = encodingOf(request);
        if (encoding === undefined) {
          throw new LookoutError(
            'LOOKOUT_ERR_INGEST_BAD_CONTENT_TYPE',
            `unsupported Content-Type "${request.headers['content-type'] ?? ''}": use application/x-protobuf or application/json`,
          );
        }
        const tenant = tenantFromHeader(request.headers['x-scope-orgid']);
        const body = await decompress(request, (request.body as Buffer | undefined) ?? Buffer.alloc(0), maxBodyBytes);
        const message = encoding === 'json' ? decodeJsonRequest(signal, body) : decodeProtobufRequest(signal, body);
        const partial = await exportSignal(options, signal, message, tenant, 'otlp_http');
        return sendResponse(reply, signal, encoding, partial);
      });
    }
  };
}

async function decompress(request: FastifyRequest, body: Buffer, maxBytes: number): Promise<Buffer> {
  const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return body;
  const inflater = encoding === 'gzip' ? gunzipAsync : encoding === 'deflate' ? inflateAsync : undefined;
  if (inflater === undefined) {
    throw new LookoutError('LOOKOUT_ERR_INGEST_BAD_ENCODING', `unsupported Content-Encoding "${encoding}": use gzip, deflate or none`);
  }
  try {
    return await inflater(body, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
      throw new LookoutError('LOOKOUT_ERR_INGEST_TOO_LARGE', `decompressed request body is larger than the limit of ${maxBytes} bytes`);
    }
    throw new LookoutError('LOOKOUT_ERR_INGEST_UNDECODABLE', `invalid ${encoding} body: ${(error as Error).message}`);
  }
}

function sendResponse(reply: FastifyReply, signal: OtlpSignal, encoding: Encoding, partial: Parameters<typeof encodeExportResponse>[1]) {
  if (encoding === 'json') return reply.code(200).type('application/json').send(exportResponseJson(partial));
  return reply.code(200).type('application/x-protobuf').send(Buffer.from(encodeExportResponse(signal, partial)));
}

function sendError(request: FastifyRequest, reply: FastifyReply, error: LookoutError) {
  const status = error.httpStatus;
  // Refusals are the client's or the load's business, not faults of Lookout: debug level, so a
  // flood of them cannot flood the log. Only real faults are errors.
  if (status >= 500 && error.retryAfterSeconds === undefined) request.log.error({ err: error }, 'OTLP request failed');
  else request.log.debug({ code: error.code, reason: error.message }, 'OTLP request refused');
  if (error.retryAfterSeconds !== undefined) void reply.header('Retry-After', String(error.retryAfterSeconds));
  const body = { code: GRPC_CODE_FOR_HTTP[status] ?? 2, message: error.message };
  if (encodingOf(request) === 'protobuf') {
    return reply.code(status).type('application/x-protobuf').send(Buffer.from(StatusType.encode(StatusType.fromObject(body)).finish()));
  }
  return reply.code(status).type('application/json').send(body);
}
