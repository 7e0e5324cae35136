import {
  CancellationScope,
  continueAsNew,
  isCancellation,
  proxyActivities,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { LeaseToken } from '../bank/bank';
import { BANK_ACTIVITY, LEASE_RENEW_INTERVAL } from '../temporal-config/activity-options';
import { newProgress } from './definitions';
import type { ProtectInput, ProtectResult } from './definitions';
import { describe, hooklessResources, runHooks } from './hook-runner';
import { operationHandlers, runSettings } from './operation-start';

const bank = proxyActivities<Activities>(BANK_ACTIVITY);

/**
 * protect: create the checkpoint (validating the plan first), run every resource's protect
 * hooks over the dependency graph in Karbor's order, then complete the checkpoint — or mark
 * it `error` with the reason if any hook failed.
 */
export async function protect(input: ProtectInput): Promise<ProtectResult> {
  const { checkpointId } = input;
  const progress = input.resume?.progress ?? newProgress();
  const handlers = operationHandlers(progress, checkpointId);

  const created = await handlers.begin(async () =>
    input.resume
      ? {
          lease: input.resume.lease,
          schedule: await bank.loadSchedule(checkpointId, 'protect'),
        }
      : bank.createCheckpoint({
          checkpointId,
          leaseOwner: workflowInfo().workflowId,
          ...(input.storedPlanId ? { storedPlanId: input.storedPlanId } : {}),
          createdAtMs: Date.now(),
        }),
  );
  let lease: LeaseToken = created.lease;

  // The lease must outlive the hooks: renew it in the background while they run.
  let leaseLost: string | undefined;
  const renewal = new CancellationScope();
  const renewing = renewal
    .run(async () => {
      for (;;) {
        await sleep(LEASE_RENEW_INTERVAL);
        lease = await bank.renewCheckpointLease(lease);
      }
    })
    .catch((err: unknown) => {
      if (!isCancellation(err)) leaseLost = `write lease lost: ${describe(err)}`;
    });

  const run = await runHooks({
    operation: 'protect',
    operationId: checkpointId,
    checkpointId,
    schedule: created.schedule,
    lease: () => lease,
    progress,
    ...runSettings(input),
  });
  renewal.cancel();
  await renewing;

  if (run.outcome === 'paused') {
    return continueAsNew<typeof protect>({
      ...input,
      resume: { lease, snapshot: run.snapshot, progress },
    });
  }
  const failure = run.outcome === 'failed' ? run.reason : leaseLost;
  if (failure) {
    progress.phase = 'failed';
    await bank.failCheckpoint(lease, failure);
    return { checkpoint_id: checkpointId, status: 'error', reason: failure };
  }
  progress.phase = 'completing';
  await bank.completeCheckpoint(lease, hooklessResources(created.schedule));
  progress.phase = 'finished';
  return { checkpoint_id: checkpointId, status: 'available' };
}
