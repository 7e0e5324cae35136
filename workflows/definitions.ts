import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Plan } from '../common/documents';

/** What a `progress` query answers, for `--wait` and the Web UI. */
export interface Progress {
  total: number;
  done: number;
  failed: number;
  running: string[];
  resources: Record<string, string>;
}

export interface ProtectInput {
  checkpointId: string;
  plan: Plan;
}

export interface ProtectResult {
  checkpoint_id: string;
  status: 'available' | 'error';
  reason?: string;
}

export const progressQuery = defineQuery<Progress>('progress');

/**
 * Completes once the checkpoint document exists in the bank (or rejects with the validation
 * error), so `execute_operation(protect)` can return the id the way Karbor's RPC does.
 */
export const checkpointCreatedUpdate = defineUpdate<{ checkpoint_id: string }>('checkpointCreated');

export const workflowIds = {
  protect: (checkpointId: string) => `protect-${checkpointId}`,
  restore: (restoreId: string) => `restore-${restoreId}`,
  delete: (checkpointId: string) => `delete-${checkpointId}`,
};
