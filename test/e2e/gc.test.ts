// Garbage collection and reset-state on the real dev server, Redis and chunk store.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChunkRefs } from '../../bank/chunk-refs';
import { bankPaths, RedisKeys } from '../../bank/keys';
import { LeaseManager } from '../../bank/leases';
import { ProtectionService } from '../../client/protection-service';
import { workflowIds } from '../../workflows/definitions';
import { eventually, FS_PROVIDER, testEnv, useService } from '../support/env';
import { directoryPlan } from '../support/trees';
import { NOOP_PROVIDER_ID, noopPlan, shapes } from '../support/noop';

const LEASES = { expireWindowMs: 3_000, renewWindowMs: 1_000, validityWindowMs: 2_000 };

describe('garbage collection and reset-state (real dev server, Redis, chunk store)', () => {
  const fx = useService('gc', (cfg) => {
    cfg.leases = LEASES;
    cfg.gc = { ...cfg.gc, graceSeconds: 60 };
  });
  let admin: ProtectionService;
  const chunkDir = () => path.join(fx.cfg.dataDir!, FS_PROVIDER, 'chunks');

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

  it('removes orphan chunks older than the grace period and keeps younger or used ones', async () => {
    const refs = new ChunkRefs(fx.worker.redis, fx.cfg.bankPrefix);
    const put = (ageSeconds: number) => {
      const data = randomBytes(1000);
      const hash = createHash('sha256').update(data).digest('hex');
      const p = path.join(chunkDir(), hash.slice(0, 2), hash);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, data);
      const when = new Date(Date.now() - ageSeconds * 1000);
      fs.utimesSync(p, when, when);
      return { hash, p };
    };
    const oldOrphan = put(3600);
    const youngOrphan = put(5);
    const oldUsed = put(3600);
    await refs.claim(FS_PROVIDER, 'someone/Karbor::Directory//x', [oldUsed.hash]);
    const oldJustFreed = put(3600);
    await refs.claim(FS_PROVIDER, 'gone/Karbor::Directory//x', [oldJustFreed.hash]);
    await refs.release(FS_PROVIDER, 'gone/Karbor::Directory//x', [oldJustFreed.hash]);
    const tmpOld = path.join(chunkDir(), 'ab', '.tmp-deadbeef-1234');
    fs.mkdirSync(path.dirname(tmpOld), { recursive: true });
    fs.writeFileSync(tmpOld, 'half');
    fs.utimesSync(tmpOld, new Date(Date.now() - 7200_000), new Date(Date.now() - 7200_000));

    const dry = await admin.collectGarbage(true);
    assert.ok(dry.chunks_removed >= 1);
    assert.ok(fs.existsSync(oldOrphan.p), 'a dry run removes nothing');
    const report = await admin.collectGarbage(false);
    assert.ok(report.chunks_removed >= 1 && report.temp_files_removed >= 1);
    assert.equal(fs.existsSync(oldOrphan.p), false, 'old orphan removed');
    assert.equal(fs.existsSync(tmpOld), false, 'old temporary file removed');
    assert.ok(fs.existsSync(youngOrphan.p), 'young orphan kept');
    assert.ok(fs.existsSync(oldUsed.p), 'used chunk kept');
    assert.ok(
      fs.existsSync(oldJustFreed.p),
      'a chunk freed just now is kept, however old its file',
    );
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
