import { Redis } from 'ioredis';
import { ServiceUnreachableError } from './errors';

/**
 * Opens a Redis connection and proves it works before returning, so a worker or CLI started
 * against a dead Redis fails at once with the address in the message instead of hanging.
 * Once connected, ioredis reconnects on its own after blips.
 */
export async function connectRedis(url: string, connectionName: string): Promise<Redis> {
  let connected = false;
  const redis = new Redis(url, {
    lazyConnect: true,
    connectionName,
    connectTimeout: 5000,
    maxRetriesPerRequest: 20,
    // Before the first connection: give up at once. After: keep retrying with backoff.
    retryStrategy: (attempt) => (connected ? Math.min(attempt * 100, 2000) : null),
  });
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

/** Hides a password in a redis:// URL before it reaches a log line. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):([^@/]*)@/, '//$1:***@');
}
