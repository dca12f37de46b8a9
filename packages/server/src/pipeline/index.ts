/**
 * The write pipeline between decoders and storage: bounded, batched, acknowledged only once
 * stored. Decoders hand it model records; it hands storage large batches.
 */
import type { LogRecord, MetricMetadata, Sample, Span } from '../model/index.js';
import type { Appender } from '../storage/index.js';
import type { ServerMetrics } from '../telemetry/index.js';
import { Gauge } from 'prom-client';
import { Batcher } from './batcher.js';

export { Batcher } from './batcher.js';

export interface PipelineLimits {
  /** Rows per insert. */
  maxBatchRows: number;
  /** Rows accepted but not yet stored per signal before requests are refused with 503. */
  maxPendingRows: number;
}

export const DEFAULT_PIPELINE_LIMITS: PipelineLimits = { maxBatchRows: 50_000, maxPendingRows: 200_000 };

export interface WritePipeline {
  writeLogs(records: readonly LogRecord[]): Promise<void>;
  writeSpans(spans: readonly Span[]): Promise<void>;
  writeSamples(tenant: string, samples: readonly Sample[], metadata?: readonly MetricMetadata[]): Promise<void>;
  /** Rows accepted and not yet stored, all signals. */
  pendingRows(): number;
  /** True when a write of this signal would be refused now (queue full or shutting down). */
  saturated(signal: 'logs' | 'traces' | 'metrics'): boolean;
  /** Refuses new writes and stores everything already accepted. */
  close(): Promise<void>;
}

interface TenantSample {
  tenant: string;
  sample: Sample;
}

export function createWritePipeline(options: {
  appender: Appender;
  metrics: ServerMetrics;
  limits?: Partial<PipelineLimits>;
}): WritePipeline {
  const limits = { ...DEFAULT_PIPELINE_LIMITS, ...options.limits };
  const { appender, metrics } = options;

  function observe(table: string) {
    return (rows: number, seconds: number, error?: unknown) => {
      metrics.insertDuration.observe({ table, outcome: error === undefined ? 'ok' : 'error' }, seconds);
      if (error === undefined) metrics.insertedRows.inc({ table }, rows);
    };
  }

  const logs = new Batcher<LogRecord>({
    name: 'logs',
    ...limits,
    flush: (rows) => appender.appendLogs(rows),
    onFlush: observe('otel_logs'),
  });
  const spans = new Batcher<Span>({
    name: 'traces',
    ...limits,
    flush: (rows) => appender.appendSpans(rows),
    onFlush: observe('otel_traces'),
  });
  const samples = new Batcher<TenantSample>({
    name: 'metrics',
    ...limits,
    // One insert at a time: two in flight halve the batches and measured +13-15 % rate for
    // +48 % CPU per sample, each insert having a fixed cost (docs/BENCHMARKS.md).
    maxInFlight: 1,
    flush: async (rows) => {
      const byTenant = new Map<string, Sample[]>();
      for (const { tenant, sample } of rows) {
        let list = byTenant.get(tenant);
        if (!list) byTenant.set(tenant, (list = []));
        list.push(sample);
      }
      for (const [tenant, list] of byTenant) await appender.appendSamples(tenant, list);
    },
    onFlush: observe('metric_samples'),
  });
  const batchers = { otel_logs: logs, otel_traces: spans, metric_samples: samples };

  new Gauge({
    name: 'lookout_write_queue_rows',
    help: 'Rows accepted but not yet stored, by table.',
    labelNames: ['table'],
    registers: [metrics.registry],
    collect() {
      for (const [table, batcher] of Object.entries(batchers)) this.set({ table }, batcher.pendingRows);
    },
  });

  return {
    writeLogs: (records) => logs.submit(records),
    writeSpans: (list) => spans.submit(list),
    async writeSamples(tenant, list, metadata) {
      const pending = samples.submit(list.map((sample) => ({ tenant, sample })));
      // Metadata is small and idempotent; it goes straight to storage beside the samples.
      if (metadata && metadata.length > 0) await Promise.all([pending, appender.appendMetadata(tenant, metadata)]);
      else await pending;
    },
    pendingRows: () => logs.pendingRows + spans.pendingRows + samples.pendingRows,
    saturated: (signal) => (signal === 'logs' ? logs : signal === 'traces' ? spans : samples).saturated,
    async close() {
      await Promise.all([logs.close(), spans.close(), samples.close()]);
    },
  };
}
