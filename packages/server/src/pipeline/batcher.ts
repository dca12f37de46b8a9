import { LookoutError } from '../errors.js';

export interface BatcherOptions<T> {
  /** For errors and metrics. */
  name: string;
  /** Rows per insert at most. */
  maxBatchRows: number;
  /** Rows accepted but not yet stored, at most; beyond it submit() refuses (backpressure). */
  maxPendingRows: number;
  /** Stores one batch; the batcher calls it one batch at a time. */
  flush: (rows: T[]) => Promise<void>;
  /** Seconds a refused client is told to wait. */
  retryAfterSeconds?: number;
  onFlush?: (rows: number, seconds: number, error?: unknown) => void;
}

interface Waiter {
  remaining: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: rows from many requests go into one insert. One insert runs at a time; rows
 * that arrive meanwhile wait for the next, so batches grow with load and latency stays at one
 * insert when idle. A request resolves only once all of its rows are stored, and is refused
 * up front (never half-queued) when the pending bound would be exceeded.
 */
export class Batcher<T> {
  private queue: T[] = [];
  /** Requests in queue order with how many of their rows are not yet stored. */
  private waiters: Waiter[] = [];
  private flushing = false;
  private closed = false;
  private idleResolvers: (() => void)[] = [];

  constructor(private readonly options: BatcherOptions<T>) {}

  get pendingRows(): number {
    return this.queue.length + this.inFlightRows;
  }

  private inFlightRows = 0;

  /** Full: any request would be refused now. Lets callers refuse before decoding a body. */
  get saturated(): boolean {
    return this.closed || this.pendingRows >= this.options.maxPendingRows;
  }

  submit(rows: readonly T[]): Promise<void> {
    if (this.closed) {
      return Promise.reject(new LookoutError('LOOKOUT_ERR_PIPELINE_SHUTTING_DOWN', 'server is shutting down', { retryAfterSeconds: 5 }));
    }
    if (rows.length === 0) return Promise.resolve();
    if (this.pendingRows + rows.length > this.options.maxPendingRows) {
      return Promise.reject(
        new LookoutError(
          'LOOKOUT_ERR_PIPELINE_OVERLOADED',
          `${this.options.name} write queue is full (${this.pendingRows} rows pending, limit ${this.options.maxPendingRows}); retry later`,
          { retryAfterSeconds: this.options.retryAfterSeconds ?? 1 },
        ),
      );
    }
    for (const row of rows) this.queue.push(row);
    const done = new Promise<void>((resolve, reject) => {
      this.waiters.push({ remaining: rows.length, resolve, reject });
    });
    this.kick();
    return done;
  }

  /** Resolves when everything submitted so far is stored (or failed). */
  async drain(): Promise<void> {
    if (!this.flushing && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idleResolvers.push(resolve));
  }

  /** Refuses new rows and waits for the queued ones. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
  }

  private kick(): void {
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    void this.flushLoop();
  }

  private async flushLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatchRows);
      this.inFlightRows = batch.length;
      const started = performance.now();
      let failure: unknown;
      try {
        await this.options.flush(batch);
      } catch (error) {
        failure = error;
      }
      this.inFlightRows = 0;
      this.options.onFlush?.(batch.length, (performance.now() - started) / 1000, failure);
      this.settle(batch.length, failure);
    }
    this.flushing = false;
    const resolvers = this.idleResolvers;
    this.idleResolvers = [];
    for (const resolve of resolvers) resolve();
  }

  /** Attributes the stored (or failed) rows to the requests they came from, in order. */
  private settle(count: number, failure: unknown): void {
    let left = count;
    while (left > 0 && this.waiters.length > 0) {
      const waiter = this.waiters[0]!;
      const taken = Math.min(left, waiter.remaining);
      waiter.remaining -= taken;
      left -= taken;
      if (failure !== undefined) {
        // A request with any row lost fails as a whole; its remaining rows are dropped from
        // the queue so a retry does not store them twice.
        this.waiters.shift();
        if (waiter.remaining > 0) this.queue.splice(0, waiter.remaining);
        waiter.reject(
          new LookoutError('LOOKOUT_ERR_STORAGE_UNAVAILABLE', `storing ${this.options.name} failed: ${(failure as Error).message}`, {
            cause: failure,
            retryAfterSeconds: 1,
          }),
        );
      } else if (waiter.remaining === 0) {
        this.waiters.shift();
        waiter.resolve();
      }
    }
  }
}
