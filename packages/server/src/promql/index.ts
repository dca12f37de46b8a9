/** The PromQL subsystem's public face: the engine, its value and error types, and the parser. */
export type * from './types.js';
export { PromqlError } from './types.js';
export type * from './ast.js';
export {
  parsePromql,
  parsePromqlSelector,
  PromqlParseError,
  exprToString,
  formatPromql,
  promqlAstToJson,
  formatDurationMs,
  PROMQL_FUNCTIONS,
  type ParseOptions,
  type PromqlFunction,
} from './parser/index.js';
export {
  createEngine as createPromqlEngineWithAst,
  type PromqlEngineOptions,
  type PromqlEngineWithAst,
  type ParsedInstantQuery,
  type ParsedRangeQuery,
} from './engine/engine.js';
import { createEngine, type PromqlEngineOptions } from './engine/engine.js';
import type { PromqlEngine } from './types.js';

/** Prometheus-compatible PromQL evaluation over the storage's SeriesQuerier. */
export function createPromqlEngine(options: PromqlEngineOptions): PromqlEngine {
  return createEngine(options);
}
