import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Manifest } from '../../plugins/directory/manifest';

// A restore by a worker that is not root: what it may not do (owners, device nodes,
// trusted.* attributes) is reported once per kind as a warning, and the rest is restored.
describe('a directory restore without root privileges', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'karbor-unprivileged-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const meta = { mode: 0o755, uid: 1234, gid: 5678, mtime_ns: '1700000000123456789', mtime_ms: 0 };
  const manifest: Manifest = {
    version: 2,
    root: '/nowhere',
    root_meta: { ...meta, mode: 0o750 },
    entries: [
      { ...meta, path: 'd', type: 'dir', xattrs: [{ name: 'trusted.x', value: 'eA==' }] },
      { ...meta, path: 'd/p', type: 'fifo', mode: 0o640 },
      { ...meta, path: 'd/c', type: 'char', mode: 0o666, rdev: [1, 3] },
      { ...meta, path: 'd/l', type: 'symlink', target: '../elsewhere' },
    ],
    files: 0,
    bytes: 0,
  };

  // As root the restore runs as `nobody`, who must be able to read the built code.
  const hidden = (() => {
    if (process.getuid?.() !== 0) return false;
    for (let d = __dirname; d !== path.dirname(d); d = path.dirname(d)) {
      if ((fs.statSync(d).mode & 0o005) !== 0o005) return `${d} is not readable by nobody`;
    }
    return false;
  })();

  it('restores what it can and warns once per kind about the rest', { skip: hidden }, () => {
    fs.chmodSync(dir, 0o777);
    const target = path.join(dir, 'target');
    const script = `
      const { restoreTree } = require(${JSON.stringify(path.join(__dirname, '../../plugins/directory/restore-tree.js'))});
      const warnings = [];
      restoreTree(${JSON.stringify(manifest)}, ${JSON.stringify(target)}, {
        chunks: { restoreFiles: async () => {} },
        onBytes: () => {},
        signal: new AbortController().signal,
        tmpPrefix: '.karbor-restore-test-',
        retry: false,
        warn: async (m) => { warnings.push(m); },
      }).then(() => console.log(JSON.stringify(warnings)), (e) => { console.error(e.message); process.exit(1); });
    `;
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const out = execFileSync(process.execPath, ['-e', script], { ...asNobody, encoding: 'utf8' });
    const warnings = JSON.parse(out) as string[];
    const expectWarning = (re: RegExp) =>
      assert.equal(warnings.filter((w) => re.test(w)).length, 1, `${re} in ${out}`);
    expectWarning(/^owner and group not restored \(needs root\): 4 entries \(.*"d\/p".*\)/);
    expectWarning(/^char device not restored \(not permitted here\): 1 entry \("d\/c"\)/);
    expectWarning(/^extended attribute trusted\.x not restored \(EPERM\): 1 entry \("d"\)/);
    assert.equal(warnings.length, 3, out);
    assert.equal(fs.lstatSync(path.join(target, 'd', 'p')).isFIFO(), true);
    assert.equal(fs.lstatSync(path.join(target, 'd', 'p')).mode & 0o7777, 0o640);
    assert.equal(fs.readlinkSync(path.join(target, 'd', 'l')), '../elsewhere');
    assert.equal(fs.existsSync(path.join(target, 'd', 'c')), false);
    const root = fs.statSync(target, { bigint: true });
    assert.equal(root.mode & 0o7777n, 0o750n);
    assert.equal(root.mtimeNs, 1700000000123456789n);
  });
});
