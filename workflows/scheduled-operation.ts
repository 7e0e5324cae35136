// One run of a scheduled operation, started by its Temporal Schedule: the operation itself
// as a child workflow under its usual id (`protect-<new checkpoint id>`, `verify-<id>`), so
// runs stay findable as when started by hand; then retention, through delete workflows.
import { executeChild, proxyActivities, uuid4, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { Caller } from '../bank/checkpoint-collection';
import type { RetentionPolicy } from '../retention/policy';
import { BANK_ACTIVITY } from '../temporal-config/activity-options';
import { workflowIds } from './ids';
import { deleteCheckpoint } from './delete';
import { protect } from './protect';
import { verifyCheckpoint } from './verify';

const engine = proxyActivities<Activities>(BANK_ACTIVITY);

export interface ScheduledRunInput {
  scheduledOperationId: string;
  operationType: 'protect' | 'retention_protect' | 'verify';
  providerId: string;
  planId: string;
  caller: Caller;
  retention?: RetentionPolicy;
}

export interface ScheduledRunResult {
  checkpoint_id?: string;
  status: string;
  /** Checkpoints retention removed (through their delete workflows). */
  removed?: string[];
  reason?: string;
}

export async function scheduledOperation(input: ScheduledRunInput): Promise<ScheduledRunResult> {
  const ref = { providerId: input.providerId, planId: input.planId, caller: input.caller };
  const parent = workflowInfo().workflowId;
  if (input.operationType === 'verify') {
    const target = await engine.newestAvailable(ref);
    if (!target) return { status: 'skipped', reason: 'the plan has no available checkpoint' };
    const result = await executeChild(verifyCheckpoint, {
      workflowId: workflowIds.verify(target),
      args: [{ checkpointId: target, providerId: input.providerId, caller: input.caller }],
      staticSummary: `scheduled verify of checkpoint ${target} (${parent})`,
    });
    const damaged = Object.entries(result.resources)
      .filter(([, s]) => s !== 'done')
      .map(([id]) => id);
    await engine.recordVerdict(target, {
      status: result.status,
      damaged: result.reason ? [result.reason] : damaged,
    });
    return {
      checkpoint_id: target,
      status: result.status,
      ...(result.reason ? { reason: result.reason } : {}),
    };
  }
  const checkpointId = uuid4();
  // A failed protect fails this run too (after its checkpoint recorded why).
  const result = await executeChild(protect, {
    workflowId: workflowIds.protect(checkpointId),
    args: [{ checkpointId, storedPlanId: input.planId }],
    staticSummary: `scheduled protect of plan ${input.planId} into checkpoint ${checkpointId} (${parent})`,
  });
  if (input.operationType !== 'retention_protect' || !input.retention) {
    return { checkpoint_id: checkpointId, status: result.status };
  }
  const doomed = await engine.retentionToApply({ ...ref, policy: input.retention });
  await Promise.all(
    doomed.map((id) =>
      executeChild(deleteCheckpoint, {
        workflowId: workflowIds.delete(id),
        args: [{ checkpointId: id, providerId: input.providerId, caller: input.caller }],
        staticSummary: `retention: delete checkpoint ${id} (${parent})`,
      }),
    ),
  );
  return { checkpoint_id: checkpointId, status: result.status, removed: doomed };
}
