import { ActivityCancellationType } from '@temporalio/common';
import type { ActivityOptions } from '@temporalio/common';

export {
  DEFAULT_HOOK_CONCURRENCY,
  DEFAULT_NAMESPACE,
  DEFAULT_TASK_QUEUE,
  MAX_HOOK_CONCURRENCY,
} from './names';

/**
 * Error codes (of our typed errors) that retrying cannot fix. Activities already throw them
 * as non-retryable failures; listing them here too guards against a wrapper that forgets.
 */
export const NON_RETRYABLE_ERROR_TYPES = [
  'INVALID_KEY',
  'READ_ONLY_SECTION',
  'INVALID_PLAN',
  'INVALID_ARGUMENT',
  'RESTORE_REFUSED',
  'TRIGGER_NOT_FOUND',
  'SCHEDULED_OPERATION_NOT_FOUND',
  'INVALID_PARAMETERS',
  'INVALID_STATUS_TRANSITION',
  'CHECKPOINT_NOT_FOUND',
  'CHECKPOINT_EXISTS',
  'RESTORE_NOT_FOUND',
  'PLAN_NOT_FOUND',
  'PROVIDER_NOT_FOUND',
  'UNKNOWN_RESOURCE_TYPE',
  'GRAPH_CYCLE',
  'PERMISSION_DENIED',
  'LEASE_LOST',
  'LEASE_BUSY',
  'OPERATION_STOPPED',
];

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
