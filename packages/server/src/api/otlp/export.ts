/**
 * One OTLP export, whatever the transport: convert the decoded request, hand the records to
 * the write pipeline, and say what was rejected (OTLP partial success).
 */
import {
  convertLogs,
  convertMetrics,
  convertTraces,
  type OtlpSignal,
  type PbExportLogsRequest,
  type PbExportMetricsRequest,
  type PbExportTraceRequest,
  type PbPartialSuccess,
} from '../../ingest/index.js';
import { LookoutError } from '../../errors.js';
import type { WritePipeline } from '../../pipeline/index.js';
import type { ServerMetrics } from '../../telemetry/index.js';

export interface ExportContext {
  pipeline: WritePipeline;
  metrics: ServerMetrics;
}

export type Protocol = 'otlp_http' | 'otlp_grpc';

type Requests = { logs: PbExportLogsRequest; traces: PbExportTraceRequest; metrics: PbExportMetricsRequest };

const REJECTED_FIELD = {
  logs: 'rejectedLogRecords',
  traces: 'rejectedSpans',
  metrics: 'rejectedDataPoints',
} as const;

/**
 * Refuses a request while the signal's write queue is full, before its body is decoded: a
 * refused request should not cost as much CPU as an accepted one, which the inserts draining
 * the queue need.
 */
export function refuseIfSaturated(context: ExportContext, signal: OtlpSignal): void {
  if (!context.pipeline.saturated(signal)) return;
  context.metrics.refusedRequests.inc({ signal, reason: 'overloaded' });
  throw new LookoutError('LOOKOUT_ERR_PIPELINE_OVERLOADED', `${signal} write queue is full; retry later`, { retryAfterSeconds: 1 });
}

/** Stores what is valid; resolves with the partial success to report, if anything was rejected. */
export async function exportSignal<S extends OtlpSignal>(
  context: ExportContext,
  signal: S,
  request: Requests[S],
  tenant: string,
  protocol: Protocol,
): Promise<PbPartialSuccess | undefined> {
  const { pipeline, metrics } = context;
  const { stored, rejected, errorMessage, write } = convert(pipeline, signal, request, tenant);
  try {
    await write();
  } catch (error) {
    const code = (error as { code?: string }).code;
    metrics.rejectedRecords.inc({ signal, reason: code === 'LOOKOUT_ERR_PIPELINE_OVERLOADED' ? 'overloaded' : 'storage' }, stored);
    throw error;
  }
  metrics.ingestedRecords.inc({ signal, protocol }, stored);
  if (rejected === 0) return undefined;
  metrics.rejectedRecords.inc({ signal, reason: 'invalid' }, rejected);
  return { [REJECTED_FIELD[signal]]: rejected, errorMessage };
}

function convert<S extends OtlpSignal>(
  pipeline: WritePipeline,
  signal: S,
  request: Requests[S],
  tenant: string,
): { stored: number; rejected: number; errorMessage: string; write: () => Promise<void> } {
  if (signal === 'logs') {
    const { records, rejected, errorMessage } = convertLogs(request as PbExportLogsRequest, tenant);
    return { stored: records.length, rejected, errorMessage, write: () => pipeline.writeLogs(records) };
  }
  if (signal === 'traces') {
    const { spans, rejected, errorMessage } = convertTraces(request as PbExportTraceRequest, tenant);
    return { stored: spans.length, rejected, errorMessage, write: () => pipeline.writeSpans(spans) };
  }
  const { samples, metadata, rejected, errorMessage } = convertMetrics(request as PbExportMetricsRequest, {});
  return { stored: samples.length, rejected, errorMessage, write: () => pipeline.writeSamples(tenant, samples, metadata) };
}
