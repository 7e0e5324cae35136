// A failover promotes a replica, and whatever the old primary had not yet sent it is gone.
// So the bank writes a checkpoint's correctness depends on (its creation, status changes,
// objects, chunk claims, leases) are followed by WAIT 1 on the same node, in the same
// pipeline, whenever the primary has replicas: a write counts as done only once a replica
// holds it too. A standalone server has none, and pays nothing.
import type { Redis } from 'ioredis';
import { ReplicaNotAcknowledgedError } from '../common/errors';
import { asCluster } from '../common/redis';

/** How long a write waits for a replica before it is reported not acknowledged. */
export const REPLICA_WAIT_MS = 2000;
/** How long the answer "this primary has replicas" is trusted. */
const TOPOLOGY_TTL_MS = 5000;

const known = new WeakMap<Redis, { replicas: boolean; at: number }>();

/** Whether the primary (or any Cluster primary) has a replica attached now. */
export async function hasReplicas(redis: Redis): Promise<boolean> {
  const cached = known.get(redis);
  if (cached && Date.now() - cached.at < TOPOLOGY_TTL_MS) return cached.replicas;
  const cluster = asCluster(redis);
  let replicas: boolean;
  if (cluster) {
    replicas = cluster.nodes('slave').length > 0;
  } else {
    // ROLE on a primary: ['master', offset, [[ip, port, offset], ...]].
    const role = (await redis.call('ROLE')) as [string, number, unknown[]?];
    replicas = role[0] === 'master' && (role[2]?.length ?? 0) > 0;
  }
  known.set(redis, { replicas, at: Date.now() });
  return replicas;
}

/**
 * How long a write keeps waiting for a replica in all, WAIT after WAIT, before it is
 * reported not acknowledged: a replica that stalls for a while (a slow disk, a pause) does
 * not fail the operation, and a bank activity (60 s) still ends in time to be retried.
 */
export const REPLICA_WAIT_BUDGET_MS = 45_000;

/**
 * Runs `write` (one command added to a pipeline) and, when replicas exist, WAIT 1 right
 * after it on the node that took the write (`routeKey`, one of the write's keys, takes the
 * later WAITs of a Cluster to the same node). Returns the write's reply.
 */
export async function writeDurably<T>(
  redis: Redis,
  write: (pipeline: ReturnType<Redis['pipeline']>) => void,
  what: string,
  routeKey?: string,
): Promise<T> {
  const replicas = await hasReplicas(redis);
  const pipeline = redis.pipeline();
  write(pipeline);
  if (replicas) pipeline.wait(1, REPLICA_WAIT_MS);
  const replies = await pipeline.exec();
  const [writeErr, reply] = replies?.[0] ?? [new Error('empty pipeline reply'), undefined];
  if (writeErr) throw writeErr;
  if (!replicas) return reply as T;
  let [waitErr, acked] = replies?.[1] ?? [null, 0];
  const deadline = Date.now() + REPLICA_WAIT_BUDGET_MS;
  while (!waitErr && Number(acked) < 1 && Date.now() < deadline) {
    // WAIT covers every earlier write of this connection: asking again is enough.
    const again = redis.pipeline();
    if (routeKey) again.exists(routeKey);
    again.wait(1, REPLICA_WAIT_MS);
    const r = await again.exec();
    [waitErr, acked] = r?.[r.length - 1] ?? [null, 0];
  }
  if (waitErr || Number(acked) < 1) {
    known.delete(redis);
    throw new ReplicaNotAcknowledgedError(
      `bank write (${what}) was not confirmed by a Redis replica within ${REPLICA_WAIT_BUDGET_MS / 1000} s${waitErr ? `: ${waitErr.message}` : ''}`,
    );
  }
  return reply as T;
}
