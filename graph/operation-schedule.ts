import type { Hook } from './hook-schedule';
import { shapeOf } from './resource-graph';
import type { GraphResource, PackedGraph } from './resource-graph';

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
  /**
   * Host-pinned resources (graph/host-pinning.ts): the hosts, interned, and per node an
   * index into them or -1. Absent when no resource is pinned (and in older histories).
   */
  hosts?: string[];
  nodeHosts?: number[];
  /** How long a pinned hook may wait for a worker of its host before it fails. */
  hostWaitSeconds?: number;
}

export function operationSchedule(
  graph: PackedGraph,
  hooksOf: (type: string) => Hook[],
  pinning?: { hostOf: (node: GraphResource) => string | undefined; waitSeconds: number },
): OperationSchedule {
  const shape = shapeOf(graph);
  const schedule: OperationSchedule = {
    ids: graph.nodes.map((n) => n.id),
    nodeTypes: shape.nodeTypes,
    types: shape.types,
    children: shape.children,
    hooks: shape.types.map(hooksOf),
  };
  if (!pinning) return schedule;
  const hosts: string[] = [];
  const nodeHosts = graph.nodes.map((node) => {
    const host = pinning.hostOf(node);
    if (host === undefined) return -1;
    const at = hosts.indexOf(host);
    return at >= 0 ? at : hosts.push(host) - 1;
  });
  if (hosts.length === 0) return schedule;
  return { ...schedule, hosts, nodeHosts, hostWaitSeconds: pinning.waitSeconds };
}

/** The host a node's hooks must run on, if it is pinned. */
export function nodeHost(schedule: OperationSchedule, node: number): string | undefined {
  const at = schedule.nodeHosts?.[node] ?? -1;
  return at >= 0 ? schedule.hosts?.[at] : undefined;
}

export function implementedBy(schedule: OperationSchedule) {
  const sets = schedule.hooks.map((hs) => new Set(hs));
  return (node: number, hook: Hook): boolean => sets[schedule.nodeTypes[node]!]?.has(hook) ?? false;
}
