import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { BANK_ACTIVITY } from '../temporal-config/activity-options';
import { newProgress } from './definitions';
import type { VerifyInput, VerifyResult } from './definitions';
import { runHooks, showProgress } from './hook-runner';
import { countOperation } from './outcome';
import { operationHandlers, runSettings } from './operation-start';

const bank = proxyActivities<Activities>(BANK_ACTIVITY);

/**
 * verify: re-read every resource's protected data (an `available` checkpoint's) and report,
 * per resource, what is missing or corrupt. A damaged resource does not stop the others.
 */
export async function verifyCheckpoint(input: VerifyInput): Promise<VerifyResult> {
  const { checkpointId } = input;
  const progress = input.resume?.progress ?? newProgress();
  const handlers = operationHandlers(progress, checkpointId);
  const schedule = await handlers.begin(() =>
    input.resume
      ? bank.loadSchedule(checkpointId, 'verify')
      : bank.beginVerify({ checkpointId, providerId: input.providerId, caller: input.caller }),
  );
  const run = await runHooks({
    operation: 'verify',
    operationId: checkpointId,
    checkpointId,
    schedule,
    progress,
    keepGoing: true,
    ...runSettings(input),
  });
  if (run.outcome === 'cancelled') throw run.cancel;
  if (run.outcome === 'paused') {
    return continueAsNew<typeof verifyCheckpoint>({
      ...input,
      resume: { snapshot: run.snapshot, progress },
    });
  }
  progress.phase = run.outcome === 'done' ? 'finished' : 'failed';
  showProgress(progress); // the Web UI's current details, final
  countOperation('finished', run.outcome === 'done' ? 'succeeded' : 'failed');
  return {
    checkpoint_id: checkpointId,
    status: run.outcome === 'done' ? 'verified' : 'damaged',
    resources: progress.resources,
    ...(run.outcome === 'failed' ? { reason: run.reason } : {}),
  };
}
