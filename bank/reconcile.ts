// What garbage collection makes of an unfinished checkpoint or restore whose workflow is no
// longer running: pure decisions, from the workflow's end, the lease and the bank's own data.
import type { LeaseState } from './leases';

/** How an operation's workflow stands, as Temporal tells it. */
export type RunState =
  | 'running'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'terminated'
  | 'timed_out'
  | 'missing';

export type CheckpointVerdict =
  | { action: 'wait'; why: string }
  | { action: 'available' }
  | { action: 'error'; reason: string }
  | { action: 'resume-delete' };

/** Why an operation that ended without recording its end did not finish. */
function ended(operation: 'protect' | 'restore', run: RunState): string {
  switch (run) {
    case 'failed':
      return `its ${operation} failed without recording why`;
    case 'missing':
      return `its ${operation} workflow is gone`;
    case 'timed_out':
      return 'timed out';
    default:
      return run; // cancelled, terminated
  }
}

export interface UnfinishedCheckpoint {
  status: 'protecting' | 'deleting';
  run: RunState;
  lease: LeaseState;
  /** Every resource of the graph has its protect result in the bank. */
  resultsComplete: boolean;
}

/**
 * A `protecting` checkpoint becomes `available` only when its workflow completed and the
 * bank's own data proves every resource; otherwise `error`, naming what happened. A
 * `deleting` one is deleted again (deletes are idempotent). Nothing is touched while the
 * workflow runs or a live lease says someone still works on it.
 */
export function judgeCheckpoint(c: UnfinishedCheckpoint): CheckpointVerdict {
  if (c.run === 'running') return { action: 'wait', why: 'its workflow is running' };
  if (c.status === 'deleting') return { action: 'resume-delete' };
  if (c.lease === 'valid') return { action: 'wait', why: 'its write lease is still renewed' };
  if (c.run === 'completed') {
    return c.resultsComplete
      ? { action: 'available' }
      : { action: 'error', reason: 'its protect completed but the bank lost part of its result' };
  }
  const lost = c.lease === 'expired' || c.lease === 'superseded' ? ' (lease lost)' : '';
  return { action: 'error', reason: `${ended('protect', c.run)}${lost}` };
}

/** A restore `in_progress` whose workflow ended without recording the end: `failure`. */
export function judgeRestore(
  run: RunState,
): { action: 'wait' } | { action: 'failure'; reason: string } {
  if (run === 'running') return { action: 'wait' };
  if (run === 'completed') return { action: 'failure', reason: 'the bank lost its result' };
  return { action: 'failure', reason: ended('restore', run) };
}
