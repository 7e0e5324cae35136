// What Temporal knows about the host queues: whether a host's pinned hooks wait with no
// worker of that host taking them. Asked by the hook runner's watch (workflows/hook-runner).
import type { Client } from '@temporalio/client';
import { hostQueue } from '../graph/host-pinning';

/** A task this long in a host's backlog means none of its workers is taking work. */
export const WAITING_AFTER_MS = 5_000;

/** temporal.api.enums.v1.TaskQueueType (the proto package is not a direct dependency). */
const TASK_QUEUE_TYPE_ACTIVITY = 2;

export interface HostActivityDeps {
  temporal?: Client;
}

function seconds(d: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!d) return 0;
  return Number(d.seconds ?? 0) + (d.nanos ?? 0) / 1e9;
}

export function hostActivities(deps: HostActivityDeps) {
  return {
    /** The hosts (of those given) whose hook queue has work no worker has taken for a while. */
    async hostsWithoutWorkers(input: { taskQueue: string; hosts: string[] }): Promise<string[]> {
      const client = deps.temporal;
      if (!client) return [];
      const waiting: string[] = [];
      for (const host of input.hosts) {
        const res = await client.workflowService.describeTaskQueue({
          namespace: client.options.namespace,
          taskQueue: { name: hostQueue(input.taskQueue, host) },
          taskQueueType: TASK_QUEUE_TYPE_ACTIVITY,
          reportStats: true,
        });
        const stats = res.stats;
        const backlog = Number(stats?.approximateBacklogCount ?? 0);
        if (backlog > 0 && seconds(stats?.approximateBacklogAge) * 1000 >= WAITING_AFTER_MS) {
          waiting.push(host);
        }
      }
      return waiting;
    },
  };
}
