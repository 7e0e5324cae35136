import type { Hook } from './hook-schedule';
import { shapeOf } from './resource-graph';
import type { PackedGraph } from './resource-graph';

/**
 * What a workflow gets to schedule one operation's hooks: resource ids (for progress), the
 * graph's shape with types interned, and the hooks each type implements for the operation.
 * No names, extra info or parameters: those stay in the bank for the activities.
 */
export interface OperationSchedule {
  ids: string[];
  nodeTypes: number[];
  types: string[];
  children: number[][];
  /** Per type index: the hooks its plugin implements for this operation. */
  hooks: Hook[][];
}

export function operationSchedule(
  graph: PackedGraph,
  hooksOf: (type: string) => Hook[],
): OperationSchedule {
  const shape = shapeOf(graph);
  return {
    ids: graph.nodes.map((n) => n.id),
    nodeTypes: shape.nodeTypes,
    types: shape.types,
    children: shape.children,
    hooks: shape.types.map(hooksOf),
  };
}

export function implementedBy(schedule: OperationSchedule) {
  const sets = schedule.hooks.map((hs) => new Set(hs));
  return (node: number, hook: Hook): boolean => sets[schedule.nodeTypes[node]!]?.has(hook) ?? false;
}
