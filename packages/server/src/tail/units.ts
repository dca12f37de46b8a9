/** Go duration strings ("300ms", "1h30m", "-1.5h") → milliseconds; undefined when invalid. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const m = /^([+-])?((?:[0-9]*\.?[0-9]+(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(text.trim());
  if (!m) return undefined;
  const unitMs: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const part of m[2]!.matchAll(/([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(part[1]) * unitMs[part[2]!]!;
  return m[1] === '-' ? -total : total;
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
