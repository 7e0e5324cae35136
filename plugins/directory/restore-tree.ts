// Rebuilding a tree from its manifest without ever leaving the target. The manifest is
// checked as a whole first; then every call on the target is relative to a directory this
// restore opened itself, one component at a time, and none follows a symlink (O_NOFOLLOW,
// AT_SYMLINK_NOFOLLOW, link and rename semantics). So even a manifest that slipped past
// the check cannot write, remove, chmod or chown anything outside the target.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HookFailedError } from '../../common/errors';
import { flushFileSystemOf } from '../chunk-store/flush';
import { DamagedFileError, damagedFileMessage, extentBytes } from '../chunk-store/provider-store';
import type { ProviderChunks } from '../chunk-store/provider-store';
import { fsAt, xattrNames } from './fs-at';
import { checkManifest, mtimeNs, TreeError } from './manifest';
import type { CheckedEntry, EntryMeta, Manifest } from './manifest';

/** Directories kept open at once; more are reopened from their parent when needed. */
const OPEN_DIRS = 256;
/** Entries handled between two turns of the event loop (heartbeats, cancels). */
const ENTRIES_PER_TURN = 500;

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** What a failed call on an entry means: the target's shape conflicts (for good), or not. */
function entryError(e: { shown: string }, err: unknown): Error {
  const code = errno(err);
  const message = `cannot restore ${e.shown}: ${(err as Error).message}`;
  if (code === 'ELOOP' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST')
    return new TreeError(message);
  return new HookFailedError(message, code === 'ENAMETOOLONG' || code === 'EINVAL');
}

/** Open directories below the root by relative path, least recently used closed first. */
class DirFds {
  private readonly open = new Map<string, number>();

  constructor(private readonly rootFd: number) {}

  /** The directory's fd: valid until the next `get` of two others. */
  get(rel: Buffer): number {
    if (rel.length === 0) return this.rootFd;
    const key = rel.toString('latin1');
    const fd = this.open.get(key);
    if (fd !== undefined) {
      this.open.delete(key);
      this.open.set(key, fd);
      return fd;
    }
    const cut = rel.lastIndexOf(0x2f);
    const parent = this.get(cut < 0 ? Buffer.alloc(0) : rel.subarray(0, cut));
    const flags = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW;
    const opened = fsAt().openat(parent, rel.subarray(cut + 1), flags, 0);
    this.open.set(key, opened);
    for (const [k, old] of this.open) {
      if (this.open.size <= OPEN_DIRS) break;
      this.open.delete(k);
      fsAt().close(old);
    }
    return opened;
  }

  close(): void {
    for (const fd of this.open.values()) fsAt().close(fd);
    this.open.clear();
  }
}

/** What could not be restored on this system: reported once per kind, never silently. */
class Shortfalls {
  private readonly kinds = new Map<string, { count: number; examples: string[] }>();

  add(kind: string, example: string): void {
    const k = this.kinds.get(kind) ?? { count: 0, examples: [] };
    k.count++;
    if (k.examples.length < 3) k.examples.push(example);
    this.kinds.set(kind, k);
  }

  messages(): string[] {
    return [...this.kinds].map(
      ([kind, { count, examples }]) =>
        `${kind}: ${count} entr${count === 1 ? 'y' : 'ies'} (${examples.join(', ')}${count > examples.length ? ', …' : ''})`,
    );
  }
}

export interface TreeRestoreIO {
  chunks: ProviderChunks;
  onBytes(n: number): void;
  signal: AbortSignal;
  /** How this restore's temporary names start (a retry removes a dead attempt's). */
  tmpPrefix: string;
  /** True on a retry: temporary files of the attempt before may be lying around. */
  retry: boolean;
  warn(message: string): Promise<void>;
}

function openRoot(target: string): number {
  const flags = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW;
  try {
    return fs.openSync(target, flags);
  } catch (err) {
    const code = errno(err);
    if (code === 'ELOOP' || (code === 'ENOTDIR' && fs.lstatSync(target).isSymbolicLink()))
      throw new TreeError(`restore target ${target} is a symlink`);
    if (code === 'ENOTDIR') throw new TreeError(`restore target ${target} is not a directory`);
    throw err;
  }
}

/** The entry `name` of an open directory, as a path this process resolves through the fd. */
function viaFd(dirfd: number, name: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`/proc/self/fd/${dirfd}/`), name]);
}

/**
 * Before anything is written: where the target already has something at an entry's path,
 * it must be a real directory for a directory entry (never a symlink) and not a directory
 * for any other entry.
 */
function probeTarget(entries: CheckedEntry[], dirs: DirFds): void {
  const absent = new Set<string>();
  for (const e of entries) {
    const parentKey = e.parent.toString('latin1');
    if (e.parent.length > 0 && absent.has(parentKey)) {
      absent.add(e.rel.toString('latin1'));
      continue;
    }
    const st = fs.lstatSync(viaFd(dirs.get(e.parent), e.name), { throwIfNoEntry: false });
    if (!st) {
      absent.add(e.rel.toString('latin1'));
    } else if (e.entry.type === 'dir' && !st.isDirectory()) {
      const what = st.isSymbolicLink() ? 'a symlink' : 'something that is not a directory';
      throw new TreeError(`restore target has ${what} at ${e.shown}; refusing to write through it`);
    } else if (e.entry.type !== 'dir' && st.isDirectory()) {
      throw new TreeError(
        `restore target has a directory at ${e.shown}, the checkpoint a ${e.entry.type}`,
      );
    }
  }
}

function removeExisting(dirfd: number, e: CheckedEntry): void {
  try {
    fsAt().unlinkat(dirfd, e.name, 0);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
  }
}

const NS = 1_000_000_000n;

function applyMeta(
  dirfd: number,
  name: Buffer,
  meta: EntryMeta,
  isLink: boolean,
  shown: string,
  short: Shortfalls,
): void {
  const at = fsAt();
  if (meta.uid !== undefined && meta.gid !== undefined) {
    if (process.getuid?.() === 0) at.lchownat(dirfd, name, meta.uid, meta.gid);
    else short.add('owner and group not restored (needs root)', shown);
  }
  // After chown, which clears set-id bits. A symlink has no mode of its own.
  if (!isLink) at.lchmodat(dirfd, name, meta.mode);
  // Exactly the checkpoint's attributes: also none that the target had, or that a new
  // file inherited (a directory's default ACL). The security label is the policy's.
  const wanted = new Set((meta.xattrs ?? []).map((x) => x.name));
  for (const x of xattrNames(viaFd(dirfd, name))) {
    const xname = x.toString('utf8');
    if (wanted.has(xname) || xname === 'security.selinux') continue;
    try {
      at.lremovexattrat(dirfd, name, x);
    } catch (err) {
      short.add(
        `extended attribute ${xname} not in the checkpoint, not removed (${errno(err) ?? 'error'})`,
        shown,
      );
    }
  }
  for (const x of meta.xattrs ?? []) {
    try {
      at.lsetxattrat(dirfd, name, x.name, Buffer.from(x.value, 'base64'));
    } catch (err) {
      short.add(`extended attribute ${x.name} not restored (${errno(err) ?? 'error'})`, shown);
    }
  }
  const ns = mtimeNs(meta);
  let sec = ns / NS;
  let nsec = ns % NS;
  if (nsec < 0n) {
    nsec += NS;
    sec -= 1n;
  }
  at.lutimensat(dirfd, name, Number(sec), Number(nsec), Number(sec), Number(nsec));
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Restores `manifest` into `target` (absolute), creating it when missing. */
export async function restoreTree(
  manifest: Manifest,
  target: string,
  io: TreeRestoreIO,
): Promise<void> {
  // The whole manifest before anything is written.
  const entries = checkManifest(manifest);
  if (!path.isAbsolute(target))
    throw new TreeError(`restore target ${target} is not an absolute path`);
  await fs.promises.mkdir(target, { recursive: true }).catch((err: unknown) => {
    if (errno(err) !== 'EEXIST') throw err;
  });
  const at = fsAt();
  const rootFd = openRoot(target);
  const dirs = new DirFds(rootFd);
  const short = new Shortfalls();
  const each = async (list: CheckedEntry[], fn: (e: CheckedEntry) => void) => {
    for (let i = 0; i < list.length; i++) {
      if (i % ENTRIES_PER_TURN === ENTRIES_PER_TURN - 1) {
        await turn();
        io.signal.throwIfAborted();
      }
      const e = list[i]!;
      try {
        fn(e);
      } catch (err) {
        throw err instanceof TreeError || err instanceof HookFailedError ? err : entryError(e, err);
      }
    }
  };
  try {
    probeTarget(entries, dirs);
    const dirEntries = entries.filter((e) => e.entry.type === 'dir');
    // Directories first, private until their own mode is set at the end.
    await each(dirEntries, (e) => {
      try {
        at.mkdirat(dirs.get(e.parent), e.name, 0o700);
      } catch (err) {
        if (errno(err) !== 'EEXIST') throw err;
      }
      dirs.get(e.rel); // refuses anything that is not a real directory now
    });
    if (io.retry) {
      const prefix = Buffer.from(io.tmpPrefix);
      for (const rel of [Buffer.alloc(0), ...dirEntries.map((e) => e.rel)]) {
        const fd = dirs.get(rel);
        for (const name of fs.readdirSync(viaFd(fd, Buffer.alloc(0)), { encoding: 'buffer' })) {
          if (name.subarray(0, prefix.length).equals(prefix)) at.unlinkat(fd, name, 0);
        }
      }
    }

    // File data under temporary names beside their places, checked chunk by chunk: a
    // failed restore leaves no half-written file under a real name.
    const files = entries.filter((e) => e.entry.type === 'file' && !e.linkTo);
    const tmps = files.map(() => io.tmpPrefix + randomBytes(6).toString('hex'));
    const holes = files.reduce(
      (n, e) => n + (e.entry.extents ? (e.entry.size ?? 0) - extentBytes(e.entry.extents) : 0),
      0,
    );
    io.onBytes(holes); // never written: progress counts them done
    try {
      await io.chunks.restoreFiles(
        files.map((e, i) => ({
          dest: { rootFd, dir: e.parent, name: tmps[i]! },
          chunks: e.entry.chunks ?? [],
          size: e.entry.size ?? 0,
          ...(e.entry.extents ? { extents: e.entry.extents } : {}),
        })),
        (n) => io.onBytes(n),
        io.signal,
      );
      if (!(await flushFileSystemOf(target))) fsyncAll(files, tmps, dirs);
    } catch (err) {
      files.forEach((e, i) => {
        try {
          at.unlinkat(dirs.get(e.parent), tmps[i]!, 0);
        } catch {
          // never written, or already gone
        }
      });
      // A manifest whose sizes do not add up cannot be restored by trying again.
      if (err instanceof Error && /^restored file (is longer|has \d+ bytes)/.test(err.message)) {
        throw new TreeError(`refusing manifest: ${err.message}`);
      }
      if (err instanceof DamagedFileError) {
        // A missing blob may be one whose pack prune rewrote after this attempt looked it
        // up: a retry looks again. Corrupt bytes stay corrupt.
        throw new HookFailedError(
          damagedFileMessage(files[err.file]!.shown, err),
          err.why === 'corrupt',
        );
      }
      throw err;
    }

    // The names: files renamed in, then hard links, symlinks, FIFOs and devices.
    const tmpOf = new Map(files.map((e, i) => [e, tmps[i]!]));
    const notMade = new Set<CheckedEntry>();
    const others = entries.filter((e) => e.entry.type !== 'dir');
    await each(others, (e) => {
      const dirfd = dirs.get(e.parent);
      const tmp = tmpOf.get(e);
      const { type } = e.entry;
      if (tmp !== undefined) return at.renameat(dirfd, tmp, dirfd, e.name);
      removeExisting(dirfd, e);
      if (e.linkTo) {
        // Its own fd: a second lookup in the cache could close the first.
        const from = at.openBeneath(rootFd, e.linkTo.parent);
        try {
          return at.linkat(from, e.linkTo.name, dirfd, e.name);
        } finally {
          at.close(from);
        }
      }
      if (type === 'symlink') return at.symlinkat(e.target!, dirfd, e.name);
      const kind = type === 'fifo' ? at.S_IFIFO : type === 'char' ? at.S_IFCHR : at.S_IFBLK;
      const [major, minor] = e.entry.rdev ?? [0, 0];
      try {
        at.mknodat(dirfd, e.name, kind | 0o600, major, minor);
      } catch (err) {
        if (errno(err) !== 'EPERM') throw err;
        notMade.add(e);
        short.add(`${type} device not restored (not permitted here)`, e.shown);
      }
    });

    // Owners, modes, attributes and times last: everything but directories, then
    // directories deepest first and the root, so nothing written later moves an mtime.
    await each(
      others.filter((e) => !notMade.has(e)),
      (e) =>
        applyMeta(dirs.get(e.parent), e.name, e.entry, e.entry.type === 'symlink', e.shown, short),
    );
    await each([...dirEntries].reverse(), (e) =>
      applyMeta(dirs.get(e.parent), e.name, e.entry, false, e.shown, short),
    );
    if (manifest.root_meta) {
      applyMeta(rootFd, Buffer.alloc(0), manifest.root_meta, false, 'the target itself', short);
    }
    // The new names, links, modes and times, durable before the restore reports success.
    if (!(await flushFileSystemOf(target))) {
      for (const e of [{ rel: Buffer.alloc(0) }, ...dirEntries]) fs.fsyncSync(dirs.get(e.rel));
    }
  } finally {
    dirs.close();
    fs.closeSync(rootFd);
  }
  for (const message of short.messages()) await io.warn(message);
}

/** Without syncfs: every written file, then every directory. */
function fsyncAll(files: CheckedEntry[], tmps: string[], dirs: DirFds): void {
  const at = fsAt();
  files.forEach((e, i) => {
    const fd = at.openat(
      dirs.get(e.parent),
      tmps[i]!,
      fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW,
      0,
    );
    try {
      fs.fsyncSync(fd);
    } finally {
      at.close(fd);
    }
  });
}
