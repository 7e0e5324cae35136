// The operation engine's bank steps: which checkpoint a scheduled verify checks, which ones
// a retention run removes, and recording a verify's verdict on its checkpoint.
import type { Caller, CheckpointCollection } from '../bank/checkpoint-collection';
import { applyRetention } from '../retention/policy';
import type { RetentionPolicy } from '../retention/policy';

export interface EngineActivityDeps {
  checkpoints: CheckpointCollection;
}

export interface PlanRef {
  providerId: string;
  planId: string;
  caller: Caller;
}

export function engineActivities(deps: EngineActivityDeps) {
  const { checkpoints } = deps;
  return {
    /** The plan's newest `available` checkpoint, if any. */
    async newestAvailable(ref: PlanRef): Promise<string | undefined> {
      const list = await checkpoints.availableOfPlan(ref.providerId, ref.planId, ref.caller);
      list.sort((a, b) => b.createdAtMs - a.createdAtMs);
      return list[0]?.id;
    },

    /** The checkpoints a retention policy does not keep (the delete workflow removes them). */
    async retentionToApply(ref: PlanRef & { policy: RetentionPolicy }): Promise<string[]> {
      const candidates = await checkpoints.availableOfPlan(ref.providerId, ref.planId, ref.caller);
      return applyRetention(candidates, ref.policy, Date.now())
        .filter((v) => !v.keep)
        .map((v) => v.id);
    },

    /** A scheduled verify's verdict, shown with the checkpoint (extra_info). */
    async recordVerdict(
      checkpointId: string,
      verdict: { status: string; damaged: string[] },
    ): Promise<void> {
      await checkpoints.recordMeasurements(checkpointId, {
        last_verified_at: new Date().toISOString(),
        verify_status: verdict.status,
        damaged: verdict.damaged,
      });
    },
  };
}
