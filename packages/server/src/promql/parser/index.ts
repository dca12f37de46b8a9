/** The PromQL parser: query text → typed, checked AST (ast.ts), and back to text / JSON. */
export { parsePromql, parsePromqlSelector, cloneExpr, documentedType, type ParseOptions } from './parser.js';
export { PromqlParseError } from './errors.js';
export { exprToString, formatPromql, promqlAstToJson, formatFloat } from './printer.js';
// The name promql/'s callers know; the implementation is model/duration.ts.
export { formatPromDuration as formatDurationMs } from '../../model/index.js';
export { PROMQL_FUNCTIONS, type PromqlFunction } from './functions.js';
export { toJsRegExp } from './regexp.js';
