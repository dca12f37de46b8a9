/**
 * OTLP/gRPC: the three Export services on one grpc-js server. Messages are decoded with the
 * same generated code as OTLP/HTTP; grpc-js handles framing and gzip.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { toLookoutError } from '../../errors.js';
import { decodeProtobufRequest, encodeExportResponse, OTLP_SERVICE_PATHS, type OtlpSignal } from '../../ingest/index.js';
import { tenantFromHeader } from '../common/tenant.js';
import { exportSignal, refuseIfSaturated, type ExportContext } from './export.js';

export interface OtlpGrpcOptions extends ExportContext {
  host: string;
  port: number;
  maxBodyBytes: number;
  logger: Logger;
}

export interface RunningGrpcServer {
  port: number;
  close(): Promise<void>;
}

// HTTP status → gRPC status per the OTLP spec: overload and storage faults are retryable
// (UNAVAILABLE); bad data is not (INVALID_ARGUMENT).
function grpcStatusFor(httpStatus: number): grpc.status {
  if (httpStatus === 503 || httpStatus === 429) return grpc.status.UNAVAILABLE;
  if (httpStatus === 413) return grpc.status.RESOURCE_EXHAUSTED;
  if (httpStatus >= 400 && httpStatus < 500) return grpc.status.INVALID_ARGUMENT;
  return grpc.status.INTERNAL;
}

export async function startOtlpGrpcServer(options: OtlpGrpcOptions): Promise<RunningGrpcServer> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxBodyBytes,
  });
  for (const signal of ['traces', 'logs', 'metrics'] as const) {
    const path = OTLP_SERVICE_PATHS[signal];
    const service: grpc.ServiceDefinition = {
      Export: {
        path,
        requestStream: false,
        responseStream: false,
        requestSerialize: (value: Buffer) => value,
        requestDeserialize: (bytes: Buffer) => bytes,
        responseSerialize: (value: Buffer) => value,
        responseDeserialize: (bytes: Buffer) => bytes,
      },
    };
    server.addService(service, { Export: exportHandler(options, signal) });
  }
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
}

function exportHandler(options: OtlpGrpcOptions, signal: OtlpSignal): grpc.handleUnaryCall<Buffer, Buffer> {
  return (call, callback) => {
    void (async () => {
      try {
        refuseIfSaturated(options, signal);
        const tenant = tenantFromHeader(call.metadata.get('x-scope-orgid')[0]?.toString());
        const message = decodeProtobufRequest(signal, call.request);
        const partial = await exportSignal(options, signal, message, tenant, 'otlp_grpc');
        callback(null, Buffer.from(encodeExportResponse(signal, partial)));
      } catch (thrown) {
        const error = toLookoutError(thrown);
        if (error.httpStatus >= 500 && error.retryAfterSeconds === undefined) options.logger.error({ err: error, signal }, 'OTLP/gRPC export failed');
        const metadata = new grpc.Metadata();
        callback({ code: grpcStatusFor(error.httpStatus), details: error.message, metadata });
      }
    })();
  };
}
