import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { LeaseToken } from '../bank/bank';
import type { CheckpointCollection } from '../bank/checkpoint-collection';
import type { LeaseManager } from '../bank/leases';
import { resourceSectionName } from '../bank/keys';
import type { OperationLog } from '../bank/operation-log';
import type { RestoreCollection } from '../bank/restore-collection';
import type { CheckpointDocument } from '../common/documents';
import {
  HookFailedError,
  KarborError,
  OperationStoppedError,
  PluginNotOnWorkerError,
} from '../common/errors';
import type { Hook } from '../graph/hook-schedule';
import { unpackGraph } from '../graph/resource-graph';
import type { PackedGraph } from '../graph/resource-graph';
import { HOOK_METHODS } from '../plugins/types';
import type { DataStats, HookContext, HookProgress, Operation } from '../plugins/types';
import { countBytes, hookDuration } from './metrics';
import { parametersFor } from '../providers/parameters';
import type { ProviderRegistry } from '../providers/provider-registry';
import type { PluginRegistry } from '../plugins/registry';
import { HOOK_MAX_ATTEMPTS } from '../temporal-config/activity-options';

export interface HookInput {
  operation: Operation;
  /** Checkpoint id, or the restore id for a restore. */
  operationId: string;
  checkpointId: string;
  node: number;
  /** The resource's id, for whoever reads the input (the Web UI); `node` is what counts. */
  resource?: string;
  /** One hook, or a few of the resource's hooks that run back to back. */
  hooks: Hook[];
  /** True when the resource's last hook is among them: its status is recorded at the end. */
  final: boolean;
  /** Protect writes under the checkpoint's lease. */
  lease?: LeaseToken;
}

export interface HookActivityDeps {
  plugins: PluginRegistry;
  leases: LeaseManager;
  checkpoints: CheckpointCollection;
  restores: RestoreCollection;
  oplog: OperationLog;
  providers: ProviderRegistry;
  /** This worker's host, named when it lacks a plugin another worker may have. */
  host: string;
}

/**
 * How often a hook is heartbeated for while it runs, whether or not it reports progress: a
 * heartbeat is how a cancel reaches the hook, so it stops within seconds (the SDK throttles
 * what actually goes to the server).
 */
const AUTO_HEARTBEAT_MS = 1_000;

/** Small cache: a worker runs many hooks of the same checkpoint; its graph never changes. */
class CheckpointCache {
  private readonly entries = new Map<string, { doc: CheckpointDocument; graph: PackedGraph }>();
  constructor(private readonly checkpoints: CheckpointCollection) {}

  /** `fresh`: read the bank again (a restore must act on what its start checked). */
  async get(id: string, fresh = false): Promise<{ doc: CheckpointDocument; graph: PackedGraph }> {
    const hit = fresh ? undefined : this.entries.get(id);
    if (hit) return hit;
    const doc = await this.checkpoints.get(id);
    const entry = { doc, graph: unpackGraph(doc.resource_graph) };
    this.entries.set(id, entry);
    if (this.entries.size > 32) this.entries.delete(this.entries.keys().next().value!);
    return entry;
  }
}

const STATUS_DONE: Record<Operation, string> = {
  protect: 'available',
  restore: 'success',
  delete: 'deleted',
  verify: 'verified',
};
const STATUS_FAILED: Record<Operation, string> = {
  protect: 'error',
  restore: 'failure',
  delete: 'error-deleting',
  verify: 'error',
};

/** The one stable dispatcher: runs any plugin's hooks for any operation. */
export function hookActivities(deps: HookActivityDeps) {
  const cache = new CheckpointCache(deps.checkpoints);
  return {
    /**
     * Runs one resource's hooks, in order, in one activity (usually one hook; a few when the
     * schedule lets them follow each other directly). Each hook's start, end or error goes
     * to the operation log; a failure names the hook.
     */
    async runResourceHook(input: HookInput): Promise<{ bytes: number; stats: DataStats }> {
      const actx = Context.current();
      const { doc, graph } = await cache.get(input.checkpointId, input.operation === 'restore');
      const resource = graph.nodes[input.node];
      if (!resource) {
        throw new HookFailedError(
          `checkpoint ${input.checkpointId} has no resource #${input.node}`,
          true,
        );
      }
      // The lease as its workflow holds it now (a retry may carry an older token).
      const lease = input.lease
        ? await deps.leases.currentFor(
            input.lease,
            async () => (await deps.checkpoints.status(input.checkpointId)) === 'protecting',
          )
        : undefined;
      const provider = deps.providers.get(doc.provider_id);
      const plugin = provider.plugins.get(resource.type);
      const operationHooks = plugin?.operations[input.operation];
      const logId = input.operationId;
      const attempt = actx.info.attempt;

      let parameters: Record<string, unknown>;
      let restoreTarget: string | undefined;
      if (input.operation === 'restore') {
        const record = await deps.restores.get(input.operationId);
        // Only resources whose destination was checked when the restore began: a checkpoint
        // changed since (in the bank) must not send a resource somewhere nobody checked.
        if (record.destinations && !(resource.id in record.destinations)) {
          throw new HookFailedError(
            `resource ${resource.id} is not one this restore checked at its start: checkpoint ${input.checkpointId} changed in the bank since`,
            true,
          );
        }
        parameters = parametersFor(record.parameters, resource);
        restoreTarget = record.restore_target[resource.id];
      } else {
        parameters = parametersFor(doc.protection_plan.parameters, resource);
      }
      let current: Hook = input.hooks[0]!;
      let lastProgress: HookProgress | undefined;
      const heartbeat = (progress?: HookProgress) => {
        if (progress) lastProgress = progress;
        actx.heartbeat({ resource: resource.id, hook: current, ...(lastProgress ?? {}) });
      };
      /** What the hooks reported moving: returned to the workflow for its summary. */
      const recorded: DataStats = {};
      const ctx: HookContext = {
        operation: input.operation,
        operationId: input.operationId,
        checkpointId: input.checkpointId,
        providerId: doc.provider_id,
        resource,
        parameters,
        attempt,
        section: deps.checkpoints.section(
          input.checkpointId,
          `resources/${resourceSectionName(resource)}`,
          {
            readOnly: input.operation !== 'protect',
            ...(lease ? { lease } : {}),
          },
        ),
        ...(restoreTarget !== undefined ? { restoreTarget } : {}),
        providerConfig: (plugin && provider.config[plugin.name]) ?? {},
        ...(provider.config.repository ? { repositoryConfig: provider.config.repository } : {}),
        heartbeat,
        record: (stats) => {
          countBytes(stats, { resource_type: resource.type, operation: input.operation });
          for (const [k, v] of Object.entries(stats) as [keyof DataStats, number][])
            recorded[k] = (recorded[k] ?? 0) + v;
        },
        warn: async (message) => {
          await log(current, 'warning', message);
        },
        signal: actx.cancellationSignal,
      };
      const runId = actx.info.workflowExecution?.runId ?? input.operationId;
      const log = (
        hook: Hook,
        event: 'start' | 'end' | 'error' | 'warning',
        error?: string,
        gate?: 'start' | 'stop',
      ) =>
        deps.oplog.append(
          logId,
          {
            ts: new Date().toISOString(),
            operation: input.operation,
            resource_id: resource.id,
            resource_type: resource.type,
            hook,
            event,
            attempt,
            ...(error !== undefined ? { error } : {}),
          },
          gate ? { runId, mode: gate } : undefined,
        );
      // Verify checks every resource however others fare; the other operations stop at
      // the first hook that failed for good.
      const stopsOthers = input.operation !== 'verify';

      const ticker = setInterval(() => heartbeat(), AUTO_HEARTBEAT_MS);
      let bytes = 0;
      try {
        for (const hook of input.hooks) {
          current = hook;
          bytes += lastProgress?.bytesDone ?? 0;
          lastProgress = undefined;
          // Hooks that share this activity check for a cancel before each one starts.
          if (actx.cancellationSignal.aborted) throw new CancelledFailure('cancelled');
          const stopping = await log(hook, 'start', undefined, stopsOthers ? 'start' : undefined);
          if (stopping !== undefined) {
            throw new OperationStoppedError(`not started: the operation is stopping (${stopping})`);
          }
          const began = Date.now();
          const timed = (outcome: string) =>
            hookDuration(Date.now() - began, {
              resource_type: resource.type,
              hook,
              operation: input.operation,
              outcome,
            });
          actx.log.info(`${resource.type} ${resource.id}: ${input.operation} ${hook} started`, {
            hook,
          });
          try {
            // No plugin, no hook, no "done": another worker of this queue may have it.
            if (!plugin)
              throw new PluginNotOnWorkerError(resource.type, doc.provider_id, deps.host);
            await operationHooks?.[HOOK_METHODS[hook]]?.(ctx);
            timed('ok');
            actx.log.info(`${resource.type} ${resource.id}: ${input.operation} ${hook} ended`, {
              hook,
              ms: Date.now() - began,
            });
          } catch (err) {
            timed(actx.cancellationSignal.aborted ? 'cancelled' : 'failed');
            actx.log.warn(`${resource.type} ${resource.id}: ${input.operation} ${hook} failed`, {
              hook,
              error: err instanceof Error ? err.message : String(err),
            });
            const cancelled = actx.cancellationSignal.aborted || err instanceof CancelledFailure;
            const message = cancelled
              ? 'cancelled: the operation is stopping'
              : err instanceof Error
                ? err.message
                : String(err);
            const permanent = err instanceof KarborError ? err.permanent : false;
            // Failed for good (no retry left): the same step that logs it stops the others.
            const final = !cancelled && (permanent || attempt >= HOOK_MAX_ATTEMPTS);
            await log(hook, 'error', message, final && stopsOthers ? 'stop' : undefined);
            // A cancelled hook did not fail: Temporal must see the cancellation as it is.
            if (cancelled) throw err;
            const reason = `${hook} failed: ${message}`;
            await recordStatus(
              deps,
              input,
              lease,
              resource.id,
              STATUS_FAILED[input.operation],
              reason,
            );
            throw new HookFailedError(reason, permanent);
          }
          await log(hook, 'end');
        }
      } finally {
        clearInterval(ticker);
      }
      if (input.final)
        await recordStatus(deps, input, lease, resource.id, STATUS_DONE[input.operation]);
      return { bytes: bytes + (lastProgress?.bytesDone ?? 0), stats: recorded };
    },
  };
}

async function recordStatus(
  deps: HookActivityDeps,
  input: HookInput,
  lease: LeaseToken | undefined,
  resourceId: string,
  status: string,
  reason = '',
): Promise<void> {
  if (input.operation === 'restore') {
    await deps.restores.setResourceStatus(input.operationId, resourceId, status, reason);
  } else if (input.operation === 'protect') {
    await deps.checkpoints.setResourceStatus(input.checkpointId, resourceId, status, lease);
  }
}
