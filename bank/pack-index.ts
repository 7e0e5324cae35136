// A repository's index in the bank: blob id → where its pack holds it. The worker never
// loads it whole: protect asks for the ids it has just cut, restore for those it reads.
import type { Redis } from 'ioredis';
import type { PackEntry } from '../repository/pack';
import type { BlobLocation, PackIndex } from '../repository/repository';
import { RedisKeys } from './keys';
import { writeDurably } from './replica-wait';
import { bankScripts } from './scripts';
import type { BankScripts } from './scripts';

const BATCH = 1000;
const TYPES = new Set(['data', 'tree']);

function encode(pack: string, e: PackEntry): string {
  return `${pack} ${e.type} ${e.offset} ${e.length} ${e.raw}`;
}

/** A stored location; undefined for anything malformed (a planted value finds nothing). */
function decode(value: string | null): BlobLocation | undefined {
  if (value === null) return undefined;
  const [pack, type, offset, length, raw] = value.split(' ');
  const nums = [offset, length, raw].map(Number);
  if (!pack || !/^[0-9a-f]{64}$/.test(pack) || !TYPES.has(type ?? '')) return undefined;
  if (!nums.every((n) => Number.isSafeInteger(n) && n >= 0)) return undefined;
  return {
    pack,
    type: type as BlobLocation['type'],
    offset: nums[0]!,
    length: nums[1]!,
    raw: nums[2]!,
  };
}

export class RedisPackIndex implements PackIndex {
  private readonly key: string;
  private readonly keys: RedisKeys;
  private readonly pending: string;
  private readonly scripts: BankScripts;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    repositoryId: string,
  ) {
    const keys = new RedisKeys(prefix);
    this.keys = keys;
    this.key = keys.packIndex(repositoryId);
    this.pending = keys.packsPending(repositoryId);
    this.scripts = bankScripts(redis);
  }

  async lookup(ids: string[]): Promise<(BlobLocation | undefined)[]> {
    const out: (BlobLocation | undefined)[] = [];
    for (let i = 0; i < ids.length; i += BATCH) {
      const values = await this.redis.hmget(this.key, ...ids.slice(i, i + BATCH));
      for (const v of values) out.push(decode(v));
    }
    return out;
  }

  /**
   * HSETNX per blob (each entry stands alone: its pack is already durable), then, where the
   * primary has a replica, a WAIT that covers them all before the pack counts as indexed.
   */
  async addPack(pack: string, entries: PackEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += BATCH) {
      const pipeline = this.redis.pipeline();
      for (const e of entries.slice(i, i + BATCH)) pipeline.hsetnx(this.key, e.id, encode(pack, e));
      for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
    }
    // Indexed: the pack is no longer pending (only now may prune judge its blobs).
    await writeDurably(
      this.redis,
      (p) => p.zrem(this.pending, pack),
      `index of pack ${pack}`,
      this.key,
    );
  }

  /** Before a pack is written: prune must leave it alone until it is indexed. */
  async beginPack(pack: string): Promise<void> {
    await writeDurably(
      this.redis,
      (p) => p.zadd(this.pending, Date.now(), pack),
      `pack ${pack} pending`,
      this.key,
    );
  }

  /** Since when a pack has been pending (ms), or undefined when it is not. */
  async pendingSince(pack: string): Promise<number | undefined> {
    const score = await this.redis.zscore(this.pending, pack);
    return score === null ? undefined : Number(score);
  }

  /** Drops a pending mark a dead writer left. */
  async forgetPending(pack: string): Promise<void> {
    await this.redis.zrem(this.pending, pack);
  }

  /**
   * Moves blobs of `from` to `to` (same offsets as in `moved`) and drops `dropped`, each
   * only while its entry still points into `from`.
   */
  async move(
    from: string,
    moved: { old: PackEntry; now: PackEntry; to: string }[],
    dropped: PackEntry[],
    /** Whose claims keep a dropped entry (the provider the pruned chunks belong to). */
    claimsOf?: string,
  ): Promise<number> {
    const refs = claimsOf === undefined ? '' : this.keys.chunkRefs(claimsOf);
    const args: string[] = [];
    for (const m of moved) args.push(m.old.id, encode(from, m.old), encode(m.to, m.now));
    for (const d of dropped) args.push(d.id, encode(from, d), '');
    let changed = 0;
    for (let i = 0; i < args.length; i += BATCH * 3) {
      const [, n] = await this.scripts.moveBlobs(
        [this.key],
        [refs, ...args.slice(i, i + BATCH * 3)],
      );
      changed += Number(n);
    }
    return changed;
  }

  /** Every indexed blob, a page at a time (HSCAN: maintenance only, never a user listing). */
  async *entries(): AsyncGenerator<{ id: string; at: BlobLocation | undefined; raw: string }> {
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.key, cursor, 'COUNT', 1000);
      for (let i = 0; i + 1 < flat.length; i += 2) {
        yield { id: flat[i]!, at: decode(flat[i + 1]!), raw: flat[i + 1]! };
      }
      cursor = next;
    } while (cursor !== '0');
  }

  /** How many blobs are indexed. */
  async size(): Promise<number> {
    return this.redis.hlen(this.key);
  }
}
