import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { workflowIds } from '../../workflows/ids';
import { eventually, useService } from '../support/env';
import { NOOP_PROVIDER_ID, noopPlan } from '../support/noop';

/** A payload's JSON value (the default converter's json/plain encoding). */
function decode(p: { data?: Uint8Array | null } | null | undefined): unknown {
  return p?.data ? JSON.parse(Buffer.from(p.data).toString('utf8')) : undefined;
}

// What an operator sees in the Temporal Web UI comes from a run's metadata: summaries and
// details, current details while it runs, the memo, handler descriptions.
describe('runs describe themselves for the Web UI (real dev server)', () => {
  const fx = useService('webui');

  it('a protect names its plan, resources and hooks, and keeps its current details up to date', async () => {
    const plan = noopPlan(
      { app: ['db'], db: [] },
      { projectId: fx.cfg.projectId, parameters: { 'Karbor::Noop': { delay_ms: 400 } } },
    );
    const { checkpoint_id } = await fx.svc.executeOperation(plan, 'protect');
    const handle = fx.svc.temporal.workflow.getHandle(workflowIds.protect(checkpoint_id));

    // While it runs, the current details change as hooks start and finish.
    const seen = new Set<string>();
    await eventually(
      'current details that change',
      async () => {
        const meta = await handle.query(workflowMetadataQuery).catch(() => undefined);
        const details = meta?.currentDetails ?? '';
        if (details) seen.add(details);
        return seen.size >= 2 ? true : undefined;
      },
      20_000,
    );
    for (const d of seen) assert.match(d, /^\*\*running\*\*: \d of 2 resources done/);
    assert.ok(
      [...seen].some((d) => /running: (app|db)/.test(d)),
      [...seen].join(' | '),
    );
    const meta = await handle.query(workflowMetadataQuery);
    const handlers = meta.definition?.queryDefinitions ?? [];
    assert.match(
      handlers.find((q) => q.name === 'progress')?.description ?? '',
      /phase, resources total/,
    );
    assert.match(
      (meta.definition?.updateDefinitions ?? []).find((u) => u.name === 'operationStarted')
        ?.description ?? '',
      /once its record exists/,
    );

    assert.equal((await fx.svc.waitForProtect(checkpoint_id)).status, 'available');
    const desc = await handle.describe();
    assert.equal(
      await desc.staticSummary(),
      `protect plan "noop" (2 resources) into checkpoint ${checkpoint_id}`,
    );
    const details = (await desc.staticDetails()) ?? '';
    for (const line of [
      '**operation**: protect',
      `**checkpoint**: ${checkpoint_id}`,
      `**plan**: noop (${plan.id})`,
      `**provider**: ${NOOP_PROVIDER_ID}`,
      `**project**: ${fx.cfg.projectId}`,
      '**resources**: 2',
    ]) {
      assert.ok(details.includes(line), `${line} in ${details}`);
    }
    assert.match(details, /\*\*started by\*\*: .+@.+ for project /);
    assert.deepEqual(
      { ...desc.memo },
      {
        operation: 'protect',
        checkpoint_id,
        provider_id: NOOP_PROVIDER_ID,
        project_id: fx.cfg.projectId,
        plan_id: plan.id,
        plan_name: 'noop',
        resource_count: 2,
      },
    );

    // Each hook activity's summary names the resource type, id and hooks; its input the id.
    const history = await handle.fetchHistory();
    const scheduled = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes);
    const summaries = scheduled.map((e) => decode(e.userMetadata?.summary));
    const hookSummaries = summaries.filter((s): s is string => typeof s === 'string');
    assert.ok(hookSummaries.includes('Karbor::Noop app: prepare_begin'), hookSummaries.join(' | '));
    assert.ok(hookSummaries.some((s) => /^Karbor::Noop db: .*main/.test(s)));
    const inputs = scheduled
      .filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runResourceHook',
      )
      .map(
        (e) =>
          decode(e.activityTaskScheduledEventAttributes?.input?.payloads?.[0]) as {
            resource?: string;
          },
      );
    assert.ok(
      inputs.length > 0 && inputs.every((i) => i.resource === 'app' || i.resource === 'db'),
    );
  });
});
