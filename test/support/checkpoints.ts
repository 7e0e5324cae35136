// A checkpoint to create in bank tests: a plan of nothing, its lease owned by its protect.
import type { NewCheckpoint } from '../../bank/checkpoint-collection';

export function newCheckpoint(id: string, over: Partial<NewCheckpoint> = {}): NewCheckpoint {
  return {
    id,
    leaseOwner: `protect-${id}`,
    providerId: 'prov-1',
    projectId: 'tenant-a',
    plan: { id: 'plan-1', name: 'nightly', provider_id: 'prov-1', resources: [] },
    resourceGraph: { nodes: [] },
    createdAtMs: Date.UTC(2026, 10, 25, 12, 0, 0),
    ...over,
  };
}
