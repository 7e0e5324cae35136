import type { Redis } from 'ioredis';
import type {
  CheckpointDocument,
  CheckpointStatus,
  ProtectionPlanSummary,
} from '../common/documents';
import { CheckpointNotFoundError, InvalidStatusTransitionError } from '../common/errors';
import { bankPaths, RedisKeys, validateKey } from './keys';
import { defineBankScripts } from './scripts';
import type { BankScripts } from './scripts';

export const CHECKPOINT_DOCUMENT_VERSION = 1;

export interface NewCheckpoint {
  id: string;
  ownerId: string;
  providerId: string;
  projectId: string;
  plan: ProtectionPlanSummary;
  resourceGraph: unknown;
  extraInfo?: Record<string, unknown>;
  /** Milliseconds since the epoch; taken by the caller so a retried create writes the same. */
  createdAtMs: number;
}

/** The part of a checkpoint document that never changes after create. */
type StoredDocument = Omit<CheckpointDocument, 'status' | 'resources_status' | 'reason'>;

/**
 * Checkpoints in the bank. The immutable document is a bank object; the live fields
 * (status, reason, per-resource status) sit in a hash beside it so that concurrent hooks
 * and status changes never overwrite each other, each change being one Lua call.
 */
export class CheckpointCollection {
  private readonly keys: RedisKeys;
  private readonly scripts: BankScripts;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
    this.scripts = defineBankScripts(redis);
  }

  /** Creates the checkpoint with status `protecting` and its indexes; a repeat is a no-op. */
  async create(c: NewCheckpoint): Promise<CheckpointDocument> {
    const ts = Math.floor(c.createdAtMs / 1000);
    const date = new Date(c.createdAtMs).toISOString().slice(0, 10);
    const doc: StoredDocument = {
      version: CHECKPOINT_DOCUMENT_VERSION,
      id: c.id,
      owner_id: c.ownerId,
      provider_id: c.providerId,
      project_id: c.projectId,
      protection_plan: c.plan,
      resource_graph: c.resourceGraph,
      extra_info: c.extraInfo ?? {},
      created_at: date,
      timestamp: ts,
    };
    const docPath = validateKey(bankPaths.checkpointIndex(c.id));
    const indexPaths = [
      bankPaths.byProvider(c.providerId, c.projectId, ts, c.id),
      bankPaths.byDate(date, c.projectId, ts, c.id),
      bankPaths.byPlan(c.plan.id, c.projectId, date, ts, c.id),
    ].map(validateKey);
    await this.scripts.createCheckpoint(
      [
        this.keys.objectIndex,
        this.keys.object(docPath),
        this.keys.checkpointState(c.id),
        ...indexPaths.map((p) => this.keys.object(p)),
      ],
      [
        docPath,
        JSON.stringify(doc),
        'protecting',
        String(ts),
        JSON.stringify({ checkpoint_id: c.id }),
        ...indexPaths,
      ],
    );
    return this.get(c.id);
  }

  async get(id: string): Promise<CheckpointDocument> {
    const docPath = validateKey(bankPaths.checkpointIndex(id));
    const [[docErr, body], [stateErr, state]] = (await this.redis
      .multi()
      .get(this.keys.object(docPath))
      .hgetall(this.keys.checkpointState(id))
      .exec()) as [[Error | null, string | null], [Error | null, Record<string, string>]];
    if (docErr) throw docErr;
    if (stateErr) throw stateErr;
    if (!body) throw new CheckpointNotFoundError(id);
    return composeDocument(JSON.parse(body) as StoredDocument, state);
  }

  /**
   * Moves a checkpoint to `to` only if it is in one of `from`; already being in `to` is
   * success, so a retried activity does not fail.
   */
  async transition(
    id: string,
    from: readonly CheckpointStatus[],
    to: CheckpointStatus,
    reason = '',
  ): Promise<void> {
    const [outcome, actual] = await this.scripts.transitionCheckpoint(
      this.keys.checkpointState(id),
      [to, reason, String(Math.floor(Date.now() / 1000)), ...from],
    );
    if (outcome === 'missing') throw new CheckpointNotFoundError(id);
    if (outcome === 'conflict') throw new InvalidStatusTransitionError(id, actual, from, to);
  }
}

function composeDocument(doc: StoredDocument, state: Record<string, string>): CheckpointDocument {
  const resources: Record<string, string> = {};
  for (const [field, value] of Object.entries(state)) {
    if (field.startsWith('r:')) resources[field.slice(2)] = value;
  }
  const out: CheckpointDocument = {
    ...doc,
    status: (state.status ?? 'error') as CheckpointStatus,
    resources_status: resources,
  };
  if (state.reason) out.reason = state.reason;
  return out;
}
