/**
 * Follows one file path the way Promtail does, with the rotation cases made lossless:
 *
 * - appends are read in chunks; only complete lines are shipped, a partial last line waits;
 * - rotation by rename (the path now names another inode): the old file is read to its end
 *   (its unterminated last line included, since nothing will complete it), then the new file
 *   is read from 0;
 * - copytruncate (same inode, smaller than what was read, or its first bytes changed): the
 *   lines written between the last read and the copy are recovered from the copy (a file in
 *   the same directory that starts with the same bytes), then the file is read from 0;
 * - a restart resumes from the positions file; when the path's inode changed meanwhile, the
 *   old inode is looked up in the same directory and finished first.
 *
 * Positions advance only after the sink has stored the entries, so a crash or a refused write
 * re-reads lines instead of losing them, and never re-sends stored ones.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { Positions } from './positions.js';
import { newEntry, type Entry, type PipelineInstance } from './stages.js';

const CHUNK_BYTES = 256 * 1024;
const HEAD_BYTES = 1024;
/** A "line" longer than this without a newline is shipped as is, to bound memory. */
const MAX_LINE_BYTES = 8 * 1024 * 1024;
/** Entries per write. */
const WRITE_BATCH = 2000;

export class SinkStoppedError extends Error {}

/** Stores entries; resolves once stored; rejects with SinkStoppedError when shutting down. */
export type EntrySink = (entries: Entry[]) => Promise<void>;

interface Head {
  length: number;
  hash: string;
}

function hashHead(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function identityOf(s: { dev: number | bigint; ino: number | bigint }): string {
  return `${s.dev}:${s.ino}`;
}

async function readAt(handle: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

async function readHead(handle: FileHandle, upTo: number): Promise<Head> {
  const bytes = await readAt(handle, 0, Math.min(upTo, HEAD_BYTES));
  return { length: bytes.length, hash: hashHead(bytes) };
}

export interface FileReaderOptions {
  path: string;
  /** Target labels (filename included, `__` labels removed). */
  labels: Record<string, string>;
  pipeline: PipelineInstance;
  positions: Positions;
  sink: EntrySink;
  logger: Logger;
  /** Clock for entries without a parsed timestamp (nanoseconds). */
  now?: () => bigint;
}

interface OpenFile {
  handle: FileHandle;
  identity: string;
  /** Next byte to read. */
  readOffset: number;
  /** Bytes read that do not end with a newline yet; they start at readOffset - partial.length. */
  partial: Buffer;
  head: Head;
  size: number;
  mtimeMs: number;
}

export class FileReader {
  private file: OpenFile | undefined;
  private closed = false;

  constructor(private readonly options: FileReaderOptions) {}

  get path(): string {
    return this.options.path;
  }

  private now(): bigint {
    return this.options.now ? this.options.now() : BigInt(Date.now()) * 1_000_000n;
  }

  /** One round: open/resume, detect rotation, read what was appended, ship it. */
  async poll(): Promise<void> {
    if (this.closed) return;
    if (!this.file) {
      await this.openFromPositions();
      if (!this.file) return;
    }
    const file = this.file;
    let current;
    try {
      current = await stat(this.options.path, { bigint: false });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      current = undefined;
    }
    if (current && identityOf(current) !== file.identity) {
      // Rotated by rename (or deleted and recreated): finish the old file, then start the new one.
      this.options.logger.debug({ path: this.options.path }, 'file rotated: finishing the old file');
      await this.readToEnd(file, true);
      await file.handle.close();
      this.file = undefined;
      await this.openNew(0);
      if (this.file) await this.readAvailable(this.file);
      return;
    }
    const s = await file.handle.stat();
    if (s.size !== file.size || s.mtimeMs !== file.mtimeMs) {
      const truncated = s.size < file.readOffset || (file.head.length > 0 && !(await this.headMatches(file.handle, file.head)));
      if (truncated) {
        this.options.logger.debug({ path: this.options.path }, 'file truncated: recovering from the copy, then reading from the start');
        await this.recoverFromCopy(file);
        file.readOffset = 0;
        file.partial = Buffer.alloc(0);
        file.head = { length: 0, hash: '' };
        this.commit(file, 0);
      }
    }
    await this.readAvailable(file);
    // Multiline blocks waiting longer than max_wait_time.
    await this.ship(this.options.pipeline.flush(Date.now(), false), file);
  }

  /** Reads what is left and ships everything held, then closes (the path is gone or no longer tailed). */
  async close(finish: boolean): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const file = this.file;
    if (!file) return;
    this.file = undefined;
    try {
      if (finish) await this.readToEnd(file, true);
    } finally {
      await file.handle.close();
    }
  }

  /** Ships entries still held by multiline stages (shutdown). */
  async flushHeld(): Promise<void> {
    if (this.file) await this.ship(this.options.pipeline.flush(Date.now(), true), this.file);
  }

  private async headMatches(handle: FileHandle, head: Head): Promise<boolean> {
    const bytes = await readAt(handle, 0, head.length);
    return bytes.length === head.length && hashHead(bytes) === head.hash;
  }

  private async openFromPositions(): Promise<void> {
    const { path, positions } = this.options;
    const saved = positions.get(path);
    let current;
    try {
      current = await stat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    if (!saved) return this.openNew(0);
    if (saved.identity !== identityOf(current)) {
      // Rotated while we were not running: finish the old inode if it is still in the directory.
      const old = await this.findFile((s) => identityOf(s) === saved.identity);
      if (old) await this.finishOther(old, saved.offset, saved.identity);
      return this.openNew(0);
    }
    await this.openNew(saved.offset);
    const file = this.file;
    if (!file) return;
    const truncated =
      file.size < saved.offset || (saved.headLength > 0 && !(await this.headMatches(file.handle, { length: saved.headLength, hash: saved.headHash })));
    if (truncated) {
      // Truncated (copytruncate) while we were not running.
      const copy = await this.findCopy(file.identity, { length: saved.headLength, hash: saved.headHash }, saved.offset);
      if (copy) await this.finishOther(copy, saved.offset, saved.identity);
      file.readOffset = 0;
      file.head = { length: 0, hash: '' };
      this.commit(file, 0);
    }
  }

  private async openNew(offset: number): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await open(this.options.path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const s = await handle.stat();
    const head = offset > 0 ? await readHead(handle, offset) : { length: 0, hash: '' };
    this.file = { handle, identity: identityOf(s), readOffset: offset, partial: Buffer.alloc(0), head, size: s.size, mtimeMs: s.mtimeMs };
    this.commit(this.file, offset);
  }

  /** Files in the path's directory (other than the path) whose stat satisfies `test`. */
  private async findFile(test: (s: { dev: number; ino: number; size: number }) => boolean): Promise<string | undefined> {
    const dir = dirname(this.options.path);
    const self = basename(this.options.path);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return undefined;
    }
    for (const name of names) {
      if (name === self) continue;
      try {
        const s = await stat(join(dir, name));
        if (s.isFile() && test(s)) return join(dir, name);
      } catch {
        // vanished meanwhile
      }
    }
    return undefined;
  }

  /** The copy a copytruncate left: another file at least `minSize` long starting with the same bytes. */
  private async findCopy(selfIdentity: string, head: Head, minSize: number): Promise<string | undefined> {
    if (head.length === 0) return undefined;
    const candidates: string[] = [];
    const dir = dirname(this.options.path);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const full = join(dir, name);
      if (full === this.options.path) continue;
      try {
        const s = await stat(full);
        if (s.isFile() && identityOf(s) !== selfIdentity && s.size >= minSize && s.size >= head.length) candidates.push(full);
      } catch {
        // vanished meanwhile
      }
    }
    for (const candidate of candidates) {
      const handle = await open(candidate, 'r').catch(() => undefined);
      if (!handle) continue;
      try {
        if (await this.headMatches(handle, head)) return candidate;
      } finally {
        await handle.close();
      }
    }
    return undefined;
  }

  /** Reads another file (a rotated or copied one) from `offset` to its end and ships it. */
  private async finishOther(path: string, offset: number, identity: string): Promise<void> {
    const handle = await open(path, 'r');
    try {
      const s = await handle.stat();
      const other: OpenFile = { handle, identity, readOffset: offset, partial: Buffer.alloc(0), head: { length: 0, hash: '' }, size: s.size, mtimeMs: s.mtimeMs };
      this.options.logger.debug({ path: this.options.path, from: path, offset }, 'finishing a rotated file');
      // Progress inside the other file is not committed under this path's identity.
      await this.readToEnd(other, true, false);
    } finally {
      await handle.close();
    }
  }

  private async recoverFromCopy(file: OpenFile): Promise<void> {
    const lineStart = file.readOffset - file.partial.length;
    const copy = await this.findCopy(file.identity, file.head, file.readOffset);
    if (copy) await this.finishOther(copy, lineStart, file.identity);
    else if (file.partial.length > 0) this.options.logger.warn({ path: this.options.path }, 'file truncated with a partial line and no copy found');
    await this.ship(this.options.pipeline.flush(Date.now(), true), undefined);
  }

  /** Reads to the current end; with `final`, the unterminated last line and held entries are shipped too. */
  private async readToEnd(file: OpenFile, final: boolean, commit = true): Promise<void> {
    await this.readAvailable(file, commit);
    if (!final) {
      await this.ship(this.options.pipeline.flush(Date.now(), true), commit ? file : undefined);
      return;
    }
    const entries: Entry[] = [];
    if (file.partial.length > 0) {
      const start = file.readOffset - file.partial.length;
      entries.push(...this.options.pipeline.process(this.entryFor(file.partial, start, file.readOffset)));
      file.partial = Buffer.alloc(0);
    }
    entries.push(...this.options.pipeline.flush(Date.now(), true));
    await this.ship(entries, commit ? file : undefined);
  }

  private entryFor(bytes: Buffer, start: number, end: number): Entry {
    let length = bytes.length;
    if (length > 0 && bytes[length - 1] === 0x0d) length--; // CRLF files
    return newEntry(this.options.labels, bytes.toString('utf8', 0, length), this.now(), start, end);
  }

  /** Reads from readOffset to the end of the file as it is now, shipping complete lines. */
  private async readAvailable(file: OpenFile, commit = true): Promise<void> {
    const s = await file.handle.stat();
    file.size = s.size;
    file.mtimeMs = s.mtimeMs;
    let entries: Entry[] = [];
    while (file.readOffset < file.size) {
      const chunk = await readAt(file.handle, file.readOffset, Math.min(CHUNK_BYTES, file.size - file.readOffset));
      if (chunk.length === 0) break;
      const chunkStart = file.readOffset;
      file.readOffset += chunk.length;
      let data = file.partial.length > 0 ? Buffer.concat([file.partial, chunk]) : chunk;
      let dataStart = chunkStart - file.partial.length;
      let newline: number;
      while ((newline = data.indexOf(0x0a)) >= 0) {
        entries.push(...this.options.pipeline.process(this.entryFor(data.subarray(0, newline), dataStart, dataStart + newline + 1)));
        data = data.subarray(newline + 1);
        dataStart += newline + 1;
        if (entries.length >= WRITE_BATCH) {
          file.partial = Buffer.from(data);
          await this.ship(entries, commit ? file : undefined);
          entries = [];
        }
      }
      if (data.length > MAX_LINE_BYTES) {
        entries.push(...this.options.pipeline.process(this.entryFor(data, dataStart, dataStart + data.length)));
        data = Buffer.alloc(0);
      }
      file.partial = Buffer.from(data);
      if (commit && file.head.length < HEAD_BYTES && file.readOffset > file.head.length) file.head = await readHead(file.handle, file.readOffset);
    }
    await this.ship(entries, commit ? file : undefined);
  }

  /** Stores entries (retrying inside the sink), then advances the position. */
  private async ship(entries: Entry[], file: OpenFile | undefined): Promise<void> {
    if (entries.length > 0) await this.options.sink(entries);
    if (file) this.commit(file, file.readOffset - file.partial.length);
  }

  private commit(file: OpenFile, lineBoundary: number): void {
    const held = this.options.pipeline.pendingStart();
    const offset = held === undefined ? lineBoundary : Math.min(held, lineBoundary);
    // The head covers bytes already read, which an append-only file never changes.
    this.options.positions.set(this.options.path, { identity: file.identity, offset, headLength: file.head.length, headHash: file.head.hash });
  }
}
