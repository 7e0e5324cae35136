import type { Redis } from 'ioredis';
import { RedisKeys, validateKey } from './keys';
import { bankScripts } from './scripts';
import type { BankScripts } from './scripts';

/**
 * Small documents with indexes, written and removed atomically (restore records, stored
 * plans): the shared mechanics of create-record / delete-record.
 */
export class RecordStore {
  readonly keys: RedisKeys;
  private readonly scripts: BankScripts;

  constructor(
    readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
    this.scripts = bankScripts(redis);
  }

  /** True when created; false when the document already existed (nothing written). */
  async create(
    docPath: string,
    doc: unknown,
    stateKey: string,
    initialStatus: string,
    indexPaths: string[],
    indexBody: unknown,
    /** An index of unfinished operations the new record joins. */
    unfinished?: { key: string; id: string },
  ): Promise<boolean> {
    validateKey(docPath);
    indexPaths.forEach(validateKey);
    const created = (await this.scripts.createRecord(
      [
        this.keys.objectIndex,
        this.keys.object(docPath),
        stateKey,
        unfinished?.key ?? this.keys.noState,
        ...indexPaths.map((p) => this.keys.object(p)),
      ],
      [
        docPath,
        JSON.stringify(doc),
        initialStatus,
        JSON.stringify(indexBody),
        unfinished?.id ?? '',
        ...indexPaths,
      ],
    )) as unknown as number;
    return created === 1;
  }

  async remove(docPath: string, stateKey: string, indexPaths: string[]): Promise<boolean> {
    const existed = (await this.scripts.deleteRecord(
      [
        this.keys.objectIndex,
        this.keys.object(docPath),
        stateKey,
        ...indexPaths.map((p) => this.keys.object(p)),
      ],
      [docPath, ...indexPaths],
    )) as unknown as number;
    return existed === 1;
  }

  async read<T>(docPath: string): Promise<T | undefined> {
    const body = await this.redis.get(this.keys.object(validateKey(docPath)));
    return body === null ? undefined : (JSON.parse(body) as T);
  }
}
