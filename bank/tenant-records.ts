import type { Redis } from 'ioredis';
import type { Caller } from './checkpoint-collection';
import { KEY_CEILING, validateKey } from './keys';
import { lexRange } from './redis-bank';
import { RecordStore } from './records';

/**
 * Documents that belong to a project (triggers, scheduled operations): `/<kind>/<id>.json`,
 * indexed under `/indices/<kind>/<project>/<id>`, created and removed with their index in one
 * step. A caller sees only its project's (an admin every project's).
 */
export class TenantRecords<T extends { id: string; project_id: string }> {
  private readonly records: RecordStore;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly kind: string,
    private readonly notFound: (id: string) => Error,
  ) {
    this.records = new RecordStore(redis, prefix);
  }

  private path(id: string): string {
    return validateKey(`/${this.kind}/${id}.json`);
  }

  private index(project: string, id: string): string {
    return `/indices/${this.kind}/${project}/${id}`;
  }

  /** False when one with that id exists already (nothing written). */
  async create(doc: T): Promise<boolean> {
    return this.records.create(
      this.path(doc.id),
      doc,
      this.records.keys.noState,
      '',
      [this.index(doc.project_id, doc.id)],
      { id: doc.id },
    );
  }

  async get(id: string, caller?: Caller): Promise<T> {
    const doc = await this.records.read<T>(this.path(id));
    if (!doc || (caller && !caller.admin && doc.project_id !== caller.projectId)) {
      throw this.notFound(id);
    }
    return doc;
  }

  /** Rewrites a document that exists (same id and project: its index stays right). */
  async replace(doc: T): Promise<void> {
    const written = await this.redis.set(
      this.records.keys.object(this.path(doc.id)),
      JSON.stringify(doc),
      'XX',
    );
    if (written === null) throw this.notFound(doc.id);
  }

  async list(caller: Caller, limit = 1000): Promise<T[]> {
    const base = `/indices/${this.kind}/${caller.projectId}/`;
    const keys = await lexRange(this.redis, this.records.keys.objectIndex, {
      lo: base,
      hi: base + KEY_CEILING,
      limit,
      sortDir: 'asc',
    });
    const out: T[] = [];
    for (const k of keys) {
      const doc = await this.records.read<T>(this.path(k.slice(base.length)));
      if (doc) out.push(doc);
    }
    return out;
  }

  async delete(id: string, caller: Caller): Promise<T> {
    const doc = await this.get(id, caller);
    await this.records.remove(this.path(id), this.records.keys.noState, [
      this.index(doc.project_id, id),
    ]);
    return doc;
  }
}
