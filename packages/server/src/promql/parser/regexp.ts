/**
 * PromQL's regular expressions: RE2, fully anchored, `.` matching newline (Prometheus compiles
 * matchers and label_replace patterns as `^(?s:…)$`). The translation lives in model/re2.ts.
 */
import { compileRe2 } from '../../model/index.js';

/** The JavaScript RegExp for a PromQL regex. Throws Re2Error for what is invalid or unsupported. */
export function toJsRegExp(source: string): RegExp {
  return compileRe2(source, { anchored: true, dotAll: true });
}
