/**
 * A small JSON scanner that keeps numbers as their source text (Loki's json parser reports
 * `1.50` as "1.50", which JSON.parse cannot) and visits every scalar with its key path.
 */
export type JsonKind = 'string' | 'number' | 'boolean' | 'null' | 'object' | 'array';

export class JsonSyntaxError extends Error {}

export class JsonScanner {
  pos = 0;
  constructor(readonly text: string) {}

  ws(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.pos++;
      else break;
    }
  }

  fail(what: string): never {
    throw new JsonSyntaxError(`${what} at offset ${this.pos}`);
  }

  string(): string {
    const t = this.text;
    if (t[this.pos] !== '"') this.fail('expected string');
    let i = this.pos + 1;
    let out = '';
    let from = i;
    for (;;) {
      if (i >= t.length) this.fail('unterminated string');
      const c = t.charCodeAt(i);
      if (c === 34) {
        out += t.slice(from, i);
        this.pos = i + 1;
        return out;
      }
      if (c === 92) {
        out += t.slice(from, i);
        const e = t[i + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && simple[e] !== undefined) {
          out += simple[e];
          i += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(t.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(t.slice(i + 2, i + 6), 16));
          i += 6;
        } else this.fail('invalid escape');
        from = i;
        continue;
      }
      i++;
    }
  }

  /** Skips any value and returns its kind and source slice. */
  value(): { kind: JsonKind; start: number; end: number } {
    this.ws();
    const start = this.pos;
    const c = this.text[this.pos];
    let kind: JsonKind;
    if (c === '"') {
      this.string();
      kind = 'string';
    } else if (c === '{') {
      this.object(() => this.value());
      kind = 'object';
    } else if (c === '[') {
      this.array(() => this.value());
      kind = 'array';
    } else if (this.text.startsWith('true', this.pos)) {
      this.pos += 4;
      kind = 'boolean';
    } else if (this.text.startsWith('false', this.pos)) {
      this.pos += 5;
      kind = 'boolean';
    } else if (this.text.startsWith('null', this.pos)) {
      this.pos += 4;
      kind = 'null';
    } else {
      const m = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
      m.lastIndex = this.pos;
      if (!m.exec(this.text)) this.fail('invalid value');
      this.pos = m.lastIndex;
      kind = 'number';
    }
    return { kind, start, end: this.pos };
  }

  /** Calls onMember with the scanner positioned at each member's value; it must consume it. */
  object(onMember: (key: string) => void): void {
    this.ws();
    if (this.text[this.pos] !== '{') this.fail('expected object');
    this.pos++;
    this.ws();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return;
    }
    for (;;) {
      this.ws();
      const key = this.string();
      this.ws();
      if (this.text[this.pos] !== ':') this.fail("expected ':'");
      this.pos++;
      onMember(key);
      this.ws();
      const c = this.text[this.pos];
      this.pos++;
      if (c === '}') return;
      if (c !== ',') this.fail("expected ',' or '}'");
    }
  }

  array(onItem: (index: number) => void): void {
    this.ws();
    if (this.text[this.pos] !== '[') this.fail('expected array');
    this.pos++;
    this.ws();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return;
    }
    for (let i = 0; ; i++) {
      onItem(i);
      this.ws();
      const c = this.text[this.pos];
      this.pos++;
      if (c === ']') return;
      if (c !== ',') this.fail("expected ',' or ']'");
    }
  }
}

/** A scalar's label text as Loki's json parser gives it (strings unescaped, numbers verbatim, null empty). */
export function scalarText(scanner: JsonScanner, v: { kind: JsonKind; start: number; end: number }): string {
  if (v.kind === 'string') {
    const s = new JsonScanner(scanner.text);
    s.pos = v.start;
    return s.string();
  }
  if (v.kind === 'null') return '';
  return scanner.text.slice(v.start, v.end);
}
