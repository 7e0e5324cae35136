import type { LeaseToken } from '../bank/bank';
import type { CheckpointCollection } from '../bank/checkpoint-collection';
import type { LeaseManager } from '../bank/leases';
import type { ProtectionPlanSummary } from '../common/documents';

export interface CreateCheckpointInput {
  checkpointId: string;
  /** The workflow that builds the checkpoint: it, not a worker process, owns the lease. */
  leaseOwner: string;
  providerId: string;
  projectId: string;
  plan: ProtectionPlanSummary;
  resourceGraph: unknown;
  /** Workflow time, so a retried activity writes the same timestamps. */
  createdAtMs: number;
}

export interface CheckpointActivityDeps {
  checkpoints: CheckpointCollection;
  leases: LeaseManager;
}

/** Checkpoint bookkeeping steps of an operation; each is idempotent. */
export function checkpointActivities({ checkpoints, leases }: CheckpointActivityDeps) {
  return {
    async createCheckpoint(input: CreateCheckpointInput): Promise<LeaseToken> {
      const { lease } = await checkpoints.create({
        id: input.checkpointId,
        leaseOwner: input.leaseOwner,
        providerId: input.providerId,
        projectId: input.projectId,
        plan: input.plan,
        resourceGraph: input.resourceGraph,
        createdAtMs: input.createdAtMs,
      });
      return lease;
    },

    async renewCheckpointLease(lease: LeaseToken): Promise<void> {
      await leases.renew(lease);
    },

    async completeCheckpoint(lease: LeaseToken): Promise<void> {
      await checkpoints.transition(lease.checkpointId, ['protecting'], 'available', { lease });
      await leases.release(lease);
    },

    async failCheckpoint(lease: LeaseToken, reason: string): Promise<void> {
      await checkpoints.transition(lease.checkpointId, ['protecting'], 'error', { reason, lease });
      await leases.release(lease);
    },
  };
}
