import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { RedisKeys } from '../../bank/keys';
import { HOST_GONE_AFTER_MS, WorkerRegistry } from '../../bank/worker-registry';
import { isolatedBank } from '../support/env';

describe('the worker list in the bank', () => {
  let redis: Redis | undefined;
  after(() => redis?.disconnect());

  it('lists recent hosts, and drops stale, malformed or planted entries', async () => {
    const bank = await isolatedBank('workers');
    redis = bank.redis;
    const registry = new WorkerRegistry(bank.redis, bank.prefix);
    const now = Date.UTC(2026, 10, 26);
    await registry.announce({ host: 'web-1', identity: '1@web-1', build_id: 'b' }, now);
    await registry.announce({ host: 'db-7', identity: '2@db-7', build_id: 'b' }, now - 1000);
    await registry.announce(
      { host: 'gone', identity: '3@gone', build_id: 'b' },
      now - HOST_GONE_AFTER_MS - 1,
    );
    const key = new RedisKeys(bank.prefix).workers;
    await bank.redis.hset(
      key,
      'planted-path',
      JSON.stringify({ host: '../etc', identity: 'x', build_id: 'b', seen_at_ms: now }),
      'planted-future',
      JSON.stringify({ host: 'ghost', identity: 'y', build_id: 'b', seen_at_ms: 9e99 }),
      'planted-string',
      JSON.stringify({ host: 'ghost', identity: 'z', build_id: 'b', seen_at_ms: 'soon' }),
      'not-json',
      '{',
    );
    assert.deepEqual(await registry.hosts(now), ['db-7', 'web-1']);
    assert.deepEqual(Object.keys(await bank.redis.hgetall(key)).sort(), ['1@web-1', '2@db-7']);
    await registry.withdraw('1@web-1');
    assert.deepEqual(await registry.hosts(now), ['db-7']);
  });
});
