import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  InvalidArgumentError,
  InvalidKeyError,
  LeaseLostError,
  ObjectNotFoundError,
} from '../common/errors';
import type { Bank, ListOptions, WriteOptions } from './bank';
import { DEFAULT_LIST_LIMIT } from './bank';
import { KEY_CEILING, RedisKeys, validateKey } from './keys';
import { bankScripts } from './scripts';
import type { BankScripts, ScriptReply } from './scripts';

const PREFIX_CHARS = /^[A-Za-z0-9/_.\-@]*$/;

/**
 * The bank on Redis. Each object is a JSON string; a sorted set of all keys (score 0) gives
 * lexicographic listing in O(log n + page). Writes are Lua scripts that also check the
 * write lease a caller presents.
 */
export class RedisBank implements Bank {
  readonly keys: RedisKeys;
  private readonly scripts: BankScripts;

  constructor(
    readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
    this.scripts = bankScripts(redis);
  }

  async updateObject(key: string, value: unknown, opts: WriteOptions = {}): Promise<void> {
    validateKey(key);
    const body = JSON.stringify(value);
    if (body === undefined) throw new InvalidArgumentError(`value for ${key} is not JSON`);
    const reply = await this.scripts.putObject(
      [this.keys.objectIndex, this.keys.object(key), this.leaseKey(opts)],
      [key, body, opts.lease?.token ?? ''],
    );
    this.checkLease(reply, opts);
  }

  async getObject<T = unknown>(key: string): Promise<T> {
    validateKey(key);
    const body = await this.redis.get(this.keys.object(key));
    if (body === null) throw new ObjectNotFoundError(key);
    return JSON.parse(body) as T;
  }

  async listObjects(prefix: string, opts: ListOptions = {}): Promise<string[]> {
    if (!PREFIX_CHARS.test(prefix)) {
      throw new InvalidKeyError(prefix, 'only A-Z a-z 0-9 / _ . - @ are allowed in a prefix');
    }
    const limit = checkLimit(opts.limit ?? DEFAULT_LIST_LIMIT);
    return lexRange(this.redis, this.keys.objectIndex, {
      lo: prefix,
      hi: prefix + KEY_CEILING,
      limit,
      sortDir: opts.sortDir ?? 'asc',
      ...(opts.marker !== undefined ? { after: opts.marker } : {}),
    });
  }

  async deleteObject(key: string, opts: WriteOptions = {}): Promise<void> {
    validateKey(key);
    const reply = await this.scripts.deleteObject(
      [this.keys.objectIndex, this.keys.object(key), this.leaseKey(opts)],
      [key, opts.lease?.token ?? ''],
    );
    this.checkLease(reply, opts);
  }

  async getOwnerId(): Promise<string> {
    await this.redis.set(this.keys.owner, randomUUID(), 'NX');
    const owner = await this.redis.get(this.keys.owner);
    if (!owner) throw new Error(`bank owner id vanished from ${this.keys.owner}`);
    return owner;
  }

  private leaseKey(opts: WriteOptions): string {
    // Unused by the script when no token is presented, but must still be a key of this bank.
    return this.keys.lease(opts.lease?.checkpointId ?? '-');
  }

  private checkLease(reply: ScriptReply, opts: WriteOptions): void {
    if (reply[0] === 'lease') {
      throw new LeaseLostError(opts.lease?.checkpointId ?? '?', reply[1] ?? 'refused');
    }
  }
}

export function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    throw new InvalidArgumentError(`limit must be a whole number from 1 to 10000, not ${limit}`);
  }
  return limit;
}

export interface LexRange {
  /** Inclusive lower bound (a key prefix or key). */
  lo: string;
  /** Inclusive upper bound. */
  hi: string;
  /** Exclusive start in the listing's direction. */
  after?: string;
  limit: number;
  sortDir: 'asc' | 'desc';
}

/** ZRANGEBYLEX-style bounds for a range in the listing's direction: [from, to]. */
export function lexBounds(r: Omit<LexRange, 'limit'>): [string, string] {
  if (r.sortDir === 'asc') {
    const min = r.after !== undefined && r.after >= r.lo ? `(${r.after}` : `[${r.lo}`;
    return [min, `[${r.hi}`];
  }
  if (r.sortDir !== 'desc') {
    throw new InvalidArgumentError(`sort_dir must be asc or desc, not ${String(r.sortDir)}`);
  }
  const max = r.after !== undefined && r.after <= r.hi ? `(${r.after}` : `[${r.hi}`;
  return [max, `[${r.lo}`];
}

/** One page of a sorted set of keys between two bounds, by ZRANGEBYLEX / ZREVRANGEBYLEX. */
export async function lexRange(redis: Redis, zset: string, r: LexRange): Promise<string[]> {
  const [from, to] = lexBounds(r);
  return r.sortDir === 'asc'
    ? redis.zrangebylex(zset, from, to, 'LIMIT', 0, r.limit)
    : redis.zrevrangebylex(zset, from, to, 'LIMIT', 0, r.limit);
}
