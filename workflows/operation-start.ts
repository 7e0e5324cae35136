import { ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import type { ErrorCode } from '../common/error-codes';
import { describe, failureType, showProgress } from './hook-runner';
import { countOperation } from './outcome';
import { operationStartedUpdate, progressQuery } from './definitions';
import type { Progress, RunOptions } from './definitions';
import {
  CONTINUE_AS_NEW_AFTER_EVENTS,
  DEFAULT_HOOK_CONCURRENCY,
} from '../temporal-config/activity-options';

/**
 * The handlers every operation workflow installs: the `progress` query, and the update the
 * client waits on until the operation's record exists (or its validation failed).
 */
export function operationHandlers(progress: Progress, id: string) {
  let started = false;
  let startError: ApplicationFailure | undefined;
  setHandler(progressQuery, () => progress, {
    description:
      'Where the operation is: phase, resources total / done / failed / running, per-resource state, bytes moved by finished hooks.',
  });
  setHandler(
    operationStartedUpdate,
    async () => {
      await condition(() => started || startError !== undefined);
      if (startError) throw startError;
      return { id };
    },
    {
      description:
        "Returns the operation's id once its record exists in the bank, or fails with the reason the operation was refused.",
    },
  );
  return {
    /**
     * Runs the step that creates the operation's record (or, on a continued run, reloads
     * its schedule) and tells the waiting client how it went; a failure ends the run.
     */
    async begin<T>(step: () => Promise<T>): Promise<T> {
      const fresh = progress.phase === 'validating'; // not a continued run
      try {
        const result = await step();
        started = true;
        if (fresh) countOperation('started');
        progress.phase = 'running';
        showProgress(progress);
        return result;
      } catch (err) {
        progress.phase = 'failed';
        if (fresh) countOperation('finished', 'refused');
        startError = ApplicationFailure.create({
          type: failureType(err) ?? ('OPERATION_NOT_STARTED' satisfies ErrorCode),
          message: describe(err),
          nonRetryable: true,
        });
        // Give the update handler its turn before the run ends.
        await condition(() => true);
        throw err;
      }
    },
  };
}

/** The hook runner's settings from an operation's input, defaults filled in. */
export function runSettings(input: RunOptions & { resume?: { snapshot: string } }) {
  return {
    concurrency: input.concurrency ?? DEFAULT_HOOK_CONCURRENCY,
    continueAfterEvents: input.continueAfterEvents ?? CONTINUE_AS_NEW_AFTER_EVENTS,
    ...(input.resume ? { snapshot: input.resume.snapshot } : {}),
  };
}
