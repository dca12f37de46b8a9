/**
 * Relabeling with Prometheus's semantics (model/relabel): regexes are fully anchored and `.`
 * matches newline, the replacement expands `$1`, `${1}` and `$name` like Go's Regexp.Expand,
 * source values are joined with the separator (default `;`), hashmod uses the last 8 bytes of
 * the MD5 sum.
 */
import { createHash } from 'node:crypto';
import { compileRe2, expandRe2Template, isLegacyLabelName, type Labels, type RelabelAction } from '../model/index.js';

/** A relabel_config after defaults were applied. */
export interface RelabelRule {
  sourceLabels: string[];
  separator: string;
  targetLabel: string;
  regex: RegExp;
  /** The regex as written, for error messages and API output. */
  regexText: string;
  modulus: number;
  replacement: string;
  action: RelabelAction;
}

/** Prometheus compiles relabel regexes as `^(?s:…)$`: anchored, `.` matching newline. Throws Re2Error. */
export function compileRelabelRegex(source: string): RegExp {
  return compileRe2(source, { anchored: true, dotAll: true });
}

/**
 * Applies the rules in order. Returns the new labels, or undefined when a keep/drop rule
 * dropped the set. Empty values delete labels, as in Prometheus.
 */
export function relabel(input: Labels, rules: readonly RelabelRule[]): Labels | undefined {
  if (rules.length === 0) return input;
  const labels: Labels = { ...input };
  for (const rule of rules) {
    const value = rule.sourceLabels.map((name) => labels[name] ?? '').join(rule.separator);
    switch (rule.action) {
      case 'drop':
        if (rule.regex.test(value)) return undefined;
        break;
      case 'keep':
        if (!rule.regex.test(value)) return undefined;
        break;
      case 'dropequal':
        if ((labels[rule.targetLabel] ?? '') === value) return undefined;
        break;
      case 'keepequal':
        if ((labels[rule.targetLabel] ?? '') !== value) return undefined;
        break;
      case 'replace': {
        const match = rule.regex.exec(value);
        if (!match) break;
        const target = expandRe2Template(rule.targetLabel, match);
        if (!isLegacyLabelName(target)) break;
        const result = expandRe2Template(rule.replacement, match);
        if (result === '') delete labels[target];
        else labels[target] = result;
        break;
      }
      case 'lowercase':
        setOrDelete(labels, rule.targetLabel, value.toLowerCase());
        break;
      case 'uppercase':
        setOrDelete(labels, rule.targetLabel, value.toUpperCase());
        break;
      case 'hashmod': {
        const digest = createHash('md5').update(value).digest();
        const mod = digest.readBigUInt64BE(8) % BigInt(rule.modulus);
        labels[rule.targetLabel] = mod.toString();
        break;
      }
      case 'labelmap':
        for (const [name, labelValue] of Object.entries({ ...labels })) {
          const match = rule.regex.exec(name);
          if (match) {
            const newName = expandRe2Template(rule.replacement, match);
            setOrDelete(labels, newName, labelValue);
          }
        }
        break;
      case 'labeldrop':
        for (const name of Object.keys(labels)) if (rule.regex.test(name)) delete labels[name];
        break;
      case 'labelkeep':
        for (const name of Object.keys(labels)) if (!rule.regex.test(name)) delete labels[name];
        break;
    }
  }
  return labels;
}

function setOrDelete(labels: Labels, name: string, value: string): void {
  if (value === '') delete labels[name];
  else labels[name] = value;
}
