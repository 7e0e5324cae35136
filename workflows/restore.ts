import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { OperationSchedule } from '../graph/operation-schedule';
import {
  BANK_ACTIVITY,
  CONTINUE_AS_NEW_AFTER_EVENTS,
  DEFAULT_HOOK_CONCURRENCY,
} from '../temporal-config/activity-options';
import { newProgress } from './definitions';
import type { RestoreInput, RestoreResult } from './definitions';
import { runHooks } from './hook-runner';
import { operationHandlers } from './operation-start';

const bank = proxyActivities<Activities>(BANK_ACTIVITY);

/**
 * restore: check the checkpoint is `available` and the parameters fit, record the restore
 * `in_progress`, run every resource's restore hooks in graph order, then record `success`
 * or `failure` with per-resource status.
 */
export async function restore(input: RestoreInput): Promise<RestoreResult> {
  const { restoreId, checkpointId } = input;
  const progress = input.resume?.progress ?? newProgress();
  const handlers = operationHandlers(progress, restoreId);

  let schedule: OperationSchedule;
  if (input.resume) {
    schedule = await bank.loadSchedule(checkpointId, 'restore');
  } else {
    try {
      schedule = await bank.beginRestore({
        restoreId,
        checkpointId,
        providerId: input.providerId,
        caller: input.caller,
        restoreTarget: input.restoreTarget,
        parameters: input.parameters,
        createdAtMs: Date.now(),
      });
    } catch (err) {
      await handlers.failedToStart(err);
      throw err;
    }
  }
  handlers.started();
  progress.phase = 'running';

  const run = await runHooks({
    operation: 'restore',
    operationId: restoreId,
    checkpointId,
    schedule,
    concurrency: input.concurrency ?? DEFAULT_HOOK_CONCURRENCY,
    continueAfterEvents: input.continueAfterEvents ?? CONTINUE_AS_NEW_AFTER_EVENTS,
    ...(input.resume ? { snapshot: input.resume.snapshot } : {}),
    progress,
  });
  if (run.outcome === 'paused') {
    return continueAsNew<typeof restore>({
      ...input,
      resume: { snapshot: run.snapshot, progress },
    });
  }
  const ok = run.outcome === 'done';
  const reason = run.outcome === 'failed' ? run.reason : '';
  await bank.finishRestore(restoreId, ok, reason);
  progress.phase = ok ? 'finished' : 'failed';
  return { restore_id: restoreId, status: ok ? 'success' : 'failure', ...(ok ? {} : { reason }) };
}
