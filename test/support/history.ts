// Reads a run's history the way an operator would in the Web UI: which worker (identity)
// ran which resource's hooks, from which task queue.
import assert from 'node:assert/strict';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { KarborConfig } from '../../common/config';
import type { ProtectionService } from '../../client/protection-service';
import { treeFingerprint as describeTree } from '../../plugins/directory/tree';
import { workflowIds } from '../../workflows/ids';
import { FS_PROVIDER } from './env';

export interface HookPlacement {
  resource: string;
  taskQueue: string;
  identity: string;
  attempt: number;
  /** Server time the attempt that completed was started, ms. */
  startedAtMs: number;
}

/** Every completed (or failed) hook activity of a workflow's runs: who ran it, from where. */
export async function hookPlacements(
  cfg: Pick<KarborConfig, 'temporalAddress' | 'namespace'>,
  workflowId: string,
  connect: () => Promise<Connection> = () => Connection.connect({ address: cfg.temporalAddress }),
): Promise<HookPlacement[]> {
  const connection = await connect();
  try {
    const client = new Client({ connection, namespace: cfg.namespace });
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const scheduled = new Map<string, { resource: string; taskQueue: string }>();
    const out: HookPlacement[] = [];
    for (const e of history.events ?? []) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s && s.activityType?.name === 'runResourceHook') {
        const input = defaultPayloadConverter.fromPayload<{ resource: string }>(
          s.input!.payloads![0]!,
        );
        scheduled.set(String(e.eventId), {
          resource: input.resource,
          taskQueue: s.taskQueue?.name ?? '',
        });
      }
      const st = e.activityTaskStartedEventAttributes;
      const hook = st ? scheduled.get(String(st.scheduledEventId)) : undefined;
      if (st && hook) {
        out.push({
          ...hook,
          identity: st.identity ?? '',
          attempt: st.attempt ?? 1,
          startedAtMs: Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6,
        });
      }
    }
    return out;
  } finally {
    await connection.close();
  }
}

/** The host of a worker identity `pid@host`. */
export const hostOfIdentity = (identity: string) => identity.slice(identity.indexOf('@') + 1);

/**
 * Restores each host's directory of a checkpoint to a target on the same host, checks the
 * trees are equal, and that each restore hook ran on a worker of its own host.
 */
export async function restoreEachHost(opts: {
  svc: ProtectionService;
  checkpointId: string;
  hosts: string[];
  dirOf: (host: string) => string;
  targetOf: (host: string) => string;
  placementsOf: (workflowId: string) => Promise<HookPlacement[]>;
}): Promise<void> {
  const { svc, hosts, dirOf, targetOf } = opts;
  const { restore_id } = await svc.restore({
    providerId: FS_PROVIDER,
    checkpointId: opts.checkpointId,
    restoreTarget: Object.fromEntries(hosts.map((h) => [dirOf(h), targetOf(h)])),
  });
  const restored = await svc.waitForRestore(restore_id);
  assert.equal(restored.status, 'success', JSON.stringify(restored));
  for (const h of hosts) assert.deepEqual(describeTree(targetOf(h)), describeTree(dirOf(h)));
  for (const p of await opts.placementsOf(workflowIds.restore(restore_id))) {
    const host = hosts.find((h) => dirOf(h) === p.resource);
    assert.equal(hostOfIdentity(p.identity), host, `restore of ${p.resource} on its host`);
  }
}
