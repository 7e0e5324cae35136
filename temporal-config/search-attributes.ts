import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { SearchAttributePair } from '@temporalio/common';

/** Custom search attributes every Karbor run carries, so the Web UI can find it by any of them. */
export const KarborOperation = defineSearchAttributeKey(
  'KarborOperation',
  SearchAttributeType.KEYWORD,
);
export const KarborProviderId = defineSearchAttributeKey(
  'KarborProviderId',
  SearchAttributeType.KEYWORD,
);
export const KarborPlanId = defineSearchAttributeKey('KarborPlanId', SearchAttributeType.KEYWORD);
export const KarborCheckpointId = defineSearchAttributeKey(
  'KarborCheckpointId',
  SearchAttributeType.KEYWORD,
);
export const KarborProjectId = defineSearchAttributeKey(
  'KarborProjectId',
  SearchAttributeType.KEYWORD,
);

export const ALL_SEARCH_ATTRIBUTES = [
  KarborOperation,
  KarborProviderId,
  KarborPlanId,
  KarborCheckpointId,
  KarborProjectId,
] as const;

export interface OperationTags {
  operation: 'protect' | 'restore' | 'delete' | 'verify';
  providerId: string;
  planId?: string;
  checkpointId: string;
  projectId: string;
}

/** The search attribute pairs a run is started with. */
export function searchAttributesFor(tags: OperationTags): SearchAttributePair[] {
  const pairs: SearchAttributePair[] = [
    { key: KarborOperation, value: tags.operation },
    { key: KarborProviderId, value: tags.providerId },
    { key: KarborCheckpointId, value: tags.checkpointId },
    { key: KarborProjectId, value: tags.projectId },
  ];
  if (tags.planId) pairs.push({ key: KarborPlanId, value: tags.planId });
  return pairs;
}
