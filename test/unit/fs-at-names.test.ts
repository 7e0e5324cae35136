// The native *at wrappers refuse any name that is not one directory entry, on their own:
// a restore stays inside its target even if the TypeScript checks above them were wrong.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fsAt } from '../../plugins/directory/fs-at';

const BAD = ['..', '.', 'a/b', '../escape', '/etc', 'x/'];

describe('native fs_at wrappers: one directory entry or nothing', () => {
  let root: string;
  let dirfd: number;
  const at = fsAt();

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'fs-at-names-'));
    fs.mkdirSync(path.join(root, 'inner'));
    fs.writeFileSync(path.join(root, 'file'), 'x');
    dirfd = at.openBeneath(fs.openSync(root, 'r'), 'inner');
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  const calls: Record<string, (name: string | Buffer) => unknown> = {
    openat: (n) => at.openat(dirfd, n, fs.constants.O_RDONLY, 0),
    mkdirat: (n) => at.mkdirat(dirfd, n, 0o700),
    mknodat: (n) => at.mknodat(dirfd, n, at.S_IFIFO | 0o600, 0, 0),
    symlinkat: (n) => at.symlinkat('target', dirfd, n),
    'linkat (old)': (n) => at.linkat(dirfd, n, dirfd, 'new-link'),
    'linkat (new)': (n) => at.linkat(dirfd, 'zzz', dirfd, n),
    'renameat (old)': (n) => at.renameat(dirfd, n, dirfd, 'new-name'),
    'renameat (new)': (n) => at.renameat(dirfd, 'zzz', dirfd, n),
    unlinkat: (n) => at.unlinkat(dirfd, n, 0),
    lchownat: (n) => at.lchownat(dirfd, n, 0, 0),
    lchmodat: (n) => at.lchmodat(dirfd, n, 0o777),
    lutimensat: (n) => at.lutimensat(dirfd, n, 0, 0, 0, 0),
    lsetxattrat: (n) => at.lsetxattrat(dirfd, n, 'user.k', Buffer.from('v')),
    lremovexattrat: (n) => at.lremovexattrat(dirfd, n, 'user.k'),
  };

  for (const [name, call] of Object.entries(calls)) {
    it(`${name} refuses "..", ".", names with "/" (as strings and bytes)`, () => {
      const before = fs.statSync(path.join(root, 'file'));
      for (const bad of BAD) {
        for (const form of [bad, Buffer.from(bad)]) {
          assert.throws(
            () => call(form),
            (err: NodeJS.ErrnoException) =>
              err.code === 'EINVAL' && /not one directory entry/.test(err.message),
            `${name}(${JSON.stringify(bad)})`,
          );
        }
      }
      const after = fs.statSync(path.join(root, 'file'));
      assert.deepEqual(
        [after.mode, after.uid, after.mtimeMs],
        [before.mode, before.uid, before.mtimeMs],
      );
      assert.deepEqual(fs.readdirSync(root).sort(), ['file', 'inner']);
    });
  }

  it('the calls that create or open an entry refuse an empty name; those on the directory itself take it', () => {
    for (const name of [
      'openat',
      'mkdirat',
      'mknodat',
      'symlinkat',
      'unlinkat',
      'renameat (new)',
    ]) {
      assert.throws(() => calls[name]!(''), /not one directory entry/, name);
    }
    at.lutimensat(dirfd, '', 1, 0, 1, 0);
    assert.equal(fs.statSync(path.join(root, 'inner')).mtimeMs, 1000);
  });

  it('an errno still has its symbolic name', () => {
    assert.throws(
      () => at.openat(dirfd, 'missing', fs.constants.O_RDONLY, 0),
      (err: NodeJS.ErrnoException) => err.code === 'ENOENT' && /^ENOENT: /.test(err.message),
    );
  });
});
