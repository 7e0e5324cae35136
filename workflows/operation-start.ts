import { ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import { describe, failureType } from './hook-runner';
import { operationStartedUpdate, progressQuery } from './definitions';
import type { Progress } from './definitions';

/**
 * The handlers every operation workflow installs: the `progress` query, and the update the
 * client waits on until the operation's record exists (or its validation failed).
 */
export function operationHandlers(progress: Progress, id: string) {
  let started = false;
  let startError: ApplicationFailure | undefined;
  setHandler(progressQuery, () => progress);
  setHandler(operationStartedUpdate, async () => {
    await condition(() => started || startError !== undefined);
    if (startError) throw startError;
    return { id };
  });
  return {
    started() {
      started = true;
    },
    /** Records why the operation could not start, for the waiting client; then rethrow. */
    async failedToStart(err: unknown): Promise<void> {
      progress.phase = 'failed';
      startError = ApplicationFailure.create({
        type: failureType(err) ?? 'OPERATION_NOT_STARTED',
        message: describe(err),
        nonRetryable: true,
      });
      // Give the update handler its turn before the run ends.
      await condition(() => true);
    },
  };
}
