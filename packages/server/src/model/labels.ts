import { createHash } from 'node:crypto';
import type { Labels } from './signals.js';

const NAME_END = Buffer.from([0xff]);
const PAIR_END = Buffer.from([0xfe]);

/** Labels sorted by name, the canonical order Prometheus uses for identity and output. */
export function sortedLabelEntries(labels: Labels): [string, string][] {
  return Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * A series' identity: 64 bits of SHA-1 over the sorted label pairs, as an unsigned decimal
 * string (ClickHouse UInt64; JS numbers would lose bits). Separators are bytes that cannot
 * occur in UTF-8 text, so {a="b\x00c"} and {a="b", c=""} cannot collide by construction.
 */
export function labelsFingerprint(labels: Labels): string {
  const hash = createHash('sha1');
  for (const [name, value] of sortedLabelEntries(labels)) {
    hash.update(name);
    hash.update(NAME_END);
    hash.update(value);
    hash.update(PAIR_END);
  }
  return hash.digest().readBigUInt64BE(0).toString();
}

/** Prometheus's legacy label-name syntax, what configurations and relabeling accept. */
export const LEGACY_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function isLegacyLabelName(name: string): boolean {
  return LEGACY_LABEL_NAME.test(name);
}
