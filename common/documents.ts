/**
 * Wire documents (DESIGN.md section 3). Field names keep Karbor's snake_case so the JSON the
 * CLI prints and the bank stores is what Karbor users know.
 */

export interface Resource {
  id: string;
  type: string;
  name: string;
  extra_info?: Record<string, unknown>;
}

export interface Plan {
  id: string;
  name: string;
  provider_id: string;
  project_id: string;
  resources: Resource[];
  parameters?: Record<string, Record<string, unknown>>;
}

export type CheckpointStatus =
  | 'protecting'
  | 'available'
  | 'error'
  | 'deleting'
  | 'deleted'
  | 'error-deleting';

export interface ProtectionPlanSummary {
  id: string;
  name: string;
  provider_id: string;
  resources: Resource[];
  /** The plan's parameters at protect time (beyond Karbor's document: hooks need them). */
  parameters?: Record<string, Record<string, unknown>>;
}

export interface CheckpointDocument {
  version: number;
  id: string;
  status: CheckpointStatus;
  owner_id: string;
  provider_id: string;
  project_id: string;
  protection_plan: ProtectionPlanSummary;
  resource_graph: unknown;
  extra_info: Record<string, unknown>;
  created_at: string;
  timestamp: number;
  resources_status: Record<string, string>;
  reason?: string;
}
