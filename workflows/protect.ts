import {
  CancellationScope,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { BANK_ACTIVITY, LEASE_RENEW_INTERVAL } from '../temporal-config/activity-options';
import { newProgress } from './definitions';
import type { HeldLease, ProtectInput, ProtectResult } from './definitions';
import { describe, hooklessResources, runHooks, showProgress } from './hook-runner';
import { operationHandlers, runSettings } from './operation-start';
import { countOperation, endFailed, finishing, whenCancelled } from './outcome';

const bank = proxyActivities<Activities>(BANK_ACTIVITY);

/**
 * protect: create the checkpoint (validating the plan first), run every resource's protect
 * hooks over the dependency graph in Karbor's order, then complete the checkpoint — or mark
 * it `error` with the reason if any hook failed, or `error` (cancelled) when cancelled.
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
  const held: HeldLease = {
    token: created.lease,
    // A run continued as new keeps the age of its lease, so renewal never waits too long.
    renewedAtMs: input.resume?.leaseRenewedAtMs ?? Date.now(),
    renewEveryMs:
      input.resume?.leaseRenewEveryMs ??
      ('renewEveryMs' in created ? created.renewEveryMs : undefined) ??
      60_000,
  };

  // The lease must outlive the hooks: renew it in the background while they run.
  let leaseLost: string | undefined;
  const renewal = new CancellationScope();
  const byAge = patched('lease-renewal-by-age');
  const renewing = renewal
    .run(async () => {
      for (;;) {
        if (byAge) {
          const wait = held.renewedAtMs + held.renewEveryMs - Date.now();
          if (wait > 0) await sleep(wait);
        } else {
          await sleep(LEASE_RENEW_INTERVAL);
        }
        held.token = await bank.renewCheckpointLease(held.token);
        held.renewedAtMs = Date.now();
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
    lease: () => held.token,
    progress,
    ...runSettings(input),
  });
  renewal.cancel();
  await renewing;

  if (run.outcome === 'cancelled') {
    return whenCancelled(progress, run.cancel, () => bank.failCheckpoint(held.token, 'cancelled'));
  }
  if (run.outcome === 'paused') {
    return continueAsNew<typeof protect>({
      ...input,
      resume: {
        lease: held.token,
        leaseRenewedAtMs: held.renewedAtMs,
        leaseRenewEveryMs: held.renewEveryMs,
        snapshot: run.snapshot,
        progress,
      },
    });
  }
  const failure = run.outcome === 'failed' ? run.reason : leaseLost;
  if (failure) {
    progress.phase = 'failed';
    showProgress(progress); // the Web UI's current details, final
    await finishing(() => bank.failCheckpoint(held.token, failure));
    endFailed(failure);
    return { checkpoint_id: checkpointId, status: 'error', reason: failure };
  }
  progress.phase = 'completing';
  // The bank must hold every resource's result before the checkpoint is `available`; if it
  // lost some (Redis rolled back), the checkpoint becomes `error` and this run fails.
  const completed = await finishing(() =>
    bank.completeCheckpoint(held.token, hooklessResources(created.schedule), {
      sizeBytes: (progress.stats?.stored ?? 0) + (progress.stats?.deduplicated ?? 0),
      newBytes: progress.stats?.stored ?? 0,
    }),
  );
  if (completed && completed.status === 'error') {
    progress.phase = 'failed';
    showProgress(progress); // the Web UI's current details, final
    endFailed(completed.reason);
    return { checkpoint_id: checkpointId, status: 'error', reason: completed.reason };
  }
  progress.phase = 'finished';
  showProgress(progress); // the Web UI's current details, final
  countOperation('finished', 'succeeded');
  return { checkpoint_id: checkpointId, status: 'available' };
}
