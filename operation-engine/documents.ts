// Karbor's operation engine documents: triggers (when) and scheduled operations (what),
// kept in the bank per project. Pure checks: nothing here talks to Temporal.
import { InvalidArgumentError } from '../common/errors';
import { checkPolicy } from '../retention/policy';
import type { RetentionPolicy } from '../retention/policy';
import { timeSpecOf } from '../triggers/time-spec';
import type { TriggerProperties } from '../triggers/time-spec';

export interface Trigger {
  id: string;
  name: string;
  type: 'time';
  project_id: string;
  properties: TriggerProperties;
  created_at: string;
}

export const OPERATION_TYPES = ['protect', 'retention_protect', 'verify'] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];

/** What a Schedule does when a run is due while the previous one still runs. */
export const OVERLAP_POLICIES = [
  'skip',
  'buffer_one',
  'buffer_all',
  'cancel_other',
  'allow_all',
] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

export interface OperationDefinition {
  provider_id: string;
  /** A stored plan's id (`karbor plan create`). */
  plan_id: string;
  /** retention_protect: which checkpoints of the plan stay after each protect. */
  retention?: RetentionPolicy;
}

export interface ScheduledOperation {
  id: string;
  name: string;
  description: string;
  operation_type: OperationType;
  trigger_id: string;
  operation_definition: OperationDefinition;
  enabled: boolean;
  overlap_policy: OverlapPolicy;
  project_id: string;
  created_at: string;
}

export function checkName(name: unknown, what: string): string {
  const printable = (t: string) => [...t].every((ch) => ch.charCodeAt(0) >= 0x20);
  if (typeof name !== 'string' || name.length === 0 || name.length > 255 || !printable(name))
    throw new InvalidArgumentError(`${what} name must be 1–255 printable characters`);
  return name;
}

export function checkTrigger(t: Pick<Trigger, 'name' | 'type' | 'properties'>): void {
  checkName(t.name, 'trigger');
  if (t.type !== 'time') throw new InvalidArgumentError('trigger type must be time');
  timeSpecOf(t.properties);
}

export function checkScheduledOperation(
  s: Pick<
    ScheduledOperation,
    'name' | 'description' | 'operation_type' | 'operation_definition' | 'overlap_policy'
  >,
): void {
  checkName(s.name, 'scheduled operation');
  if (typeof s.description !== 'string' || s.description.length > 1024)
    throw new InvalidArgumentError('description must be at most 1024 characters');
  if (!OPERATION_TYPES.includes(s.operation_type))
    throw new InvalidArgumentError(`operation_type must be one of ${OPERATION_TYPES.join(', ')}`);
  if (!OVERLAP_POLICIES.includes(s.overlap_policy))
    throw new InvalidArgumentError(`overlap policy must be one of ${OVERLAP_POLICIES.join(', ')}`);
  const d = s.operation_definition;
  if (typeof d?.provider_id !== 'string' || typeof d.plan_id !== 'string')
    throw new InvalidArgumentError('operation_definition needs provider_id and plan_id');
  if (s.operation_type === 'retention_protect') {
    if (!d.retention) throw new InvalidArgumentError('retention_protect needs a retention policy');
    checkPolicy(d.retention);
  } else if (d.retention) {
    throw new InvalidArgumentError(
      `a retention policy only goes with retention_protect, not ${s.operation_type}`,
    );
  }
}

/** The Temporal Schedule of a scheduled operation. */
export const scheduleIdOf = (scheduledOperationId: string) => `karbor-op-${scheduledOperationId}`;
