// Which hosts have Karbor workers, as the workers say themselves: each announces its host
// (KARBOR_WORKER_HOST), build and identity when it starts and every minute after. Clients use
// it to ask every host for its instances; nothing depends on it for correctness.
import type { Redis } from 'ioredis';
import { isHostName } from '../graph/host-pinning';
import { RedisKeys } from './keys';

export interface WorkerAnnouncement {
  host: string;
  identity: string;
  build_id: string;
  seen_at_ms: number;
}

/** How often a running worker announces itself. */
export const ANNOUNCE_EVERY_MS = 60_000;
/** A host whose workers said nothing for this long is taken as gone. */
export const HOST_GONE_AFTER_MS = 10 * 60_000;

export class WorkerRegistry {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  async announce(a: Omit<WorkerAnnouncement, 'seen_at_ms'>, nowMs = Date.now()): Promise<void> {
    const entry: WorkerAnnouncement = { ...a, seen_at_ms: nowMs };
    await this.redis.hset(this.keys.workers, a.identity, JSON.stringify(entry));
  }

  async withdraw(identity: string): Promise<void> {
    await this.redis.hdel(this.keys.workers, identity);
  }

  /** Workers heard from recently, newest first; older entries are dropped as they are seen. */
  async recent(nowMs = Date.now()): Promise<WorkerAnnouncement[]> {
    const all = await this.redis.hgetall(this.keys.workers).catch((err: Error) => {
      throw new Error(`bank key ${this.keys.workers} (the worker list): ${err.message}`);
    });
    const live: WorkerAnnouncement[] = [];
    const stale: string[] = [];
    for (const [identity, raw] of Object.entries(all)) {
      let a: WorkerAnnouncement | undefined;
      try {
        a = JSON.parse(raw) as WorkerAnnouncement;
      } catch {
        a = undefined;
      }
      // Only well-formed, recent entries count: a malformed or future-dated one (written by
      // something other than a worker) is dropped like a stale one.
      const fresh =
        a !== undefined &&
        typeof a.host === 'string' &&
        isHostName(a.host) &&
        typeof a.seen_at_ms === 'number' &&
        Number.isFinite(a.seen_at_ms) &&
        a.seen_at_ms <= nowMs + 60_000 &&
        nowMs - a.seen_at_ms < HOST_GONE_AFTER_MS;
      if (fresh) live.push({ ...a!, host: a!.host.toLowerCase() });
      else stale.push(identity);
    }
    if (stale.length > 0) await this.redis.hdel(this.keys.workers, ...stale);
    return live.sort((x, y) => y.seen_at_ms - x.seen_at_ms);
  }

  /** The hosts of recent workers, sorted. */
  async hosts(nowMs = Date.now()): Promise<string[]> {
    return [...new Set((await this.recent(nowMs)).map((a) => a.host))].sort();
  }
}
