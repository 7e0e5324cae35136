// Everything the client needs from the Temporal SDK, loaded only when a command talks to
// Temporal: a command that only reads the bank never pays for loading the SDK.
import { isErrorCode } from '../common/error-codes';
import {
  Client,
  Connection,
  WithStartWorkflowOperation,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  defaultPayloadConverter,
  TerminatedFailure,
  TimeoutFailure,
} from '@temporalio/common';
import type { KarborConfig } from '../common/config';
import { OperationRefusedError } from '../common/errors';
import { connectionOptions, temporalUnreachable } from '../common/temporal-profile';

export { WithStartWorkflowOperation, WorkflowNotFoundError, defaultPayloadConverter };
export { searchAttributesFor } from '../temporal-config/search-attributes';
export { operationStartedUpdate, progressQuery } from '../workflows/definitions';

export async function connectTemporal(
  config: KarborConfig,
): Promise<{ client: Client; connection: Connection }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectionOptions(config), connectTimeout: '5s' });
  } catch (err) {
    throw await temporalUnreachable(config, err);
  }
  return { client: new Client({ connection, namespace: config.namespace }), connection };
}

/**
 * An operation's result, also when its workflow ended Failed (its record says why),
 * Canceled, Terminated or Timed out: those become the failed result with the reason.
 */
export async function settle<R>(result: Promise<R>, failed: (reason: string) => R): Promise<R> {
  try {
    return await result;
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const cause = err.cause;
    if (cause instanceof CancelledFailure) return failed('cancelled');
    if (cause instanceof TerminatedFailure) return failed('terminated');
    if (cause instanceof TimeoutFailure) return failed('timed out');
    if (cause instanceof ApplicationFailure && cause.type === 'OPERATION_FAILED') {
      return failed(cause.message);
    }
    throw refusal(err);
  }
}

/** An update rejected by the workflow carries the worker's typed error: surface it as ours. */
export function refusal(err: unknown): unknown {
  let cause: unknown = err;
  if (err instanceof WorkflowUpdateFailedError || err instanceof WorkflowFailedError) {
    cause = err.cause;
    // A workflow that failed in an activity: the activity's own failure says why.
    while (cause instanceof ActivityFailure && cause.cause) cause = cause.cause;
  }
  if (cause instanceof ApplicationFailure) {
    const known = cause.type && isErrorCode(cause.type) ? cause.type : undefined;
    return new OperationRefusedError(known ?? 'OPERATION_REFUSED', cause.message);
  }
  return err;
}
