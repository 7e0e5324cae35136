// Plans of Karbor::Noop resources for orchestration tests and benchmarks.
import { randomUUID } from 'node:crypto';
import type { OperationEvent } from '../../bank/operation-log';
import type { Plan } from '../../common/documents';
import { NOOP_TYPE } from '../../plugins/noop/noop-plugin';

export const NOOP_PROVIDER_ID = 'b766f37c-d011-4026-8228-28730d734a3f';

/** A plan whose resources depend on each other as `deps` says (id -> ids it depends on). */
export function noopPlan(
  deps: Record<string, string[]>,
  opts: { projectId?: string; parameters?: Plan['parameters']; providerId?: string } = {},
): Plan {
  return {
    id: `plan-${randomUUID().slice(0, 8)}`,
    name: 'noop',
    provider_id: opts.providerId ?? NOOP_PROVIDER_ID,
    project_id: opts.projectId ?? 'tenant-a',
    resources: Object.entries(deps).map(([id, d]) => ({
      id,
      type: NOOP_TYPE,
      name: id,
      extra_info: { depends_on: d },
    })),
    ...(opts.parameters ? { parameters: opts.parameters } : {}),
  };
}

export const shapes = {
  chain: (n: number) =>
    Object.fromEntries(
      Array.from({ length: n }, (_, i) => [`c${i}`, i + 1 < n ? [`c${i + 1}`] : []]),
    ),
  fanOut: (n: number) => ({
    root: Array.from({ length: n }, (_, i) => `leaf${i}`),
    ...Object.fromEntries(Array.from({ length: n }, (_, i) => [`leaf${i}`, []])),
  }),
  diamond: () => ({ top: ['left', 'right'], left: ['bottom'], right: ['bottom'], bottom: [] }),
  /** A complete tree with the given branching factor and depth (root at depth 0). */
  tree: (branching: number, depth: number) => {
    const out: Record<string, string[]> = {};
    const walk = (id: string, d: number) => {
      const kids = d < depth ? Array.from({ length: branching }, (_, i) => `${id}.${i}`) : [];
      out[id] = kids;
      for (const k of kids) walk(k, d + 1);
    };
    walk('t', 0);
    return out;
  },
};

const HOOK_ORDER = ['prepare_begin', 'prepare_finish', 'main', 'complete'];

/**
 * Checks an operation log against Karbor's order for the given dependencies: every
 * successor hook starts only after its predecessors ended. Returns a description of the
 * first violation, or undefined.
 */
export function orderViolation(
  deps: Record<string, string[]>,
  events: OperationEvent[],
): string | undefined {
  const at = (id: string, hook: string, event: 'start' | 'end') => {
    const i = events.findIndex((e) => e.resource_id === id && e.hook === hook && e.event === event);
    if (i < 0) throw new Error(`no ${event} of ${id}.${hook} in the log`);
    return i;
  };
  const before = (a: [string, string], b: [string, string]) =>
    at(a[0], a[1], 'end') < at(b[0], b[1], 'start')
      ? undefined
      : `${a.join('.')} must end before ${b.join('.')} starts`;
  for (const [id, kids] of Object.entries(deps)) {
    for (let h = 1; h < 4; h++) {
      const v = before([id, HOOK_ORDER[h - 1]!], [id, HOOK_ORDER[h]!]);
      if (v) return v;
    }
    for (const c of kids) {
      const v =
        before([id, 'prepare_begin'], [c, 'prepare_begin']) ??
        before([c, 'prepare_finish'], [id, 'prepare_finish']) ??
        before([c, 'complete'], [id, 'complete']);
      if (v) return v;
    }
  }
  return undefined;
}

/** The most hooks that were running at the same moment, from start/end events. */
export function maxOverlap(events: OperationEvent[], hook?: string): number {
  let now = 0;
  let max = 0;
  for (const e of events) {
    if (hook && e.hook !== hook) continue;
    if (e.event === 'start') now++;
    else now--;
    max = Math.max(max, now);
  }
  return max;
}
