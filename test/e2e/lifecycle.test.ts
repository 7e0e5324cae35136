// Operations that do not end normally: leases across continue-as-new, cancel, a hook that
// fails for good among many (real dev server, real Redis).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { workflowIds } from '../../workflows/definitions';
import { allKeysOf, eventually, useService } from '../support/env';
import { NOOP_PROVIDER_ID, noopPlan, shapes } from '../support/noop';

const LEASES = { expireWindowMs: 3_000, renewWindowMs: 1_000, validityWindowMs: 2_500 };

describe('operations that do not end normally (real dev server and Redis)', () => {
  const fx = useService('life', (cfg) => {
    cfg.leases = LEASES;
  });
  const { cfg } = fx;

  it('keeps the write lease across many continue-as-new runs with a 3 s lease window', async () => {
    const deps = shapes.chain(40);
    const plan = noopPlan(deps, {
      projectId: cfg.projectId,
      parameters: { 'Karbor::Noop': { delay_ms: 25 } },
    });
    const { checkpoint_id } = await fx.svc.executeOperation(plan, 'protect', {
      continueAfterEvents: 150,
    });
    const result = await fx.svc.waitForProtect(checkpoint_id);
    assert.equal(result.status, 'available', result.reason);
    const events = await fx.svc.checkpointEvents(NOOP_PROVIDER_ID, checkpoint_id);
    const took = Date.parse(events.at(-1)!.ts) - Date.parse(events[0]!.ts);
    assert.ok(took > LEASES.expireWindowMs * 1.5, `the hooks took ${took} ms, past the lease`);
    const runs = await eventually('every run listed', async () => {
      const found: string[] = [];
      for await (const w of fx.svc.temporal.workflow.list({
        query: `WorkflowId = "${workflowIds.protect(checkpoint_id)}"`,
      })) {
        found.push(w.status.name);
      }
      return found.length >= 4 && found.includes('COMPLETED') ? found : undefined;
    });
    assert.ok(runs.filter((s) => s === 'CONTINUED_AS_NEW').length >= 3, runs.join(','));
  });

  it('cancels a running protect: no hook starts afterwards, error/cancelled, then deletes', async () => {
    const plan = noopPlan(shapes.fanOut(8), {
      projectId: cfg.projectId,
      parameters: {
        'Karbor::Noop': { delay_ms: 30_000, delay_operation: 'protect' },
        'Karbor::Noop#root': { delay_ms: 0 },
      },
    });
    const { checkpoint_id } = await fx.svc.executeOperation(plan, 'protect');
    await eventually('leaves running', async () => {
      const events = await fx.svc.checkpointEvents(NOOP_PROVIDER_ID, checkpoint_id);
      return events.filter((e) => e.event === 'start').length >= 9 ? true : undefined;
    });
    const cancelledAt = Date.now();
    await fx.svc.cancelCheckpoint(NOOP_PROVIDER_ID, checkpoint_id);
    const result = await fx.svc.waitForProtect(checkpoint_id);
    const stoppedIn = Date.now() - cancelledAt;
    assert.deepEqual(result, { checkpoint_id, status: 'error', reason: 'cancelled' });
    assert.ok(stoppedIn < 10_000, `hooks stopped within seconds (${stoppedIn} ms)`);

    const doc = await fx.svc.showCheckpoint(NOOP_PROVIDER_ID, checkpoint_id);
    assert.equal(doc.status, 'error');
    assert.equal(doc.reason, 'cancelled');
    const d = await fx.svc.temporal.workflow
      .getHandle(workflowIds.protect(checkpoint_id))
      .describe();
    assert.equal(d.status.name, 'CANCELLED');
    const events = await fx.svc.checkpointEvents(NOOP_PROVIDER_ID, checkpoint_id);
    const lateStarts = events.filter((e) => e.event === 'start' && Date.parse(e.ts) >= cancelledAt);
    assert.deepEqual(lateStarts, [], 'no hook started after the cancel');
    assert.ok(
      !events.some(
        (e) => e.event === 'end' && e.hook === 'prepare_begin' && e.resource_id !== 'root',
      ),
    );

    // A cancelled checkpoint is an ordinary `error` one: it deletes cleanly.
    await fx.svc.deleteCheckpoint(NOOP_PROVIDER_ID, checkpoint_id);
    assert.equal((await fx.svc.waitForDelete(checkpoint_id)).status, 'deleted');
    // And a second cancel has nothing to cancel.
    await assert.rejects(fx.svc.cancelCheckpoint(NOOP_PROVIDER_ID, checkpoint_id));
  });

  it('cancels a running restore: it ends failure, reason cancelled', async () => {
    const plan = noopPlan(shapes.chain(3), {
      projectId: cfg.projectId,
      parameters: { 'Karbor::Noop': { delay_ms: 0 } },
    });
    const { checkpoint_id } = await fx.svc.executeOperation(plan, 'protect');
    assert.equal((await fx.svc.waitForProtect(checkpoint_id)).status, 'available');
    const { restore_id } = await fx.svc.restore({
      providerId: NOOP_PROVIDER_ID,
      checkpointId: checkpoint_id,
      parameters: { 'Karbor::Noop': { delay_ms: 30_000 } },
    });
    await eventually('a restore hook running', async () => {
      const events = await fx.svc.restoreEvents(restore_id);
      return events.some((e) => e.event === 'start') ? true : undefined;
    });
    await fx.svc.cancelRestore(restore_id);
    const result = await fx.svc.waitForRestore(restore_id);
    assert.deepEqual(result, { restore_id, status: 'failure', reason: 'cancelled' });
    const record = await fx.svc.showRestore(restore_id);
    assert.equal(record.status, 'failure');
    assert.equal(record.reason, 'cancelled');
    const d = await fx.svc.temporal.workflow.getHandle(workflowIds.restore(restore_id)).describe();
    assert.equal(d.status.name, 'CANCELLED');
  });

  it('starts no hook after a hook fails for good among 50 resources, and the run ends Failed', async () => {
    const deps = shapes.fanOut(50);
    const plan = noopPlan(deps, {
      projectId: cfg.projectId,
      parameters: {
        'Karbor::Noop': { delay_ms: 30 },
        'Karbor::Noop#leaf7': { delay_ms: 30, fail_on: 'main' },
      },
    });
    const { checkpoint_id } = await fx.svc.executeOperation(plan, 'protect');
    const result = await fx.svc.waitForProtect(checkpoint_id);
    assert.equal(result.status, 'error');
    assert.match(result.reason ?? '', /leaf7/);
    const events = await fx.svc.checkpointEvents(NOOP_PROVIDER_ID, checkpoint_id);
    const failed = events.findIndex(
      (e) => e.event === 'error' && e.resource_id === 'leaf7' && /injected/.test(e.error ?? ''),
    );
    assert.ok(failed >= 0, 'the failure is in the log');
    const after = events.slice(failed + 1).filter((e) => e.event === 'start');
    assert.deepEqual(after, [], 'no start event after the failure');
    const d = await fx.svc.temporal.workflow
      .getHandle(workflowIds.protect(checkpoint_id))
      .describe();
    assert.equal(d.status.name, 'FAILED');
    const doc = await fx.svc.showCheckpoint(NOOP_PROVIDER_ID, checkpoint_id);
    assert.equal(doc.status, 'error');
    assert.match(doc.reason ?? '', /leaf7/);
  });

  it('refuses a plan of another project and a concurrency out of 1-1000, writing nothing', async () => {
    const before = await allKeysOf(fx.worker.redis, cfg.bankPrefix);
    const foreign = noopPlan(shapes.chain(2), { projectId: 'someone-else' });
    await assert.rejects(fx.svc.executeOperation(foreign, 'protect'), /not the caller's project/);
    const mine = noopPlan(shapes.chain(2), { projectId: cfg.projectId });
    for (const concurrency of [0, -1, 1001, 1.5]) {
      await assert.rejects(
        fx.svc.executeOperation(mine, 'protect', { concurrency }),
        /concurrency must be/,
      );
    }
    assert.deepEqual(await allKeysOf(fx.worker.redis, cfg.bankPrefix), before);
  });
});
