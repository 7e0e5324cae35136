import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CheckpointCollection } from '../../bank/checkpoint-collection';
import {
  CheckpointExistsError,
  CheckpointNotFoundError,
  InvalidStatusTransitionError,
} from '../../common/errors';
import { newCheckpoint } from '../support/checkpoints';
import { allKeysOf, isolatedBank } from '../support/env';
import type { Redis } from 'ioredis';

describe('CheckpointCollection on a real redis-server', () => {
  let redis: Redis;
  let prefix: string;
  let checkpoints: CheckpointCollection;

  before(async () => {
    ({ redis, prefix } = await isolatedBank('collection'));
    checkpoints = new CheckpointCollection(redis, prefix);
  });
  after(() => redis?.disconnect());

  it('creates a protecting checkpoint with its owner, dates and three indexes', async () => {
    const { document, lease } = await checkpoints.create(newCheckpoint('c1'));
    assert.equal(document.status, 'protecting');
    assert.equal(document.created_at, '2026-11-25');
    assert.equal(document.timestamp, Date.UTC(2026, 10, 25, 12) / 1000);
    assert.equal(document.owner_id, await checkpoints.bank.getOwnerId());
    assert.equal(document.protection_plan.id, 'plan-1');
    assert.ok(lease.token);
    const keys = await checkpoints.bank.listObjects('/indices/');
    assert.equal(keys.filter((k) => k.endsWith('@c1')).length, 3);
    assert.ok(keys.includes(`/indices/by-provider/prov-1/tenant-a/00${document.timestamp}@c1`));
    assert.ok(keys.includes(`/indices/by-date/2026-11-25/tenant-a/00${document.timestamp}@c1`));
    assert.ok(
      keys.includes(`/indices/by-plan/plan-1/tenant-a/2026-11-25/00${document.timestamp}@c1`),
    );
  });

  it('treats a retried create by the same owner as a no-op and refuses another owner', async () => {
    const first = await checkpoints.create(newCheckpoint('c2'));
    const again = await checkpoints.create(newCheckpoint('c2'));
    assert.equal(again.lease.token, first.lease.token);
    await assert.rejects(
      checkpoints.create(newCheckpoint('c2', { leaseOwner: 'someone-else' })),
      CheckpointExistsError,
    );
  });

  it('changes status only from the expected states; repeating a change is a no-op', async () => {
    const { lease } = await checkpoints.create(newCheckpoint('c3'));
    await checkpoints.setResourceStatus('c3', '/data/a', 'available', lease);
    await checkpoints.transition('c3', ['protecting'], 'available', { lease });
    await checkpoints.transition('c3', ['protecting'], 'available', { lease });
    await assert.rejects(
      checkpoints.transition('c3', ['protecting'], 'error'),
      (err: unknown) =>
        err instanceof InvalidStatusTransitionError &&
        /is available; it must be protecting/.test(err.message),
    );
    const doc = await checkpoints.get('c3');
    assert.equal(doc.status, 'available');
    assert.deepEqual(doc.resources_status, { '/data/a': 'available' });
    await assert.rejects(
      checkpoints.transition('nope', ['protecting'], 'error'),
      CheckpointNotFoundError,
    );
  });

  it('hides another tenant’s checkpoint unless the caller is an admin', async () => {
    await checkpoints.create(newCheckpoint('c4', { projectId: 'tenant-b' }));
    await assert.rejects(checkpoints.get('c4', { projectId: 'tenant-a' }), CheckpointNotFoundError);
    assert.equal((await checkpoints.get('c4', { projectId: 'tenant-b' })).id, 'c4');
    assert.equal((await checkpoints.get('c4', { projectId: 'x', admin: true })).id, 'c4');
  });

  it('purges document, resource data, indexes and lease in one step, leaving a tombstone', async () => {
    const { lease } = await checkpoints.create(newCheckpoint('c5'));
    const section = checkpoints.section('c5', 'resources/r1', { lease });
    await section.updateObject('manifest.json', { files: 3 });
    await section.updateObject('extra/more.json', { more: true });
    await checkpoints.transition('c5', ['protecting'], 'available', { lease });
    await assert.rejects(checkpoints.purge('c5'), InvalidStatusTransitionError);
    await checkpoints.transition('c5', ['available', 'error'], 'deleting');
    const removed = await checkpoints.purge('c5');
    assert.equal(removed, 3); // index.json and the two resource objects
    assert.equal(await checkpoints.status('c5'), 'deleted');
    await assert.rejects(checkpoints.get('c5'), CheckpointNotFoundError);
    // Keys of c5 only (the random bank prefix may itself contain "c5").
    const left = (await allKeysOf(redis, prefix)).filter((k) =>
      /(:c5$|\/checkpoints\/c5\/|@c5$)/.test(k.slice(prefix.length + 2)),
    );
    assert.deepEqual(left, [`{${prefix}}:cpstate:c5`]);
    assert.ok((await redis.ttl(`{${prefix}}:cpstate:c5`)) > 0, 'tombstone expires');
    assert.equal(await checkpoints.purge('c5'), 0, 'a repeated purge is a no-op');
  });

  it('never tears a checkpoint or loses an index under many concurrent creators', async () => {
    const others = await Promise.all(
      Array.from({ length: 8 }, () => isolatedBank('collection-peer')),
    );
    try {
      const peers = others.map((o) => new CheckpointCollection(o.redis, prefix));
      const ids = Array.from({ length: 400 }, (_, i) => `conc-${i}`);
      await Promise.all(
        ids.map((id, i) =>
          peers[i % peers.length]!.create(
            newCheckpoint(id, { createdAtMs: Date.UTC(2026, 0, 1) + i * 1000 }),
          ),
        ),
      );
      // Racing creators of one id: exactly one wins.
      const race = await Promise.allSettled(
        peers.map((p, i) => p.create(newCheckpoint('contested', { leaseOwner: `run-${i}` }))),
      );
      assert.equal(race.filter((r) => r.status === 'fulfilled').length, 1);
      assert.ok(
        race.every((r) => r.status === 'fulfilled' || r.reason instanceof CheckpointExistsError),
      );
      const indexKeys = await checkpoints.bank.listObjects('/indices/', { limit: 10_000 });
      for (const id of ids) {
        const doc = await checkpoints.get(id);
        assert.equal(doc.status, 'protecting');
        assert.equal(indexKeys.filter((k) => k.endsWith(`@${id}`)).length, 3, id);
      }
    } finally {
      for (const o of others) o.redis.disconnect();
    }
  });
});
