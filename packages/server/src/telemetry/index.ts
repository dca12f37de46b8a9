/**
 * Lookout's own metrics, exposed at /metrics in Prometheus text format. One registry per
 * server instance (no global default registry), passed down to the subsystems that count.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServerMetrics {
  readonly registry: Registry;
  /** Records accepted, by signal (logs/traces/metrics) and protocol (otlp_http, otlp_grpc, ...). */
  readonly ingestedRecords: Counter<'signal' | 'protocol'>;
  /** Records refused, by signal and reason (invalid, overloaded, undecodable, too_large, ...). */
  readonly rejectedRecords: Counter<'signal' | 'reason'>;
  /** Requests refused before their body was decoded (record count unknown), by signal and reason. */
  readonly refusedRequests: Counter<'signal' | 'reason'>;
  readonly insertDuration: Histogram<'table' | 'outcome'>;
  readonly insertedRows: Counter<'table'>;
  readonly requestDuration: Histogram<'method' | 'route' | 'status_code'>;
}

/** What the embedded engine's write-ahead log reports (storage's `writeAheadLog()`). */
export interface WriteAheadLogStats {
  pendingBytes: number;
  pendingRows: number;
  pendingSegments: number;
  storedRows: Record<string, number>;
  failedSegments: number;
}

export function createServerMetrics(
  options: { processMetrics?: boolean; writeAheadLog?: () => WriteAheadLogStats } = {},
): ServerMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'lookout_' });
  const registers = [registry];
  const wal = options.writeAheadLog;
  if (wal) {
    // Read at scrape time: the log keeps the figures, these only expose them.
    new Gauge({
      name: 'lookout_wal_pending_bytes',
      help: 'Bytes acknowledged into the write-ahead log and not yet in storage.',
      registers,
      collect() {
        this.set(wal().pendingBytes);
      },
    });
    new Gauge({
      name: 'lookout_wal_pending_rows',
      help: 'Rows acknowledged into the write-ahead log and not yet in storage.',
      registers,
      collect() {
        this.set(wal().pendingRows);
      },
    });
    new Counter({
      name: 'lookout_wal_stored_rows_total',
      help: 'Rows moved from the write-ahead log into storage, by table.',
      labelNames: ['table'],
      registers,
      collect() {
        this.reset();
        for (const [table, rows] of Object.entries(wal().storedRows)) this.inc({ table }, rows);
      },
    });
    new Counter({
      name: 'lookout_wal_failed_segments_total',
      help: 'Write-ahead log segments storage refused after every retry (kept in the failed/ directory).',
      registers,
      collect() {
        this.reset();
        this.inc(wal().failedSegments);
      },
    });
  }
  return {
    registry,
    ingestedRecords: new Counter({
      name: 'lookout_ingested_records_total',
      help: 'Records accepted and stored, by signal and protocol.',
      labelNames: ['signal', 'protocol'],
      registers,
    }),
    rejectedRecords: new Counter({
      name: 'lookout_rejected_records_total',
      help: 'Records refused, by signal and reason.',
      labelNames: ['signal', 'reason'],
      registers,
    }),
    refusedRequests: new Counter({
      name: 'lookout_refused_requests_total',
      help: 'Ingest requests refused before decoding, by signal and reason (overloaded).',
      labelNames: ['signal', 'reason'],
      registers,
    }),
    insertDuration: new Histogram({
      name: 'lookout_insert_duration_seconds',
      help: 'Duration of batched inserts into storage.',
      labelNames: ['table', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    insertedRows: new Counter({
      name: 'lookout_inserted_rows_total',
      help: 'Rows written to storage, by table.',
      labelNames: ['table'],
      registers,
    }),
    requestDuration: new Histogram({
      name: 'lookout_http_request_duration_seconds',
      help: 'HTTP request duration by route template and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
  };
}
