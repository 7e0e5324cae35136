import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { hostQueue } from '../graph/host-pinning';
import { describe, neverStarted } from './hook-runner';
import type { GraphResource } from '../graph/resource-graph';
import { BANK_ACTIVITY } from '../temporal-config/activity-options';

const { listProtectableInstances } = proxyActivities<Activities>({
  ...BANK_ACTIVITY,
  retry: { ...BANK_ACTIVITY.retry, maximumAttempts: 3 },
});

/** One host's answer: its instances (each with extra_info.host), or why there are none. */
export interface HostInstances {
  host: string;
  instances?: GraphResource[];
  error?: string;
}

/** How long a host's workers get to take the listing before the host is reported silent. */
const HOST_ANSWER_S = 20;

/**
 * Asks a worker (which has the plugins and their configuration) for a type's instances: any
 * worker, or for a host-pinned type each given host's own workers, side by side.
 */
export async function protectableInstances(input: {
  type: string;
  providerId?: string;
  hosts?: string[];
}): Promise<GraphResource[] | HostInstances[]> {
  const { hosts, ...ask } = input;
  if (!hosts) return listProtectableInstances(ask);
  return Promise.all(
    hosts.map(async (host): Promise<HostInstances> => {
      try {
        const found = await listProtectableInstances.executeWithOptions(
          {
            ...BANK_ACTIVITY,
            taskQueue: hostQueue(workflowInfo().taskQueue, host),
            scheduleToStartTimeout: `${HOST_ANSWER_S}s`,
            retry: { ...BANK_ACTIVITY.retry, maximumAttempts: 2 },
          },
          [ask],
        );
        return {
          host,
          instances: found.map((r) => ({ ...r, extra_info: { ...r.extra_info, host } })),
        };
      } catch (err) {
        return {
          host,
          error: neverStarted(err)
            ? `no worker of host ${host} answered within ${HOST_ANSWER_S} s`
            : describe(err),
        };
      }
    }),
  );
}
