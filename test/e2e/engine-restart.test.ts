import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { ProtectionService } from '../../client/protection-service';
import { startTemporal, stopProcess } from '../../scripts/services';
import type { TemporalProcess } from '../../scripts/services';
import { scheduleIdOf } from '../../operation-engine/documents';
import { eventually, isolatedConfig, NOOP_PROVIDER, startWorker, testEnv } from '../support/env';
import type { RunningWorker } from '../support/env';
import { noopPlan } from '../support/noop';

// A scheduled operation outlives a restart of the Temporal server (its SQLite file) and of
// the worker: the Schedule is still there and its runs go on (a dev server of its own).
describe('scheduled operations survive a restart of the dev server and the worker', () => {
  const dbFile = path.join(testEnv.workDir, 'engine-restart.sqlite');
  let temporal: TemporalProcess | undefined;
  let worker: RunningWorker | undefined;
  let svc: ProtectionService | undefined;
  after(async () => {
    await svc?.close();
    await worker?.stop();
    if (temporal) await stopProcess(temporal.pid);
  });

  it('keeps its Schedule and its runs across the restart', async () => {
    temporal = await startTemporal({ cli: testEnv.temporalCli, dbFile, logFile: `${dbFile}.log` });
    const cfg = { ...isolatedConfig('restart'), temporalAddress: `127.0.0.1:${temporal.port}` };
    worker = await startWorker(cfg);
    svc = await ProtectionService.connect(cfg);
    const plan = await svc.createPlan(noopPlan({ r: [] }, { projectId: cfg.projectId }));
    const trigger = await svc.engine.createTrigger({
      name: 'every 2 s',
      properties: { format: 'crontab', pattern: '*/2 * * * * *' },
    });
    const op = await svc.engine.createScheduledOperation({
      name: 'across restarts',
      operation_type: 'protect',
      trigger_id: trigger.id,
      operation_definition: { provider_id: NOOP_PROVIDER, plan_id: plan.id },
    });
    const taken = async (s: ProtectionService) =>
      (await s.temporal.schedule.getHandle(scheduleIdOf(op.id)).describe()).info.numActionsTaken;
    const before = await eventually('a first run', async () => {
      const n = await taken(svc!);
      return n >= 1 ? n : undefined;
    });

    // Both go down, and come back on the same port and database file.
    await svc.close();
    svc = undefined;
    await worker.stop();
    worker = undefined;
    const port = temporal.port;
    await stopProcess(temporal.pid);
    temporal = await startTemporal({
      cli: testEnv.temporalCli,
      dbFile,
      port,
      logFile: `${dbFile}.log`,
    });
    worker = await startWorker(cfg);
    svc = await ProtectionService.connect(cfg);

    const shown = await svc.engine.showScheduledOperation(op.id);
    assert.equal(shown.schedule.paused, false);
    await eventually(
      'runs after the restart',
      async () => ((await taken(svc!)) > before + 1 ? true : undefined),
      30_000,
    );
    const available = await eventually('a checkpoint made after the restart', async () => {
      const page = await svc!.listCheckpoints(NOOP_PROVIDER, { planId: plan.id, limit: 100 });
      const done = page.checkpoints.filter((c) => c.status === 'available');
      return done.length > before ? done : undefined;
    });
    assert.ok(available.length > before);
    await svc.engine.deleteScheduledOperation(op.id);
  });
});
