// Directory trees into a manifest: everything restic records (files, directories, symlinks,
// FIFOs and devices; owners, modes, nanosecond times, extended attributes incl. ACLs; hard
// links), names kept as bytes. And a fingerprint to compare two trees.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readXattrs } from './fs-at';
import { bytesFields } from './manifest';
import type { EntryMeta, ManifestEntry } from './manifest';

/** Names of users and groups by number, from the host's account files (read once). */
class Accounts {
  private users?: Map<number, string>;
  private groups?: Map<number, string>;

  private static read(file: string): Map<number, string> {
    const out = new Map<number, string>();
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return out;
    }
    for (const line of text.split('\n')) {
      const [name, , id] = line.split(':');
      const n = Number(id);
      if (name && Number.isInteger(n) && !out.has(n)) out.set(n, name);
    }
    return out;
  }

  user(uid: number): string | undefined {
    this.users ??= Accounts.read('/etc/passwd');
    return this.users.get(uid);
  }

  group(gid: number): string | undefined {
    this.groups ??= Accounts.read('/etc/group');
    return this.groups.get(gid);
  }
}

/** glibc's major()/minor() of a dev_t. */
export function deviceNumbers(rdev: bigint): [number, number] {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return [Number(major), Number(minor)];
}

function metaOf(st: fs.BigIntStats, full: Buffer, accounts: Accounts): EntryMeta {
  const uid = Number(st.uid);
  const gid = Number(st.gid);
  const user = accounts.user(uid);
  const group = accounts.group(gid);
  const xattrs = readXattrs(full).map((x) => ({ name: x.name, value: x.value.toString('base64') }));
  return {
    mode: Number(st.mode & 0o7777n),
    uid,
    gid,
    ...(user !== undefined ? { user } : {}),
    ...(group !== undefined ? { group } : {}),
    mtime_ns: st.mtimeNs.toString(),
    mtime_ms: Number(st.mtimeNs) / 1e6,
    ...(xattrs.length > 0 ? { xattrs } : {}),
  };
}

export interface WalkedTree {
  /** The root's own metadata. */
  root: EntryMeta;
  /** Everything under the root, parents before children, names sorted bytewise. */
  entries: ManifestEntry[];
  /** Regular files' absolute paths, by entry (a hard link's later names are not here). */
  paths: Map<ManifestEntry, Buffer>;
  /** What was left out and why (sockets). */
  skipped: string[];
}

export async function walk(root: string): Promise<WalkedTree> {
  const accounts = new Accounts();
  const rootBytes = Buffer.from(root);
  const entries: ManifestEntry[] = [];
  const paths = new Map<ManifestEntry, Buffer>();
  const skipped: string[] = [];
  /** The first name of each multiply linked inode. */
  const inodes = new Map<string, Buffer>();
  const slash = Buffer.from('/');
  // Synchronous calls: a stat through the thread pool costs ten times one made directly,
  // and a tree is mostly stats. The event loop gets a turn every few hundred entries, so
  // heartbeats and cancels still come through on a tree of millions.
  let sinceTurn = 0;
  const visit = async (rel: Buffer) => {
    const dir = rel.length ? Buffer.concat([rootBytes, slash, rel]) : rootBytes;
    const names = fs.readdirSync(dir, { encoding: 'buffer' }).sort((a, b) => Buffer.compare(a, b));
    for (const name of names) {
      if (++sinceTurn >= 256) {
        sinceTurn = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
      const relPath = rel.length ? Buffer.concat([rel, slash, name]) : name;
      const full = Buffer.concat([rootBytes, slash, relPath]);
      const st = fs.lstatSync(full, { bigint: true });
      const entry = { ...bytesFields('path', relPath), ...metaOf(st, full, accounts) };
      if (st.isSymbolicLink()) {
        const target = fs.readlinkSync(full, { encoding: 'buffer' });
        entries.push({ ...entry, type: 'symlink', ...bytesFields('target', target) });
      } else if (st.isDirectory()) {
        entries.push({ ...entry, type: 'dir' });
        await visit(relPath);
      } else if (st.isFile()) {
        const inode = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1n ? inodes.get(inode) : undefined;
        if (first) {
          entries.push({
            ...entry,
            type: 'file',
            size: Number(st.size),
            ...bytesFields('link', first),
          });
          continue;
        }
        if (st.nlink > 1n) inodes.set(inode, relPath);
        const file: ManifestEntry = {
          ...entry,
          type: 'file',
          size: Number(st.size),
          ctime_ns: st.ctimeNs.toString(),
          ino: Number(st.ino),
        };
        entries.push(file);
        paths.set(file, full);
      } else if (st.isFIFO()) {
        entries.push({ ...entry, type: 'fifo' });
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const type = st.isCharacterDevice() ? 'char' : 'block';
        entries.push({ ...entry, type, rdev: deviceNumbers(st.rdev) });
      } else {
        skipped.push(`${JSON.stringify(relPath.toString())}: a socket is not data`);
      }
    }
  };
  const rootStat = await fs.promises.lstat(rootBytes, { bigint: true });
  await visit(Buffer.alloc(0));
  return { root: metaOf(rootStat, rootBytes, accounts), entries, paths, skipped };
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
