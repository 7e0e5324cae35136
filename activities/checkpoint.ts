import type { LeaseToken } from '../bank/bank';
import type { CheckpointCollection } from '../bank/checkpoint-collection';
import type { LeaseManager } from '../bank/leases';
import type { PlanStore } from '../bank/plan-store';
import type { CheckpointDocument } from '../common/documents';
import { LeaseLostError } from '../common/errors';
import { countLease } from './metrics';
import { hostOf } from '../graph/host-pinning';
import { operationSchedule } from '../graph/operation-schedule';
import { DEFAULT_HOST_WAIT_SECONDS } from '../temporal-config/names';
import type { OperationSchedule } from '../graph/operation-schedule';
import { unpackGraph } from '../graph/resource-graph';
import type { PackedGraph } from '../graph/resource-graph';
import type { Operation } from '../plugins/types';
import { implementedHooks } from '../plugins/types';
import { planGraph } from '../providers/plan-graph';
import type { Provider, ProviderRegistry } from '../providers/provider-registry';

export interface CreateCheckpointInput {
  checkpointId: string;
  /** The workflow that builds the checkpoint: it, not a worker process, owns the lease. */
  leaseOwner: string;
  /** A stored plan's id, or absent for the plan the client left for this operation. */
  storedPlanId?: string;
  /** Workflow time, so a retried activity writes the same timestamps. */
  createdAtMs: number;
}

export interface CheckpointCreated {
  lease: LeaseToken;
  schedule: OperationSchedule;
  /** How often the workflow renews the lease (the deployment's lease settings). */
  renewEveryMs: number;
}

/** What completing a protect made of the checkpoint. */
export interface CheckpointCompleted {
  status: 'available' | 'error';
  reason: string;
}

export interface CheckpointActivityDeps {
  checkpoints: CheckpointCollection;
  leases: LeaseManager;
  plans: PlanStore;
  providers: ProviderRegistry;
  /** KARBOR_HOST_WAIT_S: how long a host-pinned hook waits for a worker of its host. */
  hostWaitSeconds?: number;
}

/** The hooks schedule of an operation over a checkpoint's stored graph. */
export async function scheduleFor(
  deps: Pick<CheckpointActivityDeps, 'checkpoints' | 'providers' | 'hostWaitSeconds'>,
  checkpointId: string,
  operation: Operation,
): Promise<OperationSchedule> {
  const doc = await deps.checkpoints.get(checkpointId);
  return scheduleOf(
    deps.providers.get(doc.provider_id),
    unpackGraph(doc.resource_graph),
    operation,
    deps.hostWaitSeconds,
  );
}

/**
 * The hooks schedule of an operation over a graph. Throws for a host that is not a host
 * name (a plan's, a provider setting's or one planted in the bank): callers compute it
 * before they record anything, so such an operation is refused, never left half-begun.
 */
export function scheduleOf(
  provider: Provider,
  graph: PackedGraph,
  operation: Operation,
  hostWaitSeconds?: number,
): OperationSchedule {
  return operationSchedule(
    graph,
    (type) => {
      const plugin = provider.plugins.get(type);
      return plugin ? implementedHooks(plugin, operation) : [];
    },
    {
      hostOf: (node) => {
        const plugin = provider.plugins.get(node.type);
        return hostOf(node, plugin?.hostPinned ?? false, provider.config[plugin?.name ?? ''] ?? {});
      },
      waitSeconds: hostWaitSeconds ?? DEFAULT_HOST_WAIT_SECONDS,
    },
  );
}

/** Resources of a checkpoint's graph whose protect result the bank does not hold. */
export function missingResults(doc: CheckpointDocument): string[] {
  return unpackGraph(doc.resource_graph)
    .nodes.map((n) => n.id)
    .filter((r) => doc.resources_status[r] !== 'available');
}

/** A few ids for a message: `3 resource(s) (a, b, c)`. */
export function describeIds(ids: string[]): string {
  const shown = ids.slice(0, 3).join(', ');
  return `${ids.length} resource(s) (${shown}${ids.length > 3 ? ', …' : ''})`;
}

/** Checkpoint bookkeeping steps of a protect; each is idempotent. */
export function checkpointActivities(deps: CheckpointActivityDeps) {
  const { checkpoints, leases, plans, providers } = deps;
  /** The protect's last bank step: its final status (fenced), then its lease and start plan go. */
  const endProtect = async (lease: LeaseToken, end: CheckpointCompleted) => {
    const finish = (held: LeaseToken) =>
      checkpoints.transition(held.checkpointId, ['protecting'], end.status, {
        lease: held,
        ...(end.reason ? { reason: end.reason } : {}),
      });
    let held = lease;
    try {
      await finish(held);
    } catch (err) {
      // The workflow's token may be older than the one it holds now (a lapsed lease was
      // re-taken by a retried hook): go on under the current one, or a re-taken one.
      if (!(err instanceof LeaseLostError)) throw err;
      held = await leases.currentFor(lease, () => Promise.resolve(true));
      await finish(held);
    }
    await leases.release(held);
    await plans.dropOperationPlan(lease.checkpointId);
  };
  return {
    /**
     * Validates the plan against its provider, builds the resource graph and creates the
     * checkpoint under a new write lease. Bad input fails here, before anything is written.
     */
    async createCheckpoint(input: CreateCheckpointInput): Promise<CheckpointCreated> {
      const plan = input.storedPlanId
        ? await plans.get(input.storedPlanId)
        : await plans.getOperationPlan(input.checkpointId);
      const provider = providers.get(plan.provider_id);
      const graph = await planGraph(plan, provider);
      const schedule = scheduleOf(provider, graph, 'protect', deps.hostWaitSeconds);
      const { lease } = await checkpoints.create({
        id: input.checkpointId,
        leaseOwner: input.leaseOwner,
        providerId: plan.provider_id,
        projectId: plan.project_id,
        plan: {
          id: plan.id,
          name: plan.name,
          provider_id: plan.provider_id,
          resources: plan.resources,
          ...(plan.parameters ? { parameters: plan.parameters } : {}),
        },
        resourceGraph: graph,
        createdAtMs: input.createdAtMs,
      });
      return {
        lease,
        schedule,
        renewEveryMs: leases.settings.renewWindowMs,
      };
    },

    async loadSchedule(checkpointId: string, operation: Operation): Promise<OperationSchedule> {
      return scheduleFor(deps, checkpointId, operation);
    },

    /**
     * Extends the lease; if it lapsed while nobody else took it (workers were down), the
     * same owner takes it again and gets a new token.
     */
    async renewCheckpointLease(lease: LeaseToken): Promise<LeaseToken> {
      try {
        await leases.renew(lease);
        countLease('renewals');
        return lease;
      } catch (err) {
        if (!(err instanceof LeaseLostError)) throw err;
        countLease('losses');
        return leases.acquire(lease.checkpointId, lease.owner);
      }
    },

    /**
     * Makes the checkpoint `available` — only if the bank holds every resource's result. A
     * resource whose status is missing means Redis lost acknowledged writes (a host crash
     * under `appendfsync everysec`): the checkpoint becomes `error` instead, since its
     * manifests and chunk claims may be gone with them.
     */
    async completeCheckpoint(
      lease: LeaseToken,
      hookless: string[] = [],
      /** What the protect measured (bytes of data, new bytes), for listings. */
      measured?: { sizeBytes: number; newBytes: number },
    ): Promise<CheckpointCompleted> {
      const id = lease.checkpointId;
      if (measured) {
        await checkpoints.recordMeasurements(id, {
          size_bytes: measured.sizeBytes,
          new_bytes: measured.newBytes,
          finished_at_ms: Date.now(),
        });
      }
      for (const r of hookless) await checkpoints.setResourceStatus(id, r, 'available', lease);
      const doc = await checkpoints.get(id);
      if (doc.status === 'available') return { status: 'available', reason: '' };
      const missing = missingResults(doc);
      const ended: CheckpointCompleted =
        missing.length > 0
          ? {
              status: 'error',
              reason: `the bank lost the result of ${describeIds(missing)}: Redis lost acknowledged writes`,
            }
          : { status: 'available', reason: '' };
      await endProtect(lease, ended);
      return ended;
    },

    /** Marks the checkpoint `error` (a lapsed lease is taken again by the same owner first). */
    async failCheckpoint(lease: LeaseToken, reason: string): Promise<void> {
      await endProtect(lease, { status: 'error', reason });
    },
  };
}
