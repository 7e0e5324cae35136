import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { LeaseManager } from '../../bank/leases';
import { RedisBank } from '../../bank/redis-bank';
import { ProtectionService } from '../../client/protection-service';
import { connectRedis } from '../../common/redis';
import { envFor, eventually, isolatedConfig, WORKER_MAIN } from '../support/env';
import { NOOP_PROVIDER_ID, noopPlan, shapes } from '../support/noop';

describe('a worker killed with SIGKILL in the middle of a protect', () => {
  const cfg = isolatedConfig('crash');
  // A second bank whose leases lapse within seconds while no worker runs.
  const shortCfg = isolatedConfig('crash-lapse');
  shortCfg.leases = { expireWindowMs: 3_000, renewWindowMs: 1_000, validityWindowMs: 2_000 };
  const children: ChildProcess[] = [];
  const spawnWorker = (config = cfg) => {
    const child = spawn(process.execPath, [WORKER_MAIN], {
      env: envFor(config),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    return child;
  };
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });

  it('loses nothing: a new worker finishes the checkpoint available, each effect once', async () => {
    const svc = await ProtectionService.connect(cfg);
    const redis = await connectRedis(cfg.redisUrl, 'crash-test');
    try {
      const first = spawnWorker();
      const deps = shapes.fanOut(6);
      const plan = noopPlan(deps, {
        projectId: cfg.projectId,
        parameters: { 'Karbor::Noop': { delay_ms: 3000 }, 'Karbor::Noop#root': { delay_ms: 0 } },
      });
      const { checkpoint_id } = await svc.executeOperation(plan, 'protect');
      // Kill it while leaves are inside their slow hooks.
      await eventually('leaf hooks to be running', async () => {
        const events = await svc.checkpointEvents(NOOP_PROVIDER_ID, checkpoint_id);
        return events.some((e) => e.resource_id.startsWith('leaf') && e.event === 'start')
          ? true
          : undefined;
      });
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      const before = await svc.showCheckpoint(NOOP_PROVIDER_ID, checkpoint_id);
      assert.equal(before.status, 'protecting');

      spawnWorker();
      const result = await svc.waitForProtect(checkpoint_id);
      assert.equal(result.status, 'available', result.reason);
      const doc = await svc.showCheckpoint(NOOP_PROVIDER_ID, checkpoint_id);
      assert.equal(doc.status, 'available');
      assert.deepEqual(Object.keys(doc.resources_status).sort(), Object.keys(deps).sort());

      // Each resource wrote its data once, under the one lease; nothing extra appeared.
      const bank = new RedisBank(redis, cfg.bankPrefix);
      const objects = await bank.listObjects(`/checkpoints/${checkpoint_id}/resources/`);
      assert.equal(objects.length, Object.keys(deps).length);
      const events = await svc.checkpointEvents(NOOP_PROVIDER_ID, checkpoint_id);
      for (const id of Object.keys(deps)) {
        const mainEnds = events.filter(
          (e) => e.resource_id === id && e.hook === 'main' && e.event === 'end',
        );
        assert.equal(mainEnds.length, 1, `${id}.main completed once`);
      }
      const retried = events.filter((e) => e.attempt > 1 && e.event === 'start');
      assert.ok(retried.length > 0, 'the killed hooks were retried on the new worker');
    } finally {
      redis.disconnect();
      await svc.close();
    }
  });

  it('finishes available even when every worker was down longer than the lease lives', async () => {
    const svc = await ProtectionService.connect(shortCfg);
    const redis = await connectRedis(shortCfg.redisUrl, 'crash-lapse-test');
    try {
      const first = spawnWorker(shortCfg);
      const plan = noopPlan(shapes.fanOut(4), {
        projectId: shortCfg.projectId,
        parameters: { 'Karbor::Noop': { delay_ms: 3000 }, 'Karbor::Noop#root': { delay_ms: 0 } },
      });
      const { checkpoint_id } = await svc.executeOperation(plan, 'protect');
      // Killed inside a leaf's main: its retry writes under the lease it was scheduled with.
      await eventually(
        'a leaf main to be running',
        async () => {
          const events = await svc.checkpointEvents(NOOP_PROVIDER_ID, checkpoint_id);
          return events.some(
            (e) => e.resource_id.startsWith('leaf') && e.hook === 'main' && e.event === 'start',
          )
            ? true
            : undefined;
        },
        30_000,
      );
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      // The hooks in flight carry the old token; the lease it names is gone.
      const leases = new LeaseManager(redis, shortCfg.bankPrefix, shortCfg.leases);
      await eventually('the lease to lapse', async () =>
        (await leases.check(checkpoint_id)).state === 'expired' ? true : undefined,
      );
      spawnWorker(shortCfg);
      const result = await svc.waitForProtect(checkpoint_id);
      assert.equal(result.status, 'available', result.reason);
    } finally {
      redis.disconnect();
      await svc.close();
    }
  });
});
