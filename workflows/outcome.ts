// How an operation workflow ends when it does not simply succeed: Failed after its record
// says why, or Canceled after its record says `cancelled`.
import {
  ApplicationFailure,
  CancellationScope,
  metricMeter,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import type { Progress } from './definitions';
import { showProgress } from './hook-runner';

/** The same operation names as hook metrics and the CLI use (`delete`, not `deleteCheckpoint`). */
function operationLabel(workflowType: string): string {
  return workflowType === 'deleteCheckpoint'
    ? 'delete'
    : workflowType === 'verifyCheckpoint'
      ? 'verify'
      : workflowType === 'scheduledOperation'
        ? 'scheduled'
        : workflowType;
}

/**
 * Counts an operation's start or end (`karbor_operations_started` / `_finished`, by
 * workflow type and outcome). The SDK leaves replays out, so each counts once.
 */
export function countOperation(
  event: 'started' | 'finished',
  outcome?: 'succeeded' | 'failed' | 'cancelled' | 'refused',
): void {
  metricMeter
    .createCounter(`karbor_operations_${event}`, 'operations', `Karbor operations ${event}`)
    .add(1, {
      operation: operationLabel(workflowInfo().workflowType),
      ...(outcome ? { outcome } : {}),
    });
}

/**
 * Ends the run Failed (the record already says why), so the Web UI's Failed filter shows
 * it. Runs recorded before this change completed with the failure as their result.
 */
export function endFailed(reason: string): void {
  countOperation('finished', 'failed');
  if (patched('fail-workflow-on-failure')) {
    throw ApplicationFailure.create({
      type: 'OPERATION_FAILED',
      message: reason,
      nonRetryable: true,
    });
  }
}

/** Records the cancel (even though the run is cancelled), then ends the run Canceled. */
export async function whenCancelled(
  progress: Progress,
  cancel: unknown,
  record: () => Promise<unknown>,
): Promise<never> {
  progress.phase = 'cancelled';
  showProgress(progress);
  await CancellationScope.nonCancellable(record);
  countOperation('finished', 'cancelled');
  throw cancel;
}

/** A finishing step that runs to the end even if a cancel arrives meanwhile. */
export function finishing<T>(step: () => Promise<T>): Promise<T> {
  return CancellationScope.nonCancellable(step);
}
