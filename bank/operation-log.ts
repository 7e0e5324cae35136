import type { Redis } from 'ioredis';
import { RedisKeys } from './keys';

/** One line of an operation's log: a hook of a resource started, ended or failed. */
export interface OperationEvent {
  ts: string;
  operation: string;
  resource_id: string;
  resource_type: string;
  hook: string;
  event: 'start' | 'end' | 'error';
  attempt: number;
  error?: string;
}

/** Bounded so a runaway retry loop cannot fill Redis. */
export const OPERATION_LOG_MAX = 200_000;

/**
 * Per-operation event log in a Redis stream (a checkpoint's protect, delete and verify share
 * the checkpoint's stream; a restore has its own). Removed with the checkpoint.
 */
export class OperationLog {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  async append(logId: string, event: OperationEvent): Promise<void> {
    await this.redis.xadd(
      this.keys.operationLog(logId),
      'MAXLEN',
      '~',
      OPERATION_LOG_MAX,
      '*',
      'e',
      JSON.stringify(event),
    );
  }

  async read(logId: string): Promise<OperationEvent[]> {
    const entries = await this.redis.xrange(this.keys.operationLog(logId), '-', '+');
    return entries.map(([, fields]) => JSON.parse(fields[1] ?? '{}') as OperationEvent);
  }

  async remove(logId: string): Promise<void> {
    await this.redis.del(this.keys.operationLog(logId));
  }
}
