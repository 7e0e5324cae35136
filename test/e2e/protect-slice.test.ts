import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Plan } from '../../common/documents';
import { eventually, NOOP_PROVIDER, testEnv, useService } from '../support/env';

const run = promisify(execFile);

function samplePlan(projectId: string): Plan {
  return {
    id: 'plan-slice',
    name: 'slice',
    provider_id: NOOP_PROVIDER,
    project_id: projectId,
    resources: [{ id: 'r1', type: 'Karbor::Noop', name: 'r1' }],
  };
}

describe('protect slice on the real dev server and Redis', () => {
  const fx = useService('slice');
  const { cfg } = fx;

  it('returns once the checkpoint exists, then completes it as available', async () => {
    const started = await fx.svc.executeOperation(samplePlan(cfg.projectId), 'protect');
    assert.equal(started.workflow_id, `protect-${started.checkpoint_id}`);
    const early = await fx.svc.showCheckpoint(NOOP_PROVIDER, started.checkpoint_id);
    assert.ok(['protecting', 'available'].includes(early.status));
    const result = await fx.svc.waitForProtect(started.checkpoint_id);
    assert.equal(result.status, 'available');
    const doc = await fx.svc.showCheckpoint(NOOP_PROVIDER, started.checkpoint_id);
    assert.equal(doc.status, 'available');
    assert.equal(doc.project_id, cfg.projectId);
    assert.equal(doc.protection_plan.id, 'plan-slice');
    assert.match(doc.created_at, /^\d{4}-\d{2}-\d{2}$/);
  });

  it('writes the checkpoint document into Redis under the bank prefix', async () => {
    const { checkpoint_id } = await fx.svc.executeOperation(samplePlan(cfg.projectId), 'protect');
    await fx.svc.waitForProtect(checkpoint_id);
    const body = await fx.worker.redis.get(
      `{${cfg.bankPrefix}}:obj:/checkpoints/${checkpoint_id}/index.json`,
    );
    assert.ok(body, 'checkpoint document missing from Redis');
    assert.equal((JSON.parse(body) as { id: string }).id, checkpoint_id);
    const status = await fx.worker.redis.hget(
      `{${cfg.bankPrefix}}:cpstate:${checkpoint_id}`,
      'status',
    );
    assert.equal(status, 'available');
  });

  it('a repeated execute with the same checkpoint id makes no second checkpoint', async () => {
    const plan = samplePlan(cfg.projectId);
    const first = await fx.svc.executeOperation(plan, 'protect');
    await fx.svc.waitForProtect(first.checkpoint_id);
    const again = fx.svc.executeOperation(plan, 'protect', { checkpointId: first.checkpoint_id });
    await assert.rejects(again);
    const keys = await fx.worker.redis.zrangebylex(`{${cfg.bankPrefix}}:objects`, '-', '+');
    const docs = keys.filter((k) => k === `/checkpoints/${first.checkpoint_id}/index.json`);
    assert.equal(docs.length, 1);
  });

  it('is found by temporal workflow list with a KarborCheckpointId query', async () => {
    const { checkpoint_id } = await fx.svc.executeOperation(samplePlan(cfg.projectId), 'protect');
    await fx.svc.waitForProtect(checkpoint_id);
    const listed = await eventually('the run in visibility', async () => {
      const { stdout } = await run(testEnv.temporalCli, [
        'workflow',
        'list',
        '--address',
        cfg.temporalAddress,
        '--query',
        `KarborCheckpointId="${checkpoint_id}"`,
        '--output',
        'json',
      ]);
      const rows = stdout.trim()
        ? (JSON.parse(stdout) as { execution: { workflowId: string } }[])
        : [];
      return rows.length > 0 ? rows : undefined;
    });
    assert.equal(listed.length, 1);
    assert.equal(listed[0]?.execution.workflowId, `protect-${checkpoint_id}`);
  });

  it('the Web UI answers 200 for the run page and lists the run through its API', async () => {
    const { checkpoint_id } = await fx.svc.executeOperation(samplePlan(cfg.projectId), 'protect');
    await fx.svc.waitForProtect(checkpoint_id);
    const page = await fetch(
      `${testEnv.temporalUi}/namespaces/default/workflows/protect-${checkpoint_id}`,
    );
    assert.equal(page.status, 200);
    const query = encodeURIComponent(
      `KarborOperation="protect" AND KarborCheckpointId="${checkpoint_id}"`,
    );
    const listed = await eventually('the run in the Web UI API', async () => {
      const res = await fetch(
        `${testEnv.temporalUi}/api/v1/namespaces/default/workflows?query=${query}`,
      );
      const body = (await res.json()) as { executions?: unknown[] };
      return body.executions && body.executions.length > 0 ? body.executions : undefined;
    });
    assert.equal(listed.length, 1);
  });
});
