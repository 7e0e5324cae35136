import type { Redis } from 'ioredis';
import { RedisKeys } from './keys';
import { bankScripts } from './scripts';
import type { BankScripts } from './scripts';

const LOCK_TTL_MS = 30_000;
const BATCH = 500;

/**
 * Reference tracking for a provider's chunk store: which checkpoint resources use which
 * chunks. A chunk is claimed before its file is checked or written and released when a
 * checkpoint is deleted. Releasing removes nothing: the chunk is recorded as free, and
 * garbage collection removes its file after a grace period, under a short lock, so a
 * concurrent protect waits instead of reusing a file about to vanish.
 */
export class ChunkRefs {
  private readonly keys: RedisKeys;
  private readonly scripts: BankScripts;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
    this.scripts = bankScripts(redis);
  }

  /** Claims chunks for an owner, waiting out any removal in progress. */
  async claim(providerId: string, owner: string, hashes: string[]): Promise<void> {
    let pending = [...new Set(hashes)];
    for (let round = 0; pending.length > 0; round++) {
      const waiting: string[] = [];
      for (let i = 0; i < pending.length; i += BATCH) {
        const batch = pending.slice(i, i + BATCH);
        const reply = (await this.scripts.claimChunks(
          [this.keys.chunksOwned(providerId, owner)],
          [
            this.keys.chunkRefs(providerId),
            this.keys.chunkLocks(providerId),
            owner,
            this.keys.chunksOwned(providerId, owner),
            ...batch,
          ],
        )) as string[];
        reply.forEach((r, j) => {
          if (r === 'wait') waiting.push(batch[j]!);
        });
      }
      pending = waiting;
      if (pending.length > 0) {
        if (round > 600) throw new Error(`chunks stayed locked for removal: ${pending[0]}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Releases an owner's chunks; returns how many nobody uses any more (now free). */
  async release(providerId: string, owner: string, hashes: string[]): Promise<number> {
    const unique = [...new Set(hashes)];
    let freed = 0;
    for (let i = 0; i < unique.length; i += BATCH) {
      const [, n] = await this.scripts.releaseChunks(
        [this.keys.chunksOwned(providerId, owner)],
        [
          this.keys.chunkRefs(providerId),
          this.keys.chunkFree(providerId),
          owner,
          this.keys.chunksOwned(providerId, owner),
          ...unique.slice(i, i + BATCH),
        ],
      );
      freed += Number(n);
    }
    return freed;
  }

  /**
   * Of the given chunk files (hash, mtime), those garbage collection may remove: unused and
   * free since before `cutoffMs`. Unless `dryRun`, they come back locked: remove the files,
   * then `unlock`.
   */
  async sweep(
    providerId: string,
    files: { hash: string; mtimeMs: number }[],
    cutoffMs: number,
    dryRun = false,
  ): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < files.length; i += BATCH) {
      const reply = (await this.scripts.sweepChunks(
        [this.keys.chunkFree(providerId)],
        [
          this.keys.chunkRefs(providerId),
          this.keys.chunkLocks(providerId),
          this.keys.chunkFree(providerId),
          Math.floor(cutoffMs),
          LOCK_TTL_MS,
          dryRun ? '1' : '0',
          ...files.slice(i, i + BATCH).flatMap((f) => [f.hash, Math.floor(f.mtimeMs)]),
        ],
      )) as string[];
      out.push(...reply);
    }
    return out;
  }

  async unlock(providerId: string, hashes: string[]): Promise<void> {
    for (let i = 0; i < hashes.length; i += BATCH) {
      const keys = hashes.slice(i, i + BATCH).map((h) => this.keys.chunkLocks(providerId) + h);
      if (keys.length) await this.redis.del(...keys);
    }
  }

  /** Every chunk the owner still claims, whichever attempt claimed it. */
  async ownedBy(providerId: string, owner: string): Promise<string[]> {
    return this.redis.smembers(this.keys.chunksOwned(providerId, owner));
  }

  async owners(providerId: string, hash: string): Promise<string[]> {
    return this.redis.smembers(this.keys.chunkRefs(providerId) + hash);
  }
}
