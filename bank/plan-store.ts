import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Plan } from '../common/documents';
import { InvalidPlanError, PlanNotFoundError } from '../common/errors';
import type { Caller } from './checkpoint-collection';
import { RecordStore } from './records';
import { TenantRecords } from './tenant-records';

/** How long the plan an operation was started with is kept for the workflow to read. */
const OPERATION_PLAN_TTL_SECONDS = 7 * 24 * 3600;

/** Stored plans (`karbor plan create`), kept in Redis beside the bank, per project. */
export class PlanStore {
  private readonly records: RecordStore;
  private readonly stored: TenantRecords<Plan>;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.records = new RecordStore(redis, prefix);
    this.stored = new TenantRecords<Plan>(
      redis,
      prefix,
      'plans',
      (id) => new PlanNotFoundError(id),
    );
  }

  /** Stores a plan; an id is made when the document has none. */
  async create(plan: Omit<Plan, 'id'> & { id?: string }): Promise<Plan> {
    const stored: Plan = { ...plan, id: plan.id || randomUUID() };
    if (!(await this.stored.create(stored))) {
      throw new InvalidPlanError(`plan ${stored.id} already exists`);
    }
    return stored;
  }

  get(id: string, caller?: Caller): Promise<Plan> {
    return this.stored.get(id, caller);
  }

  list(caller: Caller, limit = 1000): Promise<Plan[]> {
    return this.stored.list(caller, limit);
  }

  async delete(id: string, caller: Caller): Promise<void> {
    await this.stored.delete(id, caller);
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
