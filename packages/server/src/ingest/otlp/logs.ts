/**
 * OTLP ExportLogsServiceRequest (protobufjs message, from protobuf or JSON) → model LogRecords.
 * Records of one resource/scope share one converted Resource/Scope object.
 */
import type { LogRecord } from '../../model/index.js';
import { anyValueToText } from '../../model/index.js';
import {
  MAX_REJECTION_REASONS,
  convertAnyValue,
  convertKeyValues,
  convertResource,
  convertScope,
  isAllZero,
  rejectionMessage,
  serviceNameOf,
  uint64ToBigInt,
} from './attributes.js';
import { lokiStreamLabels } from './loki-labels.js';
import { bytesToHex } from './proto.js';
import type { PbExportLogsRequest } from './proto.js';

export interface ConvertedLogs {
  records: LogRecord[];
  /** Records left out, for the response's partial_success.rejected_log_records. */
  rejected: number;
  /** The first few reasons ('' when nothing was rejected). */
  errorMessage: string;
}

/** Highest SeverityNumber defined by OTLP (FATAL4); anything outside 0..24 becomes 0 (unspecified). */
const MAX_SEVERITY_NUMBER = 24;

/**
 * Converts every log record of the request. Trace and span ids are optional: absent or all
 * zeros ⇒ ''; a present id of the wrong length rejects the record (logs.proto says receivers
 * SHOULD instead treat an invalid id as absent; rejecting tells the sender). `timestamp` falls
 * back to the observed time when 0 (as the Collector's ClickHouse exporter does), and the
 * observed time to the receive time when 0, so a record never lands at the epoch.
 */
export function convertLogs(request: PbExportLogsRequest, tenant: string): ConvertedLogs {
  const records: LogRecord[] = [];
  const reasons: string[] = [];
  let rejected = 0;
  let index = 0;
  const receivedAt = BigInt(Date.now()) * 1_000_000n;

  const resourceLogs = request.resourceLogs;
  if (resourceLogs) {
    for (let r = 0; r < resourceLogs.length; r++) {
      const rl = resourceLogs[r]!;
      const resource = convertResource(rl.resource, rl.schemaUrl);
      const serviceName = serviceNameOf(resource.attributes);
      const streamLabels = lokiStreamLabels(resource.attributes);
      const scopeLogs = rl.scopeLogs;
      if (!scopeLogs) continue;
      for (let s = 0; s < scopeLogs.length; s++) {
        const sl = scopeLogs[s]!;
        const logRecords = sl.logRecords;
        if (!logRecords || logRecords.length === 0) continue;
        const scope = convertScope(sl.scope, sl.schemaUrl);
        for (let l = 0; l < logRecords.length; l++) {
          const lr = logRecords[l]!;
          const i = index++;

          let traceId = '';
          const traceIdBytes = lr.traceId;
          if (traceIdBytes && traceIdBytes.length > 0) {
            if (traceIdBytes.length !== 16) {
              rejected++;
              if (reasons.length < MAX_REJECTION_REASONS) {
                reasons.push(`log record ${i}: trace_id must be 16 bytes, got ${traceIdBytes.length}`);
              }
              continue;
            }
            if (!isAllZero(traceIdBytes)) traceId = bytesToHex(traceIdBytes);
          }
          let spanId = '';
          const spanIdBytes = lr.spanId;
          if (spanIdBytes && spanIdBytes.length > 0) {
            if (spanIdBytes.length !== 8) {
              rejected++;
              if (reasons.length < MAX_REJECTION_REASONS) {
                reasons.push(`log record ${i}: span_id must be 8 bytes, got ${spanIdBytes.length}`);
              }
              continue;
            }
            if (!isAllZero(spanIdBytes)) spanId = bytesToHex(spanIdBytes);
          }

          let observedTimestamp = uint64ToBigInt(lr.observedTimeUnixNano);
          if (observedTimestamp === 0n) observedTimestamp = receivedAt;
          let timestamp = uint64ToBigInt(lr.timeUnixNano);
          if (timestamp === 0n) timestamp = observedTimestamp;

          let severityNumber = lr.severityNumber ?? 0;
          if (severityNumber < 0 || severityNumber > MAX_SEVERITY_NUMBER) severityNumber = 0;

          const body = lr.body;
          let bodyText = '';
          let bodyType: LogRecord['bodyType'] = '';
          if (body !== null && body !== undefined) {
            if (body.stringValue != null) bodyText = body.stringValue;
            else {
              const [text, type] = anyValueToText(convertAnyValue(body));
              bodyText = text;
              bodyType = type ?? '';
            }
          }

          records.push({
            tenant,
            timestamp,
            observedTimestamp,
            traceId,
            spanId,
            flags: lr.flags ?? 0,
            severityText: lr.severityText ?? '',
            severityNumber,
            serviceName,
            streamLabels,
            body: bodyText,
            bodyType,
            eventName: lr.eventName ?? '',
            attributes: convertKeyValues(lr.attributes),
            droppedAttributesCount: lr.droppedAttributesCount ?? 0,
            resource,
            scope,
          });
        }
      }
    }
  }
  return { records, rejected, errorMessage: rejectionMessage(reasons, rejected) };
}
