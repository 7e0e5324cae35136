import type { Redis } from 'ioredis';
import type {
  CheckpointDocument,
  CheckpointStatus,
  ProtectionPlanSummary,
} from '../common/documents';
import {
  CheckpointExistsError,
  CheckpointNotFoundError,
  InvalidArgumentError,
  InvalidStatusTransitionError,
  LeaseLostError,
  PermissionDeniedError,
} from '../common/errors';
import type { LeaseToken, SortDir } from './bank';
import { BankSection } from './bank-section';
import type { RedisKeys } from './keys';
import { bankPaths, KEY_CEILING, tsKey, validateKey } from './keys';
import { DEFAULT_LEASE_SETTINGS } from './leases';
import type { LeaseSettings } from './leases';
import { checkLimit, lexBounds, RedisBank } from './redis-bank';
import { bankScripts } from './scripts';
import type { BankScripts, ScriptReply } from './scripts';

export const CHECKPOINT_DOCUMENT_VERSION = 1;
/** How long `show` still answers `deleted` for a purged checkpoint. */
export const TOMBSTONE_TTL_SECONDS = 7 * 24 * 3600;

export interface NewCheckpoint {
  id: string;
  /** The workflow run building it; holds the write lease. */
  leaseOwner: string;
  providerId: string;
  projectId: string;
  plan: ProtectionPlanSummary;
  resourceGraph: unknown;
  extraInfo?: Record<string, unknown>;
  /** Milliseconds since the epoch; taken by the caller so a retried create writes the same. */
  createdAtMs: number;
}

/** Who asks: tenants see their own project's checkpoints; admins may ask for all. */
export interface Caller {
  projectId: string;
  admin?: boolean;
}

export interface ListCheckpointsQuery {
  planId?: string;
  /** YYYY-MM-DD, inclusive (UTC). */
  startDate?: string;
  endDate?: string;
  projectId?: string;
  allTenants?: boolean;
  /** A checkpoint id: the page starts after it. */
  marker?: string;
  limit?: number;
  sortDir?: SortDir;
}

export interface CheckpointPage {
  checkpoints: CheckpointDocument[];
  /** Pass as `marker` for the next page; absent on the last page. */
  next_marker?: string;
}

/** The part of a checkpoint document that never changes after create. */
type StoredDocument = Omit<CheckpointDocument, 'status' | 'resources_status' | 'reason'>;

const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** Statuses whose operation is still under way: kept in the unfinished index. */
export const UNFINISHED: readonly CheckpointStatus[] = ['protecting', 'deleting'];
const DEFAULT_PAGE = 100;

/**
 * Checkpoints in the bank. The immutable document is a bank object; the live fields
 * (status, reason, per-resource status) sit in a hash beside it so that concurrent hooks
 * and status changes never overwrite each other, each change being one Lua call.
 */
export class CheckpointCollection {
  readonly bank: RedisBank;
  private readonly keys: RedisKeys;
  private readonly scripts: BankScripts;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly leaseSettings: LeaseSettings = DEFAULT_LEASE_SETTINGS,
  ) {
    this.bank = new RedisBank(redis, prefix);
    this.keys = this.bank.keys;
    this.scripts = bankScripts(redis);
  }

  /**
   * Creates the checkpoint (status `protecting`) with its indexes under a new write lease,
   * in one atomic step. A repeat by the same lease owner returns the same lease.
   */
  async create(c: NewCheckpoint): Promise<{ document: CheckpointDocument; lease: LeaseToken }> {
    const ts = Math.floor(c.createdAtMs / 1000);
    const date = new Date(c.createdAtMs).toISOString().slice(0, 10);
    const doc: StoredDocument = {
      version: CHECKPOINT_DOCUMENT_VERSION,
      id: c.id,
      owner_id: await this.bank.getOwnerId(),
      provider_id: c.providerId,
      project_id: c.projectId,
      protection_plan: c.plan,
      resource_graph: c.resourceGraph,
      extra_info: c.extraInfo ?? {},
      created_at: date,
      timestamp: ts,
    };
    const docPath = validateKey(bankPaths.checkpointIndex(c.id));
    const indexPaths = indexKeysOf(doc).map(validateKey);
    const [outcome, value] = await this.scripts.createCheckpoint(
      [
        this.keys.objectIndex,
        this.keys.object(docPath),
        this.keys.checkpointState(c.id),
        this.keys.lease(c.id),
        this.keys.fence(c.id),
        this.keys.activeCheckpoints,
        ...indexPaths.map((p) => this.keys.object(p)),
      ],
      [
        docPath,
        JSON.stringify(doc),
        c.leaseOwner,
        this.leaseSettings.expireWindowMs,
        JSON.stringify({ checkpoint_id: c.id }),
        c.id,
        ...indexPaths,
      ],
    );
    if (outcome === 'exists') throw new CheckpointExistsError(c.id);
    return {
      document: await this.get(c.id),
      lease: { checkpointId: c.id, token: value!, owner: c.leaseOwner },
    };
  }

  /** One checkpoint; another tenant's is "not found" unless the caller is an admin. */
  async get(id: string, caller?: Caller): Promise<CheckpointDocument> {
    const [doc] = await this.fetchDocuments([id]);
    if (!doc || (caller && !caller.admin && doc.project_id !== caller.projectId)) {
      throw new CheckpointNotFoundError(id);
    }
    return doc;
  }

  /** A checkpoint addressed through its provider, as Karbor's RPCs do: another's is "not found". */
  async getOf(providerId: string, id: string, caller?: Caller): Promise<CheckpointDocument> {
    const doc = await this.get(id, caller);
    if (doc.provider_id !== providerId) throw new CheckpointNotFoundError(id);
    return doc;
  }

  /** The status alone; `deleted` lingers after a purge for TOMBSTONE_TTL_SECONDS. */
  async status(id: string): Promise<CheckpointStatus | undefined> {
    const s = await this.redis.hget(this.keys.checkpointState(id), 'status');
    return (s ?? undefined) as CheckpointStatus | undefined;
  }

  /**
   * Moves a checkpoint to `to` only if it is in one of `from`; already being in `to` is
   * success, so a retried activity does not fail. With a lease, the change is fenced.
   */
  async transition(
    id: string,
    from: readonly CheckpointStatus[],
    to: CheckpointStatus,
    opts: { reason?: string; lease?: LeaseToken } = {},
  ): Promise<void> {
    const reply = await this.scripts.transitionStatus(
      [this.keys.checkpointState(id), this.keys.lease(id), this.keys.activeCheckpoints],
      [
        to,
        opts.reason ?? '',
        opts.lease?.token ?? '',
        id,
        UNFINISHED.includes(to) ? '1' : '0',
        ...from,
      ],
    );
    this.raise(id, reply, { from, to });
  }

  /**
   * What a finished protect measured, shown in `extra_info` (size_bytes, new_bytes,
   * finished_at_ms). Only while the checkpoint exists: a late write never revives a purged one.
   */
  async recordMeasurements(id: string, values: Record<string, unknown>): Promise<void> {
    const fields = Object.entries(values).flatMap(([k, v]) => [k, JSON.stringify(v)]);
    if (fields.length === 0) return;
    await this.scripts.recordMeasurements([this.keys.checkpointState(id)], fields);
  }

  /** An admin's reset-state: any status but `deleted` becomes `to`, with the reason. */
  async resetState(id: string, to: 'available' | 'error', reason: string): Promise<void> {
    const from: CheckpointStatus[] = [
      'protecting',
      'available',
      'error',
      'deleting',
      'error-deleting',
    ];
    await this.transition(
      id,
      from.filter((s) => s !== to),
      to,
      { reason },
    );
  }

  /**
   * Checkpoints whose operation has not finished (`protecting`, `deleting`), oldest change
   * first, from the index the Lua scripts keep: garbage collection never scans.
   */
  async listUnfinished(limit = 10_000): Promise<string[]> {
    return this.redis.zrange(this.keys.activeCheckpoints, 0, limit - 1);
  }

  /** Drops an index entry whose checkpoint is gone (purged, or lost by the bank). */
  async forgetUnfinished(id: string): Promise<void> {
    await this.redis.zrem(this.keys.activeCheckpoints, id);
  }

  async setResourceStatus(
    id: string,
    resourceId: string,
    status: string,
    lease?: LeaseToken,
  ): Promise<void> {
    const reply = await this.scripts.setResourceStatus(
      [this.keys.checkpointState(id), this.keys.lease(id)],
      [resourceId, status, lease?.token ?? '', ''],
    );
    this.raise(id, reply);
  }

  /**
   * Removes the document, every object under the checkpoint, its indexes and lease in one
   * atomic step; only from the given statuses. Returns how many objects went.
   */
  async purge(id: string, from: readonly CheckpointStatus[] = ['deleting']): Promise<number> {
    const doc = await this.readStored(id);
    if (!doc) {
      const status = await this.status(id);
      if (status === 'deleted') return 0;
      throw new CheckpointNotFoundError(id);
    }
    const indexPaths = [bankPaths.checkpointIndex(id), ...indexKeysOf(doc)];
    const reply = await this.scripts.purgeCheckpoint(
      [
        this.keys.objectIndex,
        this.keys.checkpointState(id),
        this.keys.lease(id),
        this.keys.fence(id),
        this.keys.operationLog(id),
        this.keys.activeCheckpoints,
        ...indexPaths.map((p) => this.keys.object(p)),
      ],
      [
        this.keys.object(''),
        `${bankPaths.checkpointDir(id)}/`,
        TOMBSTONE_TTL_SECONDS,
        from.length,
        ...from,
        id,
        ...indexPaths,
      ],
    );
    this.raise(id, reply, { from, to: 'deleted' });
    return Number(reply[1]);
  }

  /** A plugin's part of the checkpoint, fenced by the lease when one is given. */
  section(id: string, sub: string, opts: { readOnly?: boolean; lease?: LeaseToken } = {}) {
    return new BankSection(this.bank, `${bankPaths.checkpointDir(id)}/${sub}`, opts);
  }

  /**
   * Karbor's list_checkpoints: one provider's checkpoints, newest first by default, filtered
   * by plan, date range and project, paged by checkpoint id. Each page costs one
   * ZRANGEBYLEX on the index that matches the filters plus one pipelined read of documents.
   */
  /** A plan's `available` checkpoints (id and creation time), every page of them. */
  async availableOfPlan(
    providerId: string,
    planId: string,
    caller: Caller,
  ): Promise<{ id: string; createdAtMs: number }[]> {
    const out: { id: string; createdAtMs: number }[] = [];
    let marker: string | undefined;
    do {
      const page = await this.list(
        providerId,
        { planId, limit: 1000, ...(marker ? { marker } : {}) },
        caller,
      );
      for (const c of page.checkpoints) {
        if (c.status === 'available') out.push({ id: c.id, createdAtMs: c.timestamp * 1000 });
      }
      marker = page.next_marker;
    } while (marker);
    return out;
  }

  async list(providerId: string, q: ListCheckpointsQuery, caller: Caller): Promise<CheckpointPage> {
    const limit = checkLimit(q.limit ?? DEFAULT_PAGE);
    const sortDir = q.sortDir ?? 'desc';
    if (sortDir !== 'asc' && sortDir !== 'desc') {
      throw new InvalidArgumentError(`sort_dir must be asc or desc, not ${String(sortDir)}`);
    }
    for (const [name, d] of [
      ['start_date', q.startDate],
      ['end_date', q.endDate],
    ] as const) {
      if (d !== undefined && (!DATE.test(d) || Number.isNaN(Date.parse(`${d}T00:00:00Z`)))) {
        throw new InvalidArgumentError(`${name} must be a date YYYY-MM-DD, not ${d}`);
      }
    }
    if (q.startDate && q.endDate && q.startDate > q.endDate) {
      throw new InvalidArgumentError(`start_date ${q.startDate} is after end_date ${q.endDate}`);
    }
    if (q.allTenants && !caller.admin) {
      throw new PermissionDeniedError('all_tenants needs an admin caller');
    }
    if (!q.allTenants && q.projectId && q.projectId !== caller.projectId && !caller.admin) {
      throw new PermissionDeniedError(`project ${q.projectId} is not the caller's project`);
    }
    const project = q.allTenants ? q.projectId : (q.projectId ?? caller.projectId);
    const plan = choosePlan(providerId, q, project);

    let after: string | undefined;
    if (q.marker !== undefined) {
      const markerDoc = await this.readStored(q.marker);
      if (!markerDoc) throw new InvalidArgumentError(`marker ${q.marker} is not a checkpoint`);
      after = plan.keyOf(markerDoc);
    }

    const out: CheckpointDocument[] = [];
    let exhausted = false;
    let leftOver = false;
    while (out.length < limit && !exhausted) {
      const want = Math.max(limit - out.length, 16);
      const [from, to] = lexBounds({
        lo: plan.lo,
        hi: plan.hi,
        sortDir,
        ...(after !== undefined ? { after } : {}),
      });
      const [keys, rows] = (await this.scripts.listCheckpoints(
        [this.keys.objectIndex],
        [from, to, want, sortDir, this.keys.object(''), this.keys.checkpointState('')],
      )) as unknown as [string[], DocumentRow[]];
      exhausted = keys.length < want;
      if (keys.length === 0) break;
      after = keys[keys.length - 1];
      for (const row of rows) {
        const doc = documentFromRow(row);
        if (!doc || !plan.accepts(doc)) continue;
        if (out.length < limit) out.push(doc);
        else leftOver = true;
      }
    }
    const page: CheckpointPage = { checkpoints: out };
    // More may follow if the last read filled the page or stopped short of the range's end.
    if (out.length === limit && (leftOver || !exhausted))
      page.next_marker = out[out.length - 1]!.id;
    return page;
  }

  private async readStored(id: string): Promise<StoredDocument | undefined> {
    const body = await this.redis.get(this.keys.object(bankPaths.checkpointIndex(id)));
    return body ? (JSON.parse(body) as StoredDocument) : undefined;
  }

  /** Documents for ids in one round trip; a vanished one comes back undefined. */
  private async fetchDocuments(ids: string[]): Promise<(CheckpointDocument | undefined)[]> {
    if (ids.length === 0) return [];
    const keys: string[] = [];
    for (const id of ids) {
      keys.push(this.keys.object(validateKey(bankPaths.checkpointIndex(id))));
      keys.push(this.keys.checkpointState(id));
    }
    const rows = (await this.scripts.readCheckpoints(keys, [])) as unknown as DocumentRow[];
    return rows.map(documentFromRow);
  }

  private raise(
    id: string,
    [outcome, value]: ScriptReply,
    change?: { from: readonly CheckpointStatus[]; to: CheckpointStatus },
  ): void {
    if (outcome === 'missing') throw new CheckpointNotFoundError(id);
    if (outcome === 'lease') throw new LeaseLostError(id, value ?? 'refused');
    if (outcome === 'conflict' && change) {
      throw new InvalidStatusTransitionError(id, value ?? '?', change.from, change.to);
    }
  }
}

function indexKeysOf(doc: StoredDocument): string[] {
  return [
    bankPaths.byProvider(doc.provider_id, doc.project_id, doc.timestamp, doc.id),
    bankPaths.byDate(doc.created_at, doc.project_id, doc.timestamp, doc.id),
    bankPaths.byPlan(doc.protection_plan.id, doc.project_id, doc.created_at, doc.timestamp, doc.id),
  ];
}

interface ListPlan {
  lo: string;
  hi: string;
  keyOf(doc: StoredDocument): string;
  accepts(doc: CheckpointDocument): boolean;
}

/**
 * Picks the index whose key order serves the query, so a page is one range read:
 * by-plan when a plan is named, by-provider (timestamp range) for one project, by-date for
 * all tenants over a date range, by-provider (project, then time) for all tenants.
 */
function choosePlan(providerId: string, q: ListCheckpointsQuery, project?: string): ListPlan {
  const start = q.startDate;
  const end = q.endDate;
  const inDates = (d: string) => (!start || d >= start) && (!end || d <= end);
  const common = (doc: CheckpointDocument) =>
    doc.provider_id === providerId &&
    (!project || doc.project_id === project) &&
    (!q.planId || doc.protection_plan.id === q.planId) &&
    inDates(doc.created_at);

  if (q.planId) {
    const base = `/indices/by-plan/${q.planId}/${project ? `${project}/` : ''}`;
    const dated = project !== undefined;
    return {
      lo: dated && start ? `${base}${start}/` : base,
      hi: dated && end ? `${base}${end}/${KEY_CEILING}` : base + KEY_CEILING,
      keyOf: (d) =>
        bankPaths.byPlan(d.protection_plan.id, d.project_id, d.created_at, d.timestamp, d.id),
      accepts: common,
    };
  }
  if (project) {
    const base = `/indices/by-provider/${providerId}/${project}/`;
    return {
      lo: start ? base + tsKey(Date.parse(`${start}T00:00:00Z`) / 1000) : base,
      hi: end
        ? `${base}${tsKey(Date.parse(`${end}T00:00:00Z`) / 1000 + 86399)}@${KEY_CEILING}`
        : base + KEY_CEILING,
      keyOf: (d) => bankPaths.byProvider(d.provider_id, d.project_id, d.timestamp, d.id),
      accepts: common,
    };
  }
  if (start || end) {
    const base = '/indices/by-date/';
    return {
      lo: start ? `${base}${start}/` : base,
      hi: end ? `${base}${end}/${KEY_CEILING}` : base + KEY_CEILING,
      keyOf: (d) => bankPaths.byDate(d.created_at, d.project_id, d.timestamp, d.id),
      accepts: common,
    };
  }
  const base = `/indices/by-provider/${providerId}/`;
  return {
    lo: base,
    hi: base + KEY_CEILING,
    keyOf: (d) => bankPaths.byProvider(d.provider_id, d.project_id, d.timestamp, d.id),
    accepts: common,
  };
}

/** What the read scripts return per checkpoint: document JSON, and the state hash flattened. */
type DocumentRow = [string | null, string[]];

function jsonOr(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function documentFromRow([body, flat]: DocumentRow): CheckpointDocument | undefined {
  if (typeof body !== 'string') return undefined;
  // Built in place on the freshly parsed object: listing pages make many of these.
  const doc = JSON.parse(body) as CheckpointDocument;
  doc.status = 'error';
  doc.resources_status = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const field = flat[i]!;
    const value = flat[i + 1]!;
    if (field === 'status') doc.status = value as CheckpointStatus;
    else if (field === 'reason') doc.reason = value;
    else if (field.startsWith('r:')) doc.resources_status[field.slice(2)] = value;
    // What the protect measured when it ended (size, new bytes, end time) and the last
    // scheduled verify's verdict: live, like status.
    else if (field.startsWith('x:'))
      doc.extra_info = { ...doc.extra_info, [field.slice(2)]: jsonOr(value) };
  }
  return doc;
}
