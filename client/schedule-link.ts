// Scheduled operations as Temporal Schedules: the spec from a trigger, the action that starts
// a `scheduledOperation` run, and the Schedule's own operations (pause, trigger, backfill).
// Loaded with the rest of the SDK only when a command talks to Temporal.
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Client, ScheduleOptions, ScheduleSpec } from '@temporalio/client';
import type { Caller } from '../bank/checkpoint-collection';
import type { KarborConfig } from '../common/config';
import { scheduleIdOf } from '../operation-engine/documents';
import type { OverlapPolicy, ScheduledOperation } from '../operation-engine/documents';
import {
  KarborOperation,
  KarborPlanId,
  KarborProjectId,
  KarborProviderId,
} from '../temporal-config/search-attributes';
import type { Calendar, TimeSpec } from '../triggers/time-spec';
import type { ScheduledRunInput } from '../workflows/scheduled-operation';

const MONTH = [
  'JANUARY',
  'FEBRUARY',
  'MARCH',
  'APRIL',
  'MAY',
  'JUNE',
  'JULY',
  'AUGUST',
  'SEPTEMBER',
  'OCTOBER',
  'NOVEMBER',
  'DECEMBER',
] as const;
const DAY = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'] as const;

/** Sorted values as ranges: [0,1,2,5] → {0–2}, {5}. */
function ranges(values: number[]): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (const v of values) {
    const last = out[out.length - 1];
    if (last && v === last.end + 1) last.end = v;
    else out.push({ start: v, end: v });
  }
  return out;
}

function calendarSpec(c: Calendar) {
  return {
    second: ranges(c.second),
    minute: ranges(c.minute),
    hour: ranges(c.hour),
    dayOfMonth: c.dayOfMonth === '*' ? ('*' as const) : ranges(c.dayOfMonth),
    month: c.month === '*' ? ('*' as const) : c.month.map((m) => ({ start: MONTH[m - 1]! })),
    dayOfWeek: c.dayOfWeek === '*' ? ('*' as const) : c.dayOfWeek.map((d) => ({ start: DAY[d]! })),
  };
}

export function scheduleSpecOf(spec: TimeSpec): ScheduleSpec {
  return {
    calendars: spec.calendars.map(calendarSpec),
    intervals: spec.intervals.map((i) => ({ every: i.everyMs, offset: i.offsetMs })),
    timezone: spec.timezone,
    ...(spec.startMs !== undefined ? { startAt: new Date(spec.startMs) } : {}),
    ...(spec.endMs !== undefined ? { endAt: new Date(spec.endMs) } : {}),
  };
}

const OVERLAP: Record<OverlapPolicy, ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  buffer_one: ScheduleOverlapPolicy.BUFFER_ONE,
  buffer_all: ScheduleOverlapPolicy.BUFFER_ALL,
  cancel_other: ScheduleOverlapPolicy.CANCEL_OTHER,
  allow_all: ScheduleOverlapPolicy.ALLOW_ALL,
};

/** The Schedule a scheduled operation is: when (the trigger), what (a run), and how. */
export function scheduleOptionsOf(
  op: ScheduledOperation,
  spec: TimeSpec,
  windowSeconds: number | undefined,
  caller: Caller,
  config: KarborConfig,
): ScheduleOptions {
  const input: ScheduledRunInput = {
    scheduledOperationId: op.id,
    operationType: op.operation_type,
    providerId: op.operation_definition.provider_id,
    planId: op.operation_definition.plan_id,
    caller,
    ...(op.operation_definition.retention ? { retention: op.operation_definition.retention } : {}),
  };
  const memo = {
    scheduled_operation_id: op.id,
    name: op.name,
    operation_type: op.operation_type,
    plan_id: op.operation_definition.plan_id,
    provider_id: op.operation_definition.provider_id,
    project_id: op.project_id,
  };
  const searchAttributes = [
    { key: KarborOperation, value: `scheduled_${op.operation_type}` },
    { key: KarborPlanId, value: op.operation_definition.plan_id },
    { key: KarborProviderId, value: op.operation_definition.provider_id },
    { key: KarborProjectId, value: op.project_id },
  ];
  return {
    scheduleId: scheduleIdOf(op.id),
    spec: scheduleSpecOf(spec),
    action: {
      type: 'startWorkflow',
      workflowType: 'scheduledOperation',
      workflowId: `scheduled-${op.id}`,
      taskQueue: config.taskQueue,
      args: [input],
      memo,
      typedSearchAttributes: searchAttributes,
      staticSummary: `${op.operation_type} of plan ${op.operation_definition.plan_id} (scheduled operation "${op.name}")`,
    },
    policies: {
      overlap: OVERLAP[op.overlap_policy],
      catchupWindow: `${windowSeconds ?? 60}s`,
      pauseOnFailure: false,
    },
    state: {
      paused: !op.enabled,
      note: op.enabled ? `created by karbor` : 'disabled',
    },
    memo,
    typedSearchAttributes: searchAttributes,
  };
}

/** Creates the Schedule, or brings an existing one in step (same id). */
export async function putSchedule(client: Client, options: ScheduleOptions): Promise<void> {
  const handle = client.schedule.getHandle(options.scheduleId);
  try {
    await handle.update((prev) => ({
      ...prev,
      spec: options.spec,
      action: options.action,
      policies: { ...prev.policies, ...options.policies },
      state: { ...prev.state, paused: options.state?.paused ?? prev.state.paused },
    }));
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    await client.schedule.create(options);
  }
}

/** Deletes the Schedule; one already gone is fine. */
export async function dropSchedule(client: Client, scheduleId: string): Promise<void> {
  try {
    await client.schedule.getHandle(scheduleId).delete();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
}

export { ScheduleNotFoundError };
