/**
 * Attribute values in the OTLP JSON shape (intValue as a decimal string so int64 survives,
 * bytesValue as base64). Keeping the wire shape as the model means a span or log read back
 * from storage can be re-emitted byte-for-byte in OTLP/Tempo JSON.
 */
export type AnyValue =
  | { stringValue: string }
  | { intValue: string }
  | { doubleValue: number }
  | { boolValue: boolean }
  | { bytesValue: string }
  | { arrayValue: { values: AnyValue[] } }
  | { kvlistValue: { values: KeyValue[] } }
  | Record<string, never>;

export interface KeyValue {
  key: string;
  value: AnyValue;
}

/** The type tag stored beside non-string attribute values (strings carry no tag). */
// Nested values (inside arrays and kvlists) are stored as their OTLP JSON, which keeps the type
// of every element, so `[1, "1", 1.5]` round-trips.
export type AttributeType = 'int' | 'double' | 'bool' | 'bytes' | 'array' | 'kvlist' | 'empty';

/**
 * Splits typed attributes into the two maps the storage keeps: a string map readable by
 * ClickHouse tools (the OpenTelemetry Collector exporter's convention: every value as text)
 * and a sparse map of type tags for values that are not strings, so the original type can
 * be restored on read.
 */
export function flattenAttributes(attributes: readonly KeyValue[]): {
  values: Record<string, string>;
  types: Record<string, AttributeType>;
} {
  const values: Record<string, string> = {};
  const types: Record<string, AttributeType> = {};
  for (const { key, value } of attributes) {
    const [text, type] = anyValueToText(value);
    values[key] = text;
    if (type !== undefined) types[key] = type;
  }
  return { values, types };
}

/** Inverse of flattenAttributes. Keys come back in the map's order (ClickHouse keeps insertion order). */
export function restoreAttributes(
  values: Record<string, string>,
  types: Record<string, string>,
): KeyValue[] {
  const out: KeyValue[] = [];
  for (const [key, text] of Object.entries(values)) {
    out.push({ key, value: textToAnyValue(text, types[key]) });
  }
  return out;
}

export function anyValueToText(value: AnyValue): [string, AttributeType | undefined] {
  if ('stringValue' in value) return [value.stringValue, undefined];
  if ('intValue' in value) return [value.intValue, 'int'];
  if ('doubleValue' in value) return [formatDouble(value.doubleValue), 'double'];
  if ('boolValue' in value) return [value.boolValue ? 'true' : 'false', 'bool'];
  if ('bytesValue' in value) return [value.bytesValue, 'bytes'];
  if ('arrayValue' in value) return [JSON.stringify(value.arrayValue.values), 'array'];
  if ('kvlistValue' in value) return [JSON.stringify(value.kvlistValue.values), 'kvlist'];
  return ['', 'empty'];
}

function formatDouble(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  return String(n);
}

function textToAnyValue(text: string, type: string | undefined): AnyValue {
  switch (type) {
    case undefined:
      return { stringValue: text };
    case 'int':
      return { intValue: text };
    case 'double':
      return { doubleValue: Number(text) };
    case 'bool':
      return { boolValue: text === 'true' };
    case 'bytes':
      return { bytesValue: text };
    case 'array':
      return { arrayValue: { values: JSON.parse(text) as AnyValue[] } };
    case 'kvlist':
      return { kvlistValue: { values: JSON.parse(text) as KeyValue[] } };
    case 'empty':
      return {};
    default:
      return { stringValue: text };
  }
}

export function findAttribute(attributes: readonly KeyValue[], key: string): AnyValue | undefined {
  for (const kv of attributes) if (kv.key === key) return kv.value;
  return undefined;
}
