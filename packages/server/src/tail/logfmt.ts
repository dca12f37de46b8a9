/**
 * A logfmt decoder with go-logfmt's rules (what Promtail's logfmt stage uses): `key=value`
 * pairs separated by spaces, values bare or double-quoted with Go escapes, a key without `=`
 * has an empty value. Decoding stops at the first syntax error, keeping the pairs before it.
 */
export function* logfmtPairs(text: string): Generator<[string, string]> {
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && text.charCodeAt(i) <= 0x20) i++;
    if (i >= n) return;
    const keyStart = i;
    while (i < n && text.charCodeAt(i) > 0x20 && text[i] !== '=' && text[i] !== '"') i++;
    const key = text.slice(keyStart, i);
    if (key === '') return; // unexpected '=' or '"': go-logfmt reports a syntax error
    if (text[i] !== '=') {
      if (i < n && text[i] === '"') return;
      yield [key, ''];
      continue;
    }
    i++;
    if (text[i] === '"') {
      i++;
      let value = '';
      let closed = false;
      while (i < n) {
        const c = text[i]!;
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        if (c === '\\') {
          const e = text[i + 1];
          const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
          if (e !== undefined && simple[e] !== undefined) {
            value += simple[e];
            i += 2;
            continue;
          }
          if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            value += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
            i += 6;
            continue;
          }
          return; // invalid escape
        }
        value += c;
        i++;
      }
      if (!closed) return;
      yield [key, value];
      continue;
    }
    const valueStart = i;
    while (i < n && text.charCodeAt(i) > 0x20) {
      if (text[i] === '"' || text[i] === '=') return; // go-logfmt: unexpected character in value
      i++;
    }
    yield [key, text.slice(valueStart, i)];
  }
}
