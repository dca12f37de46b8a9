/** The evaluator's internal values (Prometheus's Series/Sample/Matrix/Vector) and label helpers. */
import type { Labels } from '../../model/index.js';
import { PromqlError } from '../types.js';

export interface FPoint {
  t: number;
  f: number;
}

/** A series of an evaluated node; `dropName` is Prometheus 3's delayed `__name__` removal flag. */
export interface Series {
  metric: Labels;
  floats: FPoint[];
  dropName: boolean;
}

export interface Sample {
  metric: Labels;
  t: number;
  f: number;
  dropName: boolean;
}

export type Matrix = Series[];
export type Vector = Sample[];

export const METRIC_NAME = '__name__';

/** Label names of the metadata family Prometheus drops with the name (`DropReserved(IsMetadataLabel)`). */
const METADATA_LABELS = ['__name__', '__type__', '__unit__'];

/** The canonical identity of a label set: sorted name/value pairs with separators that cannot occur in UTF-8. */
export function labelsKey(labels: Labels): string {
  const cached = keyCache.get(labels);
  if (cached !== undefined) return cached;
  const names = Object.keys(labels).sort(compareStrings);
  let key = '';
  for (const name of names) key += `${name}\u0000${labels[name]}\u0001`;
  keyCache.set(labels, key);
  return key;
}

/** Label objects are never mutated once built (the evaluator copies on change), so keys can be cached. */
const keyCache = new WeakMap<Labels, string>();

/** Go's string ordering (bytewise UTF-8), which for BMP text equals UTF-16 code-unit order. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Prometheus's labels.Compare: pairwise by name then value, shorter first on a common prefix. */
export function compareLabels(a: Labels, b: Labels): number {
  const an = Object.keys(a).sort(compareStrings);
  const bn = Object.keys(b).sort(compareStrings);
  const n = Math.min(an.length, bn.length);
  for (let i = 0; i < n; i++) {
    const ka = an[i] as string;
    const kb = bn[i] as string;
    if (ka !== kb) return compareStrings(ka, kb);
    const va = a[ka] as string;
    const vb = b[kb] as string;
    if (va !== vb) return compareStrings(va, vb);
  }
  return an.length - bn.length;
}

/**
 * Sorts items by their label sets in labels.Compare order, sorting each set's names once
 * (compareLabels sorts both sets' names on every comparison).
 */
export function sortByLabels<T>(items: T[], labelsOf: (item: T) => Labels): T[] {
  if (items.length < 2) return items;
  const decorated = items.map((item) => {
    const labels = labelsOf(item);
    return { item, labels, names: Object.keys(labels).sort(compareStrings) };
  });
  decorated.sort((a, b) => {
    const an = a.names;
    const bn = b.names;
    const n = Math.min(an.length, bn.length);
    for (let i = 0; i < n; i++) {
      const ka = an[i]!;
      const kb = bn[i]!;
      if (ka !== kb) return compareStrings(ka, kb);
      const va = a.labels[ka]!;
      const vb = b.labels[kb]!;
      if (va !== vb) return compareStrings(va, vb);
    }
    return an.length - bn.length;
  });
  for (let i = 0; i < items.length; i++) items[i] = decorated[i]!.item;
  return items;
}

export function dropMetadata(labels: Labels): Labels {
  if (!METADATA_LABELS.some((n) => n in labels)) return labels;
  const out: Labels = {};
  for (const [k, v] of Object.entries(labels)) if (!METADATA_LABELS.includes(k)) out[k] = v;
  return out;
}

/** Prometheus's Labels.String(): `{a="b", c="d"}` with the name in front when present. */
export function formatLabels(labels: Labels): string {
  const names = Object.keys(labels).sort(compareStrings);
  const parts = names.map((n) => `${n}=${JSON.stringify(labels[n])}`);
  return `{${parts.join(', ')}}`;
}

export function executionError(message: string): PromqlError {
  return new PromqlError('execution', message);
}

export const DUPLICATE_LABELSET = 'vector cannot contain metrics with the same labelset';

/** Go's strconv.FormatFloat(f, 'f', -1, 64) as used by count_values. */
export function formatFloatPlain(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (Object.is(f, -0)) return '-0';
  const s = String(f);
  if (!/e/i.test(s)) return s;
  // Expand exponent notation into plain digits (shortest round-trip digits, like Go).
  const [mantissa, expText] = s.split('e') as [string, string];
  const exp = Number(expText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const pointPos = (mantissa.replace('-', '').indexOf('.') === -1 ? mantissa.replace('-', '').length : mantissa.replace('-', '').indexOf('.')) + exp;
  let out: string;
  if (pointPos <= 0) out = `0.${'0'.repeat(-pointPos)}${digits}`;
  else if (pointPos >= digits.length) out = digits + '0'.repeat(pointPos - digits.length);
  else out = `${digits.slice(0, pointPos)}.${digits.slice(pointPos)}`;
  return negative ? `-${out}` : out;
}

/** Go's strconv.FormatFloat(f, 'g', -1, 64), used in Prometheus messages (`%g`) and labels like `quantile`. */
export function formatFloatG(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const [, expText] = f.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  // Go's shortest %g switches to exponent form when exp < -4 || exp >= 6.
  const eprec = 6;
  if (exp < -4 || exp >= eprec) {
    const [m, e] = f.toExponential().split('e') as [string, string];
    const en = Number(e);
    return `${m}e${en < 0 ? '-' : '+'}${String(Math.abs(en)).padStart(2, '0')}`;
  }
  return formatFloatPlain(f);
}

/** Kahan–Neumaier increment exactly as Prometheus's kahansum.Inc. */
export function kahanInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (!Number.isFinite(t) && !Number.isNaN(t)) return [t, 0];
  if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  return [t, c];
}
