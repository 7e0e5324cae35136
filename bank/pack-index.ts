// A repository's index in the bank: blob id → where its pack holds it. The worker never
// loads it whole: protect asks for the ids it has just cut, restore for those it reads.
import type { Redis } from 'ioredis';
import type { PackEntry } from '../repository/pack';
import type { BlobLocation, PackIndex } from '../repository/repository';
import { RedisKeys } from './keys';
import { writeDurably } from './replica-wait';

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

  constructor(
    private readonly redis: Redis,
    prefix: string,
    repositoryId: string,
  ) {
    this.key = new RedisKeys(prefix).packIndex(repositoryId);
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
    await writeDurably(this.redis, (p) => p.exists(this.key), `index of pack ${pack}`, this.key);
  }

  /** How many blobs are indexed. */
  async size(): Promise<number> {
    return this.redis.hlen(this.key);
  }
}
