/**
 * `scrape_configs` and `global` in Prometheus's own format (prometheus.yml), validated with
 * Prometheus's defaults and rules; the scrape subsystem receives the resolved form. Lives in
 * config/ so `lookout check-config` and reloads refuse a bad scrape section before anything runs.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { compileRe2, defaultScrapeConfig, isLegacyLabelName, LEGACY_LABEL_NAME, parsePromDuration, RELABEL_ACTIONS, type RelabelConfig, type ScrapeConfig } from '../model/index.js';

const duration = z.string().transform((text, ctx) => {
  const ms = parsePromDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a valid duration string: ${JSON.stringify(text)} (expected e.g. "15s", "1m", "1h30m")` });
    return z.NEVER;
  }
  return ms;
});

const labelName = z.string().regex(LEGACY_LABEL_NAME, { message: 'not a valid label name' });
const labelSet = z.record(labelName, z.string());

/** The relabel regex compiled as scrape/ will compile it (model/re2.ts), or why it cannot be. */
function checkRegex(source: string): string | undefined {
  try {
    compileRe2(source, { anchored: true, dotAll: true });
    return undefined;
  } catch (error) {
    return `invalid regex ${JSON.stringify(source)}: ${(error as Error).message}`;
  }
}

const TARGET_TEMPLATE = /^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$/;

const relabelConfig = z
  .object({
    source_labels: z.array(labelName).optional(),
    separator: z.string().optional(),
    target_label: z.string().optional(),
    regex: z.string().optional(),
    modulus: z.number().int().min(0).optional(),
    replacement: z.string().optional(),
    action: z.enum(RELABEL_ACTIONS).optional(),
  })
  .strict()
  .superRefine((rc, ctx) => {
    const action = rc.action ?? 'replace';
    if (rc.regex !== undefined) {
      const problem = checkRegex(rc.regex);
      if (problem) ctx.addIssue({ code: 'custom', path: ['regex'], message: problem });
    }
    const needsTarget = ['replace', 'hashmod', 'lowercase', 'uppercase', 'keepequal', 'dropequal'].includes(action);
    if (needsTarget && !rc.target_label) ctx.addIssue({ code: 'custom', path: ['target_label'], message: `relabel configuration for ${action} action requires 'target_label' value` });
    if (action === 'replace' && rc.target_label && !TARGET_TEMPLATE.test(rc.target_label)) {
      ctx.addIssue({ code: 'custom', path: ['target_label'], message: `${JSON.stringify(rc.target_label)} is invalid 'target_label' for replace action` });
    }
    if (['lowercase', 'uppercase', 'hashmod', 'keepequal', 'dropequal'].includes(action) && rc.target_label && !isLegacyLabelName(rc.target_label)) {
      ctx.addIssue({ code: 'custom', path: ['target_label'], message: `${JSON.stringify(rc.target_label)} is invalid 'target_label' for ${action} action` });
    }
    if (action === 'hashmod' && !rc.modulus) ctx.addIssue({ code: 'custom', path: ['modulus'], message: 'relabel configuration for hashmod requires non-zero modulus' });
    if ((action === 'labeldrop' || action === 'labelkeep') && (rc.source_labels !== undefined || rc.target_label !== undefined || rc.modulus !== undefined || rc.separator !== undefined || rc.replacement !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['action'], message: `${action} action requires only 'regex', and no other fields` });
    }
    if ((action === 'keepequal' || action === 'dropequal') && (rc.regex !== undefined || rc.modulus !== undefined || rc.separator !== undefined || rc.replacement !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['action'], message: `${action} action requires only 'source_labels' and 'target_label', and no other fields` });
    }
  })
  .transform((rc): RelabelConfig => ({
    sourceLabels: rc.source_labels ?? [],
    separator: rc.separator ?? ';',
    targetLabel: rc.target_label ?? '',
    regex: rc.regex ?? '(.*)',
    modulus: rc.modulus ?? 0,
    replacement: rc.replacement ?? '$1',
    action: rc.action ?? 'replace',
  }));

const secretOrFile = { password: z.string().optional(), password_file: z.string().optional() };

const tlsConfig = z
  .object({
    ca: z.string().optional(),
    ca_file: z.string().optional(),
    cert: z.string().optional(),
    cert_file: z.string().optional(),
    key: z.string().optional(),
    key_file: z.string().optional(),
    server_name: z.string().optional(),
    insecure_skip_verify: z.boolean().optional(),
    min_version: z.enum(['TLS10', 'TLS11', 'TLS12', 'TLS13']).optional(),
  })
  .strict();

/** Prometheus keys Lookout recognises but does not implement: refused by name, not as typos. */
const UNSUPPORTED_SCRAPE_KEYS = [
  'oauth2',
  'proxy_url',
  'no_proxy',
  'proxy_from_environment',
  'proxy_connect_header',
  'enable_http2',
  'native_histogram_bucket_limit',
  'scrape_classic_histograms',
  'always_scrape_classic_histograms',
  'convert_classic_histograms_to_nhcb',
  'track_timestamps_staleness',
  'fallback_scrape_protocol',
  'metric_name_validation_scheme',
  'metric_name_escaping_scheme',
  'target_limit',
  'keep_dropped_targets',
  'http_headers',
  'bearer_token',
  'bearer_token_file',
];
const SD_SUFFIX = '_sd_configs';

const SCRAPE_PROTOCOLS = ['OpenMetricsText1.0.0', 'OpenMetricsText0.0.1', 'PrometheusText0.0.4', 'PrometheusText1.0.0', 'PrometheusProto'] as const;

const scrapeConfigShape = z.looseObject({
    job_name: z.string().min(1, { message: 'job_name is empty' }),
    honor_labels: z.boolean().optional(),
    honor_timestamps: z.boolean().optional(),
    scrape_interval: duration.optional(),
    scrape_timeout: duration.optional(),
    scrape_protocols: z.array(z.enum(SCRAPE_PROTOCOLS)).min(1).optional(),
    metrics_path: z.string().startsWith('/', { message: 'metrics_path must start with "/"' }).optional(),
    scheme: z.enum(['http', 'https']).optional(),
    params: z.record(z.string(), z.array(z.string())).optional(),
    enable_compression: z.boolean().optional(),
    follow_redirects: z.boolean().optional(),
    basic_auth: z.object({ username: z.string().optional(), username_file: z.string().optional(), ...secretOrFile }).strict().optional(),
    authorization: z.object({ type: z.string().optional(), credentials: z.string().optional(), credentials_file: z.string().optional() }).strict().optional(),
    tls_config: tlsConfig.optional(),
    static_configs: z.array(z.object({ targets: z.array(z.string()).optional(), labels: labelSet.optional() }).strict()).optional(),
    file_sd_configs: z
      .array(z.object({ files: z.array(z.string().min(1)).min(1), refresh_interval: duration.optional() }).strict())
      .optional(),
    relabel_configs: z.array(relabelConfig).optional(),
    metric_relabel_configs: z.array(relabelConfig).optional(),
    sample_limit: z.number().int().min(0).optional(),
    label_limit: z.number().int().min(0).optional(),
    label_name_length_limit: z.number().int().min(0).optional(),
    label_value_length_limit: z.number().int().min(0).optional(),
    body_size_limit: z.union([z.number().int().min(0), z.string().regex(/^\d+(?:B|KB|MB|GB|KiB|MiB|GiB)?$/)]).optional(),
  });

const scrapeConfigRaw = scrapeConfigShape.superRefine((sc, ctx) => {
    const known = new Set(Object.keys(scrapeConfigShape.shape));
    for (const key of Object.keys(sc)) {
      if (known.has(key)) continue;
      if (UNSUPPORTED_SCRAPE_KEYS.includes(key) || key.endsWith(SD_SUFFIX)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `"${key}" is a Prometheus setting Lookout does not support (see docs/COMPATIBILITY.md, Scraping)` });
      } else {
        ctx.addIssue({ code: 'custom', path: [key], message: `unknown key "${key}"` });
      }
    }
    if (sc.basic_auth && sc.authorization) ctx.addIssue({ code: 'custom', path: ['authorization'], message: 'at most one of basic_auth and authorization may be configured' });
    if (sc.basic_auth?.password !== undefined && sc.basic_auth.password_file !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['basic_auth'], message: 'at most one of basic_auth password & password_file must be configured' });
    }
    if (sc.authorization?.credentials !== undefined && sc.authorization.credentials_file !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['authorization'], message: 'at most one of authorization credentials & credentials_file must be configured' });
    }
    if (sc.authorization?.type !== undefined && sc.authorization.type.toLowerCase() === 'basic') {
      ctx.addIssue({ code: 'custom', path: ['authorization', 'type'], message: 'authorization type cannot be set to "basic", use "basic_auth" instead' });
    }
    if (sc.scrape_protocols?.includes('PrometheusProto')) {
      ctx.addIssue({ code: 'custom', path: ['scrape_protocols'], message: 'PrometheusProto (protobuf exposition) is not supported by Lookout' });
    }
    if (sc.scrape_interval !== undefined && sc.scrape_timeout !== undefined && sc.scrape_timeout > sc.scrape_interval) {
      ctx.addIssue({ code: 'custom', path: ['scrape_timeout'], message: `scrape timeout greater than scrape interval for scrape config with job name ${JSON.stringify(sc.job_name)}` });
    }
    if (sc.tls_config?.ca !== undefined && sc.tls_config.ca_file !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['tls_config'], message: 'at most one of ca and ca_file must be configured' });
    }
  });


export const scrapeGlobalSchema = z
  .looseObject({
    scrape_interval: duration.optional(),
    scrape_timeout: duration.optional(),
    scrape_protocols: z.array(z.enum(SCRAPE_PROTOCOLS)).min(1).optional(),
  })
  .superRefine((g, ctx) => {
    for (const key of Object.keys(g)) {
      if (key === 'scrape_interval' || key === 'scrape_timeout' || key === 'scrape_protocols') continue;
      const supported = key === 'evaluation_interval' || key === 'external_labels' || key === 'query_log_file' || key === 'rule_query_offset';
      // Keys that only matter to other Prometheus subsystems are accepted from an existing
      // prometheus.yml and ignored; anything else is a mistake.
      if (!supported) ctx.addIssue({ code: 'custom', path: [key], message: `unknown key "${key}"` });
    }
  });

export const scrapeConfigsSchema = z.array(scrapeConfigRaw).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((sc, i) => {
    if (seen.has(sc.job_name)) ctx.addIssue({ code: 'custom', path: [i, 'job_name'], message: `found multiple scrape configs with job name ${JSON.stringify(sc.job_name)}` });
    seen.add(sc.job_name);
  });
});

export type ScrapeGlobalInput = z.output<typeof scrapeGlobalSchema>;
export type ScrapeConfigInput = z.output<typeof scrapeConfigRaw>;

const SIZE_UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/**
 * Applies Prometheus's defaults (global scrape_interval 1m, scrape_timeout 10s capped at the
 * interval, metrics_path /metrics, scheme http, honor_timestamps true, ...). Relative file
 * paths are resolved against the directory of the file they were written in, as Prometheus does.
 * Returns a message naming the key when a rule across keys is broken.
 */
export function resolveScrapeConfigs(
  global: ScrapeGlobalInput | undefined,
  configs: readonly ScrapeConfigInput[],
  configFile: string,
): { configs: ScrapeConfig[] } | { error: string } {
  const { scrapeIntervalMs, scrapeTimeoutMs } = defaultScrapeConfig('');
  const globalInterval = global?.scrape_interval ?? scrapeIntervalMs;
  const globalTimeout = global?.scrape_timeout ?? Math.min(scrapeTimeoutMs, globalInterval);
  if (globalTimeout > globalInterval) return { error: 'global.scrape_timeout: global scrape timeout greater than scrape interval' };
  const base = dirname(resolve(configFile));
  const path = (p: string | undefined) => (p === undefined ? undefined : isAbsolute(p) ? p : resolve(base, p));
  const out: ScrapeConfig[] = [];
  for (const [i, sc] of configs.entries()) {
    const d = defaultScrapeConfig(sc.job_name);
    const interval = sc.scrape_interval ?? globalInterval;
    if (interval === 0) return { error: `scrape_configs.${i}.scrape_interval: must be greater than 0` };
    const timeout = sc.scrape_timeout ?? Math.min(globalTimeout, interval);
    if (timeout > interval) return { error: `scrape_configs.${i}.scrape_timeout: scrape timeout greater than scrape interval for scrape config with job name ${JSON.stringify(sc.job_name)}` };
    if (timeout === 0) return { error: `scrape_configs.${i}.scrape_timeout: must be greater than 0` };
    let bodySizeLimitBytes = 0;
    if (typeof sc.body_size_limit === 'number') bodySizeLimitBytes = sc.body_size_limit;
    else if (typeof sc.body_size_limit === 'string') {
      const m = /^(\d+)(\D*)$/.exec(sc.body_size_limit)!;
      bodySizeLimitBytes = Number(m[1]) * (SIZE_UNITS[m[2] || 'B'] ?? 1);
    }
    const tls = sc.tls_config ?? {};
    out.push({
      jobName: sc.job_name,
      scrapeIntervalMs: interval,
      scrapeTimeoutMs: timeout,
      scrapeProtocols: sc.scrape_protocols ?? global?.scrape_protocols ?? d.scrapeProtocols,
      metricsPath: sc.metrics_path ?? d.metricsPath,
      scheme: sc.scheme ?? d.scheme,
      params: sc.params ?? d.params,
      honorLabels: sc.honor_labels ?? d.honorLabels,
      honorTimestamps: sc.honor_timestamps ?? d.honorTimestamps,
      enableCompression: sc.enable_compression ?? d.enableCompression,
      followRedirects: sc.follow_redirects ?? d.followRedirects,
      basicAuth: sc.basic_auth
        ? {
            username: sc.basic_auth.username ?? '',
            ...(sc.basic_auth.username_file === undefined ? {} : { usernameFile: path(sc.basic_auth.username_file)! }),
            ...(sc.basic_auth.password === undefined ? {} : { password: sc.basic_auth.password }),
            ...(sc.basic_auth.password_file === undefined ? {} : { passwordFile: path(sc.basic_auth.password_file)! }),
          }
        : undefined,
      authorization: sc.authorization
        ? {
            type: sc.authorization.type ?? 'Bearer',
            ...(sc.authorization.credentials === undefined ? {} : { credentials: sc.authorization.credentials }),
            ...(sc.authorization.credentials_file === undefined ? {} : { credentialsFile: path(sc.authorization.credentials_file)! }),
          }
        : undefined,
      tls: {
        insecureSkipVerify: tls.insecure_skip_verify ?? false,
        ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        ...(tls.ca_file === undefined ? {} : { caFile: path(tls.ca_file)! }),
        ...(tls.cert === undefined ? {} : { cert: tls.cert }),
        ...(tls.cert_file === undefined ? {} : { certFile: path(tls.cert_file)! }),
        ...(tls.key === undefined ? {} : { key: tls.key }),
        ...(tls.key_file === undefined ? {} : { keyFile: path(tls.key_file)! }),
        ...(tls.server_name === undefined ? {} : { serverName: tls.server_name }),
        ...(tls.min_version === undefined ? {} : { minVersion: tls.min_version }),
      },
      staticConfigs: (sc.static_configs ?? []).map((s) => ({ targets: s.targets ?? [], labels: s.labels ?? {} })),
      fileSdConfigs: (sc.file_sd_configs ?? []).map((f) => ({ files: f.files.map((p) => path(p)!), refreshIntervalMs: f.refresh_interval ?? 300_000 })),
      relabelConfigs: sc.relabel_configs ?? [],
      metricRelabelConfigs: sc.metric_relabel_configs ?? [],
      sampleLimit: sc.sample_limit ?? 0,
      labelLimit: sc.label_limit ?? 0,
      labelNameLengthLimit: sc.label_name_length_limit ?? 0,
      labelValueLengthLimit: sc.label_value_length_limit ?? 0,
      bodySizeLimitBytes,
    });
  }
  return { configs: out };
}
