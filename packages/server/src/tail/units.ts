import { parseGoDurationNs } from '../model/index.js';

/** Go duration strings ("300ms", "1h30m", "-1.5h") → milliseconds; undefined when invalid. */
export function parseGoDuration(text: string): number | undefined {
  try {
    return Number(parseGoDurationNs(text.trim())) / 1e6;
  } catch {
    return undefined;
  }
}

/** Byte sizes as Promtail's flagext.ByteSize reads them (base 2: "1KB" = 1024). */
export function parseByteSize(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isInteger(text) && text >= 0 ? text : undefined;
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([KMGTPE]i?B?|B)?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? 'B').toUpperCase().replace('I', '').replace(/B$/, '');
  const power = ['', 'K', 'M', 'G', 'T', 'P', 'E'].indexOf(unit);
  if (power < 0) return undefined;
  return Math.floor(Number(m[1]) * 1024 ** power);
}
