/**
 * Turning discovered targets into scrape targets, as Prometheus's PopulateLabels does: scrape
 * defaults as `__`-labels, relabel_configs, `instance` from `__address__`, `__meta_*` removed.
 */
import { formatPromDuration, parsePromDuration, type Labels, type RelabelConfig, type ScrapeConfig } from '../model/index.js';
import { compileRelabelRegex, relabel, type RelabelRule } from './relabel.js';
import type { TargetGroup } from './types.js';

export function compileRelabelConfigs(configs: readonly RelabelConfig[]): RelabelRule[] {
  return configs.map((rc) => ({
    sourceLabels: rc.sourceLabels,
    separator: rc.separator,
    targetLabel: rc.targetLabel,
    regex: compileRelabelRegex(rc.regex),
    regexText: rc.regex,
    modulus: rc.modulus,
    replacement: rc.replacement,
    action: rc.action,
  }));
}

export interface Target {
  /** Labels before relabeling (the API's discoveredLabels). */
  discoveredLabels: Labels;
  /** All labels after relabeling, `__`-labels included. */
  labels: Labels;
  url: string;
  intervalMs: number;
  timeoutMs: number;
  /** Stable identity: same labels and URL → same target across discovery updates and reloads. */
  key: string;
}

export interface DroppedTarget {
  discoveredLabels: Labels;
  /** Why it was dropped: relabeling, or the configuration error. */
  reason: string;
}

/** Labels that are not `__`-prefixed: what series of the target carry. */
export function publicLabels(labels: Labels): Labels {
  const out: Labels = {};
  for (const [name, value] of Object.entries(labels)) if (!name.startsWith('__') && value !== '') out[name] = value;
  return out;
}

export function buildTargets(config: ScrapeConfig, rules: RelabelRule[], groups: readonly TargetGroup[]): { active: Target[]; dropped: DroppedTarget[] } {
  const active: Target[] = [];
  const dropped: DroppedTarget[] = [];
  const seen = new Set<string>();
  for (const group of groups) {
    for (const address of group.targets) {
      const discovered: Labels = { ...group.labels, __address__: address };
      const defaults: Labels = {
        job: config.jobName,
        __scrape_interval__: formatPromDuration(config.scrapeIntervalMs),
        __scrape_timeout__: formatPromDuration(config.scrapeTimeoutMs),
        __metrics_path__: config.metricsPath,
        __scheme__: config.scheme,
      };
      for (const [name, value] of Object.entries(defaults)) if (!discovered[name]) discovered[name] = value;
      for (const [name, values] of Object.entries(config.params)) {
        if (values.length > 0 && !discovered[`__param_${name}`]) discovered[`__param_${name}`] = values[0]!;
      }
      const result = populate(config, rules, discovered);
      if ('reason' in result) {
        dropped.push({ discoveredLabels: discovered, reason: result.reason });
        continue;
      }
      if (seen.has(result.key)) continue;
      seen.add(result.key);
      active.push(result);
    }
  }
  return { active, dropped };
}

function populate(config: ScrapeConfig, rules: RelabelRule[], discovered: Labels): Target | { reason: string } {
  const relabeled = relabel(discovered, rules);
  if (!relabeled) return { reason: 'dropped by relabeling' };
  const labels: Labels = {};
  for (const [name, value] of Object.entries(relabeled)) if (!name.startsWith('__meta_') && value !== '') labels[name] = value;
  const address = labels.__address__;
  if (!address) return { reason: 'no address' };
  if (address.includes('/')) return { reason: `invalid address "${address}"` };
  const scheme = labels.__scheme__ ?? config.scheme;
  if (scheme !== 'http' && scheme !== 'https') return { reason: `invalid scheme "${scheme}"` };
  const intervalMs = parsePromDuration(labels.__scrape_interval__ ?? '');
  const timeoutMs = parsePromDuration(labels.__scrape_timeout__ ?? '');
  if (intervalMs === undefined || intervalMs === 0) return { reason: `invalid scrape interval "${labels.__scrape_interval__ ?? ''}"` };
  if (timeoutMs === undefined || timeoutMs === 0) return { reason: `invalid scrape timeout "${labels.__scrape_timeout__ ?? ''}"` };
  if (timeoutMs > intervalMs) return { reason: `scrape timeout cannot be greater than scrape interval ("${labels.__scrape_timeout__}" > "${labels.__scrape_interval__}")` };
  labels.instance ??= address;
  const url = targetUrl(config, labels);
  const key = `${url}\u0000${JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
  return { discoveredLabels: discovered, labels, url, intervalMs, timeoutMs, key };
}

/** The scrape URL as Prometheus's Target.URL: `__param_<name>` replaces the first value of a param; keys sorted. */
function targetUrl(config: ScrapeConfig, labels: Labels): string {
  const params = new Map<string, string[]>(Object.entries(config.params).map(([name, values]) => [name, [...values]]));
  for (const [name, value] of Object.entries(labels)) {
    if (!name.startsWith('__param_')) continue;
    const key = name.slice('__param_'.length);
    const values = params.get(key);
    if (values && values.length > 0) values[0] = value;
    else params.set(key, [value]);
  }
  const search = new URLSearchParams();
  for (const key of [...params.keys()].sort()) for (const value of params.get(key)!) search.append(key, value);
  const query = search.toString();
  const path = labels.__metrics_path__ ?? config.metricsPath;
  return `${labels.__scheme__ ?? config.scheme}://${labels.__address__}${path}${query ? `?${query}` : ''}`;
}
