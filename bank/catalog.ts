import type { Redis } from 'ioredis';
import { ProviderNotFoundError, UnknownResourceTypeError } from '../common/errors';
import { RedisKeys } from './keys';

/** `protectable show`'s document. */
export interface ProtectableDocument {
  name: string;
  description: string;
  dependent_types: string[];
  /** Instances live on one host each: listed per host, protected by that host's workers. */
  host_pinned?: boolean;
}

/**
 * What workers publish at start so clients anywhere can answer list_providers and the
 * protectable listings without the workers' configuration files.
 */
export class Catalog<P extends { id: string }> {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  /** Replaces the published providers and protectables in one step. */
  async publish(providers: P[], protectables: ProtectableDocument[]): Promise<void> {
    const multi = this.redis.multi().del(this.keys.providers, this.keys.protectables);
    if (providers.length > 0) {
      multi.hset(this.keys.providers, ...providers.flatMap((p) => [p.id, JSON.stringify(p)]));
    }
    if (protectables.length > 0) {
      multi.hset(
        this.keys.protectables,
        ...protectables.flatMap((p) => [p.name, JSON.stringify(p)]),
      );
    }
    await multi.exec();
  }

  async providers(): Promise<P[]> {
    const all = await this.redis.hgetall(this.keys.providers);
    return Object.values(all)
      .map((v) => JSON.parse(v) as P)
      .sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async provider(id: string): Promise<P> {
    const v = await this.redis.hget(this.keys.providers, id);
    if (v === null) throw new ProviderNotFoundError(id);
    return JSON.parse(v) as P;
  }

  async protectables(): Promise<ProtectableDocument[]> {
    const all = await this.redis.hgetall(this.keys.protectables);
    return Object.values(all)
      .map((v) => JSON.parse(v) as ProtectableDocument)
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async protectable(type: string): Promise<ProtectableDocument> {
    const v = await this.redis.hget(this.keys.protectables, type);
    if (v === null) throw new UnknownResourceTypeError(`unknown protectable type ${type}`);
    return JSON.parse(v) as ProtectableDocument;
  }
}
