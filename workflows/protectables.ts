import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { GraphResource } from '../graph/resource-graph';
import { BANK_ACTIVITY } from '../temporal-config/activity-options';

const { listProtectableInstances } = proxyActivities<Activities>({
  ...BANK_ACTIVITY,
  retry: { ...BANK_ACTIVITY.retry, maximumAttempts: 3 },
});

/** Asks a worker (which has the plugins and their configuration) for a type's instances. */
export async function protectableInstances(input: {
  type: string;
  providerId?: string;
}): Promise<GraphResource[]> {
  return listProtectableInstances(input);
}
