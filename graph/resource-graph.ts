// The resource dependency graph: built from a plan by following each resource's dependents,
// checked for cycles, packed for the checkpoint document. Pure TypeScript, no I/O: the
// dependents lookup is passed in, and workflows may import the rest.
import { GraphCycleError } from '../common/errors';

export interface GraphResource {
  id: string;
  type: string;
  name: string;
  extra_info?: Record<string, unknown>;
}

/**
 * The graph as stored in a checkpoint: nodes by index, and for each node the indexes of the
 * resources it depends on (its children). Roots are the nodes no other node depends on.
 */
export interface PackedGraph {
  version: 1;
  nodes: GraphResource[];
  children: number[][];
}

/** What a workflow needs to schedule hooks: shape and types, no resource data. */
export interface GraphShape {
  /** Index into `types` for each node. */
  nodeTypes: number[];
  types: string[];
  children: number[][];
}

/** A resource is identified by its type and id together, as in Karbor. */
export function resourceKey(r: { type: string; id: string }): string {
  return `${r.type}\u0000${r.id}`;
}

export function describeResource(r: { type: string; id: string }): string {
  return `${r.type} ${r.id}`;
}

/**
 * Builds the graph from the plan's resources, asking `dependentsOf` for each resource's
 * dependents and visiting every resource once. Throws GraphCycleError naming the loop.
 */
export async function buildGraph(
  roots: GraphResource[],
  dependentsOf: (r: GraphResource) => Promise<GraphResource[]>,
): Promise<PackedGraph> {
  const index = new Map<string, number>();
  const nodes: GraphResource[] = [];
  const children: number[][] = [];
  const add = (r: GraphResource): number => {
    const key = resourceKey(r);
    let i = index.get(key);
    if (i === undefined) {
      i = nodes.length;
      index.set(key, i);
      nodes.push(r);
      children.push([]);
    }
    return i;
  };
  const pending = roots.map(add);
  const visited = new Set<number>();
  while (pending.length > 0) {
    const i = pending.pop()!;
    if (visited.has(i)) continue;
    visited.add(i);
    const deps = await dependentsOf(nodes[i]!);
    const mine = new Set<number>();
    for (const d of deps) {
      const j = add(d);
      if (!mine.has(j)) {
        mine.add(j);
        children[i]!.push(j);
      }
      if (!visited.has(j)) pending.push(j);
    }
  }
  const graph: PackedGraph = { version: 1, nodes, children };
  assertAcyclic(graph);
  return graph;
}

/** Iterative depth-first search; a back edge is a cycle, reported from where it closes. */
export function assertAcyclic(graph: { nodes: GraphResource[]; children: number[][] }): void {
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const color = new Uint8Array(graph.nodes.length);
  for (let start = 0; start < graph.nodes.length; start++) {
    if (color[start] !== WHITE) continue;
    const path: number[] = [start];
    const next: number[] = [0];
    color[start] = GREY;
    while (path.length > 0) {
      const top = path[path.length - 1]!;
      const kids = graph.children[top] ?? [];
      const k = next[next.length - 1]!;
      if (k < kids.length) {
        next[next.length - 1] = k + 1;
        const child = kids[k]!;
        if (color[child] === GREY) {
          const loop = path.slice(path.indexOf(child)).concat(child);
          throw new GraphCycleError(loop.map((i) => describeResource(graph.nodes[i]!)));
        }
        if (color[child] === WHITE) {
          color[child] = GREY;
          path.push(child);
          next.push(0);
        }
      } else {
        color[top] = BLACK;
        path.pop();
        next.pop();
      }
    }
  }
}

/** The scheduling shape of a packed graph (types interned, no names or extra info). */
export function shapeOf(graph: PackedGraph): GraphShape {
  const types: string[] = [];
  const typeIndex = new Map<string, number>();
  const nodeTypes = graph.nodes.map((n) => {
    let t = typeIndex.get(n.type);
    if (t === undefined) {
      t = types.length;
      typeIndex.set(n.type, t);
      types.push(n.type);
    }
    return t;
  });
  return { nodeTypes, types, children: graph.children };
}

/** Checks a packed graph read back from storage before anything trusts its indexes. */
export function unpackGraph(value: unknown): PackedGraph {
  const g = value as PackedGraph;
  if (
    !g ||
    g.version !== 1 ||
    !Array.isArray(g.nodes) ||
    !Array.isArray(g.children) ||
    g.children.length !== g.nodes.length
  ) {
    throw new Error('stored resource graph is malformed');
  }
  for (const kids of g.children) {
    for (const k of kids) {
      if (!Number.isInteger(k) || k < 0 || k >= g.nodes.length) {
        throw new Error('stored resource graph has an edge to nowhere');
      }
    }
  }
  return g;
}
