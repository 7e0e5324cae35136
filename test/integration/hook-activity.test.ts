// runResourceHook, the one hook dispatcher, run as Temporal runs an activity
// (MockActivityEnvironment: attempt number, heartbeats, cancellation) against a real bank.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Redis } from 'ioredis';
import { hookActivities } from '../../activities/hooks';
import type { HookActivityDeps, HookInput } from '../../activities/hooks';
import { CheckpointCollection } from '../../bank/checkpoint-collection';
import type { LeaseToken } from '../../bank/bank';
import { DEFAULT_LEASE_SETTINGS, LeaseManager } from '../../bank/leases';
import { OperationLog } from '../../bank/operation-log';
import { RestoreCollection } from '../../bank/restore-collection';
import type { PackedGraph } from '../../graph/resource-graph';
import { noopPlugin, NOOP_TYPE } from '../../plugins/noop/noop-plugin';
import { PluginRegistry } from '../../plugins/registry';
import { ProviderRegistry } from '../../providers/provider-registry';
import { HOOK_MAX_ATTEMPTS } from '../../temporal-config/activity-options';
import { newCheckpoint } from '../support/checkpoints';
import { isolatedBank, testEnv } from '../support/env';

const PROVIDER = 'hooks-prov';

/** The dispatcher of a worker with these dependencies. */
function dispatcher(deps: HookActivityDeps) {
  const activities = hookActivities(deps);
  return (input: HookInput) => activities.runResourceHook(input);
}

let runs = 0;
/** An activity's environment in a workflow run of its own (the stop gate is per run). */
function activityEnv(attempt: number): MockActivityEnvironment {
  runs++;
  return new MockActivityEnvironment({
    attempt,
    workflowExecution: { workflowId: `wf-${runs}`, runId: `run-${runs}` },
  });
}

/** A providers directory whose one provider enables `plugins` (none: it lacks noop). */
function providersDir(name: string, plugins: string[]): string {
  const dir = path.join(testEnv.workDir, 'hook-activity', name);
  fs.mkdirSync(dir, { recursive: true });
  const lines = ['[provider]', `id = ${PROVIDER}`, 'name = Hooks', 'description = test'];
  // A provider needs one plugin: the application plugin stands in where noop is missing.
  for (const p of plugins.length > 0 ? plugins : ['application']) lines.push(`plugin = ${p}`);
  lines.push('bank = redis', 'enabled = true', '');
  fs.writeFileSync(path.join(dir, 'p.conf'), lines.join('\n'));
  return dir;
}

describe('runResourceHook as an activity (MockActivityEnvironment, real redis-server)', () => {
  let redis: Redis;
  let prefix: string;
  let checkpoints: CheckpointCollection;

  before(async () => {
    ({ redis, prefix } = await isolatedBank('hook-activity'));
    checkpoints = new CheckpointCollection(redis, prefix, DEFAULT_LEASE_SETTINGS);
  });
  after(() => redis.disconnect());

  function deps(withNoop: boolean): HookActivityDeps {
    const plugins = new PluginRegistry([
      noopPlugin(),
      { ...noopPlugin(), type: 'Karbor::Application', name: 'application' },
    ]);
    return {
      plugins,
      providers: ProviderRegistry.load(
        providersDir(withNoop ? 'with' : 'without', withNoop ? ['noop'] : []),
        plugins,
      ),
      checkpoints,
      leases: new LeaseManager(redis, prefix, DEFAULT_LEASE_SETTINGS),
      restores: new RestoreCollection(redis, prefix),
      oplog: new OperationLog(redis, prefix),
      host: 'host-x',
    };
  }

  async function protecting(
    id: string,
    parameters: Record<string, unknown> = {},
  ): Promise<LeaseToken> {
    const graph: PackedGraph = {
      version: 1,
      nodes: [{ id: 'app-1', type: NOOP_TYPE, name: 'app-1' }],
      children: [[]],
    };
    const { lease } = await checkpoints.create(
      newCheckpoint(id, {
        providerId: PROVIDER,
        resourceGraph: graph,
        plan: {
          id: 'plan-1',
          name: 'p',
          provider_id: PROVIDER,
          resources: [],
          parameters: { [NOOP_TYPE]: parameters },
        },
      }),
    );
    return lease;
  }

  const input = (id: string, lease: LeaseToken): HookInput => ({
    operation: 'protect',
    operationId: id,
    checkpointId: id,
    node: 0,
    hooks: ['prepare_begin', 'prepare_finish', 'main', 'complete'],
    final: true,
    lease,
  });

  it('a worker without the type’s plugin fails the hook, retryably, naming type, provider and host, and records nothing as done', async () => {
    const lease = await protecting('cp-missing-1');
    const env = activityEnv(1);
    const run = dispatcher(deps(false));
    await assert.rejects(env.run(run, input('cp-missing-1', lease)), (err: Error) => {
      assert.match(err.message, /no plugin for Karbor::Noop in provider hooks-prov/);
      assert.match(err.message, /host host-x/);
      assert.equal((err as { permanent?: boolean }).permanent, false);
      return true;
    });
    const doc = await checkpoints.get('cp-missing-1');
    assert.notEqual(doc.resources_status?.['app-1'], 'available');
  });

  it('after the last retry the resource is recorded as failed with that reason, never as protected', async () => {
    const lease = await protecting('cp-missing-2');
    const env = activityEnv(HOOK_MAX_ATTEMPTS);
    const run = dispatcher(deps(false));
    await assert.rejects(env.run(run, input('cp-missing-2', lease)), /no plugin for Karbor::Noop/);
    const doc = await checkpoints.get('cp-missing-2');
    assert.equal(doc.resources_status?.['app-1'], 'error');
  });

  it('with the plugin, the hooks run and the resource is recorded available', async () => {
    const lease = await protecting('cp-present');
    const env = activityEnv(1);
    await env.run(dispatcher(deps(true)), input('cp-present', lease));
    const doc = await checkpoints.get('cp-present');
    assert.equal(doc.resources_status?.['app-1'], 'available');
  });

  it('heartbeats name the resource and hook while a hook runs, and a cancel stops it as a cancellation', async () => {
    const lease = await protecting('cp-cancel', { delay_ms: 60_000 });
    const env = activityEnv(1);
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => {
      beats.push(d);
      if (beats.length === 1) env.cancel('CANCELLED');
    });
    await assert.rejects(
      env.run(dispatcher(deps(true)), input('cp-cancel', lease)),
      (err: Error) => {
        assert.doesNotMatch(err.message, /no plugin/);
        return true;
      },
    );
    assert.ok(beats.length >= 1);
    const first = beats[0] as { resource?: string; hook?: string };
    assert.deepEqual([first.resource, first.hook], ['app-1', 'prepare_begin']);
    const doc = await checkpoints.get('cp-cancel');
    assert.equal(doc.resources_status?.['app-1'], undefined);
  });
});
