/**
 * The write-ahead log of the embedded engine: acknowledged rows wait here, in ClickHouse's
 * Native format, until the engine has them.
 *
 * Why: with one insert per acknowledged batch, a client's acknowledgement waited for the part
 * write, so ingest ran decode and insert one after the other and made parts as small as the
 * requests in flight. Here an append is acknowledged once its block is in the segment file
 * (it survives the process dying; a power loss can take what the kernel had not yet written),
 * and a background inserter moves whole segments — many requests' blocks — with one
 * `INSERT … SELECT … FROM file(segment, 'Native')` each, while decoding goes on. Prometheus's
 * head and WAL follow the same idea.
 *
 * Each segment holds blocks of one table. Its name carries the run's start time and a
 * sequence number, and it is inserted with that name as the deduplication token (the tables
 * keep a deduplication window, migration 6): a segment inserted but not yet deleted when the
 * process died is not stored twice on replay. A sidecar `.offsets` file records where each
 * complete block ends, written before the block is acknowledged; replay cuts a segment to its
 * last complete block, since a crash can leave half a block no one was told was stored.
 *
 * Reads call `flushed()` first, so what was acknowledged is visible to the next query.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat, truncate, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { LookoutError } from '../../errors.js';

export interface BlockLogOptions {
  dir: string;
  /**
   * Stores one segment: a file of Native blocks of `table`. `columns` is undefined for a segment
   * found on replay (the file's own header names them). Must be idempotent per `token`.
   */
  insert(table: string, columns: readonly string[] | undefined, path: string, token: string): Promise<void>;
  /** A segment is handed to the inserter at this many rows, bytes, or this age. */
  segmentRows?: number;
  segmentBytes?: number;
  maxAgeMs?: number;
  /** Appends wait while this many bytes are not yet in the engine (backpressure). */
  maxPendingBytes?: number;
  /** Waits between attempts to store a segment; after the last, it is moved aside. */
  retryDelaysMs?: readonly number[];
  /** A segment the engine refused after every retry (moved aside to `failed/`). */
  onSegmentFailed?(path: string, error: unknown): void;
}

export interface WriteAheadLogStats {
  pendingBytes: number;
  pendingRows: number;
  pendingSegments: number;
  /** Rows moved into storage since start, by table. */
  storedRows: Record<string, number>;
  /** Segments storage refused after every retry (moved to `failed/`). */
  failedSegments: number;
}

interface Segment {
  name: string;
  table: string;
  columns: readonly string[] | undefined;
  path: string;
  rows: number;
  bytes: number;
  handle?: FileHandle;
  offsets?: FileHandle;
  /** The chain of block writes; the segment is closed after the last. */
  writes: Promise<void>;
  timer?: NodeJS.Timeout;
  closed?: Promise<void>;
}

/** Rows at which a segment is handed to the inserter unless configured otherwise. */
export const DEFAULT_SEGMENT_ROWS = 50_000;

const SEGMENT_NAME = /^(\d{14}-\d{10})\.([A-Za-z_][A-Za-z0-9_]*)\.native$/;
const RETRY_DELAYS_MS = [100, 500, 2000, 5000];

export class BlockLog {
  private readonly open = new Map<string, Segment>();
  private readonly queue: Segment[] = [];
  private readonly runId = String(Date.now()).padStart(14, '0');
  private seq = 0;
  private pendingBytes = 0;
  private inserting = false;
  private closing = false;
  private waiters: (() => void)[] = [];
  private readonly storedRows = new Map<string, number>();
  private failedSegments = 0;
  private readonly segmentRows: number;
  private readonly segmentBytes: number;
  private readonly maxAgeMs: number;
  private readonly maxPendingBytes: number;

  constructor(private readonly options: BlockLogOptions) {
    this.segmentRows = options.segmentRows ?? DEFAULT_SEGMENT_ROWS;
    this.segmentBytes = options.segmentBytes ?? 64 << 20;
    this.maxAgeMs = options.maxAgeMs ?? 1000;
    this.maxPendingBytes = options.maxPendingBytes ?? 512 << 20;
  }

  /** Creates the directory and stores every segment a previous run left behind; returns their count. */
  async replay(): Promise<number> {
    await mkdir(this.options.dir, { recursive: true });
    const names = (await readdir(this.options.dir)).filter((n) => SEGMENT_NAME.test(n)).sort();
    let segments = 0;
    for (const file of names) {
      const [, name, table] = SEGMENT_NAME.exec(file)!;
      const path = join(this.options.dir, file);
      const length = await completeLength(path);
      if (length === 0) {
        await removeSegment(path);
        continue;
      }
      if ((await stat(path)).size > length) await truncate(path, length);
      this.queue.push({ name: name!, table: table!, columns: undefined, path, rows: 0, bytes: length, writes: Promise.resolve(), closed: Promise.resolve() });
      this.pendingBytes += length;
      segments++;
    }
    // Orphan offsets files (their segment was stored and deleted first).
    for (const file of await readdir(this.options.dir)) {
      if (file.endsWith('.offsets') && !names.includes(file.slice(0, -'.offsets'.length))) await rm(join(this.options.dir, file), { force: true });
    }
    this.kick();
    await this.flushed();
    return segments;
  }

  /** For /metrics: what waits in the log, and what it has stored (rows of replayed segments uncounted). */
  stats(): WriteAheadLogStats {
    let pendingRows = 0;
    for (const segment of this.open.values()) pendingRows += segment.rows;
    for (const segment of this.queue) pendingRows += segment.rows;
    return {
      pendingBytes: this.pendingBytes,
      pendingRows,
      pendingSegments: this.open.size + this.queue.length,
      storedRows: Object.fromEntries(this.storedRows),
      failedSegments: this.failedSegments,
    };
  }

  /** Resolves once `block` (a Native block of `rows` rows) is in the log. */
  async append(table: string, columns: readonly string[], block: Buffer, rows: number): Promise<void> {
    if (this.closing) throw new LookoutError('LOOKOUT_ERR_STORAGE_UNAVAILABLE', 'storage is closing');
    while (this.pendingBytes > this.maxPendingBytes) {
      for (const open of [...this.open.values()]) this.roll(open);
      await this.nextProgress();
    }
    let segment = this.open.get(table);
    if (segment !== undefined && !sameColumns(segment.columns, columns)) {
      this.roll(segment);
      segment = undefined;
    }
    if (segment === undefined) segment = this.start(table, columns);
    const s = segment;
    const position = s.bytes;
    s.rows += rows;
    s.bytes += block.length;
    this.pendingBytes += block.length;
    s.writes = s.writes.then(async () => {
      s.handle ??= await open(s.path, 'w');
      s.offsets ??= await open(`${s.path}.offsets`, 'w');
      await s.handle.write(block, 0, block.length, position);
      const end = Buffer.allocUnsafe(8);
      end.writeBigUInt64LE(BigInt(position + block.length));
      await s.offsets.write(end, 0, 8, null);
    });
    const written = s.writes;
    if (s.rows >= this.segmentRows || s.bytes >= this.segmentBytes) this.roll(s);
    try {
      await written;
    } catch (error) {
      throw new LookoutError('LOOKOUT_ERR_STORAGE_UNAVAILABLE', `write-ahead log write failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Resolves once everything appended before the call is in the engine: to all tables, or to
   * those named (a read of one table need not wait for another's backlog).
   */
  flushed(tables?: readonly string[]): Promise<void> {
    if (this.open.size === 0 && this.queue.length === 0) return Promise.resolve();
    const wanted = (table: string) => tables === undefined || tables.includes(table);
    for (const segment of [...this.open.values()]) if (wanted(segment.table)) this.roll(segment);
    const last = this.queue.findLast((segment) => wanted(segment.table));
    if (last === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!this.queue.includes(last)) resolve();
        else this.waiters.push(check);
      };
      check();
    });
  }

  /** Stores everything and stops taking appends. */
  async close(): Promise<void> {
    this.closing = true;
    await this.flushed();
  }

  private start(table: string, columns: readonly string[]): Segment {
    const name = `${this.runId}-${String(++this.seq).padStart(10, '0')}`;
    const segment: Segment = {
      name,
      table,
      columns,
      path: join(this.options.dir, `${name}.${table}.native`),
      rows: 0,
      bytes: 0,
      writes: Promise.resolve(),
    };
    segment.timer = setTimeout(() => this.roll(segment), this.maxAgeMs);
    segment.timer.unref();
    this.open.set(table, segment);
    return segment;
  }

  private roll(segment: Segment): void {
    if (this.open.get(segment.table) !== segment) return;
    this.open.delete(segment.table);
    clearTimeout(segment.timer);
    segment.closed = segment.writes
      .catch(() => undefined)
      .then(async () => {
        await segment.handle?.close();
        await segment.offsets?.close();
      });
    this.queue.push(segment);
    this.kick();
  }

  private kick(): void {
    if (this.inserting) return;
    this.inserting = true;
    void this.drain().finally(() => {
      this.inserting = false;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const segment = this.queue[0]!;
      await segment.closed;
      try {
        await this.store(segment);
      } catch (error) {
        // store() handles the engine's errors; this is the file system failing under it.
        this.options.onSegmentFailed?.(segment.path, error);
      }
      this.queue.shift();
      this.pendingBytes -= segment.bytes;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
  }

  private async store(segment: Segment): Promise<void> {
    const length = await completeLength(segment.path).catch(() => 0);
    if (length === 0) {
      await removeSegment(segment.path);
      return;
    }
    if ((await stat(segment.path)).size > length) await truncate(segment.path, length);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.options.insert(segment.table, segment.columns, segment.path, segment.name);
        this.storedRows.set(segment.table, (this.storedRows.get(segment.table) ?? 0) + segment.rows);
        await removeSegment(segment.path);
        return;
      } catch (error) {
        const delays = this.options.retryDelaysMs ?? RETRY_DELAYS_MS;
        if (attempt >= delays.length) {
          const failedDir = join(this.options.dir, 'failed');
          await mkdir(failedDir, { recursive: true });
          const file = segment.path.slice(this.options.dir.length + 1);
          await rename(segment.path, join(failedDir, file)).catch(() => undefined);
          await rm(`${segment.path}.offsets`, { force: true });
          this.failedSegments++;
          this.options.onSegmentFailed?.(join(failedDir, file), error);
          return;
        }
        await new Promise((r) => setTimeout(r, delays[attempt]));
      }
    }
  }

  private nextProgress(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

function sameColumns(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((c, i) => c === b[i]);
}

/** Bytes of the segment's complete blocks: the last offset its sidecar recorded. */
async function completeLength(path: string): Promise<number> {
  let offsets: Buffer;
  try {
    offsets = await readFile(`${path}.offsets`);
  } catch {
    return 0;
  }
  const whole = offsets.length - (offsets.length % 8);
  return whole === 0 ? 0 : Number(offsets.readBigUInt64LE(whole - 8));
}

async function removeSegment(path: string): Promise<void> {
  await rm(path, { force: true });
  await rm(`${path}.offsets`, { force: true });
}
