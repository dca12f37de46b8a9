/**
 * LogQL's regular expressions through the one RE2 translation of model/re2.ts. Label matchers
 * are Prometheus matchers (anchored, `.` matching newlines: `^(?s:…)$`); line filters, the
 * regexp parser and label_replace's source use Go's regexp.Compile defaults.
 */
import { compileRe2 as compileGoRe2, Re2Error } from '../model/index.js';

export function compileRe2(pattern: string, options: { anchored: boolean }): RegExp {
  return compileGoRe2(pattern, options.anchored ? { anchored: true, dotAll: true } : {});
}

/** The compiled pattern, or Go's error text for an invalid one. */
export function tryCompileRe2(pattern: string, anchored: boolean): RegExp | string {
  try {
    return compileRe2(pattern, { anchored });
  } catch (error) {
    if (error instanceof Re2Error) return error.message;
    return `error parsing regexp: ${(error as Error).message}`;
  }
}
