import type { ActivityOptions } from '@temporalio/common';

/** The task queue every Karbor worker polls unless KARBOR_TASK_QUEUE says otherwise. */
export const DEFAULT_TASK_QUEUE = 'karbor-protection';
export const DEFAULT_NAMESPACE = 'default';

/**
 * Error type names (the `code` of our typed errors) that retrying cannot fix. Activities
 * throw them as non-retryable ApplicationFailures; listing them here too guards against a
 * wrapper that forgets.
 */
export const NON_RETRYABLE_ERROR_TYPES = [
  'INVALID_KEY',
  'READ_ONLY_SECTION',
  'INVALID_PLAN',
  'INVALID_STATUS_TRANSITION',
  'CHECKPOINT_NOT_FOUND',
  'LEASE_LOST',
];

/** Bank bookkeeping: short, many quick retries (Redis blips), never forever. */
export const BANK_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '200ms',
    backoffCoefficient: 2,
    maximumInterval: '10s',
    maximumAttempts: 20,
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
};
