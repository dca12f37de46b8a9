/**
 * captureLogs(): the equivalent of pytest's caplog. Records every log line written while the
 * capture is active, as the parsed (and redacted) JSON that stdout and Lookout receive, so tests
 * can assert that the entries runbooks rely on exist.
 */
import { addSink, type LogRecordJson } from './logger.js';

export interface LogCapture {
  readonly records: LogRecordJson[];
  /** Records whose msg equals (string) or matches (RegExp) `message`, or satisfy a predicate. */
  find(match: string | RegExp | ((record: LogRecordJson) => boolean)): LogRecordJson[];
  /** Throws (with what was captured) unless a record matches. */
  expect(match: string | RegExp | ((record: LogRecordJson) => boolean)): LogRecordJson;
  clear(): void;
  /** Stops capturing. Also available as `[Symbol.dispose]` for `using`. */
  stop(): void;
  /** Stops capturing at the end of a `using` block. */
  [Symbol.dispose](): void;
}

export function captureLogs(): LogCapture {
  const records: LogRecordJson[] = [];
  const remove = addSink({ write: (_line, record) => void records.push(structuredClone(record)) });
  const matcher = (match: string | RegExp | ((record: LogRecordJson) => boolean)) => (record: LogRecordJson) =>
    typeof match === 'function' ? match(record) : typeof match === 'string' ? record.msg === match : match.test(String(record.msg ?? ''));
  const capture: LogCapture = {
    records,
    find: (match) => records.filter(matcher(match)),
    expect(match) {
      const found = records.find(matcher(match));
      if (!found) throw new Error(`no captured log record matches ${String(match)}; captured:\n${records.map((r) => JSON.stringify(r)).join('\n')}`);
      return found;
    },
    clear: () => void records.splice(0),
    stop: remove,
    [Symbol.dispose]: remove,
  };
  return capture;
}
