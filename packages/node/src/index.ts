/**
 * @lookout/node: one call instruments a Node service for Lookout.
 *
 *   import { init, getLogger, lookoutExpress } from '@lookout/node';
 *   init({ service: 'orders' });
 */
export { init, current, type LookoutHandle } from './init.js';
export type { InitOptions, ResolvedOptions } from './options.js';
export { resolveOptions } from './options.js';
export { getLogger, sampled, parseLevelSpec, type Logger, type LogLevel, type LogRecordJson, type SampleOptions, type SampledLogger, type FileLogOptions } from './logger.js';
export { Redactor, DEFAULT_REDACT_KEYS, REDACTED, luhnValid, type RedactOptions } from './redact.js';
export { currentCorrelation, currentRequestId, withRequestId, type Correlation } from './context.js';
export {
  expressMiddleware as lookoutExpress,
  fastifyPlugin as lookoutFastify,
  httpHandler as lookoutHttp,
  type MiddlewareOptions,
  type HttpHandlerOptions,
} from './middleware.js';
export { counter, histogram, gauge, HTTP_DURATION_BUCKETS, type BusinessCounter, type BusinessHistogram, type BusinessGauge, type InstrumentOptions } from './metrics.js';
export { health, checks, HealthRegistry, type HealthCheck, type HealthCheckOptions, type HealthReport, type CheckResult, type PgLike, type RedisLike } from './health.js';
export { captureLogs, type LogCapture } from './testing.js';
export type { TelemetryStats } from './telemetry.js';
