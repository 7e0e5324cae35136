// Garbage collection and reset-state on the real dev server, Redis and chunk store.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChunkRefs } from '../../bank/chunk-refs';
import { bankPaths, RedisKeys } from '../../bank/keys';
import { LeaseManager } from '../../bank/leases';
import { ProtectionService } from '../../client/protection-service';
import { workflowIds } from '../../workflows/definitions';
import { eventually, FS_PROVIDER, testEnv, useService } from '../support/env';
import { repositoryView } from '../support/repository';
import { packFile } from '../../repository/backend';
import { directoryPlan } from '../support/trees';
import { NOOP_PROVIDER_ID, noopPlan, shapes } from '../support/noop';

const LEASES = { expireWindowMs: 3_000, renewWindowMs: 1_000, validityWindowMs: 2_000 };

describe('garbage collection and reset-state (real dev server, Redis, repository)', () => {
  const fx = useService('gc', (cfg) => {
    cfg.leases = LEASES;
    cfg.gc = { ...cfg.gc, graceSeconds: 60 };
  });
  let admin: ProtectionService;

  before(async () => {
    admin = await ProtectionService.connect({ ...fx.cfg, admin: true });
  });
  after(() => admin.close());

  async function runningProtect(): Promise<string> {
    const plan = noopPlan(shapes.fanOut(3), {
      projectId: fx.cfg.projectId,
      parameters: { 'Karbor::Noop': { delay_ms: 60_000, delay_operation: 'protect' } },
    });
    const { checkpoint_id } = await fx.svc.executeOperation(plan, 'protect');
    await eventually('a hook running', async () =>
      (await fx.svc.checkpointEvents(NOOP_PROVIDER_ID, checkpoint_id)).some(
        (e) => e.event === 'start',
      )
        ? true
        : undefined,
    );
    return checkpoint_id;
  }

  it("turns a terminated protect's checkpoint error within one GC cycle", async () => {
    const id = await runningProtect();
    await fx.svc.temporal.workflow.getHandle(workflowIds.protect(id)).terminate('test');
    const leases = new LeaseManager(fx.worker.redis, fx.cfg.bankPrefix, LEASES);
    // Nobody renews the lease any more: once it is stale, one GC settles the checkpoint.
    await eventually('the lease to go stale', async () =>
      (await leases.check(id)).state !== 'valid' ? true : undefined,
    );
    const dry = await admin.collectGarbage(true);
    assert.deepEqual(
      dry.checkpoints.filter((c) => c.id === id).map((c) => c.action),
      ['error'],
    );
    assert.equal((await fx.svc.showCheckpoint(NOOP_PROVIDER_ID, id)).status, 'protecting');
    const report = await admin.collectGarbage(false);
    assert.deepEqual(
      report.checkpoints.find((c) => c.id === id),
      { id, was: 'protecting', action: 'error', reason: 'terminated' },
    );
    const doc = await fx.svc.showCheckpoint(NOOP_PROVIDER_ID, id);
    assert.equal(doc.status, 'error');
    assert.equal(doc.reason, 'terminated');
    // Settled once: the next GC has nothing to say about it, and it deletes.
    const again = await admin.collectGarbage(false);
    assert.equal(again.checkpoints.filter((c) => c.id === id).length, 0);
    await fx.svc.deleteCheckpoint(NOOP_PROVIDER_ID, id);
    assert.equal((await fx.svc.waitForDelete(id)).status, 'deleted');
  });

  it('keeps an unfinished checkpoint it cannot read (a Redis error, a damaged document) until it really settles it', async () => {
    const id = await runningProtect();
    await fx.svc.temporal.workflow.getHandle(workflowIds.protect(id)).terminate('test');
    const leases = new LeaseManager(fx.worker.redis, fx.cfg.bankPrefix, LEASES);
    await eventually('the lease to go stale', async () =>
      (await leases.check(id)).state !== 'valid' ? true : undefined,
    );
    const redis = fx.worker.redis;
    const keys = new RedisKeys(fx.cfg.bankPrefix);
    const docKey = keys.object(bankPaths.checkpointIndex(id));
    const saved = await redis.get(docKey);
    assert.ok(saved);
    const unfinished = async () => (await redis.zscore(keys.activeCheckpoints, id)) !== null;
    // A key of the wrong type makes Redis itself answer with an error (WRONGTYPE).
    for (const damage of [
      () => redis.del(docKey).then(() => redis.hset(docKey, 'x', '1')),
      () => redis.del(docKey).then(() => redis.set(docKey, '{"version": 1, "id": ')),
    ]) {
      await damage();
      const report = await admin.collectGarbage(false);
      assert.deepEqual(
        report.unreadable.filter((u) => u.id === id).map((u) => u.kind),
        ['checkpoint'],
      );
      assert.equal(report.checkpoints.filter((c) => c.id === id).length, 0);
      assert.ok(await unfinished(), 'still in the unfinished index');
      assert.equal(await redis.hget(keys.checkpointState(id), 'status'), 'protecting');
    }
    // Readable again: the next cycle settles it for good.
    await redis.del(docKey);
    await redis.set(docKey, saved);
    const report = await admin.collectGarbage(false);
    assert.deepEqual(
      report.checkpoints.find((c) => c.id === id),
      { id, was: 'protecting', action: 'error', reason: 'terminated' },
    );
    assert.equal(report.unreadable.length, 0);
    assert.equal(await unfinished(), false);
  });

  it('prunes blobs free for longer than the grace period, and keeps young, used or pending ones', async () => {
    const view = await repositoryView(fx.cfg, fx.worker.redis);
    const { repo, index } = view.opened;
    const refs = new ChunkRefs(fx.worker.redis, fx.cfg.bankPrefix);
    const free = new RedisKeys(fx.cfg.bankPrefix).chunkFree(FS_PROVIDER);
    const hourAgo = Date.now() - 3600_000;
    const packOf = new Map<string, string>();
    /** A pack of the given blobs, aged `packAge` ms; each blob claimed, then freed `freedAgo` ms ago unless used. */
    const pack = async (blobs: { used?: boolean; freedAgo: number }[], packAge: number) => {
      const b = repo.newPack();
      const ids: string[] = [];
      for (const spec of blobs) {
        const data = randomBytes(10_000);
        const id = repo.blobId(data);
        ids.push(id);
        b.add(id, 'data', repo.sealBlob(id, data), data.length);
        await refs.claim(FS_PROVIDER, `gc-test/${id}`, [id]);
        if (!spec.used) {
          await refs.release(FS_PROVIDER, `gc-test/${id}`, [id]);
          await fx.worker.redis.zadd(free, Date.now() - spec.freedAgo, id);
        }
      }
      const { pack: name } = await repo.writePack(b, index);
      const file = path.join(view.dir, packFile(name));
      const when = new Date(Date.now() - packAge);
      fs.utimesSync(file, when, when);
      for (const id of ids) packOf.set(id, file);
      return { ids, file };
    };
    const wholeDead = await pack([{ freedAgo: 3600_000 }, { freedAgo: 3600_000 }], 3600_000);
    const half = await pack([{ used: true, freedAgo: 0 }, { freedAgo: 3600_000 }], 3600_000);
    const youngPack = await pack([{ freedAgo: 3600_000 }], 5_000);
    const freedJustNow = await pack([{ freedAgo: 5_000 }], 3600_000);
    // A pack its writer marked pending and never indexed (it is writing, or it died).
    const pendingData = randomBytes(5000);
    const pb = repo.newPack();
    pb.add(
      repo.blobId(pendingData),
      'data',
      repo.sealBlob(repo.blobId(pendingData), pendingData),
      5000,
    );
    const pending = repo.finishPack(pb);
    await index.beginPack(pending.pack);
    await repo.backend.write(packFile(pending.pack), pending.parts);
    const pendingFile = path.join(view.dir, packFile(pending.pack));
    fs.utimesSync(pendingFile, new Date(hourAgo), new Date(hourAgo));
    // What a writer killed mid-write leaves: an old and a young temporary file.
    const tmpOld = path.join(view.dir, 'data', 'ab', '.tmp-dead');
    const tmpYoung = path.join(view.dir, 'data', 'ab', '.tmp-busy');
    fs.mkdirSync(path.dirname(tmpOld), { recursive: true });
    fs.writeFileSync(tmpOld, 'half');
    fs.writeFileSync(tmpYoung, 'half');
    fs.utimesSync(tmpOld, new Date(hourAgo), new Date(hourAgo));

    const dry = await admin.collectGarbage(true);
    assert.ok(dry.chunks_removed >= 3 && dry.packs_removed >= 1 && dry.packs_repacked >= 1);
    assert.ok(
      fs.existsSync(wholeDead.file) && fs.existsSync(half.file),
      'a dry run removes nothing',
    );
    assert.ok(fs.existsSync(tmpOld));

    const report = await admin.collectGarbage(false);
    assert.ok(report.packs_removed >= 1 && report.packs_repacked >= 1, JSON.stringify(report));
    assert.ok(report.temp_files_removed >= 1);
    assert.equal(fs.existsSync(wholeDead.file), false, 'a wholly dead pack goes');
    assert.equal(fs.existsSync(half.file), false, 'a half dead pack is rewritten');
    const after = await index.lookup([...wholeDead.ids, ...half.ids]);
    assert.deepEqual(
      after.map((a) => a !== undefined),
      [false, false, true, false],
    );
    assert.equal(
      (await repo.readBlob(half.ids[0]!, after[2])).length,
      10_000,
      'the used blob moved and reads',
    );
    assert.ok(fs.existsSync(youngPack.file), 'a pack younger than the grace period stays');
    assert.ok(fs.existsSync(freedJustNow.file), 'a blob freed just now stays');
    assert.ok((await index.lookup(freedJustNow.ids))[0]);
    assert.ok(fs.existsSync(pendingFile), 'a pending pack stays');
    assert.equal(fs.existsSync(tmpOld), false, 'an old temporary file goes');
    assert.ok(fs.existsSync(tmpYoung), 'a young one stays');
  });

  it('resets a state for an admin only, and never while the protect runs', async () => {
    const id = await runningProtect();
    await assert.rejects(fx.svc.resetState(NOOP_PROVIDER_ID, id, 'error'), /admin/);
    await assert.rejects(admin.resetState(NOOP_PROVIDER_ID, id, 'error'), /running/);
    await assert.rejects(admin.resetState(NOOP_PROVIDER_ID, id, 'deleted'), /available or error/);
    await fx.svc.cancelCheckpoint(NOOP_PROVIDER_ID, id);
    assert.equal((await fx.svc.waitForProtect(id)).status, 'error');
    const doc = await admin.resetState(NOOP_PROVIDER_ID, id, 'available');
    assert.equal(doc.status, 'available');
    assert.match(doc.reason ?? '', /reset to available by an admin/);
  });
});

describe('garbage collection racing protects that reuse chunks', () => {
  const fx = useService('gcrace', (cfg) => {
    cfg.gc = { ...cfg.gc, graceSeconds: 0 };
  });
  let admin: ProtectionService;
  const src = () => path.join(testEnv.workDir, 'gc-race', 'src');

  before(async () => {
    admin = await ProtectionService.connect({ ...fx.cfg, admin: true });
    fs.mkdirSync(src(), { recursive: true });
    for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(src(), `f${i}`), randomBytes(40_000));
  });
  after(() => admin.close());

  const plan = () => directoryPlan('gc-race', src(), fx.cfg.projectId);

  it('never removes a chunk that a protect running beside it then names (20 rounds)', async () => {
    let previous: string | undefined;
    for (let round = 0; round < 20; round++) {
      // The last checkpoint goes: its chunks are free, and grace is 0 here.
      if (previous) {
        await fx.svc.deleteCheckpoint(FS_PROVIDER, previous);
        assert.equal((await fx.svc.waitForDelete(previous)).status, 'deleted');
      }
      const { checkpoint_id } = await fx.svc.executeOperation(plan(), 'protect');
      const [result] = await Promise.all([
        fx.svc.waitForProtect(checkpoint_id),
        admin.collectGarbage(false),
      ]);
      assert.equal(result.status, 'available', result.reason);
      await fx.svc.verifyCheckpoint(FS_PROVIDER, checkpoint_id);
      const verdict = await fx.svc.waitForVerify(checkpoint_id);
      assert.equal(verdict.status, 'verified', `round ${round}: ${verdict.reason}`);
      previous = checkpoint_id;
    }
  });
});
