// Workflow ids derive from domain ids (DESIGN.md section 2); no SDK needed to name them.
export const workflowIds = {
  instances: (requestId: string) => `instances-${requestId}`,
  protect: (checkpointId: string) => `protect-${checkpointId}`,
  restore: (restoreId: string) => `restore-${restoreId}`,
  delete: (checkpointId: string) => `delete-${checkpointId}`,
  verify: (checkpointId: string) => `verify-${checkpointId}`,
};
