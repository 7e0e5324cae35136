import type { ErrorCode } from './error-codes';

/**
 * Every error the service raises on purpose carries a stable `code`, so the CLI can turn it
 * into one line and an exit code, and activities can decide whether a retry could help.
 */
export abstract class KarborError extends Error {
  /** One of common/error-codes.ts (OperationRefusedError carries a code from a worker). */
  abstract readonly code: string;
  /** True when retrying the same call cannot succeed (bad input, a refused state change). */
  abstract readonly permanent: boolean;

  constructor(message: string) {
    super(message);
    // Printed as its own kind (`LeaseLostError: …`), not as a bare `Error: …`.
    this.name = new.target.name;
  }
}

/** Thrown by bank key validation when a caller names a key that the bank cannot hold. */
export class InvalidKeyError extends KarborError {
  readonly code = 'INVALID_KEY';
  readonly permanent = true;
  constructor(
    readonly key: string,
    readonly why: string,
  ) {
    super(`invalid bank key ${JSON.stringify(shorten(key))}: ${why}`);
  }
}

/** Thrown by a read-only BankSection when a plugin tries to write or delete through it. */
export class ReadOnlySectionError extends KarborError {
  readonly code = 'READ_ONLY_SECTION';
  readonly permanent = true;
  constructor(readonly prefix: string) {
    super(`bank section ${prefix} is read-only`);
  }
}

/** Thrown by CheckpointCollection when a checkpoint id is not in the bank. */
export class CheckpointNotFoundError extends KarborError {
  readonly code = 'CHECKPOINT_NOT_FOUND';
  readonly permanent = true;
  constructor(readonly checkpointId: string) {
    super(`checkpoint ${checkpointId} not found`);
  }
}

/** Thrown when a checkpoint is not in a state that allows the asked-for change. */
export class InvalidStatusTransitionError extends KarborError {
  readonly code = 'INVALID_STATUS_TRANSITION';
  readonly permanent = true;
  constructor(
    readonly checkpointId: string,
    readonly actual: string,
    readonly expected: readonly string[],
    readonly wanted: string,
  ) {
    super(
      `checkpoint ${checkpointId} is ${actual}; it must be ${expected.join(' or ')} to become ${wanted}`,
    );
  }
}

/** Thrown on a write under a checkpoint whose lease expired or was taken by a newer owner. */
export class LeaseLostError extends KarborError {
  readonly code = 'LEASE_LOST';
  readonly permanent = true;
  constructor(
    readonly checkpointId: string,
    readonly why: string,
  ) {
    super(`write lease on checkpoint ${checkpointId} lost: ${why}`);
  }
}

/** Thrown when a plan document is malformed or names things that do not exist. */
export class InvalidPlanError extends KarborError {
  readonly code = 'INVALID_PLAN';
  readonly permanent = true;
}

/** Thrown when a backing service (Redis, Temporal) cannot be reached. */
export class ServiceUnreachableError extends KarborError {
  readonly code = 'SERVICE_UNREACHABLE';
  readonly permanent = false;
}

function shorten(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Thrown by the bank when an object key holds nothing. */
export class ObjectNotFoundError extends KarborError {
  readonly code = 'OBJECT_NOT_FOUND';
  readonly permanent = true;
  constructor(readonly key: string) {
    super(`bank object ${key} not found`);
  }
}

/** Thrown when another owner holds an unexpired write lease on the checkpoint. */
export class LeaseBusyError extends KarborError {
  readonly code = 'LEASE_BUSY';
  readonly permanent = true;
  constructor(
    readonly checkpointId: string,
    readonly holder: string,
  ) {
    super(`checkpoint ${checkpointId} is leased by ${holder}`);
  }
}

/** Thrown when a checkpoint id is already taken by another operation. */
export class CheckpointExistsError extends KarborError {
  readonly code = 'CHECKPOINT_EXISTS';
  readonly permanent = true;
  constructor(readonly checkpointId: string) {
    super(`checkpoint ${checkpointId} already exists`);
  }
}

/** Thrown when a caller asks for something its project may not see (e.g. all_tenants). */
export class PermissionDeniedError extends KarborError {
  readonly code = 'PERMISSION_DENIED';
  readonly permanent = true;
}

/** Thrown for a malformed argument: a bad date, limit, sort direction or marker. */
export class InvalidArgumentError extends KarborError {
  readonly code = 'INVALID_ARGUMENT';
  readonly permanent = true;
}

/** A plugin refused a restore before it started (a target it cannot restore to). */
export class RestoreRefusedError extends KarborError {
  readonly code = 'RESTORE_REFUSED';
  readonly permanent = true;
}

/** Thrown by graph building when resources depend on each other in a loop. */
export class GraphCycleError extends KarborError {
  readonly code = 'GRAPH_CYCLE';
  readonly permanent = true;
  constructor(readonly cycle: string[]) {
    super(`resource graph has a cycle: ${cycle.join(' -> ')}`);
  }
}

/** Thrown when a plan or a provider names a resource type no plugin handles. */
export class UnknownResourceTypeError extends KarborError {
  readonly code = 'UNKNOWN_RESOURCE_TYPE';
  readonly permanent = true;
}

/** Thrown when a provider id is not among the loaded providers. */
export class ProviderNotFoundError extends KarborError {
  readonly code = 'PROVIDER_NOT_FOUND';
  readonly permanent = true;
  constructor(readonly providerId: string) {
    super(`provider ${providerId} not found`);
  }
}

/** Thrown at worker start for a malformed or duplicate provider file, naming file and line. */
export class ProviderConfigError extends KarborError {
  readonly code = 'PROVIDER_CONFIG';
  readonly permanent = true;
}

/** Thrown when parameters do not match a plugin's JSON Schema. */
export class InvalidParametersError extends KarborError {
  readonly code = 'INVALID_PARAMETERS';
  readonly permanent = true;
}

/** Thrown by a restore lookup for an unknown restore id. */
export class RestoreNotFoundError extends KarborError {
  readonly code = 'RESTORE_NOT_FOUND';
  readonly permanent = true;
  constructor(readonly restoreId: string) {
    super(`restore ${restoreId} not found`);
  }
}

/** Thrown by a stored-plan lookup for an unknown plan id. */
export class PlanNotFoundError extends KarborError {
  readonly code = 'PLAN_NOT_FOUND';
  readonly permanent = true;
  constructor(readonly planId: string) {
    super(`plan ${planId} not found`);
  }
}

/** Thrown by a plugin hook that failed in a way retrying cannot fix. */
export class HookFailedError extends KarborError {
  readonly code = 'HOOK_FAILED';
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

/**
 * Thrown by a hook activity on a worker whose providers lack the resource type's plugin.
 * Retryable: like an activity type a worker has not registered, another worker polling the
 * same queue may have it. When the retries run out the resource fails with this reason.
 */
export class PluginNotOnWorkerError extends KarborError {
  readonly code = 'PLUGIN_NOT_ON_WORKER';
  readonly permanent = false;
  constructor(
    readonly resourceType: string,
    readonly providerId: string,
    readonly host: string,
  ) {
    super(
      `no plugin for ${resourceType} in provider ${providerId} on the worker of host ${host}: nothing was done`,
    );
  }
}

/**
 * Thrown by a hook activity that may not start its hook because the operation is stopping
 * (another hook failed for good, or the operation was cancelled). Not a failure of its own.
 */
export class OperationStoppedError extends KarborError {
  readonly code = 'OPERATION_STOPPED';
  readonly permanent = true;
}

/**
 * A typed error raised on a worker, as the client sees it: the same code and message, so
 * callers can branch on `code` without knowing about Temporal's failure wrappers.
 */
export class OperationRefusedError extends KarborError {
  readonly permanent = true;
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** No trigger with that id (in the caller's project). */
export class TriggerNotFoundError extends KarborError {
  readonly code = 'TRIGGER_NOT_FOUND';
  readonly permanent = true;
  constructor(id: string) {
    super(`trigger ${id} not found`);
  }
}

/** No scheduled operation with that id (in the caller's project). */
export class ScheduledOperationNotFoundError extends KarborError {
  readonly code = 'SCHEDULED_OPERATION_NOT_FOUND';
  readonly permanent = true;
  constructor(id: string) {
    super(`scheduled operation ${id} not found`);
  }
}

/**
 * A bank write reached the Redis primary but no replica confirmed it in time: a failover
 * now could lose it, so it is not acknowledged. Retrying is safe (bank writes are
 * idempotent) and usually succeeds once the replica catches up.
 */
export class ReplicaNotAcknowledgedError extends KarborError {
  readonly code = 'REPLICA_NOT_ACKNOWLEDGED';
  readonly permanent = false;
}
