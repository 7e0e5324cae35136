import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { karbor } from '../support/cli';
import { envFor, eventually, NOOP_PROVIDER, useService } from '../support/env';
import { noopPlan } from '../support/noop';

// `karbor plan retention`: what a policy keeps and removes, why, and removal through the
// delete workflow (real dev server, Redis, worker).
describe('plan retention (real dev server)', () => {
  const fx = useService('retention');

  it('shows what would go and why with --dry-run, then deletes exactly that', async () => {
    const plan = await fx.svc.createPlan(noopPlan({ r: [] }, { projectId: fx.cfg.projectId }));
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { checkpoint_id } = await fx.svc.executeOperation(plan.id, 'protect');
      assert.equal((await fx.svc.waitForProtect(checkpoint_id)).status, 'available');
      ids.unshift(checkpoint_id); // newest first
      // Checkpoint times are whole seconds: the next one starts in a later second.
      const { timestamp } = await fx.svc.showCheckpoint(NOOP_PROVIDER, checkpoint_id);
      await eventually('a later second', () =>
        Promise.resolve(Math.floor(Date.now() / 1000) > timestamp ? true : undefined),
      );
    }
    const env = envFor(fx.cfg);
    const dry = await karbor(
      ['--json', 'plan', 'retention', plan.id, '--keep-last', '2', '--dry-run'],
      env,
    );
    assert.equal(dry.code, 0, dry.stderr);
    const report = JSON.parse(dry.stdout) as {
      dry_run: boolean;
      verdicts: { id: string; keep: boolean; reasons: string[] }[];
      deleting: string[];
    };
    assert.equal(report.dry_run, true);
    assert.deepEqual(
      report.verdicts.map((v) => [v.id, v.keep]),
      ids.map((id, i) => [id, i < 2]),
    );
    assert.deepEqual(report.verdicts[3]!.reasons, ['removed: no keep rule keeps it']);
    assert.deepEqual(report.deleting, []);
    const table = await karbor(
      ['plan', 'retention', plan.id, '--keep-last', '2', '--dry-run'],
      env,
    );
    assert.match(
      table.stdout,
      new RegExp(`${ids[3]}\\s+\\S+ \\S+\\s+would remove\\s+removed: no keep rule`),
    );
    for (const id of ids) {
      assert.equal((await fx.svc.showCheckpoint(NOOP_PROVIDER, id)).status, 'available', 'dry run');
    }

    const real = await karbor(['--json', 'plan', 'retention', plan.id, '--keep-last', '2'], env);
    assert.equal(real.code, 0, real.stderr);
    assert.deepEqual((JSON.parse(real.stdout) as { deleting: string[] }).deleting, ids.slice(2));
    for (const id of ids.slice(2)) assert.equal((await fx.svc.waitForDelete(id)).status, 'deleted');
    for (const id of ids.slice(0, 2)) {
      assert.equal((await fx.svc.showCheckpoint(NOOP_PROVIDER, id)).status, 'available');
    }

    for (const bad of [['--keep-last', 'x'], ['--max-backups', '0'], ['--keep-within', '3w'], []]) {
      const r = await karbor(['plan', 'retention', plan.id, ...bad, '--dry-run'], env);
      assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }
  });
});
