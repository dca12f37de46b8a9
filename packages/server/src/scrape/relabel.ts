/**
 * Relabeling with Prometheus's semantics (model/relabel): regexes are fully anchored, the
 * replacement expands `$1`, `${1}` and `$name` like Go's Regexp.Expand, source values are joined
 * with the separator (default `;`), hashmod uses the last 8 bytes of the MD5 sum.
 */
import { createHash } from 'node:crypto';
import type { Labels } from '../model/index.js';

export const RELABEL_ACTIONS = [
  'replace',
  'keep',
  'drop',
  'keepequal',
  'dropequal',
  'hashmod',
  'labelmap',
  'labeldrop',
  'labelkeep',
  'lowercase',
  'uppercase',
] as const;
export type RelabelAction = (typeof RELABEL_ACTIONS)[number];

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

export const DEFAULT_REGEX = '(.*)';

/**
 * Compiles a Go RE2 regex anchored at both ends into a JavaScript RegExp. Handles the syntax
 * that differs: `(?P<name>`, leading flag groups `(?i)`/`(?s)`, `\z` and `\A`.
 */
export function compileAnchoredRegex(source: string): RegExp {
  let body = source;
  let flags = '';
  const flagGroup = /^\(\?([imsU]+)\)/.exec(body);
  if (flagGroup) {
    for (const f of flagGroup[1]!) {
      if (f === 'i' && !flags.includes('i')) flags += 'i';
      else if (f === 's' && !flags.includes('s')) flags += 's';
      else if (f !== 'i' && f !== 's') throw new Error(`regex flag "${f}" is not supported`);
    }
    body = body.slice(flagGroup[0].length);
  }
  body = body.replace(/\(\?P</g, '(?<').replace(/\\z/g, '$').replace(/\\A/g, '^');
  return new RegExp(`^(?:${body})$`, flags);
}

/** Go's Regexp.Expand for a template against a match. */
export function expandTemplate(template: string, match: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '$' || i + 1 >= template.length) {
      out += c;
      continue;
    }
    const next = template[i + 1]!;
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string;
    let end: number;
    if (next === '{') {
      const close = template.indexOf('}', i + 2);
      const inner = close < 0 ? '' : template.slice(i + 2, close);
      if (close < 0 || !/^\w+$/.test(inner)) {
        // Go copies a malformed reference literally.
        out += c;
        continue;
      }
      name = inner;
      end = close + 1;
    } else {
      const m = /^\w+/.exec(template.slice(i + 1));
      if (!m) {
        out += c;
        continue;
      }
      name = m[0];
      end = i + 1 + name.length;
    }
    if (/^\d+$/.test(name)) {
      const index = Number(name);
      out += index < match.length ? (match[index] ?? '') : '';
    } else {
      out += match.groups?.[name] ?? '';
    }
    i = end - 1;
  }
  return out;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function isValidLabelName(name: string): boolean {
  return LABEL_NAME.test(name);
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
        const target = expandTemplate(rule.targetLabel, match);
        if (!isValidLabelName(target)) break;
        const result = expandTemplate(rule.replacement, match);
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
            const newName = expandTemplate(rule.replacement, match);
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
