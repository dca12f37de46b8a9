/**
 * OTLP ExportTraceServiceRequest (protobufjs message, from protobuf or JSON) → model Spans.
 * Spans of one resource/scope share one converted Resource/Scope object.
 */
import type { Span, SpanEvent, SpanLink } from '../../model/index.js';
import { SPAN_KINDS, STATUS_CODES } from '../../model/index.js';
import {
  MAX_REJECTION_REASONS,
  convertKeyValues,
  convertResource,
  convertScope,
  idProblem,
  isAllZero,
  rejectionMessage,
  serviceNameOf,
  uint64ToBigInt,
} from './attributes.js';
import { bytesToHex } from './proto.js';
import type { PbExportTraceRequest, PbSpan } from './proto.js';

export interface ConvertedTraces {
  spans: Span[];
  /** Spans left out, for the response's partial_success.rejected_spans. */
  rejected: number;
  /** The first few reasons ('' when nothing was rejected). */
  errorMessage: string;
}

/**
 * Converts every span of the request. A span is rejected when its trace_id (16 bytes) or
 * span_id (8 bytes) is missing, all zeros or of another length, when a present parent_span_id
 * or link id has the wrong length. An all-zero parent_span_id means a root span ('').
 * Kind and status code outside the OTLP enums become 0 (unspecified / unset).
 */
export function convertTraces(request: PbExportTraceRequest, tenant: string): ConvertedTraces {
  const spans: Span[] = [];
  const reasons: string[] = [];
  let rejected = 0;
  let index = 0;

  const resourceSpans = request.resourceSpans;
  if (resourceSpans) {
    for (let r = 0; r < resourceSpans.length; r++) {
      const rs = resourceSpans[r]!;
      const resource = convertResource(rs.resource, rs.schemaUrl);
      const serviceName = serviceNameOf(resource.attributes);
      const scopeSpans = rs.scopeSpans;
      if (!scopeSpans) continue;
      for (let s = 0; s < scopeSpans.length; s++) {
        const ss = scopeSpans[s]!;
        const pbSpans = ss.spans;
        if (!pbSpans || pbSpans.length === 0) continue;
        const scope = convertScope(ss.scope, ss.schemaUrl);
        for (let p = 0; p < pbSpans.length; p++) {
          const span = pbSpans[p]!;
          const i = index++;
          const problem = spanProblem(span);
          if (problem !== '') {
            rejected++;
            if (reasons.length < MAX_REJECTION_REASONS) reasons.push(`span ${i}: ${problem}`);
            continue;
          }
          const parent = span.parentSpanId;
          let kind = span.kind ?? 0;
          if (kind < 0 || kind >= SPAN_KINDS.length) kind = 0;
          const status = span.status;
          let statusCode = status?.code ?? 0;
          if (statusCode < 0 || statusCode >= STATUS_CODES.length) statusCode = 0;

          spans.push({
            tenant,
            traceId: bytesToHex(span.traceId),
            spanId: bytesToHex(span.spanId),
            parentSpanId: parent && parent.length > 0 && !isAllZero(parent) ? bytesToHex(parent) : '',
            traceState: span.traceState ?? '',
            flags: span.flags ?? 0,
            name: span.name ?? '',
            kind,
            startTime: uint64ToBigInt(span.startTimeUnixNano),
            endTime: uint64ToBigInt(span.endTimeUnixNano),
            serviceName,
            attributes: convertKeyValues(span.attributes),
            droppedAttributesCount: span.droppedAttributesCount ?? 0,
            events: convertEvents(span),
            droppedEventsCount: span.droppedEventsCount ?? 0,
            links: convertLinks(span),
            droppedLinksCount: span.droppedLinksCount ?? 0,
            statusCode,
            statusMessage: status?.message ?? '',
            resource,
            scope,
          });
        }
      }
    }
  }
  return { spans, rejected, errorMessage: rejectionMessage(reasons, rejected) };
}

/** Why the span cannot be stored, or ''. */
function spanProblem(span: PbSpan): string {
  let problem = idProblem('trace_id', span.traceId, 16);
  if (problem !== '') return problem;
  problem = idProblem('span_id', span.spanId, 8);
  if (problem !== '') return problem;
  const parent = span.parentSpanId;
  if (parent && parent.length !== 0 && parent.length !== 8) {
    return `parent_span_id must be 8 bytes, got ${parent.length}`;
  }
  const links = span.links;
  if (links) {
    for (let l = 0; l < links.length; l++) {
      const link = links[l]!;
      const traceId = link.traceId;
      if (traceId && traceId.length !== 0 && traceId.length !== 16) {
        return `links[${l}].trace_id must be 16 bytes, got ${traceId.length}`;
      }
      const spanId = link.spanId;
      if (spanId && spanId.length !== 0 && spanId.length !== 8) {
        return `links[${l}].span_id must be 8 bytes, got ${spanId.length}`;
      }
    }
  }
  return '';
}

function convertEvents(span: PbSpan): SpanEvent[] {
  const out: SpanEvent[] = [];
  const events = span.events;
  if (!events) return out;
  for (let e = 0; e < events.length; e++) {
    const event = events[e]!;
    out.push({
      timestamp: uint64ToBigInt(event.timeUnixNano),
      name: event.name ?? '',
      attributes: convertKeyValues(event.attributes),
      droppedAttributesCount: event.droppedAttributesCount ?? 0,
    });
  }
  return out;
}

/** Link ids are kept as sent (hex, '' when empty); spanProblem has checked their lengths. */
function convertLinks(span: PbSpan): SpanLink[] {
  const out: SpanLink[] = [];
  const links = span.links;
  if (!links) return out;
  for (let l = 0; l < links.length; l++) {
    const link = links[l]!;
    out.push({
      traceId: bytesToHex(link.traceId),
      spanId: bytesToHex(link.spanId),
      traceState: link.traceState ?? '',
      flags: link.flags ?? 0,
      attributes: convertKeyValues(link.attributes),
      droppedAttributesCount: link.droppedAttributesCount ?? 0,
    });
  }
  return out;
}
