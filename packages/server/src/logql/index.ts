/** LogQL: parser, engine and the single-line matcher for Promtail's match stage. */
export type * from './types.js';
export type * from './ast.js';
export { LogqlError, LogqlParseError } from './errors.js';
export { parseLogql, parseLogSelector } from './parser/index.js';
export { createLogqlEngine } from './engine/index.js';
export { compileLogSelector } from './engine/selector.js';
