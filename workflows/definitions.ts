import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { LeaseToken } from '../bank/bank';
import type { Caller } from '../bank/checkpoint-collection';

/** What a `progress` query answers, for `--wait` and the Web UI. */
export interface Progress {
  /** Where the operation is: validating, running, completing, finished, failed. */
  phase: string;
  total: number;
  done: number;
  failed: number;
  running: string[];
  resources: Record<string, string>;
  /** Bytes moved by hooks that finished (running hooks report theirs in heartbeats). */
  bytes: number;
  /** What finished hooks reported: bytes read, new in the store, deduplicated, restored; files. */
  stats?: Partial<Record<'read' | 'stored' | 'deduplicated' | 'restored' | 'files', number>>;
  /** Hosts whose pinned hooks wait with no worker of theirs taking them. */
  waitingFor?: string[];
}

/** Knobs every operation takes; defaults in temporal-config/activity-options.ts. */
export interface RunOptions {
  concurrency?: number;
  continueAfterEvents?: number;
}

export interface ProtectInput extends RunOptions {
  checkpointId: string;
  /** A stored plan's id; without it the activity reads the plan the client left. */
  storedPlanId?: string;
  /** Set when a run continues as new. */
  resume?: {
    lease: LeaseToken;
    /** Workflow time of the lease's last renewal (absent in runs recorded before). */
    leaseRenewedAtMs?: number;
    leaseRenewEveryMs?: number;
    snapshot: string;
    progress: Progress;
  };
}

/** A protect's write lease as the workflow keeps it: renewed once it is this old. */
export interface HeldLease {
  token: LeaseToken;
  renewedAtMs: number;
  renewEveryMs: number;
}

export interface ProtectResult {
  checkpoint_id: string;
  status: 'available' | 'error';
  reason?: string;
}

export interface RestoreInput extends RunOptions {
  restoreId: string;
  checkpointId: string;
  providerId: string;
  caller: Caller;
  restoreTarget: Record<string, string>;
  parameters: Record<string, Record<string, unknown>>;
  resume?: { snapshot: string; progress: Progress };
}

export interface RestoreResult {
  restore_id: string;
  status: 'success' | 'failure';
  reason?: string;
}

export interface DeleteInput extends RunOptions {
  checkpointId: string;
  providerId: string;
  caller: Caller;
  resume?: { snapshot: string; progress: Progress };
}

export interface DeleteResult {
  checkpoint_id: string;
  status: 'deleted' | 'error-deleting';
  reason?: string;
}

export interface VerifyInput extends RunOptions {
  checkpointId: string;
  providerId: string;
  caller: Caller;
  resume?: { snapshot: string; progress: Progress };
}

export interface VerifyResult {
  checkpoint_id: string;
  status: 'verified' | 'damaged';
  /** Per resource: `done` when every chunk checked out, `failed` with the reason below. */
  resources: Record<string, string>;
  reason?: string;
}

export const progressQuery = defineQuery<Progress>('progress');

/**
 * Completes once the operation's record exists in the bank (checkpoint, restore record,
 * or the checkpoint marked `deleting`), or rejects with the validation error, so the
 * client can return an id the way Karbor's RPCs do.
 */
export const operationStartedUpdate = defineUpdate<{ id: string }>('operationStarted');

export { workflowIds } from './ids';

export function newProgress(): Progress {
  return {
    phase: 'validating',
    total: 0,
    done: 0,
    failed: 0,
    running: [],
    resources: {},
    bytes: 0,
  };
}
