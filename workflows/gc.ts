import { proxyActivities } from '@temporalio/workflow';
import type { Activities, GcReport } from '../activities';
import { GC_ACTIVITY } from '../temporal-config/activity-options';

const steps = proxyActivities<Activities>(GC_ACTIVITY);

/**
 * gc: run by the `karbor-gc` Schedule (and by `karbor gc`). Settles operations that ended
 * without recording their end, then removes what nothing references any more.
 */
export async function gc(input: { dryRun?: boolean } = {}): Promise<GcReport> {
  return steps.collectGarbage({ dryRun: input.dryRun ?? false });
}
