import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { BANK_ACTIVITY } from '../temporal-config/activity-options';
import { newProgress } from './definitions';
import type { DeleteInput, DeleteResult } from './definitions';
import { runHooks, showProgress } from './hook-runner';
import { operationHandlers, runSettings } from './operation-start';
import { countOperation, endFailed, finishing, whenCancelled } from './outcome';

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

  const schedule = await handlers.begin(() =>
    input.resume
      ? bank.loadSchedule(checkpointId, 'delete')
      : bank.beginDelete({ checkpointId, providerId: input.providerId, caller: input.caller }),
  );
  const run = await runHooks({
    operation: 'delete',
    operationId: checkpointId,
    checkpointId,
    schedule,
    progress,
    ...runSettings(input),
  });
  if (run.outcome === 'cancelled') {
    return whenCancelled(progress, run.cancel, () => bank.failDelete(checkpointId, 'cancelled'));
  }
  if (run.outcome === 'paused') {
    return continueAsNew<typeof deleteCheckpoint>({
      ...input,
      resume: { snapshot: run.snapshot, progress },
    });
  }
  if (run.outcome === 'failed') {
    await finishing(() => bank.failDelete(checkpointId, run.reason));
    progress.phase = 'failed';
    showProgress(progress); // the Web UI's current details, final
    endFailed(run.reason);
    return { checkpoint_id: checkpointId, status: 'error-deleting', reason: run.reason };
  }
  progress.phase = 'completing';
  await finishing(() => bank.finishDelete(checkpointId));
  progress.phase = 'finished';
  showProgress(progress); // the Web UI's current details, final
  countOperation('finished', 'succeeded');
  return { checkpoint_id: checkpointId, status: 'deleted' };
}
