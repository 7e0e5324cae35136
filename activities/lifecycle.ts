import type { OperationLog } from '../bank/operation-log';

export interface LifecycleActivityDeps {
  oplog: OperationLog;
}

/** Steps that end operations which do not end normally. */
export function lifecycleActivities(deps: LifecycleActivityDeps) {
  return {
    /** From now on no hook of this workflow run starts (each hook checks as it starts). */
    async stopOperation(runId: string, why: string): Promise<void> {
      await deps.oplog.stop(runId, why);
    },
  };
}
