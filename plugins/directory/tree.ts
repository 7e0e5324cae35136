// Directory trees in and out of a manifest: what was there (files, directories, symlinks as
// links, modes, mtimes) and the checks that keep a restore inside its target.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KarborError } from '../../common/errors';

export interface TreeEntry {
  /** Relative to the root, `/`-separated, never empty, absolute or with `.`/`..`. */
  path: string;
  type: 'dir' | 'file' | 'symlink';
  mode: number;
  /** Milliseconds with the fraction the filesystem keeps (microseconds survive). */
  mtime_ms: number;
  size?: number;
  /** With size and mtime, what tells an unchanged file (its chunks are reused unread). */
  ctime_ms?: number;
  ino?: number;
  chunks?: string[];
  /** A symlink's target, kept as text: never followed. */
  target?: string;
}

export interface Manifest {
  version: 1;
  root: string;
  entries: TreeEntry[];
  files: number;
  bytes: number;
}

/** Thrown when a tree cannot be protected or restored safely. */
export class TreeError extends KarborError {
  readonly code = 'TREE_REFUSED';
  readonly permanent = true;
}

/** Everything under `root` (not `root` itself), parents before children, sorted. */
export async function walk(root: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const visit = async (rel: string) => {
    const names = (await fs.promises.readdir(path.join(root, rel))).sort();
    for (const name of names) {
      const relPath = rel ? `${rel}/${name}` : name;
      const full = path.join(root, relPath);
      const st = await fs.promises.lstat(full);
      const base = { path: relPath, mode: st.mode & 0o7777, mtime_ms: st.mtimeMs };
      if (st.isSymbolicLink()) {
        out.push({ ...base, type: 'symlink', target: await fs.promises.readlink(full) });
      } else if (st.isDirectory()) {
        out.push({ ...base, type: 'dir' });
        await visit(relPath);
      } else if (st.isFile()) {
        out.push({ ...base, type: 'file', size: st.size, ctime_ms: st.ctimeMs, ino: st.ino });
      }
      // Sockets, devices and fifos are not data to protect.
    }
  };
  await visit('');
  return out;
}

/** Refuses a manifest path that could land outside the target. */
export function checkEntryPath(p: string): void {
  if (!p || p.startsWith('/') || p.includes('\\') || p.includes('\0')) {
    throw new TreeError(`refusing manifest entry ${JSON.stringify(p)}: not a relative path`);
  }
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') {
      throw new TreeError(`refusing manifest entry ${JSON.stringify(p)}: "${seg}" segment`);
    }
  }
}

/**
 * Before anything is written: no path component a restore would descend through may be an
 * existing symlink, so nothing is written outside the target.
 */
export async function checkTarget(target: string, entries: TreeEntry[]): Promise<void> {
  const lst = await fs.promises.lstat(target).catch(() => undefined);
  if (lst?.isSymbolicLink()) throw new TreeError(`restore target ${target} is a symlink`);
  if (lst && !lst.isDirectory()) throw new TreeError(`restore target ${target} is not a directory`);
  if (!lst) return;
  const checked = new Set<string>();
  for (const e of entries) {
    checkEntryPath(e.path);
    const segs = e.path.split('/');
    for (let i = 1; i <= segs.length; i++) {
      const rel = segs.slice(0, i).join('/');
      if (checked.has(rel)) continue;
      checked.add(rel);
      const st = await fs.promises.lstat(path.join(target, rel)).catch(() => undefined);
      if (!st) break;
      // A link in the entry's own place is replaced, not followed; any link the restore
      // would descend through is refused.
      const throughIt = i < segs.length || e.type === 'dir';
      if (st.isSymbolicLink() && throughIt) {
        throw new TreeError(
          `restore target contains a symlink at ${path.join(target, rel)}; refusing to write through it`,
        );
      }
    }
  }
}

/**
 * One line per entry (type, mode, mtime to the millisecond, size, content hash, link target),
 * so two trees are the same exactly when their fingerprints are equal.
 */
export function treeFingerprint(root: string): string[] {
  const out: string[] = [];
  const visit = (rel: string) => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const full = path.join(root, r);
      const st = fs.lstatSync(full);
      const mode = (st.mode & 0o7777).toString(8);
      const mtime = Math.floor(st.mtimeMs);
      if (st.isSymbolicLink()) out.push(`${r} link -> ${fs.readlinkSync(full)}`);
      else if (st.isDirectory()) {
        out.push(`${r} dir ${mode} ${mtime}`);
        visit(r);
      } else {
        const sum = createHash('sha256').update(fs.readFileSync(full)).digest('hex');
        out.push(`${r} file ${mode} ${mtime} ${st.size} ${sum}`);
      }
    }
  };
  visit('');
  return out;
}
