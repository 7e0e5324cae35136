import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RedisKeys } from '../../bank/keys';
import { ProtectionService } from '../../client/protection-service';
import { FS_PROVIDER, testEnv, useService } from '../support/env';
import { repositoryView } from '../support/repository';
import type { RepositoryView } from '../support/repository';
import { countFiles, describeTree, directoryPlan, makeTree } from '../support/trees';

describe('Karbor::Directory on real trees (real dev server, Redis, repository)', () => {
  const fx = useService('dir', (cfg) => {
    cfg.gc = { ...cfg.gc, graceSeconds: 0 };
  });
  const work = () => path.join(testEnv.workDir, 'dir-plugin');
  const src = () => path.join(work(), 'src');
  let view: RepositoryView;
  const packDir = () => path.join(view.dir, 'data');
  const indexSize = async () =>
    fx.worker.redis.hlen(new RedisKeys(fx.cfg.bankPrefix).packIndex(view.opened.repo.id));

  const plan = () => directoryPlan('dir', src(), fx.cfg.projectId);

  async function protect(): Promise<string> {
    const { checkpoint_id } = await fx.svc.executeOperation(plan(), 'protect');
    const result = await fx.svc.waitForProtect(checkpoint_id);
    assert.equal(result.status, 'available', result.reason);
    return checkpoint_id;
  }

  async function restoreTo(checkpointId: string, target: string) {
    const { restore_id } = await fx.svc.restore({
      providerId: FS_PROVIDER,
      checkpointId,
      restoreTarget: { [src()]: target },
    });
    await fx.svc.waitForRestore(restore_id);
    return fx.svc.showRestore(restore_id);
  }

  before(() => {
    fs.mkdirSync(path.join(work(), 'outside'), { recursive: true });
    makeTree(src(), path.join(work(), 'outside'));
  });

  let first: string;

  it('restores a tree byte-identical: contents, modes, mtimes, symlinks, empty dirs', async () => {
    first = await protect();
    const target = path.join(work(), 'restored');
    const record = await restoreTo(first, target);
    assert.equal(record.status, 'success', JSON.stringify(record.resources_reason));
    assert.deepEqual(record.destinations, { [src()]: target }, 'where it went, as checked');
    assert.deepEqual(describeTree(target), describeTree(src()));
    assert.ok(describeTree(target).some((l) => l.startsWith('var/empty dir 700')));
    assert.ok(
      describeTree(target).includes(`data/link-outside link -> ${path.join(work(), 'outside')}`),
    );
  });

  async function manifestOf(checkpointId: string) {
    view ??= await repositoryView(fx.cfg, fx.worker.redis);
    return view.manifest(checkpointId, src());
  }

  it('stores the same data once: a duplicate file and a second protect add no chunks', async () => {
    const manifest = await manifestOf(first);
    const chunksOf = (p: string) => manifest.entries.find((e) => e.path === p)?.chunks ?? [];
    assert.ok(chunksOf('data/big.bin').length >= 1);
    assert.deepEqual(chunksOf('data/copy.bin'), chunksOf('data/big.bin'));
    const distinct = new Set(manifest.entries.flatMap((e) => e.chunks ?? []));
    const packs = countFiles(packDir());
    const blobs = await indexSize();
    // Every distinct chunk once, plus the sealed manifest; in far fewer pack files.
    assert.equal(blobs, distinct.size + 1, 'one index entry per distinct chunk');
    assert.ok(packs >= 1 && packs < distinct.size, `${packs} packs`);
    await protect();
    assert.equal(countFiles(packDir()), packs + 1, 'an unchanged tree adds only its manifest');
    assert.equal(await indexSize(), blobs + 1);
  });

  it('re-reads a file changed since the last protect and restores its new contents', async () => {
    const file = path.join(src(), 'data', 'small.bin');
    const before = fs.readFileSync(file);
    const changed = Buffer.from(before);
    changed[0] = changed[0]! ^ 0xff;
    fs.writeFileSync(file, changed);
    try {
      const id = await protect();
      const target = path.join(work(), 'restored-changed');
      const record = await restoreTo(id, target);
      assert.equal(record.status, 'success');
      assert.ok(fs.readFileSync(path.join(target, 'data', 'small.bin')).equals(changed));
      assert.deepEqual(describeTree(target), describeTree(src()));
    } finally {
      fs.writeFileSync(file, before);
      fs.chmodSync(file, 0o600);
    }
  });

  it('verifies a sound checkpoint and names the file behind a flipped byte', async () => {
    const ok = await fx.svc.verifyCheckpoint(FS_PROVIDER, first);
    assert.equal((await fx.svc.waitForVerify(ok.checkpoint_id)).status, 'verified');

    const id = await protect();
    const manifest = await manifestOf(id);
    const small = manifest.entries.find((e) => e.path === 'data/small.bin')!;
    const at = await view.where(small.chunks![0]!);
    const chunkFile = at.file;
    const bytes = fs.readFileSync(chunkFile);
    const flip = at.offset + Math.min(100, at.length - 1);
    bytes[flip] = bytes[flip]! ^ 0x01;
    fs.writeFileSync(chunkFile, bytes);
    const packName = path.relative(view.dir, chunkFile);
    try {
      await fx.svc.verifyCheckpoint(FS_PROVIDER, id);
      const verdict = await fx.svc.waitForVerify(id);
      assert.equal(verdict.status, 'damaged');
      assert.match(
        verdict.reason ?? '',
        /file "data\/small\.bin": chunk [0-9a-f]{64} is corrupt \(repository file data\/[0-9a-f]{2}\/[0-9a-f]{64} is damaged/,
      );
      assert.ok(verdict.reason?.includes(packName), verdict.reason);
      const record = await restoreTo(id, path.join(work(), 'restored-bad'));
      assert.equal(record.status, 'failure');
      // Restore names the damaged file exactly as verify does.
      const named = (r: string) => r.slice(r.indexOf('file "'));
      assert.equal(named(record.resources_reason[src()] ?? ''), named(verdict.reason ?? ''));
      assert.ok(
        !fs.existsSync(path.join(work(), 'restored-bad', 'data', 'small.bin')),
        'no damaged file written',
      );
    } finally {
      bytes[flip] = bytes[flip] ^ 0x01;
      fs.writeFileSync(chunkFile, bytes);
    }
  });

  it('refuses a restore target holding a symlink that points outside it', async () => {
    const target = path.join(work(), 'trap');
    const elsewhere = path.join(work(), 'elsewhere');
    fs.mkdirSync(target, { recursive: true });
    fs.mkdirSync(elsewhere, { recursive: true });
    fs.symlinkSync(elsewhere, path.join(target, 'data'));
    const record = await restoreTo(first, target);
    assert.equal(record.status, 'failure');
    assert.match(
      record.resources_reason[src()] ?? '',
      /has a symlink at "data"; refusing to write through it/,
    );
    assert.deepEqual(fs.readdirSync(elsewhere), [], 'nothing written outside the target');
  });

  it('frees exactly the chunks no remaining checkpoint uses, at garbage collection', async () => {
    const admin = await ProtectionService.connect({ ...fx.cfg, admin: true });
    after(() => admin.close());
    const page = await fx.svc.listCheckpoints(FS_PROVIDER, { limit: 100 });
    const ids = page.checkpoints.map((c) => c.id);
    assert.ok(ids.length >= 4);
    const chunksOf = new Map<string, Set<string>>();
    for (const id of ids) {
      chunksOf.set(id, new Set((await manifestOf(id)).entries.flatMap((e) => e.chunks ?? [])));
    }
    /** Every blob id the index still has. */
    const stored = async () => {
      const out = new Set<string>();
      for await (const e of view.opened.index.entries()) out.add(e.id);
      return out;
    };
    for (const [i, id] of ids.entries()) {
      const before = await stored();
      await fx.svc.deleteCheckpoint(FS_PROVIDER, id);
      assert.equal((await fx.svc.waitForDelete(id)).status, 'deleted');
      // A delete only releases references; blobs go at garbage collection (grace 0 here).
      assert.deepEqual(await stored(), before, 'the delete itself removed no blob');
      const report = await admin.collectGarbage(false);
      const stillUsed = new Set(ids.slice(i + 1).flatMap((other) => [...chunksOf.get(other)!]));
      const left = await stored();
      for (const c of stillUsed) assert.ok(left.has(c), `chunk ${c} of a kept checkpoint`);
      const data = [...left].filter((c) => [...chunksOf.values()].some((s) => s.has(c)));
      assert.deepEqual(data.sort(), [...stillUsed].sort(), `after deleting ${i + 1}`);
      assert.ok(report.chunks_removed >= 1 || i === 0, 'something was given back');
      // Whatever is left is readable: the kept checkpoints still verify.
      if (i + 1 < ids.length) {
        await fx.svc.verifyCheckpoint(FS_PROVIDER, ids[i + 1]!);
        assert.equal((await fx.svc.waitForVerify(ids[i + 1]!)).status, 'verified');
      }
    }
    assert.equal(await indexSize(), 0, 'the last delete frees every blob');
    assert.equal(countFiles(packDir()), 0, 'and every pack');
  });
});
