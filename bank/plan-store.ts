import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Plan } from '../common/documents';
import { InvalidPlanError, PlanNotFoundError } from '../common/errors';
import type { Caller } from './checkpoint-collection';
import { bankPaths, KEY_CEILING } from './keys';
import { lexRange } from './redis-bank';
import { RecordStore } from './records';

/** How long the plan an operation was started with is kept for the workflow to read. */
const OPERATION_PLAN_TTL_SECONDS = 7 * 24 * 3600;

/** Stored plans (`karbor plan create`), kept in Redis beside the bank, per project. */
export class PlanStore {
  private readonly records: RecordStore;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.records = new RecordStore(redis, prefix);
  }

  /** Stores a plan; an id is made when the document has none. */
  async create(plan: Omit<Plan, 'id'> & { id?: string }): Promise<Plan> {
    const stored: Plan = { ...plan, id: plan.id || randomUUID() };
    const created = await this.records.create(
      bankPaths.plan(stored.id),
      stored,
      this.records.keys.noState,
      '',
      [bankPaths.plansByProject(stored.project_id, stored.id)],
      { plan_id: stored.id },
    );
    if (!created) throw new InvalidPlanError(`plan ${stored.id} already exists`);
    return stored;
  }

  async get(id: string, caller?: Caller): Promise<Plan> {
    const plan = await this.records.read<Plan>(bankPaths.plan(id));
    if (!plan || (caller && !caller.admin && plan.project_id !== caller.projectId)) {
      throw new PlanNotFoundError(id);
    }
    return plan;
  }

  async list(caller: Caller, limit = 1000): Promise<Plan[]> {
    const base = `/indices/plans/${caller.projectId}/`;
    const keys = await lexRange(this.redis, this.records.keys.objectIndex, {
      lo: base,
      hi: base + KEY_CEILING,
      limit,
      sortDir: 'asc',
    });
    const plans = await Promise.all(
      keys.map((k) => this.records.read<Plan>(bankPaths.plan(k.slice(base.length)))),
    );
    return plans.filter((p): p is Plan => p !== undefined);
  }

  async delete(id: string, caller: Caller): Promise<void> {
    const plan = await this.get(id, caller);
    await this.records.remove(bankPaths.plan(id), this.records.keys.noState, [
      bankPaths.plansByProject(plan.project_id, id),
    ]);
  }

  /**
   * Keeps the plan a protect was started with until its workflow ends (the checkpoint holds
   * it from creation on); indexed so garbage collection finds the ones left behind.
   */
  async putOperationPlan(checkpointId: string, plan: Plan): Promise<void> {
    const keys = this.records.keys;
    await this.redis
      .multi()
      .set(keys.operationPlan(checkpointId), JSON.stringify(plan), 'EX', OPERATION_PLAN_TTL_SECONDS)
      .zadd(keys.operationPlans, Date.now(), checkpointId)
      .exec();
  }

  /** Drops the plan an operation was started with (it ended, or never started). */
  async dropOperationPlan(checkpointId: string): Promise<void> {
    const keys = this.records.keys;
    await this.redis
      .multi()
      .del(keys.operationPlan(checkpointId))
      .zrem(keys.operationPlans, checkpointId)
      .exec();
  }

  /** Checkpoint ids whose start plan is still kept, oldest first. */
  async listOperationPlans(limit = 10_000): Promise<string[]> {
    return this.redis.zrange(this.records.keys.operationPlans, 0, limit - 1);
  }

  async getOperationPlan(checkpointId: string): Promise<Plan> {
    const body = await this.redis.get(this.records.keys.operationPlan(checkpointId));
    if (body === null) {
      throw new InvalidPlanError(
        `the plan of operation ${checkpointId} is gone (older than 7 days?)`,
      );
    }
    return JSON.parse(body) as Plan;
  }
}
