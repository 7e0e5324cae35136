import type { CheckpointCollection } from '../bank/checkpoint-collection';
import type { Caller } from '../bank/checkpoint-collection';
import { InvalidStatusTransitionError } from '../common/errors';
import type { OperationSchedule } from '../graph/operation-schedule';
import type { ProviderRegistry } from '../providers/provider-registry';
import { scheduleFor } from './checkpoint';

export interface BeginDeleteInput {
  checkpointId: string;
  providerId: string;
  caller: Caller;
}

export interface DeleteActivityDeps {
  checkpoints: CheckpointCollection;
  providers: ProviderRegistry;
  hostWaitSeconds?: number;
}

/** Delete and verify: both start from an existing checkpoint of the caller's. */
export function deleteActivities(deps: DeleteActivityDeps) {
  const { checkpoints } = deps;
  return {
    /** Only `available` and `error` checkpoints may be deleted; they become `deleting`. */
    async beginDelete(input: BeginDeleteInput): Promise<OperationSchedule> {
      await checkpoints.getOf(input.providerId, input.checkpointId, input.caller);
      const schedule = await scheduleFor(deps, input.checkpointId, 'delete');
      // From `error-deleting` too, so a failed delete can be run again (`deleting` is a no-op).
      await checkpoints.transition(
        input.checkpointId,
        ['available', 'error', 'error-deleting'],
        'deleting',
      );
      return schedule;
    },

    /** Only an `available` checkpoint's data is worth verifying. */
    async beginVerify(input: BeginDeleteInput): Promise<OperationSchedule> {
      const doc = await checkpoints.getOf(input.providerId, input.checkpointId, input.caller);
      if (doc.status !== 'available') {
        throw new InvalidStatusTransitionError(doc.id, doc.status, ['available'], 'verified');
      }
      return scheduleFor(deps, input.checkpointId, 'verify');
    },

    /** Removes the checkpoint's bank data and indexes; it then reads `deleted`. */
    async finishDelete(checkpointId: string): Promise<void> {
      await checkpoints.purge(checkpointId, ['deleting']);
    },

    async failDelete(checkpointId: string, reason: string): Promise<void> {
      await checkpoints.transition(checkpointId, ['deleting'], 'error-deleting', { reason });
    },
  };
}
