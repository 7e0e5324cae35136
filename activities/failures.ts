import { ApplicationFailure } from '@temporalio/common';
import { KarborError } from '../common/errors';

/**
 * Wraps every activity so our typed errors cross into Temporal with their code as the
 * failure type, and permanent ones as non-retryable failures.
 */
export function withFailureMapping<
  T extends Record<string, (...args: never[]) => Promise<unknown>>,
>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        if (err instanceof KarborError) {
          throw ApplicationFailure.create({
            type: err.code,
            message: err.message,
            nonRetryable: err.permanent,
            cause: err,
          });
        }
        throw err;
      }
    };
  }
  return wrapped as T;
}
