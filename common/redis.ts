import { Cluster, Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { ServiceUnreachableError } from './errors';
import { parseRedisUrl, redactUrl } from './redis-url';

export { redactUrl } from './redis-url';

/**
 * Opens the bank's Redis (one server, a Sentinel group or a Cluster: common/redis-url.ts)
 * and proves it works before returning, so a worker or CLI started against a dead Redis
 * fails at once with the address in the message instead of hanging. Once connected, ioredis
 * reconnects on its own after blips, and after a Sentinel failover to the new primary.
 *
 * A Cluster client is returned as a `Redis`: the bank uses only commands whose keys share
 * one hash tag (scripts, MULTI, pipelines), which a Cluster client routes to one node.
 */
export async function connectRedis(url: string, connectionName: string): Promise<Redis> {
  let connected = false;
  const target = parseRedisUrl(url);
  const common: RedisOptions = {
    lazyConnect: true,
    connectionName,
    connectTimeout: 5000,
    maxRetriesPerRequest: 20,
    // Before the first connection: give up at once. After: keep retrying with backoff.
    retryStrategy: (attempt) => (connected ? Math.min(attempt * 100, 2000) : null),
  };
  const redis: Redis =
    target.kind === 'standalone'
      ? new Redis(url, common)
      : target.kind === 'sentinel'
        ? new Redis({
            ...common,
            sentinels: target.sentinels,
            name: target.name,
            db: target.db,
            ...(target.username ? { username: target.username } : {}),
            ...(target.password !== undefined ? { password: target.password } : {}),
            // Asked again after each lost connection, so a promoted replica is found.
            sentinelRetryStrategy: (attempt) => (connected ? Math.min(attempt * 200, 2000) : null),
            // A primary that was demoted answers READONLY: reconnect to the new one.
            reconnectOnError: (err) => err.message.startsWith('READONLY'),
          })
        : (new Cluster(target.nodes, {
            lazyConnect: true,
            redisOptions: {
              connectionName,
              connectTimeout: 5000,
              ...(target.username ? { username: target.username } : {}),
              ...(target.password !== undefined ? { password: target.password } : {}),
            },
            maxRedirections: 16,
            clusterRetryStrategy: (attempt) => (connected ? Math.min(attempt * 100, 2000) : null),
          }) as unknown as Redis);
  redis.on('error', () => {
    // Reported through the failing commands; an unhandled 'error' event would crash.
  });
  try {
    await redis.connect();
    await redis.ping();
    connected = true;
    return redis;
  } catch (err) {
    redis.disconnect();
    throw new ServiceUnreachableError(
      `cannot reach Redis at ${redactUrl(url)}: ${(err as Error).message}`,
    );
  }
}

/** A Cluster client behind the `Redis` type (see connectRedis). */
export function asCluster(redis: Redis): Cluster | undefined {
  return redis instanceof Cluster ? redis : undefined;
}
