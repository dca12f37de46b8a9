/**
 * Expands `__path__` globs to files, with doublestar semantics as Promtail uses them (`**`
 * crosses directories, `*` does not, dot files match), minus `__path_exclude__`. The walk starts
 * at the glob's literal base directory and goes only as deep as the pattern can match.
 */
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import picomatch from 'picomatch';

const MAX_DEPTH = 32;

export interface PathMatcher {
  /** The glob, made absolute. */
  pattern: string;
  matches(path: string): boolean;
  /** Files matching now. */
  expand(): Promise<string[]>;
}

export function compilePathGlob(pattern: string, exclude?: string): PathMatcher {
  const absolute = isAbsolute(pattern) ? pattern : resolve(pattern);
  const include = picomatch(absolute, { dot: true });
  const excluded = exclude ? picomatch(isAbsolute(exclude) ? exclude : resolve(exclude), { dot: true }) : () => false;
  const scan = picomatch.scan(absolute);
  const matches = (path: string) => include(path) && !excluded(path);
  const base = scan.isGlob ? scan.base || '/' : absolute;
  const rest = scan.isGlob ? scan.glob : '';
  const depth = rest.includes('**') ? MAX_DEPTH : rest.split('/').length;

  async function expand(): Promise<string[]> {
    if (!scan.isGlob) {
      try {
        const s = await stat(absolute);
        return s.isFile() && matches(absolute) ? [absolute] : [];
      } catch {
        return [];
      }
    }
    const found: string[] = [];
    const walk = async (dir: string, level: number): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        const full = join(dir, entry.name);
        let isDir = entry.isDirectory();
        let isFile = entry.isFile();
        if (entry.isSymbolicLink()) {
          try {
            const s = await stat(full);
            isDir = s.isDirectory();
            isFile = s.isFile();
          } catch {
            continue;
          }
        }
        if (isFile && matches(full)) found.push(full);
        else if (isDir && level + 1 < depth) await walk(full, level + 1);
      }
    };
    await walk(base, 0);
    return found.sort();
  }
  return { pattern: absolute, matches, expand };
}
