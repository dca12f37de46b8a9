/** Prometheus's query annotations (warnings and infos), deduplicated by message like util/annotations. */
import type { PositionRange } from '../ast.js';

export class Annotations {
  private readonly warnings = new Map<string, PositionRange | undefined>();
  private readonly infos = new Map<string, PositionRange | undefined>();

  warn(message: string, pos?: PositionRange): void {
    const text = `PromQL warning: ${message}`;
    if (!this.warnings.has(text)) this.warnings.set(text, pos);
  }

  info(message: string, pos?: PositionRange): void {
    const text = `PromQL info: ${message}`;
    if (!this.infos.has(text)) this.infos.set(text, pos);
  }

  /** Messages as Prometheus's API prints them: the text, then ` (line:column)` of the node. */
  render(query: string): { warnings: string[]; infos: string[] } {
    const withPos = (entries: Map<string, PositionRange | undefined>): string[] =>
      [...entries].map(([text, pos]) => (pos === undefined ? text : `${text} (${lineColumn(query, pos.start)})`));
    return { warnings: withPos(this.warnings), infos: withPos(this.infos) };
  }
}

function lineColumn(query: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < query.length; i++) {
    if (query[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return `${line}:${offset - lineStart + 1}`;
}
