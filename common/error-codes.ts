// Every error code the service raises, in one typed table: which class raises it, whether a
// retry of the same call could help, and the CLI's exit code for it. The non-retryable list
// Temporal gets and the CLI's exit codes are derived from here, so they cannot disagree.
// Pure data: workflows import it too.

/** The CLI's exit codes (DESIGN.md section 9). */
export const EXIT = { ok: 0, failed: 1, badInput: 2, unreachable: 3 } as const;

export interface ErrorCodeInfo {
  /** The class that raises it (tests check the class carries this code). */
  raisedBy: string;
  /** False when retrying the same call cannot succeed. */
  retryable: boolean;
  exit: keyof typeof EXIT;
}

export const ERROR_CODES = {
  INVALID_KEY: { raisedBy: 'InvalidKeyError', retryable: false, exit: 'badInput' },
  READ_ONLY_SECTION: { raisedBy: 'ReadOnlySectionError', retryable: false, exit: 'badInput' },
  CHECKPOINT_NOT_FOUND: {
    raisedBy: 'CheckpointNotFoundError',
    retryable: false,
    exit: 'badInput',
  },
  INVALID_STATUS_TRANSITION: {
    raisedBy: 'InvalidStatusTransitionError',
    retryable: false,
    exit: 'badInput',
  },
  LEASE_LOST: { raisedBy: 'LeaseLostError', retryable: false, exit: 'failed' },
  LEASE_BUSY: { raisedBy: 'LeaseBusyError', retryable: false, exit: 'failed' },
  INVALID_PLAN: { raisedBy: 'InvalidPlanError', retryable: false, exit: 'badInput' },
  SERVICE_UNREACHABLE: {
    raisedBy: 'ServiceUnreachableError',
    retryable: true,
    exit: 'unreachable',
  },
  OBJECT_NOT_FOUND: { raisedBy: 'ObjectNotFoundError', retryable: false, exit: 'badInput' },
  CHECKPOINT_EXISTS: { raisedBy: 'CheckpointExistsError', retryable: false, exit: 'badInput' },
  PERMISSION_DENIED: { raisedBy: 'PermissionDeniedError', retryable: false, exit: 'badInput' },
  INVALID_ARGUMENT: { raisedBy: 'InvalidArgumentError', retryable: false, exit: 'badInput' },
  RESTORE_REFUSED: { raisedBy: 'RestoreRefusedError', retryable: false, exit: 'badInput' },
  GRAPH_CYCLE: { raisedBy: 'GraphCycleError', retryable: false, exit: 'badInput' },
  UNKNOWN_RESOURCE_TYPE: {
    raisedBy: 'UnknownResourceTypeError',
    retryable: false,
    exit: 'badInput',
  },
  PROVIDER_NOT_FOUND: { raisedBy: 'ProviderNotFoundError', retryable: false, exit: 'badInput' },
  PROVIDER_CONFIG: { raisedBy: 'ProviderConfigError', retryable: false, exit: 'failed' },
  INVALID_PARAMETERS: {
    raisedBy: 'InvalidParametersError',
    retryable: false,
    exit: 'badInput',
  },
  RESTORE_NOT_FOUND: { raisedBy: 'RestoreNotFoundError', retryable: false, exit: 'badInput' },
  PLAN_NOT_FOUND: { raisedBy: 'PlanNotFoundError', retryable: false, exit: 'badInput' },
  /** Retryable or not per failure (the hook says): see HookFailedError. */
  HOOK_FAILED: { raisedBy: 'HookFailedError', retryable: true, exit: 'failed' },
  PLUGIN_NOT_ON_WORKER: { raisedBy: 'PluginNotOnWorkerError', retryable: true, exit: 'failed' },
  OPERATION_STOPPED: { raisedBy: 'OperationStoppedError', retryable: false, exit: 'failed' },
  TRIGGER_NOT_FOUND: { raisedBy: 'TriggerNotFoundError', retryable: false, exit: 'badInput' },
  SCHEDULED_OPERATION_NOT_FOUND: {
    raisedBy: 'ScheduledOperationNotFoundError',
    retryable: false,
    exit: 'badInput',
  },
  REPLICA_NOT_ACKNOWLEDGED: {
    raisedBy: 'ReplicaNotAcknowledgedError',
    retryable: true,
    exit: 'failed',
  },
  TREE_REFUSED: { raisedBy: 'TreeError', retryable: false, exit: 'failed' },
  CHUNK_DAMAGED: { raisedBy: 'ChunkError', retryable: false, exit: 'failed' },
  /** Retryable or not per failure (a server that is down vs. a database in the way). */
  POSTGRES_FAILED: { raisedBy: 'PostgresError', retryable: true, exit: 'failed' },
  REPOSITORY_WRONG_KEY: { raisedBy: 'WrongKeyError', retryable: false, exit: 'badInput' },
  REPOSITORY_DAMAGED: { raisedBy: 'RepositoryDamagedError', retryable: false, exit: 'failed' },
  REPOSITORY_BLOB_MISSING: {
    raisedBy: 'BlobMissingError',
    retryable: false,
    exit: 'failed',
  },
  DOCUMENT_REFUSED: { raisedBy: 'DocumentRefusedError', retryable: false, exit: 'failed' },
  REPOSITORY_CONFIG: { raisedBy: 'RepositoryConfigError', retryable: false, exit: 'badInput' },
  /** A worker's failure whose type is not one of ours (OperationRefusedError carries the rest). */
  OPERATION_REFUSED: { raisedBy: 'OperationRefusedError', retryable: false, exit: 'failed' },
  /** A workflow refused to start an operation (the update's failure type when no code). */
  OPERATION_NOT_STARTED: { raisedBy: 'startOperation', retryable: false, exit: 'badInput' },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

/** Codes retrying cannot fix: Temporal's nonRetryableErrorTypes for every activity. */
export const NON_RETRYABLE_ERROR_TYPES: string[] = Object.entries(ERROR_CODES)
  .filter(([, info]) => !info.retryable)
  .map(([code]) => code);

/** The CLI's exit code for an error code (a code not in the table is a plain failure). */
export function exitCodeOf(code: string | undefined): number {
  return code !== undefined && isErrorCode(code) ? EXIT[ERROR_CODES[code].exit] : EXIT.failed;
}
