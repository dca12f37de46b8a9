import { LookoutError, type ErrorCode } from '../errors.js';

/** A LogQL failure other than a parse error: bad input (400), limits (400) or time-outs, as Loki answers. */
export class LogqlError extends LookoutError {
  constructor(code: Extract<ErrorCode, `LOOKOUT_ERR_LOGQL_${string}`>, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'LogqlError';
  }
}

/**
 * A query that does not parse or validate. The message is Loki's text: `parse error at line L,
 * col C: ...` when a position is known, `parse error : ...` otherwise.
 */
export class LogqlParseError extends LogqlError {
  /** 1-based, 0 when the error has no position (as Loki). */
  readonly line: number;
  readonly col: number;
  constructor(detail: string, line = 0, col = 0) {
    super('LOOKOUT_ERR_LOGQL_PARSE', line === 0 && col === 0 ? `parse error : ${detail}` : `parse error at line ${line}, col ${col}: ${detail}`);
    this.name = 'LogqlParseError';
    this.line = line;
    this.col = col;
  }
}
