import { readFileSync, existsSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { LookoutError } from '../errors.js';
import { resolveScrapeConfigs, scrapeConfigsSchema, scrapeGlobalSchema, type ScrapeConfigInput, type ScrapeGlobalInput } from './scrape.js';
import { resolveLokiConfig } from './loki.js';
import { configFileSchema, DEFAULT_CONFIG, LOG_LEVEL_NAMES, parseRetention, type ConfigFile, type LookoutConfig } from './schema.js';

/** Settings given on the command line or in the environment (strings, as typed). */
export interface ConfigOverrides {
  port?: string;
  grpcPort?: string;
  host?: string;
  dataDir?: string;
  clickhouseUrl?: string;
  retention?: string;
  logLevel?: string;
  config?: string;
  scrapeConfig?: string;
}

/** The environment variable for each override. */
export const ENV_VARS: Record<keyof ConfigOverrides, string> = {
  port: 'LOOKOUT_PORT',
  grpcPort: 'LOOKOUT_GRPC_PORT',
  host: 'LOOKOUT_HOST',
  dataDir: 'LOOKOUT_DATA_DIR',
  clickhouseUrl: 'LOOKOUT_CLICKHOUSE_URL',
  retention: 'LOOKOUT_RETENTION',
  logLevel: 'LOOKOUT_LOG_LEVEL',
  config: 'LOOKOUT_CONFIG',
  scrapeConfig: 'LOOKOUT_SCRAPE_CONFIG',
};

function invalid(where: string, message: string): LookoutError {
  return new LookoutError('LOOKOUT_ERR_CONFIG_INVALID', `${where}: ${message}`);
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/** Parses and validates a lookout.yml text; errors name the file, the key and what is wrong. */
export function parseConfigFile(text: string, fileName: string): ConfigFile {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0];
    throw invalid(line ? `${fileName}:${line.line}:${line.col}` : fileName, `invalid YAML: ${e.message.split(' at line ')[0]!.split('\n')[0]}`);
  }
  const raw: unknown = doc.toJS() ?? {};
  const result = configFileSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw invalid(`${fileName}: ${formatPath(issue.path) || '(top level)'}`, describeIssue(issue));
  }
  return result.data;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return issue.message;
}

function parsePort(value: string, where: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw invalid(where, `expected a port number 0-65535, got "${value}"`);
  return n;
}

/** `7d` for every signal, or `logs=7d,traces=3d,metrics=30d`. */
export function parseRetentionOverride(text: string, where: string, base: LookoutConfig['retention']): LookoutConfig['retention'] {
  const out = { ...base };
  const all = parseRetention(text);
  if (all !== undefined) return { logs: all, traces: all, metrics: all };
  for (const part of text.split(',')) {
    const [signal, value] = part.split('=').map((s) => s.trim());
    if (signal !== 'logs' && signal !== 'traces' && signal !== 'metrics') {
      throw invalid(where, `expected "7d" or "logs=7d,traces=7d,metrics=30d", got "${text}" (unknown signal "${signal}")`);
    }
    const days = value === undefined ? undefined : parseRetention(value);
    if (days === undefined) throw invalid(where, `${signal}: expected a duration like "7d", got "${value ?? ''}"`);
    out[signal] = days;
  }
  return out;
}

/**
 * Builds the effective configuration: defaults < lookout.yml < environment < flags.
 * `./lookout.yml` is read when present and no file is named.
 */
export function loadConfig(flags: ConfigOverrides, env: NodeJS.ProcessEnv = process.env): LookoutConfig {
  const fromEnv: ConfigOverrides = {};
  for (const [key, name] of Object.entries(ENV_VARS) as [keyof ConfigOverrides, string][]) {
    const value = env[name];
    if (value !== undefined && value !== '') fromEnv[key] = value;
  }
  const configPath = flags.config ?? fromEnv.config ?? (existsSync('lookout.yml') ? 'lookout.yml' : undefined);
  const config: LookoutConfig = structuredClone(DEFAULT_CONFIG);

  if (configPath !== undefined) {
    let text: string;
    try {
      text = readFileSync(configPath, 'utf8');
    } catch (error) {
      throw invalid(configPath, `cannot read the config file: ${(error as Error).message}`);
    }
    const file = parseConfigFile(text, configPath);
    config.configFile = configPath;
    Object.assign(config, {
      host: file.server?.host ?? config.host,
      port: file.server?.port ?? config.port,
      grpcPort: file.server?.grpcPort ?? config.grpcPort,
      maxBodyBytes: file.server?.maxBodyBytes ?? config.maxBodyBytes,
      dataDir: file.storage?.dataDir ?? config.dataDir,
      clickhouseUrl: file.storage?.clickhouseUrl ?? config.clickhouseUrl,
      readPoolSize: file.storage?.readPoolSize ?? config.readPoolSize,
      logLevel: file.log?.level ?? config.logLevel,
    });
    config.metricHead = {
      windowMs: file.storage?.head?.window ?? config.metricHead.windowMs,
      maxSamples: file.storage?.head?.maxSamples ?? config.metricHead.maxSamples,
    };
    config.retention = { ...config.retention, ...file.retention };
    config.pipeline = { ...config.pipeline, ...file.pipeline };
    if (file.promql) {
      const q = file.promql;
      config.promql = {
        lookbackDeltaMs: q.lookbackDelta ?? config.promql.lookbackDeltaMs,
        timeoutMs: q.timeout ?? config.promql.timeoutMs,
        maxSamples: q.maxSamples ?? config.promql.maxSamples,
        enableExperimentalFunctions: q.enableExperimentalFunctions ?? config.promql.enableExperimentalFunctions,
      };
    }
    config.loki = resolveLokiConfig(file.loki, config.loki);
    config.tail = file.tail;
    if (file.scrape_configs !== undefined) config.scrapeConfigs = resolveScrape(file.global, file.scrape_configs, configPath);
  }
  const scrapeConfigPath = flags.scrapeConfig ?? fromEnv.scrapeConfig;
  if (scrapeConfigPath !== undefined) {
    const fromPrometheus = readPrometheusScrapeSection(scrapeConfigPath);
    config.scrapeConfigFile = scrapeConfigPath;
    const jobs = new Set(config.scrapeConfigs.map((sc) => sc.jobName));
    for (const sc of fromPrometheus) {
      if (jobs.has(sc.jobName)) throw invalid(scrapeConfigPath, `scrape_configs: job_name ${JSON.stringify(sc.jobName)} is also defined in ${configPath ?? 'lookout.yml'}`);
    }
    config.scrapeConfigs = [...config.scrapeConfigs, ...fromPrometheus];
  }

  for (const [source, values] of [
    ['environment', fromEnv],
    ['flag', flags],
  ] as const) {
    const where = (key: keyof ConfigOverrides) => (source === 'flag' ? `--${kebab(key)}` : ENV_VARS[key]);
    if (values.port !== undefined) config.port = parsePort(values.port, where('port'));
    if (values.grpcPort !== undefined) config.grpcPort = parsePort(values.grpcPort, where('grpcPort'));
    if (values.host !== undefined) config.host = values.host;
    if (values.dataDir !== undefined) config.dataDir = values.dataDir;
    if (values.clickhouseUrl !== undefined) {
      if (!/^https?:\/\/[^\s]+$/.test(values.clickhouseUrl)) {
        throw invalid(where('clickhouseUrl'), `expected an http(s) URL such as http://localhost:8123, got "${values.clickhouseUrl}"`);
      }
      config.clickhouseUrl = values.clickhouseUrl;
    }
    if (values.retention !== undefined) config.retention = parseRetentionOverride(values.retention, where('retention'), config.retention);
    if (values.logLevel !== undefined) {
      if (!(LOG_LEVEL_NAMES as readonly string[]).includes(values.logLevel)) {
        throw invalid(where('logLevel'), `expected one of ${LOG_LEVEL_NAMES.join(', ')}, got "${values.logLevel}"`);
      }
      config.logLevel = values.logLevel as LookoutConfig['logLevel'];
    }
  }
  return config;
}

function resolveScrape(global: ScrapeGlobalInput | undefined, configs: ScrapeConfigInput[], file: string): LookoutConfig['scrapeConfigs'] {
  const resolved = resolveScrapeConfigs(global, configs, file);
  if ('error' in resolved) throw invalid(`${file}: ${resolved.error.split(': ')[0]}`, resolved.error.split(': ').slice(1).join(': '));
  return resolved.configs;
}

/**
 * The `global` and `scrape_configs` sections of an existing prometheus.yml; its other sections
 * (rule_files, alerting, remote_write, ...) belong to other subsystems and are ignored here.
 */
export function readPrometheusScrapeSection(path: string): LookoutConfig['scrapeConfigs'] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw invalid(path, `cannot read the Prometheus config file: ${(error as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0];
    throw invalid(line ? `${path}:${line.line}:${line.col}` : path, `invalid YAML: ${e.message.split(' at line ')[0]!.split('\n')[0]}`);
  }
  const raw = (doc.toJS() ?? {}) as Record<string, unknown>;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalid(path, 'expected a mapping with a scrape_configs key');
  const global = scrapeGlobalSchema.optional().safeParse(raw.global);
  if (!global.success) {
    const issue = global.error.issues[0]!;
    throw invalid(`${path}: ${formatPath(['global', ...issue.path])}`, describeIssue(issue));
  }
  const configs = scrapeConfigsSchema.safeParse(raw.scrape_configs ?? []);
  if (!configs.success) {
    const issue = configs.error.issues[0]!;
    throw invalid(`${path}: ${formatPath(['scrape_configs', ...issue.path])}`, describeIssue(issue));
  }
  return resolveScrape(global.data, configs.data, path);
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
