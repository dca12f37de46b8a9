/**
 * Redaction applied before anything leaves the process: log records (every sink) and span
 * attributes, events and status messages. Keys are matched case-insensitively after dropping
 * separators (`api_key`, `Api-Key` and `apiKey` are one key), at any depth; string values are
 * scanned for credentials that leak into free text (bearer tokens, JWTs, `password=...`, card
 * numbers passing the Luhn check, optionally e-mail addresses).
 */

export const REDACTED = '[REDACTED]';

/** Keys whose whole value is replaced (normalized: lower case, letters and digits only). */
export const DEFAULT_REDACT_KEYS = [
  'password', 'passwd', 'pwd', 'pass', 'secret', 'token', 'authorization', 'auth', 'cookie', 'setcookie',
  'apikey', 'xapikey', 'privatekey', 'clientsecret', 'credentials', 'credential', 'sessionid', 'session',
  'accesstoken', 'refreshtoken', 'idtoken', 'xauthtoken', 'cardnumber', 'cvv', 'cvc', 'ssn',
];

/** Substrings that make any key containing them sensitive (`dbPassword`, `stripe_secret_key`). */
const SENSITIVE_KEY_PARTS = ['password', 'passwd', 'secret', 'token', 'apikey', 'authorization', 'cookie', 'privatekey', 'credential'];

export interface RedactOptions {
  /** Off only when explicitly false. */
  enabled?: boolean;
  /** Replaces the default key list. */
  keys?: string[];
  /** Added to the key list (default or replaced). */
  extraKeys?: string[];
  /** Extra value patterns; every match is replaced by `[REDACTED]`. Use the `g` flag. */
  patterns?: RegExp[];
  /** Mask e-mail addresses in values (default false: they are often needed for support). */
  emails?: boolean;
  /** Mask card numbers that pass the Luhn check (default true). */
  cards?: boolean;
}

const BEARER = /\b(Bearer|Basic|Token)\s+[A-Za-z0-9\-._~+/]{8,}=*/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}/g;
const KEY_VALUE =
  /\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?token|refresh[_-]?token|client[_-]?secret|authorization)(["']?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&,;"'}]+)/gi;
const CARD_CANDIDATE = /\b\d(?:[ -]?\d){12,18}\b/g;
const URL_CREDENTIALS = /(\/\/[^:/\s@]+):([^@/\s]+)@/g;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

const MAX_DEPTH = 12;
const MAX_CACHED_VALUE = 256;
const VALUE_CACHE_SIZE = 4096;

export class Redactor {
  readonly enabled: boolean;
  private readonly keys: Set<string>;
  private readonly patterns: RegExp[];
  private readonly emails: boolean;
  private readonly cards: boolean;
  private readonly keyCache = new Map<string, boolean>();
  /**
   * Results of redactString for short values. Most values repeat (methods, routes, hosts,
   * user agents, log messages): a lookup replaces five regular-expression scans. Bounded:
   * emptied when full, so unique values (ids, paths with ids) cost one insert each.
   */
  private readonly valueCache = new Map<string, string>();

  constructor(options: RedactOptions = {}) {
    this.enabled = options.enabled !== false;
    this.keys = new Set([...(options.keys ?? DEFAULT_REDACT_KEYS), ...(options.extraKeys ?? [])].map(normalizeKey));
    this.patterns = (options.patterns ?? []).map((p) => (p.global ? p : new RegExp(p.source, p.flags + 'g')));
    this.emails = options.emails === true;
    this.cards = options.cards !== false;
  }

  isSensitiveKey(key: string): boolean {
    let hit = this.keyCache.get(key);
    if (hit === undefined) {
      const normalized = normalizeKey(key);
      // Dotted attribute names (`http.request.header.authorization`) are judged by their last part too.
      const last = normalizeKey(key.split('.').pop() ?? key);
      hit = this.keys.has(normalized) || this.keys.has(last) || SENSITIVE_KEY_PARTS.some((part) => normalized.includes(part));
      if (this.keyCache.size < 10_000) this.keyCache.set(key, hit);
    }
    return hit;
  }

  /** Masks credentials inside free text. */
  redactString(text: string): string {
    if (!this.enabled || text.length < 6) return text;
    if (text.length > MAX_CACHED_VALUE) return this.scan(text);
    let out = this.valueCache.get(text);
    if (out === undefined) {
      out = this.scan(text);
      if (this.valueCache.size >= VALUE_CACHE_SIZE) this.valueCache.clear();
      this.valueCache.set(text, out);
    }
    return out;
  }

  private scan(text: string): string {
    let out = text;
    if (out.includes('eyJ')) out = out.replace(JWT, REDACTED);
    out = out.replace(BEARER, (_m, scheme: string) => `${scheme} ${REDACTED}`);
    if (out.includes('@')) out = out.replace(URL_CREDENTIALS, `$1:${REDACTED}@`);
    out = out.replace(KEY_VALUE, (_m, key: string, sep: string) => `${key}${sep}${REDACTED}`);
    if (this.cards && /\d{4}/.test(out)) {
      out = out.replace(CARD_CANDIDATE, (match) => {
        const digits = match.replace(/[ -]/g, '');
        return digits.length >= 13 && digits.length <= 19 && luhnValid(digits) ? REDACTED : match;
      });
    }
    if (this.emails && out.includes('@')) out = out.replace(EMAIL, REDACTED);
    for (const pattern of this.patterns) out = out.replace(pattern, REDACTED);
    return out;
  }

  /** Returns a redacted copy of any JSON-like value; the input is not modified. */
  redact<T>(value: T): T {
    if (!this.enabled) return value;
    return this.walk(value, 0, new WeakSet()) as T;
  }

  /**
   * Redacts a freshly parsed object in place (the logger's own records: nobody else holds
   * them, so copying would only cost time). Returns whether anything changed, so the caller
   * can keep the original text when nothing did.
   */
  redactInPlace(record: Record<string, unknown>, trustedKeys?: ReadonlySet<string>): boolean {
    if (!this.enabled) return false;
    return this.walkInPlace(record, 0, trustedKeys);
  }

  private walk(value: unknown, depth: number, seen: WeakSet<object>): unknown {
    if (typeof value === 'string') return this.redactString(value);
    if (value === null || typeof value !== 'object') return value;
    if (depth >= MAX_DEPTH || seen.has(value)) return '[Truncated]';
    seen.add(value);
    if (Array.isArray(value)) return value.map((item) => this.walk(item, depth + 1, seen));
    if (value instanceof Error) {
      return { type: value.name, message: this.redactString(value.message), stack: value.stack ? this.redactString(value.stack) : undefined };
    }
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = this.isSensitiveKey(key) ? REDACTED : this.walk(item, depth + 1, seen);
    }
    return out;
  }

  private walkInPlace(target: Record<string, unknown> | unknown[], depth: number, trustedKeys?: ReadonlySet<string>): boolean {
    if (depth >= MAX_DEPTH) return false;
    let changed = false;
    if (Array.isArray(target)) {
      for (let i = 0; i < target.length; i++) {
        const item = target[i];
        if (typeof item === 'string') {
          const next = this.redactString(item);
          if (next !== item) {
            target[i] = next;
            changed = true;
          }
        } else if (item !== null && typeof item === 'object') changed = this.walkInPlace(item as Record<string, unknown>, depth + 1) || changed;
      }
      return changed;
    }
    for (const key of Object.keys(target)) {
      if (trustedKeys?.has(key)) continue;
      const item = target[key];
      if (this.isSensitiveKey(key)) {
        if (item !== undefined && item !== null && item !== REDACTED) {
          target[key] = REDACTED;
          changed = true;
        }
      } else if (typeof item === 'string') {
        const next = this.redactString(item);
        if (next !== item) {
          target[key] = next;
          changed = true;
        }
      } else if (item !== null && typeof item === 'object') changed = this.walkInPlace(item as Record<string, unknown>, depth + 1) || changed;
    }
    return changed;
  }
}
