// Typed access to native/fs_at.c: the *at system calls, relative to an opened directory and
// never following a symlink, that keep a restore inside its target. Names are one path
// component (a string or raw bytes); "" means the directory itself where noted.
import * as path from 'node:path';

type Name = string | Buffer;

export interface FsAt {
  openat(dirfd: number, name: Name, flags: number, mode: number): number;
  /** The directory at `rel` below `rootfd` ("" = the root), no symlink followed on the way. */
  openBeneath(rootfd: number, rel: Name): number;
  /** Closes a descriptor this module opened. */
  close(fd: number): void;
  mkdirat(dirfd: number, name: Name, mode: number): void;
  mknodat(dirfd: number, name: Name, mode: number, major: number, minor: number): void;
  symlinkat(target: Name, dirfd: number, name: Name): void;
  linkat(olddirfd: number, oldname: Name, newdirfd: number, newname: Name): void;
  renameat(olddirfd: number, oldname: Name, newdirfd: number, newname: Name): void;
  unlinkat(dirfd: number, name: Name, flags: number): void;
  /** Owner of the entry itself ("" = dirfd). */
  lchownat(dirfd: number, name: Name, uid: number, gid: number): void;
  /** Mode of the entry itself ("" = dirfd); refused on a symlink. */
  lchmodat(dirfd: number, name: Name, mode: number): void;
  /** Nanosecond times of the entry itself ("" = dirfd). */
  lutimensat(
    dirfd: number,
    name: Name,
    atimeSec: number,
    atimeNsec: number,
    mtimeSec: number,
    mtimeNsec: number,
  ): void;
  lsetxattrat(dirfd: number, name: Name, xattr: Name, value: Buffer): void;
  lremovexattrat(dirfd: number, name: Name, xattr: Name): void;
  /** NUL-terminated names; empty when the filesystem has none. */
  llistxattr(p: Name): Buffer;
  lgetxattr(p: Name, xattr: Name): Buffer;
  /** -1 when SEEK_DATA / SEEK_HOLE find nothing past `offset`. */
  lseek(fd: number, offset: number, whence: number): number;
  SEEK_DATA: number;
  SEEK_HOLE: number;
  AT_REMOVEDIR: number;
  S_IFIFO: number;
  S_IFCHR: number;
  S_IFBLK: number;
}

let loaded: FsAt | undefined;

/** The native module (built by scripts/build-native into dist/native). */
export function fsAt(): FsAt {
  if (!loaded) {
    // dist/plugins/directory → dist/native
    const file = path.join(__dirname, '..', '..', 'native', 'fs_at.node');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(file) as FsAt;
  }
  return loaded;
}

/** The names of an entry's own extended attributes (not those of what a link points to). */
export function xattrNames(p: Name): Buffer[] {
  return fsAt()
    .llistxattr(p)
    .toString('latin1')
    .split('\0')
    .filter(Boolean)
    .map((raw) => Buffer.from(raw, 'latin1'));
}

/** The extended attributes of an entry itself (not of what a symlink points to). */
export function readXattrs(p: Name): { name: string; value: Buffer }[] {
  const at = fsAt();
  const out: { name: string; value: Buffer }[] = [];
  for (const name of xattrNames(p)) {
    try {
      out.push({ name: name.toString('utf8'), value: at.lgetxattr(p, name) });
    } catch (err) {
      // Removed between the listing and the read.
      if ((err as NodeJS.ErrnoException).code !== 'ENODATA') throw err;
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
