import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { RedisKeys, resourceDataPrefix } from '../../bank/keys';
import type { GraphResource } from '../../graph/resource-graph';
import { ownerOf, ProviderChunks } from '../../plugins/chunk-store/provider-store';
import type { DataPluginDeps } from '../../plugins/chunk-store/provider-store';
import { directoryPlugin } from '../../plugins/directory/directory-plugin';
import { fsAt, readXattrs } from '../../plugins/directory/fs-at';
import type { Manifest, ManifestEntry } from '../../plugins/directory/manifest';
import type { Operation } from '../../plugins/types';
import { dataPluginDeps, hookContext, testRepository } from '../support/data-deps';
import { testEnv } from '../support/env';
import { treeMeta } from '../support/rich-tree';
import { makeTree } from '../support/trees';

// A manifest is sealed in the repository and the bank keeps only its id, so a bank writer
// can neither plant one nor swap in another resource's: both are refused. The manifest
// checks stay as a second wall: a manifest sealed with the key (a bug, a stolen key) that
// is tampered with must still be refused, naming the entry, before the restore touches
// anything; a directory outside the target stays exactly as it was.
describe('Karbor::Directory restore of tampered manifests (real redis-server)', () => {
  let deps: DataPluginDeps;
  let close: () => Promise<void>;
  let redis: Redis;
  let prefix: string;
  const work = () => path.join(testEnv.workDir, 'directory-tamper');
  const src = () => path.join(work(), 'src');
  const outside = () => path.join(work(), 'outside');
  const resource = (): GraphResource => ({ id: src(), type: 'Karbor::Directory', name: 'src' });
  const manifestKey = () => `${resourceDataPrefix('cp-1', resource())}/manifest.json`;
  let good: Manifest;
  let n = 0;

  const ctx = (operation: Operation, restoreTarget?: string) =>
    hookContext(deps, {
      operation,
      operationId: `op-${n++}`,
      checkpointId: 'cp-1',
      resource: resource(),
      ...(restoreTarget ? { restoreTarget } : {}),
    });

  before(async () => {
    ({ deps, close, redis, prefix } = await dataPluginDeps(
      'directory-tamper',
      path.join(work(), 'data'),
    ));
    fs.mkdirSync(path.join(outside(), 'dir'), { recursive: true });
    fs.writeFileSync(path.join(outside(), 'victim'), 'must not change\n');
    fs.chmodSync(path.join(outside(), 'victim'), 0o600);
    fs.utimesSync(path.join(outside(), 'victim'), 1_600_000_000, 1_600_000_000);
    makeTree(src(), outside());
    await directoryPlugin(deps).operations.protect!.onMain!(ctx('protect'));
    good = await (
      await chunks()
    ).openDocument<Manifest>('directory-manifest', await deps.bank.getObject(manifestKey()));
  });

  /** The checkpoint resource's chunks, as its hooks see them. */
  const chunks = async (checkpoint = 'cp-1') =>
    new ProviderChunks(deps, 'prov', ownerOf(checkpoint, resource()), await testRepository(deps));

  /** Seals a manifest as the key holder would, and points the bank at it. */
  async function plant(manifest: unknown, checkpoint = 'cp-1'): Promise<void> {
    const c = await chunks(checkpoint);
    const ref = await c.sealDocument('directory-manifest', manifest);
    await c.commit();
    await deps.bank.updateObject(manifestKey(), ref);
  }
  after(() => close());

  const entry = (path: string, more: Partial<ManifestEntry> = {}): ManifestEntry => ({
    path,
    type: 'file',
    mode: 0o644,
    mtime_ms: 1_700_000_000_000,
    size: 0,
    chunks: [],
    ...more,
  });
  const dir = (path: string) => entry(path, { type: 'dir', size: undefined, chunks: undefined });
  const link = (path: string, target: string) =>
    entry(path, { type: 'symlink', target, size: undefined, chunks: undefined });
  const someChunks = () => good.entries.find((e) => e.path === 'data/small.bin')!;

  const cases: { name: string; entries: () => ManifestEntry[]; refusal: RegExp }[] = [
    {
      name: 'a symlink entry, then an entry below it',
      entries: () => [link('sub2', outside()), entry('sub2/victim', { mode: 0o4777 })],
      refusal: /entry "sub2\/victim": its parent "sub2" is a symlink/,
    },
    {
      name: 'the same path twice: a symlink, then a setuid file',
      entries: () => [link('x', path.join(outside(), 'victim')), entry('x', { mode: 0o4777 })],
      refusal: /entry "x": listed twice/,
    },
    {
      name: 'a file, then a symlink at the same path',
      entries: () => [entry('x'), link('x', outside())],
      refusal: /entry "x": listed twice/,
    },
    {
      name: 'a directory listed twice',
      entries: () => [dir('d'), dir('d')],
      refusal: /entry "d": listed twice/,
    },
    {
      name: 'a ".." segment',
      entries: () => [entry('../outside/victim')],
      refusal: /entry "\.\.\/outside\/victim": "\.\." segment/,
    },
    {
      name: 'an absolute path',
      entries: () => [entry(path.join(outside(), 'victim'))],
      refusal: /outside\/victim": absolute path/,
    },
    {
      name: 'a parent that is a file',
      entries: () => [entry('f'), entry('f/x')],
      refusal: /entry "f\/x": its parent "f" is a file/,
    },
    {
      name: 'a parent never listed',
      entries: () => [entry('nowhere/x')],
      refusal: /entry "nowhere\/x": its parent "nowhere" is not an earlier directory entry/,
    },
    {
      name: 'a 10 MB name',
      entries: () => [entry('n'.repeat(10 * 1024 * 1024))],
      refusal: /entry "n{10,}…" \(10485760 bytes\): path of 10485760 bytes/,
    },
    {
      name: 'a name of 256 bytes',
      entries: () => [entry('m'.repeat(256))],
      refusal: /name of 256 bytes \(at most 255\)/,
    },
    {
      name: 'a NUL byte in a base64 path',
      entries: () => [{ ...entry('ignored'), path: undefined, path_b64: 'YQBi' }],
      refusal: /entry "a\\u0000b": NUL byte in path/,
    },
    {
      name: 'an empty segment',
      entries: () => [dir('a'), entry('a//b')],
      refusal: /entry "a\/\/b": empty path segment/,
    },
    {
      name: 'a hard link to a path outside',
      entries: () => [entry('h', { link: '../outside/victim', chunks: undefined })],
      refusal:
        /entry "h": hard link to "\.\.\/outside\/victim", which is not an earlier file entry/,
    },
    {
      name: 'a hard link to a symlink entry',
      entries: () => [
        link('l', path.join(outside(), 'victim')),
        entry('h', { link: 'l', chunks: undefined }),
      ],
      refusal: /entry "h": hard link to "l"/,
    },
    {
      name: 'a sparse extent past the file size',
      entries: () => [{ ...someChunks(), path: 'x', extents: [[0, 10_000_000]] }],
      refusal: /entry "x": extents overlap, are out of order or reach past the size/,
    },
    {
      name: 'a mode beyond permission bits',
      entries: () => [entry('x', { mode: 0o170777 })],
      refusal: /entry "x": mode is not permission bits/,
    },
  ];

  for (const c of cases) {
    it(`refuses ${c.name}, naming the entry, and leaves everything outside as it was`, async () => {
      const before = treeMeta(outside());
      const target = path.join(work(), `target-${n}`);
      await plant({
        ...good,
        // Good entries first: the refusal must come before any of them is written.
        entries: [...good.entries, ...c.entries()],
      });
      await assert.rejects(
        directoryPlugin(deps).operations.restore!.onMain!(ctx('restore', target)),
        (err: Error) => {
          assert.match(err.message, c.refusal);
          assert.equal((err as { code?: string }).code, 'TREE_REFUSED');
          return true;
        },
      );
      assert.deepEqual(treeMeta(outside()), before);
      assert.ok(!fs.existsSync(target), 'nothing written');
    });
  }

  it('refuses a manifest kept in the bank itself, and one sealed for another checkpoint', async () => {
    const before = treeMeta(outside());
    const refusedWith = async (why: RegExp) =>
      assert.rejects(
        directoryPlugin(deps).operations.restore!.onMain!(ctx('restore', path.join(work(), 'no'))),
        (err: Error) => {
          assert.match(err.message, why);
          assert.equal((err as { code?: string }).code, 'DOCUMENT_REFUSED');
          return true;
        },
      );
    // What the bank held before repository v2 (or what a bank writer plants): refused.
    await deps.bank.updateObject(manifestKey(), good);
    await refusedWith(/not a reference to a sealed document/);
    // A sealed manifest of the same tree in another checkpoint, swapped in: refused.
    const other = await chunks('cp-2');
    const ref = await other.sealDocument('directory-manifest', good);
    await other.commit();
    await deps.bank.updateObject(manifestKey(), ref);
    await refusedWith(/belongs to "cp-2\/Karbor::Directory/);
    // A reference edited to name a blob that is not a manifest at all.
    await deps.bank.updateObject(manifestKey(), {
      ...ref,
      document: good.entries.find((e) => e.chunks?.length)!.chunks![0],
    });
    await refusedWith(/is file data, not a document/);
    // A file's bytes forged to read as a manifest of this checkpoint, and its index entry
    // relabelled a document: it was sealed as file data, so it does not open as one.
    const forger = await chunks('cp-forged');
    const forged = Buffer.from(
      JSON.stringify({ owner: ownerOf('cp-1', resource()), kind: 'directory-manifest', doc: good }),
    );
    const [id] = (await forger.storeStream([forged])).chunks;
    await forger.commit();
    const indexKey = new RedisKeys(prefix).packIndex(forger.repository.repo.id);
    const value = (await redis.hget(indexKey, id!))!;
    await redis.hset(indexKey, id!, value.replace(' data ', ' tree '));
    await deps.bank.updateObject(manifestKey(), { ...ref, document: id });
    await assert.rejects(
      directoryPlugin(deps).operations.restore!.onMain!(ctx('restore', path.join(work(), 'no'))),
      /is corrupt|damaged/,
    );
    assert.ok(!fs.existsSync(path.join(work(), 'no')), 'nothing written');
    assert.deepEqual(treeMeta(outside()), before);
  });

  it('gives every entry exactly the checkpoint’s attributes: none inherited, none left over', async () => {
    await plant(good);
    const target = path.join(work(), 'with-default-acl');
    fs.mkdirSync(path.join(target, 'etc'), { recursive: true });
    const at = fsAt();
    // A default ACL on a directory of the target: new files there would inherit an access ACL.
    const acl = Buffer.alloc(4 + 8 * 4);
    acl.writeUInt32LE(2, 0);
    [0x01, 0x04, 0x10, 0x20].forEach((tag, i) => {
      acl.writeUInt16LE(tag, 4 + 8 * i);
      acl.writeUInt16LE(6, 6 + 8 * i);
      acl.writeUInt32LE(0xffffffff, 8 + 8 * i);
    });
    const fd = fs.openSync(target, 'r');
    try {
      at.lsetxattrat(fd, 'etc', 'system.posix_acl_default', acl);
      at.lsetxattrat(fd, 'etc', 'user.stale', Buffer.from('left over'));
    } finally {
      fs.closeSync(fd);
    }
    await directoryPlugin(deps).operations.restore!.onMain!(ctx('restore', target));
    assert.deepEqual(treeMeta(target).slice(1), treeMeta(src()).slice(1));
    assert.deepEqual(readXattrs(path.join(target, 'etc', 'app.conf')), []);
    assert.deepEqual(readXattrs(path.join(target, 'etc')), []);
  });

  it('refuses a manifest that claims another root (an in-place restore would go there)', async () => {
    const before = treeMeta(outside());
    await plant({ ...good, root: outside() });
    await assert.rejects(
      directoryPlugin(deps).operations.restore!.onMain!(ctx('restore')),
      /refusing manifest: it describes ".*outside", not .*src/,
    );
    assert.deepEqual(treeMeta(outside()), before);
  });

  it('writes nothing through symlinks already in the target, even for a sound manifest', async () => {
    await plant(good);
    const before = treeMeta(outside());
    // A file's place holds a symlink out: the file replaces the link, never writes through.
    const t1 = path.join(work(), 'trap-file');
    fs.mkdirSync(path.join(t1, 'etc'), { recursive: true });
    fs.symlinkSync(path.join(outside(), 'victim'), path.join(t1, 'etc', 'app.conf'));
    await directoryPlugin(deps).operations.restore!.onMain!(ctx('restore', t1));
    assert.equal(fs.lstatSync(path.join(t1, 'etc', 'app.conf')).isFile(), true);
    // A directory's place holds a symlink out: refused.
    const t2 = path.join(work(), 'trap-dir');
    fs.mkdirSync(t2);
    fs.symlinkSync(path.join(outside(), 'dir'), path.join(t2, 'var'));
    await assert.rejects(
      directoryPlugin(deps).operations.restore!.onMain!(ctx('restore', t2)),
      /has a symlink at "var"; refusing to write through it/,
    );
    // The target itself is a symlink: refused.
    const t3 = path.join(work(), 'trap-root');
    fs.symlinkSync(outside(), t3);
    await assert.rejects(
      directoryPlugin(deps).operations.restore!.onMain!(ctx('restore', t3)),
      /restore target .*trap-root is a symlink/,
    );
    assert.deepEqual(treeMeta(outside()), before);
  });
});
