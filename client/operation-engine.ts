// Karbor's operation engine on Temporal Schedules: triggers and scheduled operations kept in
// the bank per project, each scheduled operation kept in step with its Schedule
// `karbor-op-<id>` (pause, resume, run now and backfill are the Schedule's own).
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Caller } from '../bank/checkpoint-collection';
import { TenantRecords } from '../bank/tenant-records';
import {
  InvalidArgumentError,
  ScheduledOperationNotFoundError,
  TriggerNotFoundError,
} from '../common/errors';
import { checkScheduledOperation, checkTrigger, scheduleIdOf } from '../operation-engine/documents';
import type {
  OperationType,
  OverlapPolicy,
  ScheduledOperation,
  Trigger,
} from '../operation-engine/documents';
import { nextTimes, timeSpecOf } from '../triggers/time-spec';
import type { TriggerProperties } from '../triggers/time-spec';
import type { ProtectionService } from './protection-service';
import type * as ScheduleLink from './schedule-link';

export interface NewTrigger {
  name: string;
  type?: 'time';
  properties: TriggerProperties;
}

export interface NewScheduledOperation {
  name: string;
  description?: string;
  operation_type: OperationType;
  trigger_id: string;
  operation_definition: ScheduledOperation['operation_definition'];
  enabled?: boolean;
  overlap_policy?: OverlapPolicy;
}

/** What `scheduled-operation show` adds from the Schedule. */
export interface ScheduleState {
  paused: boolean;
  next_runs: string[];
  recent_runs: { scheduled_at: string; workflow_id: string }[];
  running: string[];
}

export class OperationEngine {
  readonly triggers: TenantRecords<Trigger>;
  readonly operations: TenantRecords<ScheduledOperation>;

  constructor(
    private readonly svc: ProtectionService,
    redis: Redis,
    prefix: string,
  ) {
    this.triggers = new TenantRecords(
      redis,
      prefix,
      'triggers',
      (id) => new TriggerNotFoundError(id),
    );
    this.operations = new TenantRecords(
      redis,
      prefix,
      'scheduled-operations',
      (id) => new ScheduledOperationNotFoundError(id),
    );
  }

  private get caller(): Caller {
    return this.svc.caller;
  }

  private async link() {
    const { client } = await this.svc.temporalLink();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const schedules = require('./schedule-link') as typeof ScheduleLink;
    return { client, schedules };
  }

  async createTrigger(t: NewTrigger): Promise<Trigger> {
    const doc: Trigger = {
      id: randomUUID(),
      name: t.name,
      type: t.type ?? 'time',
      project_id: this.caller.projectId,
      properties: t.properties,
      created_at: new Date().toISOString(),
    };
    checkTrigger(doc);
    await this.triggers.create(doc);
    return doc;
  }

  /** A trigger with its next five times. */
  async showTrigger(id: string): Promise<Trigger & { next_times: string[] }> {
    const t = await this.triggers.get(id, this.caller);
    const next = nextTimes(timeSpecOf(t.properties), Date.now(), 5).map((ms) =>
      new Date(ms).toISOString(),
    );
    return { ...t, next_times: next };
  }

  listTriggers(): Promise<Trigger[]> {
    return this.triggers.list(this.caller);
  }

  /** Changes a trigger; every scheduled operation using it gets the new times. */
  async updateTrigger(
    id: string,
    changes: Partial<Pick<Trigger, 'name' | 'properties'>>,
  ): Promise<Trigger> {
    const t = await this.triggers.get(id, this.caller);
    const next: Trigger = { ...t, ...changes, id: t.id, project_id: t.project_id };
    checkTrigger(next);
    await this.triggers.replace(next);
    for (const op of (await this.operations.list(this.caller)).filter((o) => o.trigger_id === id)) {
      await this.sync(op, next);
    }
    return next;
  }

  /** Refused while a scheduled operation uses it. */
  async deleteTrigger(id: string): Promise<void> {
    await this.triggers.get(id, this.caller);
    const users = (await this.operations.list(this.caller)).filter((o) => o.trigger_id === id);
    if (users.length > 0) {
      throw new InvalidArgumentError(
        `trigger ${id} is in use by scheduled operation ${users.map((u) => u.id).join(', ')}; delete or change those first`,
      );
    }
    await this.triggers.delete(id, this.caller);
  }

  private async checkDefinition(op: ScheduledOperation): Promise<Trigger> {
    checkScheduledOperation(op);
    const trigger = await this.triggers.get(op.trigger_id, this.caller);
    const plan = await this.svc.plans.get(op.operation_definition.plan_id, this.caller);
    if (plan.provider_id !== op.operation_definition.provider_id) {
      throw new InvalidArgumentError(
        `plan ${plan.id} is protected by provider ${plan.provider_id}, not ${op.operation_definition.provider_id}`,
      );
    }
    return trigger;
  }

  /** The Schedule made to match the scheduled operation and its trigger. */
  private async sync(op: ScheduledOperation, trigger: Trigger): Promise<void> {
    const { client, schedules } = await this.link();
    const options = schedules.scheduleOptionsOf(
      op,
      timeSpecOf(trigger.properties),
      trigger.properties.window,
      this.caller,
      this.svc.config,
    );
    await schedules.putSchedule(client, options);
  }

  async createScheduledOperation(n: NewScheduledOperation): Promise<ScheduledOperation> {
    const op: ScheduledOperation = {
      id: randomUUID(),
      name: n.name,
      description: n.description ?? '',
      operation_type: n.operation_type,
      trigger_id: n.trigger_id,
      operation_definition: n.operation_definition,
      enabled: n.enabled ?? true,
      overlap_policy: n.overlap_policy ?? 'skip',
      project_id: this.caller.projectId,
      created_at: new Date().toISOString(),
    };
    const trigger = await this.checkDefinition(op);
    // The Schedule first: a record without one would look scheduled and never run.
    await this.sync(op, trigger);
    try {
      await this.operations.create(op);
    } catch (err) {
      const { client, schedules } = await this.link();
      await schedules.dropSchedule(client, scheduleIdOf(op.id));
      throw err;
    }
    return op;
  }

  listScheduledOperations(): Promise<ScheduledOperation[]> {
    return this.operations.list(this.caller);
  }

  async showScheduledOperation(
    id: string,
  ): Promise<ScheduledOperation & { schedule: ScheduleState }> {
    const op = await this.operations.get(id, this.caller);
    const { client } = await this.link();
    const d = await client.schedule.getHandle(scheduleIdOf(id)).describe();
    return {
      ...op,
      schedule: {
        paused: d.state.paused,
        next_runs: d.info.nextActionTimes.slice(0, 5).map((t) => t.toISOString()),
        recent_runs: d.info.recentActions.slice(-5).map((a) => ({
          scheduled_at: a.scheduledAt.toISOString(),
          workflow_id: a.action.type === 'startWorkflow' ? a.action.workflow.workflowId : '',
        })),
        running: d.info.runningActions.map((a) => a.workflow.workflowId),
      },
    };
  }

  async updateScheduledOperation(
    id: string,
    changes: Partial<Omit<NewScheduledOperation, 'operation_type'>> & {
      operation_type?: OperationType;
    },
  ): Promise<ScheduledOperation> {
    const op = await this.operations.get(id, this.caller);
    const next: ScheduledOperation = {
      ...op,
      ...changes,
      description: changes.description ?? op.description,
      id: op.id,
      project_id: op.project_id,
      created_at: op.created_at,
    };
    const trigger = await this.checkDefinition(next);
    await this.sync(next, trigger);
    await this.operations.replace(next);
    return next;
  }

  /** Deletes the Schedule, then the record. */
  async deleteScheduledOperation(id: string): Promise<void> {
    await this.operations.get(id, this.caller);
    const { client, schedules } = await this.link();
    await schedules.dropSchedule(client, scheduleIdOf(id));
    await this.operations.delete(id, this.caller);
  }

  async pause(id: string, paused: boolean): Promise<ScheduledOperation> {
    const op = await this.operations.get(id, this.caller);
    const { client } = await this.link();
    const handle = client.schedule.getHandle(scheduleIdOf(id));
    if (paused) await handle.pause(`paused by karbor (project ${this.caller.projectId})`);
    else await handle.unpause(`resumed by karbor (project ${this.caller.projectId})`);
    const next = { ...op, enabled: !paused };
    await this.operations.replace(next);
    return next;
  }

  /** Starts a run now (the Schedule's own overlap policy still applies). */
  async runNow(id: string): Promise<void> {
    await this.operations.get(id, this.caller);
    const { client } = await this.link();
    await client.schedule.getHandle(scheduleIdOf(id)).trigger();
  }

  /** The runs the trigger would have started between two times. */
  async backfill(id: string, startMs: number, endMs: number): Promise<void> {
    await this.operations.get(id, this.caller);
    if (!(endMs > startMs)) throw new InvalidArgumentError('backfill end must be after its start');
    const { client } = await this.link();
    await client.schedule
      .getHandle(scheduleIdOf(id))
      .backfill([{ start: new Date(startMs), end: new Date(endMs) }]);
  }
}
