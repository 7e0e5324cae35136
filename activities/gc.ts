// Garbage collection and reconciliation: an adapter between Temporal's record of each
// operation and the bank (bank/reconcile.ts decides).
import { Context } from '@temporalio/activity';
import { countGc } from './metrics';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { ChunkRefs } from '../bank/chunk-refs';
import type { CheckpointCollection } from '../bank/checkpoint-collection';
import type { LeaseManager } from '../bank/leases';
import type { PlanStore } from '../bank/plan-store';
import { judgeCheckpoint, judgeRestore } from '../bank/reconcile';
import { CheckpointNotFoundError, RestoreNotFoundError } from '../common/errors';
import { DEFAULT_REPACK_SHARE, prune } from '../plugins/chunk-store/prune';
import type { Repositories } from '../plugins/chunk-store/repositories';
import type { ProviderRegistry } from '../providers/provider-registry';
import type { RunState } from '../bank/reconcile';
import type { RestoreCollection } from '../bank/restore-collection';
import type { GcSettings } from '../common/config';
import { searchAttributesFor } from '../temporal-config/search-attributes';
import { workflowIds } from '../workflows/ids';
import { missingResults } from './checkpoint';

export interface GcActivityDeps {
  checkpoints: CheckpointCollection;
  restores: RestoreCollection;
  leases: LeaseManager;
  plans: PlanStore;
  chunkRefs: ChunkRefs;
  /** Each provider's repository: prune gives back what deleted checkpoints freed. */
  repositories: Repositories;
  providers: ProviderRegistry;
  gc: GcSettings;
  taskQueue: string;
  /** Asks Temporal how each operation's workflow stands; absent: GC refuses to run. */
  temporal?: Client;
}

export interface GcInput {
  dryRun: boolean;
}

/** What one garbage collection did (or, dry, would do). */
export interface GcReport {
  dry_run: boolean;
  checkpoints: { id: string; was: string; action: string; reason?: string }[];
  restores: { id: string; action: string; reason?: string }[];
  /**
   * Records GC could not read (Redis errors, damaged documents): left in the unfinished
   * index, so the next cycle tries them again.
   */
  unreadable: { kind: 'checkpoint' | 'restore'; id: string; error: string }[];
  chunks_removed: number;
  bytes_removed: number;
  /** Packs removed whole, and packs rewritten without their dead blobs. */
  packs_removed: number;
  packs_repacked: number;
  temp_files_removed: number;
  operation_plans_removed: number;
}

const STATES: Record<string, RunState> = {
  RUNNING: 'running',
  CONTINUED_AS_NEW: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed_out',
};

/** A record GC could not read for a reason other than its absence. */
class Unreadable {
  constructor(readonly message: string) {}
}

/**
 * Reads a record: undefined only when the bank says it is not there. Any other error (Redis
 * unreachable, a damaged document) is not proof of absence, so it must not make GC forget
 * the record.
 */
async function readOrMissing<T>(
  read: () => Promise<T>,
  notFound: abstract new (...args: never[]) => Error,
): Promise<T | Unreadable | undefined> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof notFound) return undefined;
    return new Unreadable(err instanceof Error ? err.message : String(err));
  }
}

async function runState(client: Client, workflowId: string): Promise<RunState> {
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    return STATES[d.status.name] ?? 'running';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'missing';
    throw err;
  }
}

export function gcActivities(deps: GcActivityDeps) {
  const { checkpoints, restores, leases, plans } = deps;
  return {
    /**
     * One garbage collection: settles every unfinished checkpoint and restore whose
     * workflow no longer runs, removes chunks free for longer than the grace period and
     * old temporary files, and drops start plans of operations that ended.
     */
    async collectGarbage(input: GcInput): Promise<GcReport> {
      const temporal = deps.temporal;
      if (!temporal) throw new Error('garbage collection needs a Temporal client');
      const actx = Context.current();
      const beat = () => actx.heartbeat();
      const dry = input.dryRun;
      const report: GcReport = {
        dry_run: dry,
        checkpoints: [],
        restores: [],
        unreadable: [],
        chunks_removed: 0,
        bytes_removed: 0,
        packs_removed: 0,
        packs_repacked: 0,
        temp_files_removed: 0,
        operation_plans_removed: 0,
      };
      /** A record GC could not read stays in its unfinished index: reported and logged. */
      const leaveUnreadable = (kind: 'checkpoint' | 'restore', id: string, u: Unreadable) => {
        report.unreadable.push({ kind, id, error: u.message });
        actx.log.warn(`gc: ${kind} ${id} could not be read; left for the next cycle`, {
          error: u.message,
        });
      };

      for (const id of await checkpoints.listUnfinished()) {
        beat();
        const status = await checkpoints.status(id);
        if (status !== 'protecting' && status !== 'deleting') {
          if (!dry) await checkpoints.forgetUnfinished(id);
          continue;
        }
        const workflowId =
          status === 'protecting' ? workflowIds.protect(id) : workflowIds.delete(id);
        const doc = await readOrMissing(() => checkpoints.get(id), CheckpointNotFoundError);
        if (doc instanceof Unreadable) {
          leaveUnreadable('checkpoint', id, doc);
          continue;
        }
        if (!doc) {
          // A state without its document: nothing to settle (the index entry goes).
          if (!dry) await checkpoints.forgetUnfinished(id);
          continue;
        }
        const run = await runState(temporal, workflowId);
        const verdict = judgeCheckpoint({
          status,
          run,
          lease: (await leases.check(id)).state,
          resultsComplete: missingResults(doc).length === 0,
        });
        if (verdict.action === 'wait') {
          // Ended, but its lease is still fresh: say it is pending, the next GC settles it.
          if (run !== 'running') {
            report.checkpoints.push({ id, was: status, action: 'wait', reason: verdict.why });
          }
          continue;
        }
        const reason = verdict.action === 'error' ? { reason: verdict.reason } : {};
        report.checkpoints.push({ id, was: status, action: verdict.action, ...reason });
        if (dry) continue;
        if (verdict.action !== 'resume-delete') {
          await checkpoints.transition(id, ['protecting'], verdict.action, reason);
          await leases.clear(id);
        } else {
          await temporal.workflow.start('deleteCheckpoint', {
            workflowId,
            taskQueue: deps.taskQueue,
            args: [
              {
                checkpointId: id,
                providerId: doc.provider_id,
                caller: { projectId: doc.project_id, admin: true },
              },
            ],
            workflowIdReusePolicy: 'ALLOW_DUPLICATE',
            workflowIdConflictPolicy: 'USE_EXISTING',
            typedSearchAttributes: searchAttributesFor({
              operation: 'delete',
              providerId: doc.provider_id,
              checkpointId: id,
              projectId: doc.project_id,
            }),
          });
        }
      }

      for (const id of await restores.listUnfinished()) {
        beat();
        const record = await readOrMissing(() => restores.get(id), RestoreNotFoundError);
        if (record instanceof Unreadable) {
          leaveUnreadable('restore', id, record);
          continue;
        }
        if (!record || record.status !== 'in_progress') {
          if (!dry) await restores.forgetUnfinished(id);
          continue;
        }
        const verdict = judgeRestore(await runState(temporal, workflowIds.restore(id)));
        if (verdict.action === 'wait') continue;
        report.restores.push({ id, action: verdict.action, reason: verdict.reason });
        if (!dry) await restores.transition(id, 'failure', verdict.reason);
      }

      for (const id of await plans.listOperationPlans()) {
        beat();
        if ((await runState(temporal, workflowIds.protect(id))) === 'running') continue;
        report.operation_plans_removed++;
        if (!dry) await plans.dropOperationPlan(id);
      }

      const cutoffMs = Date.now() - deps.gc.graceSeconds * 1000;
      for (const provider of deps.providers.all()) {
        const opened = await deps.repositories.existing(
          provider.doc.id,
          provider.config.repository,
        );
        if (!opened) continue;
        const pruned = await prune(opened.repo, opened.index, deps.chunkRefs, {
          providerId: provider.doc.id,
          cutoffMs,
          repackShare: DEFAULT_REPACK_SHARE,
          dryRun: dry,
          onPack: beat,
        });
        report.chunks_removed += pruned.chunks_removed;
        report.bytes_removed += pruned.bytes_removed;
        report.packs_removed += pruned.packs_removed;
        report.packs_repacked += pruned.packs_repacked;
        if (!dry) report.temp_files_removed += await opened.repo.backend.removeStale(cutoffMs);
      }
      if (!dry) {
        for (const c of report.checkpoints) countGc(`checkpoint ${c.action}`, 1);
        for (const r of report.restores) countGc(`restore ${r.action}`, 1);
        countGc('chunks removed', report.chunks_removed);
        countGc('temporary files removed', report.temp_files_removed);
        countGc('operation plans removed', report.operation_plans_removed);
      }
      return report;
    },
  };
}
