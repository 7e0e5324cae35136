// A tree with everything a restore must bring back (owners, hard links, a sparse file,
// xattrs and an ACL, a FIFO, a device node, names that are not UTF-8 or hold backslashes,
// spaces, newlines and unicode, nanosecond mtimes, a 0750 root), and a comparer that lists
// each entry's metadata so two trees are equal exactly when their listings are.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsAt, readXattrs } from '../../plugins/directory/fs-at';
import { deviceNumbers } from '../../plugins/directory/tree';

export const SPARSE_SIZE = 64 * 1024 * 1024;
export const NON_UTF8_NAME = Buffer.from([0x62, 0x61, 0x64, 0x2d, 0xff, 0xfe, 0x2e, 0x74]); // bad-\xff\xfe.t

/** A POSIX ACL as the kernel stores it in system.posix_acl_access (version 2 entries). */
function aclXattr(entries: [tag: number, perm: number, id: number][]): Buffer {
  const out = Buffer.alloc(4 + 8 * entries.length);
  out.writeUInt32LE(2, 0);
  entries.forEach(([tag, perm, id], i) => {
    out.writeUInt16LE(tag, 4 + 8 * i);
    out.writeUInt16LE(perm, 6 + 8 * i);
    out.writeUInt32LE(id, 8 + 8 * i);
  });
  return out;
}
const ACL_USER_OBJ = 0x01;
const ACL_USER = 0x02;
const ACL_GROUP_OBJ = 0x04;
const ACL_MASK = 0x10;
const ACL_OTHER = 0x20;
const UNDEFINED_ID = 0xffffffff;

/** What the tree holds that this system may refuse to make (a device node without CAP_MKNOD). */
export interface RichTree {
  device: boolean;
}

export function makeRichTree(root: string): RichTree {
  const at = fsAt();
  fs.mkdirSync(path.join(root, 'sub', 'deeper'), { recursive: true });
  fs.mkdirSync(path.join(root, 'empty'));
  const file = (rel: string | Buffer, body: string | Buffer) =>
    fs.writeFileSync(Buffer.concat([Buffer.from(`${root}/`), Buffer.from(rel)]), body);
  file('owned.txt', 'owned by 1234:5678\n');
  fs.chownSync(path.join(root, 'owned.txt'), 1234, 5678);
  fs.chownSync(path.join(root, 'sub'), 1234, 5678);
  file('hard-a', 'three names, one inode\n');
  fs.linkSync(path.join(root, 'hard-a'), path.join(root, 'sub', 'hard-b'));
  fs.linkSync(path.join(root, 'hard-a'), path.join(root, 'sub', 'deeper', 'hard-c'));
  // Sparse: data at both ends, a hole between.
  const fd = fs.openSync(path.join(root, 'sparse.img'), 'w');
  fs.writeSync(fd, Buffer.alloc(4096, 1), 0, 4096, 0);
  fs.writeSync(fd, Buffer.alloc(4096, 2), 0, 4096, SPARSE_SIZE - 4096);
  fs.closeSync(fd);
  file('xattr.txt', 'with attributes\n');
  const dirfd = fs.openSync(root, 'r');
  try {
    at.lsetxattrat(dirfd, 'xattr.txt', 'user.comment', Buffer.from('hello'));
    at.lsetxattrat(dirfd, 'sub', 'user.binary', Buffer.from([0, 1, 2, 255]));
    file('acl.txt', 'with an ACL\n');
    at.lsetxattrat(
      dirfd,
      'acl.txt',
      'system.posix_acl_access',
      aclXattr([
        [ACL_USER_OBJ, 6, UNDEFINED_ID],
        [ACL_USER, 6, 1234],
        [ACL_GROUP_OBJ, 4, UNDEFINED_ID],
        [ACL_MASK, 6, UNDEFINED_ID],
        [ACL_OTHER, 4, UNDEFINED_ID],
      ]),
    );
    at.mknodat(dirfd, 'pipe', at.S_IFIFO | 0o640, 0, 0);
    let device = true;
    try {
      at.mknodat(dirfd, 'null-dev', at.S_IFCHR | 0o600, 1, 3);
      fs.chmodSync(path.join(root, 'null-dev'), 0o666);
    } catch {
      device = false;
    }
    file(NON_UTF8_NAME, 'a name that is not UTF-8\n');
    file('back\\slash.txt', 'a backslash in the name\n');
    file('with space.txt', 'spaces\n');
    file('line\nbreak.txt', 'a newline in the name\n');
    file('ünïcødé-日本.txt', 'unicode\n');
    file('suid', '#!/bin/sh\n');
    fs.chmodSync(path.join(root, 'suid'), 0o4755);
    fs.symlinkSync('owned.txt', path.join(root, 'link'));
    fs.symlinkSync(Buffer.from('target-\xff', 'latin1'), path.join(root, 'odd-link'));
    fs.chmodSync(path.join(root, 'empty'), 0o700);
    fs.chmodSync(root, 0o750);
    // Nanosecond mtimes, children before their directories.
    const stamp = (dfd: number, name: string | Buffer, i: number) =>
      at.lutimensat(
        dfd,
        name,
        1_700_000_000 + i,
        123_456_789 + i,
        1_700_000_000 + i,
        123_456_789 + i,
      );
    const names = fs.readdirSync(root, { encoding: 'buffer' });
    names.forEach((n, i) => stamp(dirfd, n, i));
    stamp(dirfd, '', 99);
    return { device };
  } finally {
    fs.closeSync(dirfd);
  }
}

/**
 * One line per entry, the root first: type, mode, owner, size, content hash, nanosecond mtime,
 * link target, hard-link group, sparseness, device numbers and extended attributes.
 */
export function treeMeta(root: string, opts: { blocks?: boolean } = {}): string[] {
  const out: string[] = [];
  const groups = new Map<string, string>();
  const rootBytes = Buffer.from(root);
  const describe = (rel: Buffer) => {
    const full = rel.length ? Buffer.concat([rootBytes, Buffer.from('/'), rel]) : rootBytes;
    const st = fs.lstatSync(full, { bigint: true });
    const name = rel.length ? JSON.stringify(rel.toString('latin1')) : '.';
    const type = st.isDirectory()
      ? 'dir'
      : st.isFile()
        ? 'file'
        : st.isSymbolicLink()
          ? 'symlink'
          : st.isFIFO()
            ? 'fifo'
            : st.isCharacterDevice()
              ? 'char'
              : 'other';
    const parts = [
      name,
      type,
      `mode=${(st.mode & 0o7777n).toString(8)}`,
      `owner=${st.uid}:${st.gid}`,
      `mtime=${st.mtimeNs}`,
    ];
    if (type === 'file') {
      parts.push(`size=${st.size}`);
      parts.push(`sha256=${createHash('sha256').update(fs.readFileSync(full)).digest('hex')}`);
      if (st.blocks * 512n < st.size) parts.push('sparse');
      if (opts.blocks) parts.push(`blocks=${st.blocks}`);
      if (st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        if (!groups.has(key)) groups.set(key, name);
        parts.push(`hardlink-group=${groups.get(key)} links=${st.nlink}`);
      }
    }
    if (type === 'symlink') parts.push(`-> ${JSON.stringify(fs.readlinkSync(full, 'latin1'))}`);
    if (type === 'char') parts.push(`rdev=${deviceNumbers(st.rdev).join(',')}`);
    for (const x of readXattrs(full)) parts.push(`xattr ${x.name}=${x.value.toString('hex')}`);
    out.push(parts.join(' '));
    if (type === 'dir') {
      const names = fs
        .readdirSync(full, { encoding: 'buffer' })
        .sort((a, b) => Buffer.compare(a, b));
      for (const n of names) describe(rel.length ? Buffer.concat([rel, Buffer.from('/'), n]) : n);
    }
  };
  describe(Buffer.alloc(0));
  return out;
}
