import { ActivityCancellationType } from '@temporalio/common';
import type { ActivityOptions } from '@temporalio/common';

export {
  DEFAULT_HOOK_CONCURRENCY,
  DEFAULT_NAMESPACE,
  DEFAULT_TASK_QUEUE,
  MAX_HOOK_CONCURRENCY,
} from './names';

/** Derived from the one table of codes: those retrying cannot fix. */
export { NON_RETRYABLE_ERROR_TYPES } from '../common/error-codes';
import { NON_RETRYABLE_ERROR_TYPES } from '../common/error-codes';

/** Bank bookkeeping: short, many quick retries (Redis blips), never forever. */
export const BANK_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '60s',
  retry: {
    initialInterval: '200ms',
    backoffCoefficient: 2,
    maximumInterval: '10s',
    maximumAttempts: 20,
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
};

/** A hook that failed this many times has failed for good: its operation stops. */
export const HOOK_MAX_ATTEMPTS = 5;

/**
 * Plugin hooks: may run for hours, so liveness comes from heartbeats (a dead worker is
 * noticed within the heartbeat timeout and the hook is retried elsewhere).
 */
export const HOOK_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '24h',
  heartbeatTimeout: '10s',
  // A failed operation waits for its other hooks to acknowledge cancellation, so nothing
  // still runs when the checkpoint is marked `error`.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: HOOK_MAX_ATTEMPTS,
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
};

/**
 * A dead worker's workflows move to another worker after this long on its sticky queue. It
 * must stay below the hook heartbeat timeout plus the first retry interval: the workflow,
 * which renews the write lease, must be running again before the dead worker's hooks are
 * retried, or a retried hook writes under a lease nobody renews (a CI failure taught this).
 */
export const STICKY_QUEUE_SCHEDULE_TO_START = '3s';

function seconds(d: string | number | undefined): number {
  if (typeof d === 'number') return d / 1000;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d ?? '');
  if (!m) throw new Error(`cannot read the duration ${String(d)}`);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

/** Refuses (at worker start) timings that break the rule above. */
export function checkStickyBeforeHookRetry(
  sticky: string = STICKY_QUEUE_SCHEDULE_TO_START,
  hook: ActivityOptions = HOOK_ACTIVITY,
): void {
  const retryAt = seconds(hook.heartbeatTimeout) + seconds(hook.retry?.initialInterval);
  if (seconds(sticky) >= retryAt) {
    throw new Error(
      `the sticky queue timeout (${sticky}) must be below the hook heartbeat timeout plus its first retry (${retryAt} s)`,
    );
  }
}

/**
 * How often a protect renewed its checkpoint's write lease before the window came from the
 * worker's lease settings (runs recorded then still replay with it).
 */
export const LEASE_RENEW_INTERVAL = '60s';

/** A run continues as new past this many history events (Temporal caps a run at ~51k). */
export const CONTINUE_AS_NEW_AFTER_EVENTS = 10_000;

/** Garbage collection: one long activity that heartbeats as it goes. */
export const GC_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '6h',
  heartbeatTimeout: '120s',
  retry: { initialInterval: '5s', maximumAttempts: 3 },
};

/** The Schedule that runs garbage collection for a bank (one per bank prefix). */
export function gcScheduleId(bankPrefix: string): string {
  return bankPrefix === 'karbor' ? 'karbor-gc' : `karbor-gc-${bankPrefix}`;
}
