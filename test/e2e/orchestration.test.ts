import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { RedisBank } from '../../bank/redis-bank';
import { useService } from '../support/env';
import { maxOverlap, NOOP_PROVIDER_ID, noopPlan, orderViolation, shapes } from '../support/noop';

describe('protect, restore and delete over the resource graph (real dev server and Redis)', () => {
  const fx = useService('orch');
  const { cfg } = fx;
  let bank: RedisBank;

  before(() => {
    bank = new RedisBank(fx.worker.redis, cfg.bankPrefix);
  });

  async function protectAndWait(
    deps: Record<string, string[]>,
    parameters?: Record<string, Record<string, unknown>>,
    concurrency?: number,
  ) {
    const plan = noopPlan(deps, {
      projectId: cfg.projectId,
      ...(parameters ? { parameters } : {}),
    });
    const { checkpoint_id } = await fx.svc.executeOperation(
      plan,
      'protect',
      concurrency ? { concurrency } : {},
    );
    const result = await fx.svc.waitForProtect(checkpoint_id);
    const events = await fx.svc.checkpointEvents(NOOP_PROVIDER_ID, checkpoint_id);
    return { checkpoint_id, result, events, plan };
  }

  for (const [name, deps] of [
    ['a parent/child chain', shapes.chain(4)],
    ['a diamond', shapes.diamond()],
    ['a wide fan-out', shapes.fanOut(25)],
    ['a tree', shapes.tree(3, 2)],
  ] as const) {
    it(`runs the hooks of ${name} in Karbor's order and ends available`, async () => {
      const { checkpoint_id, result, events } = await protectAndWait(deps);
      assert.equal(result.status, 'available', result.reason);
      assert.equal(orderViolation(deps, events), undefined);
      const ids = Object.keys(deps);
      assert.equal(events.filter((e) => e.event === 'end').length, ids.length * 4);
      assert.equal(events.filter((e) => e.event === 'start').length, ids.length * 4);
      const doc = await fx.svc.showCheckpoint(NOOP_PROVIDER_ID, checkpoint_id);
      assert.equal(doc.status, 'available');
      assert.deepEqual(Object.keys(doc.resources_status).sort(), [...ids].sort());
      assert.ok(Object.values(doc.resources_status).every((s) => s === 'available'));
      assert.equal((doc.resource_graph as { nodes: unknown[] }).nodes.length, ids.length);
    });
  }

  it('runs independent resources in parallel, within the concurrency limit', async () => {
    const deps = shapes.fanOut(12);
    const slow = { 'Karbor::Noop': { delay_ms: 300 } };
    const wide = await protectAndWait(deps, slow, 6);
    assert.equal(wide.result.status, 'available');
    const overlap = maxOverlap(wide.events, 'main');
    assert.ok(overlap > 1, `mains overlapped ${overlap}`);
    assert.ok(maxOverlap(wide.events) <= 6, 'never more than 6 hooks at once');
  });

  it('turns the checkpoint error when a hook fails, starting no new hooks', async () => {
    const deps = shapes.chain(4);
    const { checkpoint_id, result, events } = await protectAndWait(
      deps,
      { 'Karbor::Noop#c2': { fail_on: 'prepare_finish' } },
      1,
    );
    assert.equal(result.status, 'error');
    assert.match(result.reason ?? '', /Karbor::Noop c2: prepare_finish failed/);
    const doc = await fx.svc.showCheckpoint(NOOP_PROVIDER_ID, checkpoint_id);
    assert.equal(doc.status, 'error');
    assert.match(doc.reason ?? '', /c2/);
    assert.equal(doc.resources_status.c2, 'error');
    const errorAt = events.findIndex((e) => e.event === 'error');
    assert.ok(errorAt >= 0);
    assert.deepEqual(
      events.slice(errorAt + 1).filter((e) => e.event === 'start'),
      [],
      'no hook started after the failure',
    );
    assert.ok(!events.some((e) => e.resource_id === 'c1' && e.hook === 'prepare_finish'));
  });

  it('cancels hooks in flight when another fails, and marks the checkpoint error', async () => {
    const deps = shapes.fanOut(6);
    const { result, events } = await protectAndWait(deps, {
      'Karbor::Noop': { delay_ms: 20_000 },
      'Karbor::Noop#leaf3': { delay_ms: 500, fail_on: 'prepare_begin' },
      'Karbor::Noop#root': { delay_ms: 0 },
    });
    assert.equal(result.status, 'error');
    assert.ok(!events.some((e) => e.hook === 'main'), 'no main started');
    // The other leaves were waiting 20 s in prepare_begin; they were cancelled, not awaited.
    const ended = events.filter(
      (e) => e.hook === 'prepare_begin' && e.event === 'end' && e.resource_id !== 'root',
    );
    assert.deepEqual(ended, []);
    const cancelled = events.filter((e) => e.event === 'error' && /cancelled/.test(e.error ?? ''));
    assert.equal(cancelled.length, 5, 'the five other leaves were cancelled');
  });

  it('retries a hook that fails a few times, then succeeds', async () => {
    const { result, events } = await protectAndWait(shapes.chain(2), {
      'Karbor::Noop#c1': { fail_on: 'main', fail_times: 2 },
    });
    assert.equal(result.status, 'available');
    const mains = events.filter((e) => e.resource_id === 'c1' && e.hook === 'main');
    assert.deepEqual(
      mains.map((e) => `${e.event}@${e.attempt}`),
      ['start@1', 'error@1', 'start@2', 'error@2', 'start@3', 'end@3'],
    );
  });

  async function refusedBeforeCheckpoint(plan: ReturnType<typeof noopPlan>, message: RegExp) {
    const before = await bank.listObjects('/checkpoints/');
    await assert.rejects(fx.svc.executeOperation(plan, 'protect'), (err: unknown) => {
      assert.match(
        (err as Error).message + String((err as { cause?: Error }).cause?.message),
        message,
      );
      return true;
    });
    assert.deepEqual(await bank.listObjects('/checkpoints/'), before, 'no checkpoint was written');
  }

  it('refuses a cycle before creating a checkpoint, naming the cycle', async () => {
    await refusedBeforeCheckpoint(
      noopPlan({ a: ['b'], b: ['c'], c: ['a'] }, { projectId: cfg.projectId }),
      /cycle: Karbor::Noop a -> Karbor::Noop b -> Karbor::Noop c -> Karbor::Noop a/,
    );
  });

  it('refuses an unknown resource type, an unknown provider and bad parameters', async () => {
    const unknownType = noopPlan({ a: [] }, { projectId: cfg.projectId });
    unknownType.resources[0]!.type = 'Karbor::Nope';
    await refusedBeforeCheckpoint(unknownType, /does not protect resource type Karbor::Nope/);
    await refusedBeforeCheckpoint(
      noopPlan({ a: [] }, { projectId: cfg.projectId, providerId: 'no-such-provider' }),
      /provider no-such-provider not found/,
    );
    await refusedBeforeCheckpoint(
      noopPlan(
        { a: [] },
        { projectId: cfg.projectId, parameters: { 'Karbor::Noop': { delay_ms: 'soon' } } },
      ),
      /parameters for Karbor::Noop a are invalid: \/delay_ms must be integer/,
    );
    await refusedBeforeCheckpoint(
      noopPlan({ a: [] }, { projectId: cfg.projectId, parameters: { 'Karbor::Noop#zzz': {} } }),
      /not a resource of the plan/,
    );
  });

  it('restores an available checkpoint in graph order with per-resource status', async () => {
    const deps = shapes.diamond();
    const { checkpoint_id } = await protectAndWait(deps);
    const { restore_id } = await fx.svc.restore({
      providerId: NOOP_PROVIDER_ID,
      checkpointId: checkpoint_id,
      restoreTarget: { bottom: '/elsewhere' },
    });
    const result = await fx.svc.waitForRestore(restore_id);
    assert.equal(result.status, 'success');
    const record = await fx.svc.showRestore(restore_id);
    assert.equal(record.status, 'success');
    assert.equal(record.checkpoint_id, checkpoint_id);
    assert.deepEqual(record.restore_target, { bottom: '/elsewhere' });
    assert.deepEqual(Object.keys(record.resources_status).sort(), Object.keys(deps).sort());
    assert.ok(Object.values(record.resources_status).every((s) => s === 'success'));
    assert.equal(orderViolation(deps, await fx.svc.restoreEvents(restore_id)), undefined);
    assert.ok((await fx.svc.listRestores()).some((r) => r.id === restore_id));
  });

  it('records a failed restore as failure with the resource and reason', async () => {
    const { checkpoint_id } = await protectAndWait(shapes.chain(2));
    const { restore_id } = await fx.svc.restore({
      providerId: NOOP_PROVIDER_ID,
      checkpointId: checkpoint_id,
      parameters: { 'Karbor::Noop#c1': { fail_on: 'main' } },
    });
    assert.equal((await fx.svc.waitForRestore(restore_id)).status, 'failure');
    const record = await fx.svc.showRestore(restore_id);
    assert.equal(record.resources_status.c1, 'failure');
    assert.match(record.resources_reason.c1 ?? '', /main failed/);
  });

  it('refuses to restore a checkpoint that is not available', async () => {
    const { checkpoint_id } = await protectAndWait(shapes.chain(2), {
      'Karbor::Noop#c0': { fail_on: 'main' },
    });
    await assert.rejects(
      fx.svc.restore({ providerId: NOOP_PROVIDER_ID, checkpointId: checkpoint_id }),
      /is error; it must be available to become restored/,
    );
    await assert.rejects(
      fx.svc.restore({ providerId: NOOP_PROVIDER_ID, checkpointId: 'no-such-checkpoint' }),
      /checkpoint no-such-checkpoint not found/,
    );
  });

  it('refuses to delete a protecting checkpoint, then deletes it once available', async () => {
    const deps = shapes.chain(2);
    const plan = noopPlan(deps, {
      projectId: cfg.projectId,
      parameters: { 'Karbor::Noop#c1': { delay_ms: 1500 } },
    });
    const { checkpoint_id, workflow_id } = await fx.svc.executeOperation(plan, 'protect');
    await assert.rejects(
      fx.svc.deleteCheckpoint(NOOP_PROVIDER_ID, checkpoint_id),
      /is protecting; it must be available or error or error-deleting to become deleting/,
    );
    const progress = await fx.svc.progress(workflow_id);
    assert.equal(progress.total, 2);
    assert.equal(progress.phase, 'running');
    assert.equal((await fx.svc.waitForProtect(checkpoint_id)).status, 'available');

    await fx.svc.deleteCheckpoint(NOOP_PROVIDER_ID, checkpoint_id);
    assert.equal((await fx.svc.waitForDelete(checkpoint_id)).status, 'deleted');
    await assert.rejects(fx.svc.showCheckpoint(NOOP_PROVIDER_ID, checkpoint_id), /not found/);
    assert.deepEqual(await bank.listObjects(`/checkpoints/${checkpoint_id}/`), []);
    const indexes = await bank.listObjects('/indices/');
    assert.ok(!indexes.some((k) => k.endsWith(`@${checkpoint_id}`)), 'indexes removed');
  });

  it('leaves a checkpoint error-deleting when a delete hook fails; a second delete may retry', async () => {
    const { checkpoint_id } = await protectAndWait(shapes.chain(2), {
      'Karbor::Noop#c1': { fail_on: 'main', fail_operation: 'delete' },
    });
    await fx.svc.deleteCheckpoint(NOOP_PROVIDER_ID, checkpoint_id);
    const first = await fx.svc.waitForDelete(checkpoint_id);
    assert.equal(first.status, 'error-deleting');
    assert.match(first.reason ?? '', /c1: main failed/);
    const doc = await fx.svc.showCheckpoint(NOOP_PROVIDER_ID, checkpoint_id);
    assert.equal(doc.status, 'error-deleting');
    await fx.svc.deleteCheckpoint(NOOP_PROVIDER_ID, checkpoint_id);
    assert.equal((await fx.svc.waitForDelete(checkpoint_id)).status, 'error-deleting');
  });

  it('continues as new on a long history and still finishes available', async () => {
    const deps = shapes.fanOut(30);
    const plan = noopPlan(deps, { projectId: cfg.projectId });
    const { checkpoint_id, workflow_id } = await fx.svc.executeOperation(plan, 'protect', {
      continueAfterEvents: 60,
      concurrency: 4,
    });
    const result = await fx.svc.waitForProtect(checkpoint_id);
    assert.equal(result.status, 'available');
    const runs: string[] = [];
    for await (const w of fx.svc.temporal.workflow.list({ query: `WorkflowId="${workflow_id}"` })) {
      runs.push(w.runId);
    }
    assert.ok(runs.length >= 2, `expected continue-as-new, saw ${runs.length} run(s)`);
    const events = await fx.svc.checkpointEvents(NOOP_PROVIDER_ID, checkpoint_id);
    assert.equal(orderViolation(deps, events), undefined);
    assert.equal(events.filter((e) => e.event === 'start').length, 31 * 4, 'no hook ran twice');
  });
});
