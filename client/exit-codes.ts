import type { ApplicationFailure } from '@temporalio/common';
import type * as TemporalCommon from '@temporalio/common';
import { EXIT, exitCodeOf } from '../common/error-codes';
import { KarborError } from '../common/errors';

export { EXIT };

export interface CliFailure {
  message: string;
  exitCode: number;
}

/** Turns any error into one line and an exit code; a stack never reaches the user. */
export function describeFailure(err: unknown): CliFailure {
  if (err instanceof KarborError) {
    return {
      message: err.message,
      exitCode: exitCodeOf(err.code),
    };
  }
  const app = findApplicationFailure(err);
  if (app) {
    return {
      message: app.message,
      exitCode: exitCodeOf(app.type ?? undefined),
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/ECONNREFUSED|UNAVAILABLE|Connection refused|DEADLINE_EXCEEDED/i.test(message)) {
    return { message, exitCode: EXIT.unreachable };
  }
  return { message, exitCode: EXIT.failed };
}

/** Temporal wraps activity errors in layers; the innermost application failure says why. */
function findApplicationFailure(err: unknown): ApplicationFailure | undefined {
  // Loaded here, on the error path only: commands that never talk to Temporal skip the SDK.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sdk = require('@temporalio/common') as typeof TemporalCommon;
  const { ApplicationFailure, TemporalFailure } = sdk;
  let found: ApplicationFailure | undefined;
  let cur: unknown = err;
  for (let depth = 0; cur instanceof Error && depth < 10; depth++) {
    if (cur instanceof ApplicationFailure) found = cur;
    if (!(cur instanceof TemporalFailure) && !(cur as { cause?: unknown }).cause) break;
    cur = (cur as { cause?: unknown }).cause;
  }
  return found;
}
