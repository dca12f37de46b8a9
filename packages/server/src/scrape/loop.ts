/**
 * One target's scrape loop, as Prometheus's scrapeLoop: a fixed phase within the interval
 * derived from the target's identity, one scrape at a time, the five report series, and
 * staleness markers for series that disappear, for everything when the target is down, and
 * for everything when the target goes away.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { sortedLabelEntries, type Labels, type MetricMetadata, type Sample, type ScrapeConfig } from '../model/index.js';
import type { MetricExemplar } from '../storage/index.js';
import { decodeExpositionBody, parseExposition } from './exposition.js';
import type { ScrapeClient } from './http.js';
import { relabel, type RelabelRule } from './relabel.js';
import { publicLabels, type Target } from './target.js';

export type WriteSamples = (samples: Sample[], metadata: MetricMetadata[] | undefined) => Promise<void>;
export type WriteExemplars = (exemplars: MetricExemplar[]) => Promise<void>;

/** OpenMetrics caps an exemplar's label set at 128 UTF-8 characters; Prometheus drops longer ones. */
const EXEMPLAR_MAX_LABEL_RUNES = 128;

/** What a loop hands to its successor when a reload keeps the target: no staleness in between. */
export interface LoopState {
  /** Series (key → labels) of the last successful scrape that had no explicit timestamp. */
  lastSeries: Map<string, Labels>;
  metadataKey: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
  lastScrapeMs: number;
  lastDurationSeconds: number;
}

const REPORT_NAMES = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added'] as const;

export function seriesKey(labels: Labels): string {
  return JSON.stringify(sortedLabelEntries(labels));
}

/**
 * Series labels from exposed labels and target labels, as Prometheus's mutateSampleLabels:
 * with honor_labels the exposed value wins; otherwise the target's wins and the exposed one is
 * kept as `exported_<name>` (repeating the prefix while that name is taken).
 */
export function mergeTargetLabels(exposed: Labels, target: Labels, honorLabels: boolean): Labels {
  const out: Labels = { ...exposed };
  if (honorLabels) {
    for (const [name, value] of Object.entries(target)) if (out[name] === undefined || out[name] === '') out[name] = value;
    return out;
  }
  const conflicts: [string, string][] = [];
  for (const [name, value] of Object.entries(target)) {
    const existing = exposed[name];
    if (existing !== undefined && existing !== '') conflicts.push([name, existing]);
    out[name] = value;
  }
  for (const [name, value] of conflicts) {
    let exported = `exported_${name}`;
    while (out[exported] !== undefined) exported = `exported_${exported}`;
    out[exported] = value;
  }
  return out;
}

export function phaseOffsetMs(key: string, intervalMs: number, nowMs: number): number {
  const hash = createHash('sha256').update(key).digest().readBigUInt64BE(0);
  const phase = Number(hash % BigInt(intervalMs));
  const base = intervalMs - (nowMs % intervalMs);
  let next = base + phase;
  if (next >= intervalMs) next -= intervalMs;
  return next;
}

class SampleLimitError extends Error {}

export class ScrapeLoop {
  state: LoopState;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private stopped = false;
  private readonly reportLabels: Labels;

  constructor(
    readonly target: Target,
    private readonly config: ScrapeConfig,
    private readonly metricRules: RelabelRule[],
    private readonly client: ScrapeClient,
    private readonly write: WriteSamples,
    private readonly logger: Logger,
    previous?: LoopState,
    private readonly writeExemplars?: WriteExemplars,
  ) {
    this.state = previous ?? { lastSeries: new Map(), metadataKey: '', health: 'unknown', lastError: '', lastScrapeMs: 0, lastDurationSeconds: 0 };
    this.reportLabels = publicLabels(target.labels);
  }

  start(): void {
    const delay = phaseOffsetMs(this.target.key, this.target.intervalMs, Date.now());
    this.timer = setTimeout(() => this.tick(), delay);
  }

  private tick(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.tick(), this.target.intervalMs);
    // A scrape still running when the next is due is skipped, not overlapped.
    if (this.running) return;
    this.running = this.scrapeOnce().finally(() => (this.running = undefined));
  }

  /** Stops scraping (an in-flight scrape is abandoned). Staleness is the manager's decision. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort?.abort();
    await this.running;
  }

  /** Markers ending every series of the last scrape and the report series; none if never scraped. */
  endOfRunMarkers(atMs: number): Sample[] {
    if (this.state.lastScrapeMs === 0) return [];
    const stale: Sample[] = [];
    for (const labels of this.state.lastSeries.values()) stale.push({ labels, timestampMs: atMs, value: NaN, stale: true });
    for (const name of REPORT_NAMES) stale.push({ labels: { ...this.reportLabels, __name__: name }, timestampMs: atMs, value: NaN, stale: true });
    return stale;
  }

  async scrapeOnce(): Promise<void> {
    const startMs = Date.now();
    const started = performance.now();
    const samples: Sample[] = [];
    const current = new Map<string, Labels>();
    let scraped = 0;
    let postRelabel = 0;
    let added = 0;
    let metadata: MetricMetadata[] | undefined;
    const exemplars: MetricExemplar[] = [];
    let error: string | undefined;
    this.abort = new AbortController();
    const timeout = setTimeout(() => this.abort?.abort(new Error(`context deadline exceeded (scrape_timeout ${this.target.timeoutMs / 1000}s)`)), this.target.timeoutMs);
    try {
      const response = await this.client.fetch(this.target.url, this.abort.signal);
      const parsed = parseExposition(decodeExpositionBody(response.body), response.contentType);
      scraped = parsed.samples.length;
      const seen = new Set<string>();
      const targetLabels = this.reportLabels;
      for (const [index, sample] of parsed.samples.entries()) {
        const labels = relabel(mergeTargetLabels(sample.labels, targetLabels, this.config.honorLabels), this.metricRules);
        if (!labels || !labels.__name__) continue;
        this.checkLabelLimits(labels);
        // Counted before de-duplication, as Prometheus reports scrape_samples_post_metric_relabeling.
        postRelabel++;
        const key = seriesKey(labels);
        if (seen.has(key)) continue; // a duplicate of a series already in this scrape: Prometheus ignores it
        seen.add(key);
        const explicit = this.config.honorTimestamps && sample.timestampMs !== undefined;
        samples.push({ labels, timestampMs: explicit ? sample.timestampMs! : startMs, value: sample.value });
        if (!explicit) current.set(key, labels);
        const exemplar = parsed.exemplars.get(index);
        if (exemplar && [...Object.entries(exemplar.labels).flat().join('')].length <= EXEMPLAR_MAX_LABEL_RUNES) {
          exemplars.push({ seriesLabels: labels, labels: exemplar.labels, value: exemplar.value, timestampMs: exemplar.timestampMs ?? samples.at(-1)!.timestampMs });
        }
        if (!this.state.lastSeries.has(key)) added++;
      }
      if (this.config.sampleLimit > 0 && samples.length > this.config.sampleLimit) {
        throw new SampleLimitError(`sample limit exceeded: ${samples.length} samples, limit ${this.config.sampleLimit}`);
      }
      const metadataKey = JSON.stringify(parsed.metadata);
      if (metadataKey !== this.state.metadataKey && parsed.metadata.length > 0) {
        metadata = parsed.metadata;
        this.state.metadataKey = metadataKey;
      }
    } catch (caught) {
      const reason = this.abort.signal.aborted && this.abort.signal.reason instanceof Error ? this.abort.signal.reason : caught;
      error = reason instanceof Error ? reason.message : String(reason);
      samples.length = 0;
      exemplars.length = 0;
      current.clear();
      added = 0;
      // Like Prometheus: a sample_limit failure still reports what was scraped and kept.
      if (!(caught instanceof SampleLimitError)) {
        scraped = 0;
        postRelabel = 0;
      }
    } finally {
      clearTimeout(timeout);
    }
    if (this.stopped && error !== undefined) return; // aborted by stop(): not a failed scrape
    const durationSeconds = (performance.now() - started) / 1000;
    // Series of the previous scrape that are gone now (or all, when the scrape failed) end here.
    for (const [key, labels] of this.state.lastSeries) {
      if (!current.has(key)) samples.push({ labels, timestampMs: startMs, value: NaN, stale: true });
    }
    const report = (name: (typeof REPORT_NAMES)[number], value: number) => samples.push({ labels: { ...this.reportLabels, __name__: name }, timestampMs: startMs, value });
    report('up', error === undefined ? 1 : 0);
    report('scrape_duration_seconds', durationSeconds);
    report('scrape_samples_scraped', scraped);
    report('scrape_samples_post_metric_relabeling', postRelabel);
    report('scrape_series_added', added);
    this.state.lastSeries = current;
    this.state.health = error === undefined ? 'up' : 'down';
    this.state.lastError = error ?? '';
    this.state.lastScrapeMs = startMs;
    this.state.lastDurationSeconds = durationSeconds;
    if (error !== undefined) this.logger.debug({ target: this.target.url, err: error }, 'scrape failed');
    try {
      await this.write(samples, metadata);
      if (exemplars.length > 0 && this.writeExemplars) await this.writeExemplars(exemplars);
    } catch (writeError) {
      // The data of this scrape is lost; the next scrape writes again. Metadata is re-sent then.
      this.state.metadataKey = '';
      this.logger.warn({ err: writeError, target: this.target.url }, 'scrape: writing samples failed');
    }
  }

  private checkLabelLimits(labels: Labels): void {
    const { labelLimit, labelNameLengthLimit, labelValueLengthLimit } = this.config;
    if (labelLimit > 0 && Object.keys(labels).length > labelLimit) throw new Error(`label_limit exceeded (metric: ${labels.__name__}, number of labels: ${Object.keys(labels).length}, limit: ${labelLimit})`);
    for (const [name, value] of Object.entries(labels)) {
      if (labelNameLengthLimit > 0 && name.length > labelNameLengthLimit) throw new Error(`label_name_length_limit exceeded (metric: ${labels.__name__}, label name: ${name}, limit: ${labelNameLengthLimit})`);
      if (labelValueLengthLimit > 0 && value.length > labelValueLengthLimit) throw new Error(`label_value_length_limit exceeded (metric: ${labels.__name__}, label name: ${name}, limit: ${labelValueLengthLimit})`);
    }
  }
}
