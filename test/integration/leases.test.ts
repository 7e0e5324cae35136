import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CheckpointCollection } from '../../bank/checkpoint-collection';
import { LeaseManager } from '../../bank/leases';
import { RedisBank } from '../../bank/redis-bank';
import { LeaseBusyError, LeaseLostError } from '../../common/errors';
import { eventually, isolatedBank } from '../support/env';
import type { Redis } from 'ioredis';

const SHORT = { expireWindowMs: 300, renewWindowMs: 200, validityWindowMs: 150 };

describe('write leases with fencing tokens', () => {
  let redis: Redis;
  let prefix: string;
  let leases: LeaseManager;
  let bank: RedisBank;

  before(async () => {
    ({ redis, prefix } = await isolatedBank('leases'));
    leases = new LeaseManager(redis, prefix, SHORT);
    bank = new RedisBank(redis, prefix);
  });
  after(() => redis?.disconnect());

  it('gives one owner the lease, the same token again on retry, and refuses others', async () => {
    const a = await leases.acquire('cp-1', 'run-a');
    const again = await leases.acquire('cp-1', 'run-a');
    assert.equal(again.token, a.token);
    await assert.rejects(leases.acquire('cp-1', 'run-b'), LeaseBusyError);
    assert.equal(await leases.release(a), true);
    assert.equal(await leases.release(a), false);
    const b = await leases.acquire('cp-1', 'run-b');
    assert.ok(Number(b.token) > Number(a.token), 'tokens only grow');
  });

  it("lets a retried step go on under its owner's current token, never another owner's", async () => {
    const first = await leases.acquire('cp-cur', 'run-a');
    await eventually('the lease to lapse', async () =>
      (await leases.check('cp-cur')).state === 'expired' ? true : undefined,
    );
    const retaken = await leases.currentFor(first, () => Promise.resolve(true));
    assert.ok(Number(retaken.token) > Number(first.token), 'a lapsed lease is re-taken');
    const again = await leases.currentFor(first, () => Promise.resolve(true));
    assert.equal(again.token, retaken.token, 'the old token leads to the current one');
    await leases.release(retaken);
    assert.equal((await leases.currentFor(first, () => Promise.resolve(false))).token, first.token);
    const other = await leases.acquire('cp-cur', 'run-b');
    assert.equal((await leases.currentFor(first, () => Promise.resolve(true))).token, first.token);
    await leases.release(other);
  });

  it('refuses a write with a stale token and leaves the data unchanged', async () => {
    const old = await leases.acquire('cp-2', 'run-old');
    await bank.updateObject('/checkpoints/cp-2/data', 'v1', { lease: old });
    // The old holder stalls past the expiry window; a new owner takes over.
    await eventually('the lease to expire', async () =>
      (await leases.check('cp-2')).state === 'expired' ? true : undefined,
    );
    await assert.rejects(
      bank.updateObject('/checkpoints/cp-2/data', 'zombie', { lease: old }),
      (err: unknown) => err instanceof LeaseLostError && /expired/.test(err.message),
    );
    const fresh = await leases.acquire('cp-2', 'run-new');
    await bank.updateObject('/checkpoints/cp-2/data', 'v2', { lease: fresh });
    await assert.rejects(
      bank.updateObject('/checkpoints/cp-2/data', 'zombie', { lease: old }),
      (err: unknown) => err instanceof LeaseLostError && /newer lease/.test(err.message),
    );
    await assert.rejects(
      bank.deleteObject('/checkpoints/cp-2/data', { lease: old }),
      LeaseLostError,
    );
    assert.equal(await bank.getObject('/checkpoints/cp-2/data'), 'v2');
    await assert.rejects(leases.renew(old), LeaseLostError);
  });

  it('fences checkpoint status changes too', async () => {
    const checkpoints = new CheckpointCollection(redis, prefix, SHORT);
    const { lease } = await checkpoints.create({
      id: 'cp-3',
      leaseOwner: 'run-3',
      providerId: 'p',
      projectId: 't',
      plan: { id: 'plan', name: 'plan', provider_id: 'p', resources: [] },
      resourceGraph: null,
      createdAtMs: Date.now(),
    });
    await eventually('the lease to expire', async () =>
      (await leases.check('cp-3')).state === 'expired' ? true : undefined,
    );
    await assert.rejects(
      checkpoints.transition('cp-3', ['protecting'], 'available', { lease }),
      LeaseLostError,
    );
    await assert.rejects(checkpoints.setResourceStatus('cp-3', 'r', 'done', lease), LeaseLostError);
    assert.equal(await checkpoints.status('cp-3'), 'protecting');
  });

  it('reports a lease valid after renewal and stale once the validity window passes', async () => {
    const l = await leases.acquire('cp-4', 'run-4');
    assert.equal((await leases.check('cp-4', l.token)).state, 'valid');
    assert.equal((await leases.check('cp-4', '999999')).state, 'superseded');
    const stale = await eventually('the lease to go stale', async () => {
      const s = await leases.check('cp-4');
      return s.state === 'stale' ? s : undefined;
    });
    assert.ok((stale.ageMs ?? 0) > SHORT.validityWindowMs);
    await leases.renew(l);
    assert.equal((await leases.check('cp-4', l.token)).state, 'valid');
  });
});
