import { LookoutError } from '../../errors.js';
import type { PositionRange } from '../ast.js';

/**
 * An invalid PromQL query. `message` is Prometheus's text including its `line:col: parse error: `
 * prefix; `detail` is the text after that prefix. Surfaces as the Prometheus API's `bad_data`.
 */
export class PromqlParseError extends LookoutError {
  readonly errorType = 'bad_data' as const;
  /** UTF-16 offsets of the offending part of the query. */
  readonly positionRange: PositionRange;
  readonly detail: string;

  constructor(query: string, positionRange: PositionRange, detail: string) {
    super('LOOKOUT_ERR_PROMQL_PARSE', `${startPosInput(query, positionRange.start)}: parse error: ${detail}`);
    this.name = 'PromqlParseError';
    this.positionRange = positionRange;
    this.detail = detail;
  }
}

/** Prometheus's `line:col` of an offset (columns count UTF-8 bytes, 1-based). */
function startPosInput(query: string, pos: number): string {
  if (query === '') return 'unknown position';
  if (pos < 0 || pos > query.length) return 'invalid position';
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < pos; i++) {
    if (query.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  const col = Buffer.byteLength(query.slice(lineStart, pos), 'utf8') + 1;
  return `${line}:${col}`;
}
