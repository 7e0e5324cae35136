import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { CheckpointCollection } from '../../bank/checkpoint-collection';
import { connectRedis } from '../../common/redis';
import { startRedis, stopProcess } from '../../scripts/services';
import type { ServiceProcess } from '../../scripts/services';
import { newCheckpoint } from '../support/checkpoints';
import { testEnv } from '../support/env';

describe('a redis-server killed with SIGKILL', () => {
  let server: ServiceProcess | undefined;
  after(async () => {
    if (server) await stopProcess(server.pid, 2000);
  });

  it('loses no acknowledged checkpoint with appendfsync always', async () => {
    const dir = path.join(testEnv.workDir, 'durability');
    server = await startRedis({ dir, appendfsync: 'always' });
    const port = server.port;
    const url = `redis://127.0.0.1:${port}`;
    let redis = await connectRedis(url, 'durability');
    const checkpoints = new CheckpointCollection(redis, 'durable');
    const acknowledged: string[] = [];
    for (let i = 0; i < 300; i++) {
      const id = `d-${i}`;
      await checkpoints.create(
        newCheckpoint(id, { createdAtMs: Date.UTC(2026, 10, 1) + i * 1000 }),
      );
      acknowledged.push(id);
    }
    // No shutdown, no save: the process dies right after the last create returned.
    server.child.kill('SIGKILL');
    await new Promise((r) => server!.child.once('exit', r));
    redis.disconnect();

    server = await startRedis({ dir, port, appendfsync: 'always' });
    redis = await connectRedis(url, 'durability-after');
    try {
      const reopened = new CheckpointCollection(redis, 'durable');
      for (const id of acknowledged) assert.equal((await reopened.get(id)).status, 'protecting');
      const page = await reopened.list(
        'prov-1',
        { limit: 1000, sortDir: 'asc' },
        { projectId: 'tenant-a' },
      );
      assert.deepEqual(
        page.checkpoints.map((c) => c.id),
        acknowledged,
      );
    } finally {
      redis.disconnect();
    }
  });
});
