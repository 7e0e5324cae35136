// Karbor::Noop: a resource that does nothing but take time and fail on request, so the
// orchestration can be tested and benchmarked apart from real data.
//   extra_info.depends_on: [ids]   its dependents (Noop resources with those ids)
//   parameters: delay_ms, fail_on (a hook name), fail_times (fail that many attempts first),
//               fail_operation (fail only in this operation; default: every operation),
//               delay_operation (wait only in this operation; default: every operation)
import { HookFailedError } from '../../common/errors';
import type { Hook } from '../../graph/hook-schedule';
import type { GraphResource } from '../../graph/resource-graph';
import type { HookContext, OperationHooks, ResourcePlugin } from '../types';

export const NOOP_TYPE = 'Karbor::Noop';

const parametersSchema = {
  type: 'object',
  properties: {
    delay_ms: { type: 'integer', minimum: 0, maximum: 3_600_000 },
    fail_on: { enum: ['prepare_begin', 'prepare_finish', 'main', 'complete'] },
    fail_times: { type: 'integer', minimum: 0 },
    fail_operation: { enum: ['protect', 'restore', 'delete', 'verify'] },
    delay_operation: { enum: ['protect', 'restore', 'delete', 'verify'] },
  },
  additionalProperties: false,
};

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function hook(name: Hook) {
  return async (ctx: HookContext): Promise<void> => {
    const p = ctx.parameters;
    const delays = p.delay_operation === undefined || p.delay_operation === ctx.operation;
    const delay = typeof p.delay_ms === 'number' && delays ? p.delay_ms : 0;
    if (delay > 0) {
      // Heartbeat while waiting so a long delay survives the heartbeat timeout.
      const step = 1000;
      for (let waited = 0; waited < delay; waited += step) {
        ctx.heartbeat({ message: `${name} waiting` });
        await sleep(Math.min(step, delay - waited), ctx.signal);
      }
    }
    if (
      p.fail_on === name &&
      (p.fail_operation === undefined || p.fail_operation === ctx.operation)
    ) {
      const times = typeof p.fail_times === 'number' ? p.fail_times : undefined;
      if (times === undefined) {
        throw new HookFailedError('injected failure (fail_on)', true);
      }
      if (ctx.attempt <= times) {
        throw new HookFailedError(
          `injected failure on attempt ${ctx.attempt} of ${times} (fail_on, fail_times)`,
          false,
        );
      }
    }
    if (ctx.operation === 'protect' && name === 'main') {
      // Something to restore and delete: the same value on every attempt.
      await ctx.section.updateObject('noop.json', { id: ctx.resource.id });
    }
  };
}

const allHooks: OperationHooks = {
  onPrepareBegin: hook('prepare_begin'),
  onPrepareFinish: hook('prepare_finish'),
  onMain: hook('main'),
  onComplete: hook('complete'),
};

function dependentIds(resource: GraphResource): string[] {
  const deps = resource.extra_info?.depends_on;
  return Array.isArray(deps) ? deps.filter((d): d is string => typeof d === 'string') : [];
}

export function noopPlugin(): ResourcePlugin {
  return {
    name: 'noop',
    type: NOOP_TYPE,
    description: 'Does nothing, after an optional delay; fails on request (tests, benchmarks)',
    schemas: {
      options: parametersSchema,
      restore: parametersSchema,
      savedInfo: { type: 'object', properties: { id: { type: 'string' } } },
    },
    // A dependent that is also in the plan keeps the plan's entry (the graph builder adds
    // plan resources first); one that is not has no dependents of its own.
    dependents(resource) {
      return Promise.resolve(
        dependentIds(resource).map((id) => ({ id, type: NOOP_TYPE, name: id, extra_info: {} })),
      );
    },
    // Instances are whatever the provider's [noop] section lists: `instances = a, b, c`.
    listInstances(config) {
      const ids = (config.instances ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      return Promise.resolve(ids.map((id) => ({ id, type: NOOP_TYPE, name: id, extra_info: {} })));
    },
    operations: { protect: allHooks, restore: allHooks, delete: allHooks, verify: allHooks },
  };
}
