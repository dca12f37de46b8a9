/** Decoders: wire formats → model records. No HTTP, no storage. */
export * from './otlp/proto.js';
export { convertLogs } from './otlp/logs.js';
export { convertTraces } from './otlp/traces.js';
export { convertMetrics } from './otlp/metrics.js';
export * from './remote-write/index.js';
export * from './loki-push/index.js';
