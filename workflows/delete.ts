import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { OperationSchedule } from '../graph/operation-schedule';
import {
  BANK_ACTIVITY,
  CONTINUE_AS_NEW_AFTER_EVENTS,
  DEFAULT_HOOK_CONCURRENCY,
} from '../temporal-config/activity-options';
import { newProgress } from './definitions';
import type { DeleteInput, DeleteResult } from './definitions';
import { runHooks } from './hook-runner';
import { operationHandlers } from './operation-start';

const bank = proxyActivities<Activities>(BANK_ACTIVITY);

/**
 * delete: mark the checkpoint `deleting` (only from `available` or `error`), run every
 * resource's delete hooks in graph order, then remove its bank data and indexes; a failed
 * hook leaves it `error-deleting` with the reason.
 */
export async function deleteCheckpoint(input: DeleteInput): Promise<DeleteResult> {
  const { checkpointId } = input;
  const progress = input.resume?.progress ?? newProgress();
  const handlers = operationHandlers(progress, checkpointId);

  let schedule: OperationSchedule;
  if (input.resume) {
    schedule = await bank.loadSchedule(checkpointId, 'delete');
  } else {
    try {
      schedule = await bank.beginDelete({
        checkpointId,
        providerId: input.providerId,
        caller: input.caller,
      });
    } catch (err) {
      await handlers.failedToStart(err);
      throw err;
    }
  }
  handlers.started();
  progress.phase = 'running';

  const run = await runHooks({
    operation: 'delete',
    operationId: checkpointId,
    checkpointId,
    schedule,
    concurrency: input.concurrency ?? DEFAULT_HOOK_CONCURRENCY,
    continueAfterEvents: input.continueAfterEvents ?? CONTINUE_AS_NEW_AFTER_EVENTS,
    ...(input.resume ? { snapshot: input.resume.snapshot } : {}),
    progress,
  });
  if (run.outcome === 'paused') {
    return continueAsNew<typeof deleteCheckpoint>({
      ...input,
      resume: { snapshot: run.snapshot, progress },
    });
  }
  if (run.outcome === 'failed') {
    await bank.failDelete(checkpointId, run.reason);
    progress.phase = 'failed';
    return { checkpoint_id: checkpointId, status: 'error-deleting', reason: run.reason };
  }
  progress.phase = 'completing';
  await bank.finishDelete(checkpointId);
  progress.phase = 'finished';
  return { checkpoint_id: checkpointId, status: 'deleted' };
}
