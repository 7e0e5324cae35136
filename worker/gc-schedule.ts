import type { Client } from '@temporalio/client';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { KarborConfig } from '../common/config';
import { gcScheduleId } from '../temporal-config/activity-options';

/**
 * Creates the bank's garbage-collection Schedule, or brings its interval and task queue in
 * line with this worker's settings: safe to call at every worker start.
 */
export async function ensureGcSchedule(client: Client, config: KarborConfig): Promise<string> {
  const scheduleId = gcScheduleId(config.bankPrefix);
  const every = `${config.gc.intervalSeconds}s` as const;
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'gc',
    taskQueue: config.taskQueue,
    args: [{}],
    workflowId: `gc-${config.bankPrefix}`,
  };
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every }] },
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1m' },
      memo: { bank: config.bankPrefix },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((prev) => ({
      ...prev,
      spec: { intervals: [{ every }] },
      action,
    }));
  }
  return scheduleId;
}
