import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { BANK_ACTIVITY } from '../temporal-config/activity-options';
import { newProgress } from './definitions';
import type { RestoreInput, RestoreResult } from './definitions';
import { hooklessResources, runHooks, showProgress } from './hook-runner';
import { operationHandlers, runSettings } from './operation-start';
import { countOperation, endFailed, finishing, whenCancelled } from './outcome';

const bank = proxyActivities<Activities>(BANK_ACTIVITY);

/**
 * restore: check the checkpoint is `available` and the parameters fit, record the restore
 * `in_progress`, run every resource's restore hooks in graph order, then record `success`
 * or `failure` with per-resource status (a cancel records `failure`, reason `cancelled`).
 */
export async function restore(input: RestoreInput): Promise<RestoreResult> {
  const { restoreId, checkpointId } = input;
  const progress = input.resume?.progress ?? newProgress();
  const handlers = operationHandlers(progress, restoreId);

  const schedule = await handlers.begin(() =>
    input.resume
      ? bank.loadSchedule(checkpointId, 'restore')
      : bank.beginRestore({
          restoreId,
          checkpointId,
          providerId: input.providerId,
          caller: input.caller,
          restoreTarget: input.restoreTarget,
          parameters: input.parameters,
          createdAtMs: Date.now(),
        }),
  );
  const run = await runHooks({
    operation: 'restore',
    operationId: restoreId,
    checkpointId,
    schedule,
    progress,
    ...runSettings(input),
  });
  if (run.outcome === 'cancelled') {
    return whenCancelled(progress, run.cancel, () =>
      bank.finishRestore(restoreId, false, 'cancelled'),
    );
  }
  if (run.outcome === 'paused') {
    return continueAsNew<typeof restore>({
      ...input,
      resume: { snapshot: run.snapshot, progress },
    });
  }
  const ok = run.outcome === 'done';
  const reason = run.outcome === 'failed' ? run.reason : '';
  await finishing(() =>
    bank.finishRestore(restoreId, ok, reason, ok ? hooklessResources(schedule) : []),
  );
  progress.phase = ok ? 'finished' : 'failed';
  showProgress(progress); // the Web UI's current details, final
  if (!ok) endFailed(reason);
  countOperation('finished', 'succeeded');
  return { restore_id: restoreId, status: ok ? 'success' : 'failure', ...(ok ? {} : { reason }) };
}
