// What a run shows in the Temporal Web UI before it does anything: a one-line summary, a
// details block and a memo naming the operation's checkpoint, plan and provider. Ids and
// names only: nothing secret ever goes into a run's metadata.
import * as os from 'node:os';
import type { Caller } from '../bank/checkpoint-collection';
import type { OperationTags } from '../temporal-config/search-attributes';

/** The tags plus what only the client knows at start. */
export interface RunDescription extends OperationTags {
  planName?: string;
  resourceCount?: number;
  /** The restore's own id (restores run under it). */
  restoreId?: string;
}

export interface RunMetadata {
  staticSummary: string;
  staticDetails: string;
  memo: Record<string, string | number>;
}

function startedBy(caller: Caller): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry for this uid: keep "unknown"
  }
  return `${user}@${os.hostname()} for project ${caller.projectId}${caller.admin ? ' (admin)' : ''}`;
}

export function runMetadata(d: RunDescription, caller: Caller): RunMetadata {
  const plan = d.planName !== undefined ? `plan "${d.planName}"` : 'its plan';
  const count = d.resourceCount !== undefined ? ` (${d.resourceCount} resources)` : '';
  const staticSummary =
    d.operation === 'protect'
      ? `protect ${plan}${count} into checkpoint ${d.checkpointId}`
      : `${d.operation} checkpoint ${d.checkpointId} of ${plan}${count}`;
  const rows: [string, string | undefined][] = [
    ['operation', d.operation],
    ['checkpoint', d.checkpointId],
    ['restore', d.restoreId],
    ['plan', d.planId !== undefined ? `${d.planName ?? ''} (${d.planId})`.trim() : undefined],
    ['provider', d.providerId],
    ['project', d.projectId],
    ['resources', d.resourceCount !== undefined ? String(d.resourceCount) : undefined],
    ['started by', startedBy(caller)],
  ];
  const staticDetails = rows
    .filter((r): r is [string, string] => r[1] !== undefined)
    .map(([k, v]) => `**${k}**: ${v}`)
    .join('  \n');
  const memo: Record<string, string | number> = {
    operation: d.operation,
    checkpoint_id: d.checkpointId,
    provider_id: d.providerId,
    project_id: d.projectId,
  };
  if (d.planId !== undefined) memo.plan_id = d.planId;
  if (d.planName !== undefined) memo.plan_name = d.planName;
  if (d.restoreId !== undefined) memo.restore_id = d.restoreId;
  if (d.resourceCount !== undefined) memo.resource_count = d.resourceCount;
  return { staticSummary, staticDetails, memo };
}
