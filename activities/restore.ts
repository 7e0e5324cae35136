import type { CheckpointCollection } from '../bank/checkpoint-collection';
import type { Caller } from '../bank/checkpoint-collection';
import type { RestoreCollection } from '../bank/restore-collection';
import { InvalidStatusTransitionError } from '../common/errors';
import type { OperationSchedule } from '../graph/operation-schedule';
import { describeResource, unpackGraph } from '../graph/resource-graph';
import {
  checkParameterKeys,
  checkParameters,
  checkTargetIds,
  parametersFor,
} from '../providers/parameters';
import type { ProviderRegistry } from '../providers/provider-registry';
import { scheduleOf } from './checkpoint';

export interface BeginRestoreInput {
  restoreId: string;
  checkpointId: string;
  providerId: string;
  caller: Caller;
  /** Resource id -> where to restore it (a path, a database name, ...). */
  restoreTarget: Record<string, string>;
  parameters: Record<string, Record<string, unknown>>;
  createdAtMs: number;
}

export interface RestoreActivityDeps {
  checkpoints: CheckpointCollection;
  restores: RestoreCollection;
  providers: ProviderRegistry;
  hostWaitSeconds?: number;
}

export function restoreActivities(deps: RestoreActivityDeps) {
  const { checkpoints, restores, providers } = deps;
  return {
    /**
     * Checks the checkpoint may be restored (it is `available` and the caller's) and the
     * parameters fit the provider's restore schema, then records the restore `in_progress`.
     */
    async beginRestore(input: BeginRestoreInput): Promise<OperationSchedule> {
      const doc = await checkpoints.getOf(input.providerId, input.checkpointId, input.caller);
      if (doc.status !== 'available') {
        throw new InvalidStatusTransitionError(
          input.checkpointId,
          doc.status,
          ['available'],
          'restored',
        );
      }
      const provider = providers.get(doc.provider_id);
      const graph = unpackGraph(doc.resource_graph);
      const schedule = scheduleOf(provider, graph, 'restore', deps.hostWaitSeconds);
      checkParameterKeys(input.parameters, new Set(provider.plugins.keys()), graph.nodes);
      checkTargetIds(
        input.restoreTarget,
        graph.nodes,
        doc.id,
        provider.doc.extended_info_schema.restore_target_schema,
      );
      for (const node of graph.nodes) {
        const plugin = provider.plugins.get(node.type);
        if (plugin)
          checkParameters(
            plugin.schemas.restore,
            parametersFor(input.parameters, node),
            describeResource(node),
          );
      }
      // Each plugin's own refusals, before anything is recorded or written.
      for (const node of graph.nodes) {
        const plugin = provider.plugins.get(node.type);
        const target = input.restoreTarget[node.id];
        await plugin?.checkRestore?.({
          resource: node,
          ...(target !== undefined ? { target } : {}),
          parameters: parametersFor(input.parameters, node),
          providerConfig: provider.config[plugin.name] ?? {},
        });
      }
      await restores.create({
        id: input.restoreId,
        projectId: doc.project_id,
        providerId: doc.provider_id,
        checkpointId: doc.id,
        restoreTarget: input.restoreTarget,
        destinations: Object.fromEntries(
          graph.nodes.map((n) => [n.id, input.restoreTarget[n.id] ?? n.id]),
        ),
        parameters: input.parameters,
        createdAtMs: input.createdAtMs,
      });
      return schedule;
    },

    async finishRestore(
      restoreId: string,
      ok: boolean,
      reason: string,
      hookless: string[] = [],
    ): Promise<void> {
      for (const id of hookless) await restores.setResourceStatus(restoreId, id, 'success');
      await restores.transition(restoreId, ok ? 'success' : 'failure', reason);
    },
  };
}
