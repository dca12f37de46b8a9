/**
 * The positions file: for every tailed path, the file identity (device:inode) and the byte
 * offset up to which lines have been stored, plus a hash of the file's first bytes, which lets
 * a restart recognise a copytruncate that happened while Lookout was down. Written atomically
 * (temporary file, fsync, rename) so a crash leaves either the old or the new file.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface FilePosition {
  /** "dev:ino" of the file the offset belongs to. */
  identity: string;
  offset: number;
  /** Length and SHA-256 (hex) of the file's first bytes, up to 1 KiB. */
  headLength: number;
  headHash: string;
}

interface PositionsDocument {
  version: 1;
  files: Record<string, FilePosition>;
}

export class Positions {
  private readonly entries = new Map<string, FilePosition>();
  private dirty = false;
  private saving: Promise<void> = Promise.resolve();

  constructor(readonly filename: string) {}

  /** Reads the file; a missing file is an empty set, a corrupt one is reported. */
  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.filename, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const doc = JSON.parse(text) as PositionsDocument;
    if (doc?.version !== 1 || typeof doc.files !== 'object') throw new Error(`${this.filename}: not a Lookout positions file`);
    for (const [path, p] of Object.entries(doc.files)) {
      if (typeof p?.identity === 'string' && Number.isSafeInteger(p.offset) && p.offset >= 0) {
        this.entries.set(path, { identity: p.identity, offset: p.offset, headLength: p.headLength ?? 0, headHash: p.headHash ?? '' });
      }
    }
  }

  get(path: string): FilePosition | undefined {
    return this.entries.get(path);
  }

  set(path: string, position: FilePosition): void {
    const old = this.entries.get(path);
    if (old && old.identity === position.identity && old.offset === position.offset && old.headHash === position.headHash) return;
    this.entries.set(path, { ...position });
    this.dirty = true;
  }

  delete(path: string): void {
    if (this.entries.delete(path)) this.dirty = true;
  }

  /** Forgets every path `keep` refuses. */
  retain(keep: (path: string) => boolean): void {
    for (const path of [...this.entries.keys()]) if (!keep(path)) this.delete(path);
  }

  /** Writes the file if anything changed since the last save. Saves never overlap. */
  save(): Promise<void> {
    this.saving = this.saving.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const doc: PositionsDocument = { version: 1, files: Object.fromEntries(this.entries) };
      try {
        await writeAtomically(this.filename, JSON.stringify(doc, null, 1) + '\n');
      } catch (error) {
        this.dirty = true;
        throw error;
      }
    });
    return this.saving;
  }
}

async function writeAtomically(filename: string, text: string): Promise<void> {
  await mkdir(dirname(filename), { recursive: true });
  const temporary = `${filename}.tmp-${process.pid}`;
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, filename);
}
