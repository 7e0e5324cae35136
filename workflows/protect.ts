import {
  ApplicationFailure,
  condition,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { LeaseToken } from '../bank/bank';
import type { Activities } from '../activities';
import { BANK_ACTIVITY } from '../temporal-config/activity-options';
import { checkpointCreatedUpdate, progressQuery } from './definitions';
import type { Progress, ProtectInput, ProtectResult } from './definitions';

const bank = proxyActivities<Activities>(BANK_ACTIVITY);

/**
 * protect: create the checkpoint, protect every resource of the plan, complete the
 * checkpoint; any failure marks it `error` with the reason.
 */
export async function protect({ checkpointId, plan }: ProtectInput): Promise<ProtectResult> {
  const progress: Progress = {
    total: plan.resources.length,
    done: 0,
    failed: 0,
    running: [],
    resources: {},
  };
  let created = false;
  let creationError: Error | undefined;
  setHandler(progressQuery, () => progress);
  setHandler(checkpointCreatedUpdate, async () => {
    await condition(() => created || creationError !== undefined);
    if (creationError) throw creationError;
    return { checkpoint_id: checkpointId };
  });

  let lease: LeaseToken;
  try {
    lease = await bank.createCheckpoint({
      checkpointId,
      leaseOwner: workflowInfo().workflowId,
      providerId: plan.provider_id,
      projectId: plan.project_id,
      plan: {
        id: plan.id,
        name: plan.name,
        provider_id: plan.provider_id,
        resources: plan.resources,
      },
      resourceGraph: null,
      createdAtMs: Date.now(),
    });
    created = true;
  } catch (err) {
    creationError = ApplicationFailure.create({
      type: failureType(err) ?? 'CHECKPOINT_NOT_CREATED',
      message: describe(err),
      nonRetryable: true,
    });
    // Let the update handler deliver the error before the run ends.
    await condition(() => true);
    throw err;
  }

  try {
    await bank.completeCheckpoint(lease);
    return { checkpoint_id: checkpointId, status: 'available' };
  } catch (err) {
    const reason = describe(err);
    await bank.failCheckpoint(lease, reason);
    return { checkpoint_id: checkpointId, status: 'error', reason };
  }
}

/** The code of the typed error behind an activity failure, if any. */
function failureType(err: unknown): string | undefined {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? cause.message : err.message;
  }
  return String(err);
}
