import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RedisKeys } from './keys';

/**
 * The bank's owner id (Karbor's `get_owner_id`): made once per bank, then the same for every
 * worker that uses that bank.
 */
export async function getOwnerId(redis: Redis, prefix: string): Promise<string> {
  const key = new RedisKeys(prefix).owner;
  await redis.set(key, randomUUID(), 'NX');
  const owner = await redis.get(key);
  if (!owner) throw new Error(`bank owner id vanished from ${key}`);
  return owner;
}
