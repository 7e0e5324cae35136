// Reads a run's history the way an operator would in the Web UI: which worker (identity)
// ran which resource's hooks, from which task queue.
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { KarborConfig } from '../../common/config';

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
