import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { RedisBank } from '../../bank/redis-bank';
import { ProtectionService } from '../../client/protection-service';
import { connectRedis } from '../../common/redis';
import { envFor, eventually, isolatedConfig, WORKER_MAIN } from '../support/env';
import { NOOP_PROVIDER_ID, noopPlan, shapes } from '../support/noop';

describe('a worker killed with SIGKILL in the middle of a protect', () => {
  const cfg = isolatedConfig('crash');
  const children: ChildProcess[] = [];
  const spawnWorker = () => {
    const child = spawn(process.execPath, [WORKER_MAIN], {
      env: envFor(cfg),
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
});
