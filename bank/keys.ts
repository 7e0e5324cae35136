import { createHash } from 'node:crypto';
import { InvalidKeyError } from '../common/errors';

const KEY_CHARS = /^[A-Za-z0-9/_.\-@]+$/;
const PREFIX_CHARS = /^[A-Za-z0-9_.-]+$/;
export const MAX_KEY_LENGTH = 1024;

/**
 * Refuses any bank key that could escape its section or confuse listing: characters outside
 * the design's set, a trailing slash, empty, `.` or `..` segments, or absurd length.
 */
export function validateKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidKeyError(String(key), 'empty');
  if (key.length > MAX_KEY_LENGTH) {
    throw new InvalidKeyError(key, `longer than ${MAX_KEY_LENGTH} characters`);
  }
  if (!KEY_CHARS.test(key)) {
    throw new InvalidKeyError(key, 'only A-Z a-z 0-9 / _ . - @ are allowed');
  }
  if (key.endsWith('/')) throw new InvalidKeyError(key, 'must not end with /');
  const segments = key.split('/');
  segments.forEach((segment, i) => {
    if (segment === '.' || segment === '..') {
      throw new InvalidKeyError(key, `segment "${segment}" is not allowed`);
    }
    if (segment === '' && i !== 0) throw new InvalidKeyError(key, 'empty path segment');
  });
  return key;
}

/** Joins a section prefix and a relative key into one bank key. */
export function joinKey(prefix: string, key: string): string {
  if (prefix === '') return key;
  return `${prefix.replace(/\/+$/, '')}/${key.replace(/^\/+/, '')}`;
}

/**
 * Every Redis key of one bank, built in one place. All carry the hash tag `{prefix}` so a
 * bank's Lua scripts touch a single Redis Cluster slot.
 */
export class RedisKeys {
  readonly tag: string;

  constructor(readonly prefix: string) {
    if (!PREFIX_CHARS.test(prefix)) {
      throw new InvalidKeyError(prefix, 'bank prefix may use only A-Z a-z 0-9 _ . -');
    }
    this.tag = `{${prefix}}`;
  }

  /** The JSON body of a bank object. */
  object(key: string): string {
    return `${this.tag}:obj:${key}`;
  }

  /** Sorted set (all scores 0) of every object key, for lexicographic paging. */
  get objectIndex(): string {
    return `${this.tag}:objects`;
  }

  /** Hash of a checkpoint's live fields: status, reason, per-resource status. */
  checkpointState(checkpointId: string): string {
    return `${this.tag}:cpstate:${checkpointId}`;
  }

  lease(checkpointId: string): string {
    return `${this.tag}:lease:${checkpointId}`;
  }

  fence(checkpointId: string): string {
    return `${this.tag}:fence:${checkpointId}`;
  }

  get owner(): string {
    return `${this.tag}:owner`;
  }

  operationLog(operationId: string): string {
    return `${this.tag}:oplog:${operationId}`;
  }

  /** Set once a workflow run is stopping (failed for good, or cancelled): no hook starts. */
  stopFlag(runId: string): string {
    return `${this.tag}:stop:${runId}`;
  }

  restoreState(restoreId: string): string {
    return `${this.tag}:rsstate:${restoreId}`;
  }

  /** Stored-plan records need no live state; a key that is never written. */
  get noState(): string {
    return `${this.tag}:nostate`;
  }

  /** The plan an operation was started with, kept until its checkpoint holds it. */
  operationPlan(checkpointId: string): string {
    return `${this.tag}:opplan:${checkpointId}`;
  }

  /** Who uses a chunk of a provider's chunk store (set of owners), by chunk hash. */
  chunkRefs(providerId: string): string {
    return `${this.tag}:chunkrefs:${providerId}:`;
  }

  /** Chunks nobody uses (sorted set: hash -> free since, ms), for garbage collection. */
  chunkFree(providerId: string): string {
    return `${this.tag}:chunkfree:${providerId}`;
  }

  /** Checkpoints in `protecting` or `deleting` (sorted set: id -> last change, ms). */
  get activeCheckpoints(): string {
    return `${this.tag}:active:checkpoints`;
  }

  /** Restores `in_progress` (sorted set: id -> last change, ms). */
  get activeRestores(): string {
    return `${this.tag}:active:restores`;
  }

  /** Plans left for protects that have not finished (sorted set: checkpoint id -> ms). */
  get operationPlans(): string {
    return `${this.tag}:opplans`;
  }

  /** Every chunk one owner (a checkpoint resource) has claimed, by any attempt. */
  chunksOwned(providerId: string, owner: string): string {
    return `${this.tag}:owned:${providerId}:${owner}`;
  }

  /** Held while an unreferenced chunk's file is being removed. */
  chunkLocks(providerId: string): string {
    return `${this.tag}:chunklock:${providerId}:`;
  }

  /**
   * A repository's index (hash: blob id -> "pack type offset length raw"), by repository
   * id: every provider and copy that shares a repository shares its index.
   */
  packIndex(repositoryId: string): string {
    return `${this.tag}:packindex:${repositoryId}`;
  }

  /**
   * Packs being written and not yet indexed (sorted set: pack id -> ms), so prune leaves
   * them alone however short its grace period.
   */
  packsPending(repositoryId: string): string {
    return `${this.tag}:packpending:${repositoryId}`;
  }

  /** Held while a repository is created on first use (by a hash of its place). */
  repositoryInit(placeHash: string): string {
    return `${this.tag}:repoinit:${placeHash}`;
  }

  /** Provider documents published by workers (hash: id -> JSON). */
  get providers(): string {
    return `${this.tag}:providers`;
  }

  /** Protectable types published by workers (hash: type -> JSON). */
  get protectables(): string {
    return `${this.tag}:protectables`;
  }

  /** Workers that announced themselves (hash: identity -> JSON with host, build, time). */
  get workers(): string {
    return `${this.tag}:workers`;
  }
}

/** Bank object keys of the checkpoint layout (Karbor's). */
export const bankPaths = {
  checkpointDir: (id: string) => `/checkpoints/${id}`,
  checkpointIndex: (id: string) => `/checkpoints/${id}/index.json`,
  byProvider: (provider: string, project: string, ts: number, id: string) =>
    `/indices/by-provider/${provider}/${project}/${tsKey(ts)}@${id}`,
  byDate: (date: string, project: string, ts: number, id: string) =>
    `/indices/by-date/${date}/${project}/${tsKey(ts)}@${id}`,
  byPlan: (plan: string, project: string, date: string, ts: number, id: string) =>
    `/indices/by-plan/${plan}/${project}/${date}/${tsKey(ts)}@${id}`,
  restore: (id: string) => `/restores/${id}/index.json`,
  restoresByProject: (project: string, ts: number, id: string) =>
    `/indices/restores/${project}/${tsKey(ts)}@${id}`,
};

/** Above every character a key may hold, so `[prefix` … `[prefix\x7f` spans the prefix. */
export const KEY_CEILING = '\x7f';

/** Zero-padded so lexicographic order is time order. */
export function tsKey(ts: number): string {
  return String(Math.floor(ts)).padStart(12, '0');
}

/**
 * A resource's folder name in the bank. Resource ids hold characters keys cannot (`:` in
 * `host:port/db`, `/` in paths), so type and id are base64url-encoded: the alphabet fits
 * the bank's key characters and two resources never share a folder. Very long ids are
 * hashed instead so keys stay short.
 */
export function resourceSectionName(r: { type: string; id: string }): string {
  const raw = `${r.type}\u0000${r.id}`;
  const encoded = Buffer.from(raw, 'utf8').toString('base64url');
  return encoded.length <= 200 ? encoded : `h-${createHash('sha256').update(raw).digest('hex')}`;
}

/** Where a resource's protected data lives inside its checkpoint. */
export function resourceDataPrefix(checkpointId: string, r: { type: string; id: string }): string {
  return `/checkpoints/${checkpointId}/resources/${resourceSectionName(r)}`;
}
