import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { CheckpointCollection } from '../../bank/checkpoint-collection';
import { RedisKeys } from '../../bank/keys';
import { hasReplicas } from '../../bank/replica-wait';
import { asCluster } from '../../common/redis';
import { newCheckpoint } from '../support/checkpoints';
import { isolatedBank } from '../support/env';

/** `npm test` runs this on one server; `npm run test:redis` on Sentinel and on a Cluster. */
const kind = process.env.KARBOR_TEST_REDIS_KIND ?? 'standalone';

describe(`bank writes and Redis replicas (${kind})`, () => {
  const opened: Redis[] = [];
  after(() => {
    for (const r of opened) r.disconnect();
  });

  it('an acknowledged checkpoint is already on a replica when there is one', async () => {
    const { redis, prefix } = await isolatedBank('replicas');
    opened.push(redis);
    const replicas = await hasReplicas(redis);
    assert.equal(replicas, kind === 'sentinel', 'only the Sentinel group has a replica');
    const checkpoints = new CheckpointCollection(redis, prefix);
    const ids = Array.from({ length: 50 }, (_, i) => `r-${i}`);
    for (const id of ids) {
      await checkpoints.create(newCheckpoint(id));
    }
    if (!replicas) return;
    // Read the replica directly, at once: WAIT 1 made every create reach it before returning.
    const role = (await redis.call('ROLE')) as [string, number, [string, string, string][]];
    const [host, port] = role[2][0]!;
    const replica = new Redis({ host, port: Number(port), lazyConnect: true });
    opened.push(replica);
    await replica.connect();
    const onReplica = await Promise.all(
      ids.map((id) => replica.exists(new RedisKeys(prefix).checkpointState(id))),
    );
    assert.ok(asCluster(redis) === undefined);
    assert.deepEqual(
      onReplica.filter((n) => n === 0).length,
      0,
      'every acknowledged checkpoint is on the replica',
    );

    const pid = Number(/process_id:(\d+)/.exec(String(await replica.info('server')))?.[1]);
    assert.ok(pid > 0);
    // A replica that stalls a few seconds: the write waits it out and is acknowledged.
    process.kill(pid, 'SIGSTOP');
    const during = checkpoints.create(newCheckpoint('stalled'));
    let settled = false;
    void during.finally(() => (settled = true)).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 5000));
    assert.equal(settled, false, 'not acknowledged while no replica has it');
    process.kill(pid, 'SIGCONT');
    await during;
    assert.equal(await replica.exists(new RedisKeys(prefix).checkpointState('stalled')), 1);

    // A replica that stops answering for good: the write is done on the primary but never
    // acknowledged.
    process.kill(pid, 'SIGSTOP');
    try {
      await assert.rejects(
        checkpoints.create(newCheckpoint('unconfirmed')),
        (err: Error & { code?: string }) => err.code === 'REPLICA_NOT_ACKNOWLEDGED',
      );
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });
});
