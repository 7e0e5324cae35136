import type { Redis } from 'ioredis';
import {
  InvalidArgumentError,
  InvalidStatusTransitionError,
  RestoreNotFoundError,
} from '../common/errors';
import type { SortDir } from './bank';
import type { Caller } from './checkpoint-collection';
import { bankPaths, KEY_CEILING as CEILING } from './keys';
import { checkLimit, lexRange } from './redis-bank';
import { RecordStore } from './records';
import { bankScripts } from './scripts';
import type { BankScripts } from './scripts';

export type RestoreStatus = 'in_progress' | 'success' | 'failure';

/** Karbor's restore record. */
export interface RestoreRecord {
  id: string;
  project_id: string;
  provider_id: string;
  checkpoint_id: string;
  restore_target: Record<string, string>;
  /**
   * Where every resource of the checkpoint goes, as checked when the restore began (its
   * target, or its own id: in place). Hooks refuse a resource that is not here.
   */
  destinations?: Record<string, string>;
  parameters: Record<string, Record<string, unknown>>;
  status: RestoreStatus;
  resources_status: Record<string, string>;
  resources_reason: Record<string, string>;
  created_at: string;
  reason?: string;
}

type StoredRestore = Omit<
  RestoreRecord,
  'status' | 'resources_status' | 'resources_reason' | 'reason'
> & {
  timestamp: number;
};

export interface NewRestore {
  id: string;
  projectId: string;
  providerId: string;
  checkpointId: string;
  restoreTarget: Record<string, string>;
  destinations: Record<string, string>;
  parameters: Record<string, Record<string, unknown>>;
  createdAtMs: number;
}

/** Restore records: immutable document + live state hash, indexed by project and time. */
export class RestoreCollection {
  private readonly records: RecordStore;
  private readonly scripts: BankScripts;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.records = new RecordStore(redis, prefix);
    this.scripts = bankScripts(redis);
  }

  /** Creates the record `in_progress`; a repeat with the same id is a no-op. */
  async create(r: NewRestore): Promise<RestoreRecord> {
    const ts = Math.floor(r.createdAtMs / 1000);
    const doc: StoredRestore = {
      id: r.id,
      project_id: r.projectId,
      provider_id: r.providerId,
      checkpoint_id: r.checkpointId,
      restore_target: r.restoreTarget,
      destinations: r.destinations,
      parameters: r.parameters,
      created_at: new Date(r.createdAtMs).toISOString().slice(0, 10),
      timestamp: ts,
    };
    await this.records.create(
      bankPaths.restore(r.id),
      doc,
      this.records.keys.restoreState(r.id),
      'in_progress',
      [bankPaths.restoresByProject(r.projectId, ts, r.id)],
      { restore_id: r.id },
      { key: this.records.keys.activeRestores, id: r.id },
    );
    return this.get(r.id);
  }

  async get(id: string, caller?: Caller): Promise<RestoreRecord> {
    const doc = await this.records.read<StoredRestore>(bankPaths.restore(id));
    if (!doc || (caller && !caller.admin && doc.project_id !== caller.projectId)) {
      throw new RestoreNotFoundError(id);
    }
    return compose(doc, await this.redis.hgetall(this.records.keys.restoreState(id)));
  }

  /** Restores still `in_progress`, oldest first (the index the Lua scripts keep). */
  async listUnfinished(limit = 10_000): Promise<string[]> {
    return this.redis.zrange(this.records.keys.activeRestores, 0, limit - 1);
  }

  /** Drops an index entry whose record is gone. */
  async forgetUnfinished(id: string): Promise<void> {
    await this.redis.zrem(this.records.keys.activeRestores, id);
  }

  async transition(id: string, to: RestoreStatus, reason = ''): Promise<void> {
    const [outcome, actual] = await this.scripts.transitionStatus(
      [
        this.records.keys.restoreState(id),
        this.records.keys.lease('-'),
        this.records.keys.activeRestores,
      ],
      [to, reason, '', id, to === 'in_progress' ? '1' : '0', 'in_progress'],
    );
    if (outcome === 'missing') throw new RestoreNotFoundError(id);
    if (outcome === 'conflict') {
      throw new InvalidStatusTransitionError(id, actual ?? '?', ['in_progress'], to);
    }
  }

  async setResourceStatus(
    id: string,
    resourceId: string,
    status: string,
    reason = '',
  ): Promise<void> {
    const [outcome] = await this.scripts.setResourceStatus(
      [this.records.keys.restoreState(id), this.records.keys.lease('-')],
      [resourceId, status, '', reason],
    );
    if (outcome === 'missing') throw new RestoreNotFoundError(id);
  }

  /** The caller's restores (all projects for an admin asking for all), newest first. */
  async list(
    caller: Caller,
    opts: { marker?: string; limit?: number; sortDir?: SortDir; allTenants?: boolean } = {},
  ): Promise<RestoreRecord[]> {
    const limit = checkLimit(opts.limit ?? 100);
    const base =
      opts.allTenants && caller.admin
        ? '/indices/restores/'
        : `/indices/restores/${caller.projectId}/`;
    let after: string | undefined;
    if (opts.marker !== undefined) {
      const m = await this.records.read<StoredRestore>(bankPaths.restore(opts.marker));
      if (!m) throw new InvalidArgumentError(`marker ${opts.marker} is not a restore`);
      after = bankPaths.restoresByProject(m.project_id, m.timestamp, m.id);
    }
    const keys = await lexRange(this.redis, this.records.keys.objectIndex, {
      lo: base,
      hi: base + CEILING,
      limit,
      sortDir: opts.sortDir ?? 'desc',
      ...(after !== undefined ? { after } : {}),
    });
    const out: RestoreRecord[] = [];
    for (const k of keys) {
      try {
        out.push(await this.get(k.slice(k.lastIndexOf('@') + 1)));
      } catch (err) {
        if (!(err instanceof RestoreNotFoundError)) throw err;
      }
    }
    return out;
  }
}

function compose(doc: StoredRestore, state: Record<string, string>): RestoreRecord {
  const { timestamp: _ts, ...rest } = doc;
  const out: RestoreRecord = {
    ...rest,
    status: (state.status ?? 'failure') as RestoreStatus,
    resources_status: {},
    resources_reason: {},
  };
  for (const [field, value] of Object.entries(state)) {
    if (field.startsWith('r:')) out.resources_status[field.slice(2)] = value;
    else if (field.startsWith('e:')) out.resources_reason[field.slice(2)] = value;
  }
  if (state.reason) out.reason = state.reason;
  return out;
}
