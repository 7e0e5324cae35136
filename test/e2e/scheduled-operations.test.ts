import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { ChunkRefs } from '../../bank/chunk-refs';
import { ProtectionService } from '../../client/protection-service';
import { scheduleIdOf } from '../../operation-engine/documents';
import { workflowIds } from '../../workflows/ids';
import { karbor } from '../support/cli';
import {
  envFor,
  eventually,
  FS_PROVIDER,
  NOOP_PROVIDER,
  testEnv,
  useService,
} from '../support/env';
import { noopPlan } from '../support/noop';
import { directoryPlan } from '../support/trees';

// The operation engine on Temporal Schedules (real dev server, Redis, worker).
describe('scheduled operations on Temporal Schedules', () => {
  const fx = useService('engine');
  const made: string[] = [];
  after(async () => {
    for (const id of made) await fx.svc.engine.deleteScheduledOperation(id).catch(() => undefined);
  });

  const schedule = (id: string) => fx.svc.temporal.schedule.getHandle(scheduleIdOf(id));

  it('protects on a crontab every 2 s and keeps exactly the 3 newest (max_backups 3)', async () => {
    const tree = path.join(testEnv.workDir, 'engine-tree');
    fs.mkdirSync(tree, { recursive: true });
    fs.writeFileSync(path.join(tree, 'data.bin'), randomBytes(200_000));
    const plan = await fx.svc.createPlan(directoryPlan('engine-dir', tree, fx.cfg.projectId));
    const trigger = await fx.svc.engine.createTrigger({
      name: 'every 2 s',
      properties: { format: 'crontab', pattern: '*/2 * * * * *' },
    });
    const op = await fx.svc.engine.createScheduledOperation({
      name: 'keep three',
      operation_type: 'retention_protect',
      trigger_id: trigger.id,
      operation_definition: {
        provider_id: FS_PROVIDER,
        plan_id: plan.id,
        retention: { max_backups: 3 },
      },
    });
    made.push(op.id);
    // Six runs completed, then no more.
    await eventually(
      'six completed runs',
      async () => {
        const d = await schedule(op.id).describe();
        const done = d.info.recentActions.length - d.info.runningActions.length;
        return done >= 6 ? true : undefined;
      },
      60_000,
    );
    await fx.svc.engine.pause(op.id, true);
    await eventually('no run in flight', async () =>
      (await schedule(op.id).describe()).info.runningActions.length === 0 ? true : undefined,
    );
    const d = await schedule(op.id).describe();
    assert.equal(d.state.paused, true);
    const runs = d.info.recentActions.map((a) =>
      a.action.type === 'startWorkflow' ? a.action.workflow.workflowId : '',
    );
    assert.ok(runs.length >= 6 && runs.every((r) => r.startsWith(`scheduled-${op.id}`)));
    const results = await Promise.all(
      runs.map(
        (w) =>
          fx.svc.temporal.workflow.getHandle(w).result() as Promise<{
            checkpoint_id: string;
            removed?: string[];
          }>,
      ),
    );
    const all = results.map((r) => r.checkpoint_id);
    const available = (
      await fx.svc.listCheckpoints(FS_PROVIDER, { planId: plan.id, limit: 100 })
    ).checkpoints
      .filter((c) => c.status === 'available')
      .map((c) => c.id);
    assert.equal(available.length, 3);
    assert.deepEqual(new Set(available), new Set(all.slice(-3)), 'the three newest');
    // The older ones went through their delete workflows (hooks released their chunks).
    const refs = new ChunkRefs(fx.worker.redis, fx.cfg.bankPrefix);
    for (const id of all.slice(0, -3)) {
      assert.equal((await fx.svc.waitForDelete(id)).status, 'deleted');
      assert.deepEqual(await refs.ownedBy(FS_PROVIDER, `${id}/Karbor::Directory/${tree}`), []);
    }
    for (const id of all.slice(-3)) {
      assert.ok((await refs.ownedBy(FS_PROVIDER, `${id}/Karbor::Directory/${tree}`)).length > 0);
    }
    assert.ok(
      results.some((r) => (r.removed ?? []).length > 0),
      'retention removed some',
    );
    // The run started the protect under its usual id.
    await fx.svc.temporal.workflow.getHandle(workflowIds.protect(all[0]!)).describe();
  });

  it('skips a run due while the previous one still runs; pause stops runs, resume restarts them', async () => {
    const plan = await fx.svc.createPlan(
      noopPlan(
        { slow: [] },
        { projectId: fx.cfg.projectId, parameters: { 'Karbor::Noop': { delay_ms: 5000 } } },
      ),
    );
    const trigger = await fx.svc.engine.createTrigger({
      name: 'every second',
      properties: { format: 'calendar', pattern: 'RRULE:FREQ=SECONDLY' },
    });
    const op = await fx.svc.engine.createScheduledOperation({
      name: 'slow',
      operation_type: 'protect',
      trigger_id: trigger.id,
      operation_definition: { provider_id: NOOP_PROVIDER, plan_id: plan.id },
    });
    made.push(op.id);
    const skipped = await eventually(
      'runs skipped for overlap',
      async () => {
        const d = await schedule(op.id).describe();
        return d.info.numActionsSkippedOverlap >= 2 ? d : undefined;
      },
      30_000,
    );
    assert.ok(skipped.info.runningActions.length <= 1, 'never two at once');
    await fx.svc.engine.pause(op.id, true);
    const paused = await schedule(op.id).describe();
    const count = paused.info.numActionsTaken;
    // While paused, a few due times pass and nothing starts.
    const until = Date.now() + 3000;
    await eventually('three seconds paused', () =>
      Promise.resolve(Date.now() > until ? true : undefined),
    );
    assert.equal((await schedule(op.id).describe()).info.numActionsTaken, count);
    await fx.svc.engine.pause(op.id, false);
    await eventually(
      'a run after resume',
      async () =>
        (await schedule(op.id).describe()).info.numActionsTaken > count ? true : undefined,
      30_000,
    );
    await fx.svc.engine.pause(op.id, true);
  });

  it('run-now starts one at once; the CLI shows it; tenants never see each other’s', async () => {
    const plan = await fx.svc.createPlan(noopPlan({ r: [] }, { projectId: fx.cfg.projectId }));
    const env = envFor(fx.cfg);
    const t = await karbor(
      ['trigger', 'create', 'yearly', '--format', 'crontab', '--pattern', '0 0 1 1 *'],
      env,
    );
    assert.equal(t.code, 0, t.stderr);
    const triggerId = t.stdout.trim();
    const shown = await karbor(['--json', 'trigger', 'show', triggerId], env);
    const next = (JSON.parse(shown.stdout) as { next_times: string[] }).next_times;
    assert.equal(next.length, 5);
    assert.match(next[0]!, /-01-01T00:00:00\.000Z$/);
    const c = await karbor(
      [
        'scheduled-operation',
        'create',
        'yearly protect',
        '--type',
        'protect',
        '--trigger',
        triggerId,
        '--plan',
        plan.id,
      ],
      env,
    );
    assert.equal(c.code, 0, c.stderr);
    const id = c.stdout.trim();
    made.push(id);
    const r = await karbor(['scheduled-operation', 'run-now', id], env);
    assert.equal(r.code, 0, r.stderr);
    const started = await eventually('the run', async () => {
      const d = await schedule(id).describe();
      return d.info.recentActions.length > 0 ? d : undefined;
    });
    assert.equal(started.info.recentActions.length, 1);
    const firstRun = started.info.recentActions[0]!.action;
    assert.equal(firstRun.type, 'startWorkflow');
    if (firstRun.type === 'startWorkflow') {
      const done = (await fx.svc.temporal.workflow
        .getHandle(firstRun.workflow.workflowId)
        .result()) as {
        status: string;
      };
      assert.equal(done.status, 'available');
    }
    const show = await karbor(['scheduled-operation', 'show', id], env);
    assert.match(show.stdout, /^schedule\n {2}paused +false$/m);
    // A trigger in use cannot go.
    const del = await karbor(['trigger', 'delete', triggerId], env);
    assert.equal(del.code, 2);
    assert.match(del.stderr, /in use by scheduled operation/);
    // Another tenant sees none of it.
    const other = await ProtectionService.connect({ ...fx.cfg, projectId: 'tenant-other' });
    try {
      assert.deepEqual(await other.engine.listScheduledOperations(), []);
      assert.deepEqual(await other.engine.listTriggers(), []);
      await assert.rejects(other.engine.showScheduledOperation(id), {
        code: 'SCHEDULED_OPERATION_NOT_FOUND',
      });
      await assert.rejects(other.engine.deleteTrigger(triggerId), { code: 'TRIGGER_NOT_FOUND' });
    } finally {
      await other.close();
    }
    // A scheduled verify records its verdict on the checkpoint it checked.
    const verify = await fx.svc.engine.createScheduledOperation({
      name: 'verify',
      operation_type: 'verify',
      trigger_id: triggerId,
      operation_definition: { provider_id: NOOP_PROVIDER, plan_id: plan.id },
    });
    made.push(verify.id);
    await fx.svc.engine.runNow(verify.id);
    const verified = await eventually('a recorded verdict', async () => {
      const d = await schedule(verify.id).describe();
      const run = d.info.recentActions[0];
      if (!run || run.action.type !== 'startWorkflow') return undefined;
      const result = (await fx.svc.temporal.workflow
        .getHandle(run.action.workflow.workflowId)
        .result()) as { checkpoint_id?: string };
      if (!result.checkpoint_id) return undefined;
      const doc = await fx.svc.showCheckpoint(NOOP_PROVIDER, result.checkpoint_id);
      return doc.extra_info.verify_status ? doc : undefined;
    });
    assert.equal(verified.extra_info.verify_status, 'verified');
    assert.match(String(verified.extra_info.last_verified_at), /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(verified.extra_info.damaged, []);
    const listed = await karbor(['checkpoint', 'list', NOOP_PROVIDER, '--plan-id', plan.id], env);
    assert.match(listed.stdout, new RegExp(`${verified.id}\\s.*verified \\d{4}-\\d\\d-\\d\\d`));
    const bad = await karbor(
      ['trigger', 'create', 'bad', '--format', 'crontab', '--pattern', '61 * * * *'],
      env,
    );
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /minute "61"/);
  });
});
