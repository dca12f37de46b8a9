import type { Labels } from '../../model/index.js';
import { LogqlParseError } from '../errors.js';
import { parseLogSelector } from '../parser/index.js';
import { compileLineFilter, compileMatcher } from './pipeline.js';

/**
 * A stream selector with line filters as a predicate on one line and its labels (Promtail's
 * `match` stage). Stages other than line filters are refused: Promtail's selector takes none.
 * Loki's non-empty-matcher rule is not applied (Promtail parses without validation).
 */
export function compileLogSelector(selector: string): (labels: Labels, line: string) => boolean {
  const sel = parseLogSelector(selector, { validate: false });
  const matchers = sel.matchers.map((m) => ({ name: m.name, test: compileMatcher(m) }));
  const filters = sel.stages.map((s) => {
    if (s.kind !== 'line_filter') throw new LogqlParseError(`only line filters are allowed in a selector, found ${s.kind}`);
    return compileLineFilter(s.op, s.values);
  });
  return (labels, line) => matchers.every((m) => m.test(labels[m.name] ?? '')) && filters.every((f) => f(line));
}
