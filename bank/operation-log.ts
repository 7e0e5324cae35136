import type { Redis } from 'ioredis';
import { RedisKeys } from './keys';
import { bankScripts } from './scripts';
import type { BankScripts } from './scripts';

/**
 * One line of an operation's log: a hook of a resource started, ended or failed, or warned
 * of something it could not do (in `error`) without failing.
 */
export interface OperationEvent {
  ts: string;
  operation: string;
  resource_id: string;
  resource_type: string;
  hook: string;
  event: 'start' | 'end' | 'error' | 'warning';
  attempt: number;
  error?: string;
}

/** Bounded so a runaway retry loop cannot fill Redis. */
export const OPERATION_LOG_MAX = 200_000;
/** A stop flag outlives any run it could concern. */
const STOP_FLAG_TTL_SECONDS = 7 * 24 * 3600;

/**
 * How an event relates to the run's stop flag: a `start` is refused once the run is
 * stopping; a `stop` event (a hook failed for good) sets the flag in the same step.
 */
export interface EventGate {
  runId: string;
  mode: 'start' | 'stop';
}

/**
 * Per-operation event log in a Redis stream (a checkpoint's protect, delete and verify share
 * the checkpoint's stream; a restore has its own). Removed with the checkpoint.
 */
export class OperationLog {
  private readonly keys: RedisKeys;
  private readonly scripts: BankScripts;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
    this.scripts = bankScripts(redis);
  }

  /**
   * Appends an event. With a `start` gate it returns the reason the run is stopping instead
   * (and appends nothing), so no hook starts after a failure or a cancel.
   */
  async append(
    logId: string,
    event: OperationEvent,
    gate?: EventGate,
  ): Promise<string | undefined> {
    const [outcome, why] = await this.scripts.appendEvent(
      [this.keys.operationLog(logId), this.keys.stopFlag(gate?.runId ?? '-')],
      [
        JSON.stringify(event),
        gate?.mode ?? '',
        OPERATION_LOG_MAX,
        STOP_FLAG_TTL_SECONDS,
        event.error ?? 'stopped',
      ],
    );
    return outcome === 'stopped' ? (why ?? 'stopped') : undefined;
  }

  /** Marks a workflow run as stopping: none of its hooks starts after this. */
  async stop(runId: string, why: string): Promise<void> {
    // One command: an earlier reason (a hook's failure) is kept.
    await this.redis.set(this.keys.stopFlag(runId), why, 'EX', STOP_FLAG_TTL_SECONDS, 'NX');
  }

  async read(logId: string): Promise<OperationEvent[]> {
    const entries = await this.redis.xrange(this.keys.operationLog(logId), '-', '+');
    return entries.map(([, fields]) => JSON.parse(fields[1] ?? '{}') as OperationEvent);
  }

  async remove(logId: string): Promise<void> {
    await this.redis.del(this.keys.operationLog(logId));
  }
}
