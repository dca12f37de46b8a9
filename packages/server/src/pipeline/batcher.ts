import { LookoutError } from '../errors.js';

export interface BatcherOptions<T> {
  /** For errors and metrics. */
  name: string;
  /** Rows per insert at most. */
  maxBatchRows: number;
  /** Rows accepted but not yet stored, at most; beyond it submit() refuses (backpressure). */
  maxPendingRows: number;
  /**
   * Batches stored at the same time, at most (default 1). With more than one, `flush` must
   * tolerate concurrent calls and make its own ordering guarantees.
   */
  maxInFlight?: number;
  /** Stores one batch. */
  flush: (rows: T[]) => Promise<void>;
  /** Seconds a refused client is told to wait. */
  retryAfterSeconds?: number;
  onFlush?: (rows: number, seconds: number, error?: unknown) => void;
}

interface Waiter {
  /** Rows not yet stored. */
  remaining: number;
  /** Settled (rejected): rows of it still in flight no longer count. */
  failed: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** The not-yet-batched rows of one request. */
interface Chunk<T> {
  waiter: Waiter;
  rows: readonly T[];
  offset: number;
}

/** Which request the rows of a batch came from, in order. */
interface Segment {
  waiter: Waiter;
  count: number;
}

/**
 * Group commit: rows from many requests go into one insert. At most `maxInFlight` inserts
 * run at a time; rows that arrive meanwhile wait for the next, so batches grow with load and
 * latency stays at one insert when idle. A request resolves only once all of its rows are
 * stored, and is refused up front (never half-queued) when the pending bound would be
 * exceeded.
 */
export class Batcher<T> {
  private queue: Chunk<T>[] = [];
  private queuedRows = 0;
  private inFlightRows = 0;
  private inFlight = 0;
  private closed = false;
  private idleResolvers: (() => void)[] = [];
  private readonly maxInFlight: number;

  constructor(private readonly options: BatcherOptions<T>) {
    this.maxInFlight = Math.max(1, Math.floor(options.maxInFlight ?? 1));
  }

  get pendingRows(): number {
    return this.queuedRows + this.inFlightRows;
  }

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
    const done = new Promise<void>((resolve, reject) => {
      this.queue.push({ waiter: { remaining: rows.length, failed: false, resolve, reject }, rows, offset: 0 });
    });
    this.queuedRows += rows.length;
    this.kick();
    return done;
  }

  /** Resolves when everything submitted so far is stored (or failed). */
  async drain(): Promise<void> {
    if (this.inFlight === 0 && this.queuedRows === 0) return;
    await new Promise<void>((resolve) => this.idleResolvers.push(resolve));
  }

  /** Refuses new rows and waits for the queued ones. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
  }

  private kick(): void {
    while (this.inFlight < this.maxInFlight && this.queuedRows > 0) void this.store(this.takeBatch());
  }

  /** Up to maxBatchRows queued rows, oldest first, and the requests they belong to. */
  private takeBatch(): { rows: T[]; segments: Segment[] } {
    const rows: T[] = [];
    const segments: Segment[] = [];
    const max = this.options.maxBatchRows;
    while (rows.length < max && this.queue.length > 0) {
      const chunk = this.queue[0]!;
      const take = Math.min(max - rows.length, chunk.rows.length - chunk.offset);
      for (let i = chunk.offset; i < chunk.offset + take; i++) rows.push(chunk.rows[i]!);
      chunk.offset += take;
      segments.push({ waiter: chunk.waiter, count: take });
      if (chunk.offset === chunk.rows.length) this.queue.shift();
    }
    this.queuedRows -= rows.length;
    return { rows, segments };
  }

  private async store(batch: { rows: T[]; segments: Segment[] }): Promise<void> {
    const count = batch.rows.length;
    this.inFlight++;
    this.inFlightRows += count;
    const started = performance.now();
    let failure: unknown;
    try {
      await this.options.flush(batch.rows);
    } catch (error) {
      failure = error;
    }
    this.inFlight--;
    this.inFlightRows -= count;
    this.options.onFlush?.(count, (performance.now() - started) / 1000, failure);
    this.settle(batch.segments, failure);
    this.kick();
    if (this.inFlight === 0 && this.queuedRows === 0) {
      const resolvers = this.idleResolvers;
      this.idleResolvers = [];
      for (const resolve of resolvers) resolve();
    }
  }

  /** Attributes the stored (or failed) rows to the requests they came from. */
  private settle(segments: Segment[], failure: unknown): void {
    for (const { waiter, count } of segments) {
      if (waiter.failed) continue;
      if (failure !== undefined) {
        // A request with any row lost fails as a whole; its rows still queued are dropped so
        // a retry does not store them twice.
        waiter.failed = true;
        const index = this.queue.findIndex((chunk) => chunk.waiter === waiter);
        if (index >= 0) {
          const chunk = this.queue[index]!;
          this.queuedRows -= chunk.rows.length - chunk.offset;
          this.queue.splice(index, 1);
        }
        waiter.reject(
          new LookoutError('LOOKOUT_ERR_STORAGE_UNAVAILABLE', `storing ${this.options.name} failed: ${(failure as Error).message}`, {
            cause: failure,
            retryAfterSeconds: 1,
          }),
        );
      } else {
        waiter.remaining -= count;
        if (waiter.remaining === 0) waiter.resolve();
      }
    }
  }
}
