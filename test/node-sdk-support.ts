/**
 * Helpers for the @lookout/node process tests: build the package, run a service instrumented
 * with it (`node --import @lookout/node/register ...`) as a child process, read its JSON log
 * lines from stdout.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort, REPO_ROOT } from './support/lookout-process.js';
import { waitFor as waitUntil } from './support/wait.js';

/** Services load the built package (its `exports` point at dist/): build it (incremental). */
export function buildNodeSdk(): void {
  execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'packages/node'], { cwd: REPO_ROOT, stdio: 'inherit' });
}

export interface ServiceProcess {
  name: string;
  port: number;
  url: string;
  child: ChildProcess;
  output(): string;
  /** stdout lines that parse as JSON objects. */
  records(): Record<string, unknown>[];
  /** Resolves to the exit code, or the signal name when killed by one. */
  stop(signal?: NodeJS.Signals): Promise<number | string | null>;
  exited: Promise<number | string | null>;
}

export interface ServiceOptions {
  name: string;
  /** A script path relative to the repository root, or inline ES module code (`eval`). */
  script?: string;
  eval?: string;
  env?: Record<string, string>;
  port?: number;
  /** Extra node flags (e.g. --max-old-space-size). */
  nodeArgs?: string[];
  /** Path polled until it answers 200. Default /health. */
  readyPath?: string;
}

export async function startService(options: ServiceOptions): Promise<ServiceProcess> {
  const port = options.port ?? (await freePort());
  const args = [...(options.nodeArgs ?? []), '--import', '@lookout/node/register'];
  if (options.script) args.push(join(REPO_ROOT, options.script));
  else args.push('--input-type=module', '--eval', options.eval ?? '');
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      OTEL_SERVICE_NAME: options.name,
      PORT: String(port),
      HOST: '127.0.0.1',
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const url = `http://127.0.0.1:${port}`;
  const output = () => `${stdout}${stderr ? `\n--- stderr ---\n${stderr}` : ''}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${options.name} exited with ${child.exitCode}:\n${output()}`);
    try {
      const response = await fetch(`${url}${options.readyPath ?? '/health'}`);
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${options.name} not up after 30 s:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    name: options.name,
    port,
    url,
    child,
    output,
    exited,
    records: () =>
      stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => {
          try {
            return JSON.parse(line) as Record<string, unknown>;
          } catch {
            return {};
          }
        }),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export const waitFor = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> =>
  waitUntil(what, probe, { timeoutMs, intervalMs: 250 });

export interface TraceSpan {
  name: string;
  spanId: string;
  parentSpanId?: string;
  attributes?: { key: string; value: { stringValue?: string } }[];
}

/** The spans of a trace from Lookout's Tempo API, or undefined while it is not (yet) stored. */
export async function traceSpans(lookoutUrl: string, traceId: string): Promise<TraceSpan[] | undefined> {
  const found = await fetch(`${lookoutUrl}/api/traces/${traceId}`);
  if (found.status !== 200) return undefined;
  const body = (await found.json()) as { batches: { scopeSpans: { spans: TraceSpan[] }[] }[] };
  return body.batches.flatMap((b) => b.scopeSpans.flatMap((s) => s.spans));
}

export function spanAttribute(span: TraceSpan, key: string): string | undefined {
  return span.attributes?.find((a) => a.key === key)?.value.stringValue;
}

/** A database client span's system and statement, under the old or the new semantic conventions. */
export function dbSystem(span: TraceSpan): string | undefined {
  return spanAttribute(span, 'db.system') ?? spanAttribute(span, 'db.system.name');
}

export function dbStatement(span: TraceSpan): string {
  return spanAttribute(span, 'db.statement') ?? spanAttribute(span, 'db.query.text') ?? '';
}

/** Polls `url` until it answers `status`; resolves to that response (body unread). */
export function waitForStatus(what: string, url: string, status: number, timeoutMs: number): Promise<Response> {
  return waitFor(what, async () => {
    const response = await fetch(url);
    return response.status === status ? response : undefined;
  }, timeoutMs);
}

/**
 * Waits until the trace holds at least `count` spans of the database `system`; returns every
 * span of the trace and those.
 */
export function waitForDbSpans(lookoutUrl: string, traceId: string, system: string, count: number): Promise<{ all: TraceSpan[]; queries: TraceSpan[] }> {
  return waitFor(`the trace with ${count} ${system} spans`, async () => {
    const all = await traceSpans(lookoutUrl, traceId);
    const queries = all?.filter((s) => dbSystem(s) === system) ?? [];
    return all && queries.length >= count ? { all, queries } : undefined;
  });
}

/** Stops a peer process (a database server) with SIGTERM and waits for it to exit. */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
