export { loadConfig, parseConfigFile, parseRetentionOverride, ENV_VARS, type ConfigOverrides } from './load.js';
export { DEFAULT_CONFIG, parseRetention, type LookoutConfig } from './schema.js';
export { DEFAULT_LOKI_LIMITS, type LokiLimitsConfig } from './loki.js';
