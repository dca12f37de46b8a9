/**
 * file_sd_configs: JSON or YAML files of `[{targets: [...], labels: {...}}]`, matched by glob
 * patterns in the last path element, re-read when a watched directory changes and every
 * refresh_interval. As in Prometheus, a file that cannot be read or parsed keeps its previous
 * targets, and every group gets `__meta_filepath`.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { LEGACY_LABEL_NAME } from '../model/index.js';
import type { TargetGroup } from './types.js';

const fileSchema = z.array(
  z
    .object({
      targets: z.array(z.string()),
      labels: z.record(z.string().regex(LEGACY_LABEL_NAME, { message: 'not a valid label name' }), z.string()).optional(),
    })
    .strict(),
);

function globToRegExp(pattern: string): RegExp {
  let out = '';
  for (const c of pattern) {
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** Parses one file_sd file's text; throws with a message naming the problem. */
export function parseFileSdText(text: string, path: string): TargetGroup[] {
  const ext = extname(path).toLowerCase();
  let raw: unknown;
  if (ext === '.json') raw = JSON.parse(text);
  else if (ext === '.yml' || ext === '.yaml') raw = parseYaml(text) ?? [];
  else throw new Error(`retrieval.FileDiscovery.readFile: unsupported file extension "${ext}" (expected .json, .yml or .yaml)`);
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  return parsed.data.map((group, i) => ({
    source: `${path}:${i}`,
    targets: group.targets,
    labels: { ...group.labels, __meta_filepath: path },
  }));
}

export class FileDiscovery {
  private readonly lastGroups = new Map<string, TargetGroup[]>();
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private stopped = false;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly patterns: string[],
    private readonly refreshIntervalMs: number,
    private readonly onUpdate: (groups: TargetGroup[]) => void,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    for (const dir of new Set(this.patterns.map((p) => dirname(p)))) {
      try {
        const watcher = watch(dir, () => this.scheduleRefresh());
        watcher.on('error', (error) => this.logger.warn({ err: error, dir }, 'file_sd: watch error'));
        this.watchers.push(watcher);
      } catch (error) {
        this.logger.warn({ err: error, dir }, 'file_sd: cannot watch directory; relying on refresh_interval');
      }
    }
    this.timer = setInterval(() => void this.refresh(), this.refreshIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    for (const watcher of this.watchers) watcher.close();
  }

  private scheduleRefresh(): void {
    if (this.stopped) return;
    if (this.debounce) clearTimeout(this.debounce);
    // Editors write files in several steps; read once things settle.
    this.debounce = setTimeout(() => void this.refresh(), 100);
  }

  async refresh(): Promise<void> {
    if (this.refreshing) {
      await this.refreshing;
      return this.refresh();
    }
    this.refreshing = this.doRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    const files = new Set<string>();
    for (const pattern of this.patterns) {
      const dir = dirname(pattern);
      const matcher = globToRegExp(basename(pattern));
      try {
        for (const entry of await readdir(dir)) if (matcher.test(entry)) files.add(join(dir, entry));
      } catch (error) {
        this.logger.warn({ err: error, pattern }, 'file_sd: cannot list directory');
      }
    }
    for (const path of [...this.lastGroups.keys()]) if (!files.has(path)) this.lastGroups.delete(path);
    for (const path of files) {
      try {
        this.lastGroups.set(path, parseFileSdText(await readFile(path, 'utf8'), path));
      } catch (error) {
        // Keep what the file gave before, as Prometheus does.
        this.logger.error({ err: (error as Error).message, file: path }, 'file_sd: error reading file');
      }
    }
    if (!this.stopped) this.onUpdate([...this.lastGroups.values()].flat());
  }
}
