import type { ApplicationFailure } from '@temporalio/common';
import type * as TemporalCommon from '@temporalio/common';
import { KarborError } from '../common/errors';

/** The CLI's exit codes (DESIGN.md section 9). */
export const EXIT = { ok: 0, failed: 1, badInput: 2, unreachable: 3 } as const;

const BAD_INPUT_CODES = new Set([
  'INVALID_KEY',
  'INVALID_PLAN',
  'CHECKPOINT_NOT_FOUND',
  'INVALID_STATUS_TRANSITION',
  'READ_ONLY_SECTION',
  'CHECKPOINT_NOT_CREATED',
  'CHECKPOINT_EXISTS',
  'INVALID_ARGUMENT',
  'RESTORE_REFUSED',
  'TRIGGER_NOT_FOUND',
  'SCHEDULED_OPERATION_NOT_FOUND',
  'PERMISSION_DENIED',
  'OBJECT_NOT_FOUND',
  'INVALID_PARAMETERS',
  'GRAPH_CYCLE',
  'UNKNOWN_RESOURCE_TYPE',
  'PROVIDER_NOT_FOUND',
  'RESTORE_NOT_FOUND',
  'PLAN_NOT_FOUND',
  'OPERATION_NOT_STARTED',
]);

export interface CliFailure {
  message: string;
  exitCode: number;
}

/** Turns any error into one line and an exit code; a stack never reaches the user. */
export function describeFailure(err: unknown): CliFailure {
  if (err instanceof KarborError) {
    return {
      message: err.message,
      exitCode:
        err.code === 'SERVICE_UNREACHABLE'
          ? EXIT.unreachable
          : BAD_INPUT_CODES.has(err.code)
            ? EXIT.badInput
            : EXIT.failed,
    };
  }
  const app = findApplicationFailure(err);
  if (app) {
    return {
      message: app.message,
      exitCode: app.type && BAD_INPUT_CODES.has(app.type) ? EXIT.badInput : EXIT.failed,
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
