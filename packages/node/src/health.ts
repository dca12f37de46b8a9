/**
 * Dependency health checks: `/health` is liveness (the process answers), `/ready` runs every
 * registered check with its timeout and fails (503) when a critical one fails. Results are
 * also exported as the `health.check.status` gauge (1 pass, 0 fail) per check.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { metrics } from '@opentelemetry/api';
import { currentRedactor } from './logger.js';
import { SDK_NAME, SDK_VERSION } from './version.js';

/** Passes unless it throws, rejects, or returns `false`. */
export type HealthCheck = () => unknown;

export interface HealthCheckOptions {
  /** Milliseconds before the check counts as failed. Default 2000. */
  timeout?: number;
  /** Whether a failure makes /ready answer 503. Default true. */
  critical?: boolean;
}

export interface CheckResult {
  status: 'pass' | 'fail';
  duration_ms: number;
  critical: boolean;
  error?: string;
}

export interface HealthReport {
  /** ok: all pass; degraded: only non-critical checks fail; fail: a critical check fails. */
  status: 'ok' | 'degraded' | 'fail';
  checks: Record<string, CheckResult>;
}

interface Registered {
  check: HealthCheck;
  timeout: number;
  critical: boolean;
}

export class HealthRegistry {
  private readonly registered = new Map<string, Registered>();
  private readonly last = new Map<string, CheckResult>();
  private gaugeGeneration = -1;

  register(name: string, check: HealthCheck, options: HealthCheckOptions = {}): this {
    if (!name) throw new Error('health.register: a check needs a name');
    this.registered.set(name, { check, timeout: options.timeout ?? 2000, critical: options.critical ?? true });
    return this;
  }

  unregister(name: string): boolean {
    this.last.delete(name);
    return this.registered.delete(name);
  }

  names(): string[] {
    return [...this.registered.keys()];
  }

  /** Liveness: no dependency is consulted (a dead database must not get the process restarted). */
  live(): HealthReport {
    return { status: 'ok', checks: {} };
  }

  /** Runs every check concurrently, each bounded by its timeout. */
  async ready(): Promise<HealthReport> {
    const entries = [...this.registered.entries()];
    const results = await Promise.all(entries.map(([, registered]) => runCheck(registered)));
    const report: HealthReport = { status: 'ok', checks: {} };
    entries.forEach(([name], i) => {
      const result = results[i]!;
      report.checks[name] = result;
      this.last.set(name, result);
      if (result.status === 'fail') {
        if (result.critical) report.status = 'fail';
        else if (report.status === 'ok') report.status = 'degraded';
      }
    });
    return report;
  }

  /** Registers the observable gauge with the current MeterProvider (init() calls this). */
  observeWith(generation: number): void {
    if (generation === this.gaugeGeneration) return;
    this.gaugeGeneration = generation;
    const meter = metrics.getMeter(SDK_NAME, SDK_VERSION);
    const status = meter.createObservableGauge('health.check.status', { description: 'Last result of each health check: 1 pass, 0 fail.' });
    const duration = meter.createObservableGauge('health.check.duration', { description: 'Duration of the last run of each health check.', unit: 'ms' });
    meter.addBatchObservableCallback(
      (observer) => {
        for (const [name, result] of this.last) {
          const attributes = { 'health.check': name, 'health.critical': result.critical };
          observer.observe(status, result.status === 'pass' ? 1 : 0, attributes);
          observer.observe(duration, result.duration_ms, attributes);
        }
      },
      [status, duration],
    );
  }
}

async function runCheck(registered: Registered): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const outcome = await Promise.race([
      Promise.resolve().then(registered.check),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${registered.timeout} ms`)), registered.timeout);
      }),
    ]);
    if (outcome === false) throw new Error('check returned false');
    return { status: 'pass', duration_ms: elapsed(started), critical: registered.critical };
  } catch (error) {
    const message = error instanceof Error ? error.message || error.name : String(error);
    // Connection errors often quote connection strings; they are served over HTTP, so redact.
    return { status: 'fail', duration_ms: elapsed(started), critical: registered.critical, error: currentRedactor().redactString(message) };
  } finally {
    if (timer) clearTimeout(timer);
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}

/** Anything with `query(text)` (pg Pool or Client). */
export interface PgLike {
  query(text: string): Promise<unknown>;
}
/** Anything with `ping()` (ioredis, node-redis v4+). */
export interface RedisLike {
  ping(): Promise<unknown>;
}

export interface HttpCheckOptions {
  /** Acceptable statuses; default 200–399. */
  expectStatus?: (status: number) => boolean;
  headers?: Record<string, string>;
}

/** Ready-made checks for common dependencies. */
export const checks = {
  pg: (client: PgLike): HealthCheck => () => client.query('SELECT 1').then(() => true),
  redis: (client: RedisLike): HealthCheck => () =>
    client.ping().then((reply) => {
      if (reply !== 'PONG') throw new Error(`unexpected PING reply ${String(reply)}`);
      return true;
    }),
  http:
    (url: string, options: HttpCheckOptions = {}): HealthCheck =>
    () =>
      new Promise<boolean>((resolve, reject) => {
        const target = new URL(url);
        const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
        const req = send(target, { method: 'GET', headers: options.headers, agent: false }, (res) => {
          res.resume();
          const status = res.statusCode ?? 0;
          const ok = options.expectStatus ? options.expectStatus(status) : status >= 200 && status < 400;
          if (ok) resolve(true);
          else reject(new Error(`${target.origin}${target.pathname} answered ${status}`));
        });
        req.on('error', (error) => reject(error));
        req.end();
      }),
};

export const health = Object.assign(new HealthRegistry(), { checks });

export interface HealthHttpAnswer {
  statusCode: number;
  body: HealthReport;
}

/** The answer for a health path, or undefined if `path` is not one. */
export async function answerHealth(registry: HealthRegistry, kind: 'live' | 'ready'): Promise<HealthHttpAnswer> {
  if (kind === 'live') return { statusCode: 200, body: registry.live() };
  const report = await registry.ready();
  return { statusCode: report.status === 'fail' ? 503 : 200, body: report };
}
