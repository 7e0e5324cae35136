import type { CheckpointCollection } from '../bank/checkpoint-collection';
import type { CheckpointDocument, ProtectionPlanSummary } from '../common/documents';

export interface CreateCheckpointInput {
  checkpointId: string;
  providerId: string;
  projectId: string;
  plan: ProtectionPlanSummary;
  resourceGraph: unknown;
  /** Workflow time, so a retried activity writes the same timestamps. */
  createdAtMs: number;
}

export interface CheckpointActivityDeps {
  checkpoints: CheckpointCollection;
  ownerId: string;
}

/** Checkpoint bookkeeping steps of an operation; each is idempotent. */
export function checkpointActivities({ checkpoints, ownerId }: CheckpointActivityDeps) {
  return {
    async createCheckpoint(input: CreateCheckpointInput): Promise<CheckpointDocument> {
      return checkpoints.create({
        id: input.checkpointId,
        ownerId,
        providerId: input.providerId,
        projectId: input.projectId,
        plan: input.plan,
        resourceGraph: input.resourceGraph,
        createdAtMs: input.createdAtMs,
      });
    },

    async completeCheckpoint(checkpointId: string): Promise<void> {
      await checkpoints.transition(checkpointId, ['protecting'], 'available');
    },

    async failCheckpoint(checkpointId: string, reason: string): Promise<void> {
      await checkpoints.transition(checkpointId, ['protecting'], 'error', reason);
    },
  };
}
