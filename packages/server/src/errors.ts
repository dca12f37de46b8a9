/**
 * The catalog of typed errors. Every error that reaches an API carries a stable code
 * (LOOKOUT_ERR_<AREA>_<WHAT>) and the HTTP status it maps to; each API surface turns them
 * into its reference envelope (OTLP Status, Prometheus/Loki error JSON, Tempo text) in one place.
 */
export const ERROR_CODES = {
  LOOKOUT_ERR_INGEST_UNDECODABLE: 400,
  LOOKOUT_ERR_INGEST_BAD_CONTENT_TYPE: 415,
  LOOKOUT_ERR_INGEST_BAD_ENCODING: 415,
  LOOKOUT_ERR_INGEST_TOO_LARGE: 413,
  LOOKOUT_ERR_PIPELINE_OVERLOADED: 503,
  LOOKOUT_ERR_PIPELINE_SHUTTING_DOWN: 503,
  LOOKOUT_ERR_STORAGE_UNAVAILABLE: 503,
  LOOKOUT_ERR_STORAGE_QUERY: 500,
  LOOKOUT_ERR_QUERY_BAD_PARAM: 400,
  LOOKOUT_ERR_QUERY_PARSE: 400,
  LOOKOUT_ERR_QUERY_NOT_FOUND: 404,
  LOOKOUT_ERR_CONFIG_INVALID: 400,
  LOOKOUT_ERR_PROMQL_EXECUTION: 422,
  LOOKOUT_ERR_PROMQL_TIMEOUT: 503,
  LOOKOUT_ERR_PROMQL_CANCELED: 503,
  LOOKOUT_ERR_PROMQL_PARSE: 400,
  LOOKOUT_ERR_LOGQL_PARSE: 400,
  LOOKOUT_ERR_LOGQL_BAD_QUERY: 400,
  LOOKOUT_ERR_LOGQL_LIMIT: 400,
  LOOKOUT_ERR_LOGQL_TIMEOUT: 504,
  LOOKOUT_ERR_INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class LookoutError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  /** Seconds a client should wait before retrying (429/503). */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LookoutError';
    this.code = code;
    this.httpStatus = ERROR_CODES[code];
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export function isLookoutError(error: unknown): error is LookoutError {
  return error instanceof LookoutError;
}

/** Any thrown value as a LookoutError; unknown errors become INTERNAL (status 500). */
export function toLookoutError(error: unknown): LookoutError {
  if (error instanceof LookoutError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new LookoutError('LOOKOUT_ERR_INTERNAL', message, { cause: error });
}
