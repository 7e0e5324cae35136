// How an operation workflow ends when it does not simply succeed: Failed after its record
// says why, or Canceled after its record says `cancelled`.
import { ApplicationFailure, CancellationScope, patched } from '@temporalio/workflow';
import type { Progress } from './definitions';

/**
 * Ends the run Failed (the record already says why), so the Web UI's Failed filter shows
 * it. Runs recorded before this change completed with the failure as their result.
 */
export function endFailed(reason: string): void {
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
  await CancellationScope.nonCancellable(record);
  throw cancel;
}

/** A finishing step that runs to the end even if a cancel arrives meanwhile. */
export function finishing<T>(step: () => Promise<T>): Promise<T> {
  return CancellationScope.nonCancellable(step);
}
