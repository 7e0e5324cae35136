// Workflow code must stay replayable: recorded histories (committed under
// test/fixtures/histories) and fresh ones of every workflow replay against today's code
// without non-determinism errors. KARBOR_RECORD_HISTORIES=<generation> (v2, v3, ...) adds
// this build's histories to the fixtures.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { PROJECT_ROOT } from '../../scripts/services';
import { useService } from '../support/env';
import { NOOP_PROVIDER_ID, noopPlan, shapes } from '../support/noop';

const FIXTURES = path.join(PROJECT_ROOT, 'test', 'fixtures', 'histories');
const BUNDLE = path.join(PROJECT_ROOT, 'dist', 'workflow-bundle.js');

async function replay(histories: { workflowId: string; history: unknown }[]) {
  const results = Worker.runReplayHistories(
    { workflowBundle: { codePath: BUNDLE } },
    histories.map((h) => ({ workflowId: h.workflowId, history: historyFromJSON(h.history) })),
  );
  const failures: string[] = [];
  let replayed = 0;
  for await (const r of results) {
    replayed++;
    if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
  }
  return { replayed, failures };
}

describe('workflow replay', () => {
  const fx = useService('replay');
  const { cfg } = fx;

  it('replays the committed histories of earlier builds', async () => {
    const files = fs.existsSync(FIXTURES)
      ? fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.json'))
      : [];
    assert.ok(files.length >= 5, `expected recorded histories in ${FIXTURES}`);
    const histories = files.map((f) => ({
      workflowId: f.replace(/\.json$/, ''),
      history: JSON.parse(fs.readFileSync(path.join(FIXTURES, f), 'utf8')) as unknown,
    }));
    const { replayed, failures } = await replay(histories);
    assert.equal(replayed, files.length);
    assert.deepEqual(failures, []);
  });

  it('replays fresh histories of protect, failed protect, continue-as-new, host-pinned protect, restore and delete', async () => {
    const plan = () => noopPlan(shapes.diamond(), { projectId: cfg.projectId });
    const ok = await fx.svc.executeOperation(plan(), 'protect');
    await fx.svc.waitForProtect(ok.checkpoint_id);
    const failing = noopPlan(shapes.chain(3), {
      projectId: cfg.projectId,
      parameters: { 'Karbor::Noop#c1': { fail_on: 'main' } },
    });
    const bad = await fx.svc.executeOperation(failing, 'protect');
    await fx.svc.waitForProtect(bad.checkpoint_id);
    const long = await fx.svc.executeOperation(
      noopPlan(shapes.fanOut(12), { projectId: cfg.projectId }),
      'protect',
      {
        continueAfterEvents: 40,
      },
    );
    await fx.svc.waitForProtect(long.checkpoint_id);
    // Pinned to this worker's host, long enough for the host watch to look once.
    const pinnedPlan = noopPlan(
      { here: [], anywhere: [] },
      {
        projectId: cfg.projectId,
        parameters: { 'Karbor::Noop#here': { delay_ms: 3000 } },
      },
    );
    pinnedPlan.resources[0]!.extra_info = { host: os.hostname() };
    const pinned = await fx.svc.executeOperation(pinnedPlan, 'protect');
    await fx.svc.waitForProtect(pinned.checkpoint_id);
    const restored = await fx.svc.restore({
      providerId: NOOP_PROVIDER_ID,
      checkpointId: ok.checkpoint_id,
    });
    await fx.svc.waitForRestore(restored.restore_id);
    await fx.svc.deleteCheckpoint(NOOP_PROVIDER_ID, ok.checkpoint_id);
    await fx.svc.waitForDelete(ok.checkpoint_id);

    const named: [string, string][] = [
      ['protect', ok.workflow_id],
      ['protect-failed', bad.workflow_id],
      ['protect-continued', long.workflow_id],
      ['protect-pinned', pinned.workflow_id],
      ['restore', restored.workflow_id],
      ['delete', `delete-${ok.checkpoint_id}`],
    ];
    const histories = await Promise.all(
      named.map(async ([name, id]) => ({
        name,
        workflowId: id,
        history: JSON.parse(
          historyToJSON(await fx.svc.temporal.workflow.getHandle(id).fetchHistory()),
        ) as unknown,
      })),
    );
    const { replayed, failures } = await replay(histories);
    assert.equal(replayed, named.length);
    assert.deepEqual(failures, []);
    const generation = process.env.KARBOR_RECORD_HISTORIES;
    if (generation) {
      fs.mkdirSync(FIXTURES, { recursive: true });
      for (const h of histories) {
        fs.writeFileSync(
          path.join(FIXTURES, `${generation}-${h.name}.json`),
          `${JSON.stringify(h.history)}\n`,
        );
      }
    }
  });
});
