import type { Plan } from '../common/documents';
import { InvalidPlanError, UnknownResourceTypeError } from '../common/errors';
import { buildGraph, describeResource } from '../graph/resource-graph';
import type { GraphResource, PackedGraph } from '../graph/resource-graph';
import { checkParameterKeys, checkParameters, parametersFor } from './parameters';
import type { Provider } from './provider-registry';

/**
 * Everything that can be wrong with a plan, found before a checkpoint is written: provider
 * mismatch, resource types the provider does not protect (also among discovered
 * dependents), parameters that break a plugin's schema, and dependency cycles.
 */
export async function planGraph(plan: Plan, provider: Provider): Promise<PackedGraph> {
  if (plan.provider_id !== provider.doc.id) {
    throw new InvalidPlanError(
      `plan ${plan.id} names provider ${plan.provider_id}, not ${provider.doc.id}`,
    );
  }
  const pluginFor = (r: GraphResource) => {
    const p = provider.plugins.get(r.type);
    if (!p) {
      throw new UnknownResourceTypeError(
        `provider ${provider.doc.name} (${provider.doc.id}) does not protect resource type ${r.type} (resource ${r.id})`,
      );
    }
    return p;
  };
  const seen = new Set<string>();
  for (const r of plan.resources) {
    pluginFor(r);
    const key = `${r.type}#${r.id}`;
    if (seen.has(key)) throw new InvalidPlanError(`plan lists ${describeResource(r)} twice`);
    seen.add(key);
  }
  const graph = await buildGraph(
    plan.resources.map((r) => ({ ...r })),
    (r) => pluginFor(r).dependents(r, provider.config[pluginFor(r).name] ?? {}),
  );
  checkParameterKeys(plan.parameters, new Set(provider.plugins.keys()), graph.nodes);
  for (const node of graph.nodes) {
    checkParameters(
      pluginFor(node).schemas.options,
      parametersFor(plan.parameters, node),
      describeResource(node),
    );
  }
  return graph;
}
