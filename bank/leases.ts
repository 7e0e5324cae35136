import type { Redis } from 'ioredis';
import { LeaseBusyError, LeaseLostError } from '../common/errors';
import type { LeaseToken } from './bank';
import { RedisKeys } from './keys';
import { bankScripts } from './scripts';
import type { BankScripts } from './scripts';

/** Karbor's lease windows; all configurable. */
export interface LeaseSettings {
  /** How long a lease lives without renewal (Redis TTL). */
  expireWindowMs: number;
  /** How often a holder renews (well inside the expire window, so one failed try is harmless). */
  renewWindowMs: number;
  /** How recently a lease must have been renewed for its owner to count as alive. */
  validityWindowMs: number;
}

export const DEFAULT_LEASE_SETTINGS: LeaseSettings = {
  expireWindowMs: 120_000,
  renewWindowMs: 60_000,
  validityWindowMs: 100_000,
};

export type LeaseState = 'valid' | 'stale' | 'expired' | 'superseded';

export interface LeaseStatus {
  state: LeaseState;
  token?: string;
  owner?: string;
  /** Milliseconds since the last renewal, when held. */
  ageMs?: number;
}

/**
 * Write leases on checkpoints: a TTL plus a fencing token from a per-checkpoint counter, so a
 * holder that stalled past expiry can never write over a newer holder's work.
 */
export class LeaseManager {
  private readonly keys: RedisKeys;
  private readonly scripts: BankScripts;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    readonly settings: LeaseSettings = DEFAULT_LEASE_SETTINGS,
  ) {
    this.keys = new RedisKeys(prefix);
    this.scripts = bankScripts(redis);
  }

  /** Takes the lease (or re-takes it when this owner already holds it). */
  async acquire(checkpointId: string, owner: string): Promise<LeaseToken> {
    const [outcome, value] = await this.scripts.leaseAcquire(
      [this.keys.lease(checkpointId), this.keys.fence(checkpointId)],
      [owner, this.settings.expireWindowMs],
    );
    if (outcome === 'busy') throw new LeaseBusyError(checkpointId, value ?? '?');
    return { checkpointId, token: value!, owner };
  }

  /**
   * The token the lease's owner holds now. A retried step carries the token of when it was
   * scheduled, but its owner (the workflow) may since have re-taken a lapsed lease under a
   * new token; the same owner may go on under it. A lapsed lease is re-taken for the owner
   * when `retake` says the checkpoint still wants it. Another owner's lease is never taken:
   * the old token comes back, and the fenced write it presents is refused.
   */
  async currentFor(lease: LeaseToken, retake: () => Promise<boolean>): Promise<LeaseToken> {
    const held = await this.check(lease.checkpointId);
    if (held.state === 'expired') {
      return (await retake()) ? this.acquire(lease.checkpointId, lease.owner) : lease;
    }
    return held.owner === lease.owner ? { ...lease, token: held.token! } : lease;
  }

  async renew(lease: LeaseToken): Promise<void> {
    const [outcome, why] = await this.scripts.leaseRenew(
      [this.keys.lease(lease.checkpointId)],
      [lease.token, this.settings.expireWindowMs],
    );
    if (outcome === 'lease') throw new LeaseLostError(lease.checkpointId, why ?? 'refused');
  }

  /** Drops the lease if this token still holds it; true when it did. */
  async release(lease: LeaseToken): Promise<boolean> {
    const [, n] = await this.scripts.leaseRelease(
      [this.keys.lease(lease.checkpointId)],
      [lease.token],
    );
    return n === '1';
  }

  /**
   * Drops whatever lease a checkpoint has: for garbage collection and reset-state, once the
   * owner's workflow is known to have ended (its token then fences nothing any more).
   */
  async clear(checkpointId: string): Promise<void> {
    await this.redis.del(this.keys.lease(checkpointId));
  }

  async check(checkpointId: string, token = ''): Promise<LeaseStatus> {
    const [state, held, owner, age] = await this.scripts.leaseCheck(
      [this.keys.lease(checkpointId)],
      [this.settings.validityWindowMs, token],
    );
    if (state === 'expired') return { state };
    return { state: state as LeaseState, token: held!, owner: owner!, ageMs: Number(age) };
  }
}
