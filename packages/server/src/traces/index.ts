/** Trace query: the TraceQL subset and Tempo's response shapes. */
export * from './traceql.js';
export * from './tempo-format.js';
