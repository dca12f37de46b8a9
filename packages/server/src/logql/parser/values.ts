/** Literal values of LogQL: strings, durations, byte sizes, numbers (as Loki's lexer reads them). */

import { parseGoDurationNs } from '../../model/index.js';

/** Go's strconv.Unquote for "..." strings and `raw` strings. Returns undefined when invalid. */
export function unquote(text: string): string | undefined {
  if (text.startsWith('`')) return text.endsWith('`') && text.length >= 2 ? text.slice(1, -1) : undefined;
  if (!text.startsWith('"') || !text.endsWith('"') || text.length < 2) return undefined;
  const body = text.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = body[++i];
    switch (n) {
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case "'": return undefined;
      case 'x': {
        const hex = body.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
        out += String.fromCharCode(parseInt(hex, 16));
        i += 2;
        break;
      }
      case 'u':
      case 'U': {
        const len = n === 'u' ? 4 : 8;
        const hex = body.slice(i + 1, i + 1 + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) return undefined;
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) return undefined;
        out += String.fromCodePoint(cp);
        i += len;
        break;
      }
      default:
        if (n !== undefined && /[0-7]/.test(n)) {
          const oct = body.slice(i, i + 3);
          if (!/^[0-7]{3}$/.test(oct)) return undefined;
          out += String.fromCharCode(parseInt(oct, 8));
          i += 2;
          break;
        }
        return undefined;
    }
  }
  return out;
}

/** Go's time.ParseDuration plus Prometheus' d/w/y units, in nanoseconds (as a double). */
export function parseDurationNs(text: string): number | undefined {
  try {
    return Number(parseGoDurationNs(text.trim(), { prometheusUnits: true }));
  } catch {
    return undefined;
  }
}

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  kib: 1024,
  mb: 1e6,
  mib: 1024 ** 2,
  gb: 1e9,
  gib: 1024 ** 3,
  tb: 1e12,
  tib: 1024 ** 4,
  pb: 1e15,
  pib: 1024 ** 5,
  eb: 1e18,
  eib: 1024 ** 6,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  t: 1e12,
  p: 1e15,
  e: 1e18,
  ki: 1024,
  mi: 1024 ** 2,
  gi: 1024 ** 3,
  ti: 1024 ** 4,
  pi: 1024 ** 5,
  ei: 1024 ** 6,
  '': 1,
};

/** go-humanize's ParseBytes (what Loki uses for byte literals and `bytes()`): "1.5 KiB", "42MB", "10". */
export function parseBytes(text: string): number | undefined {
  const m = /^\s*([0-9][0-9.,]*)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const num = Number(m[1]!.replace(/,/g, ''));
  const unit = BYTE_UNITS[m[2]!.toLowerCase()];
  if (!Number.isFinite(num) || unit === undefined) return undefined;
  return num * unit;
}

/** Go's strconv.ParseFloat (decimal, hex 0x..., Inf, NaN). */
export function parseGoFloat(text: string): number | undefined {
  const t = text.trim();
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(t)) return NaN;
  if (/^[+-]?0x[0-9a-f]+$/i.test(t)) return (t.startsWith('-') ? -1 : 1) * parseInt(t.replace(/^[+-]?0x/i, ''), 16);
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}
