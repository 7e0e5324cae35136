import { randomUUID } from 'node:crypto';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import type { Redis } from 'ioredis';
import { CheckpointCollection } from '../bank/checkpoint-collection';
import type { Caller, CheckpointPage, ListCheckpointsQuery } from '../bank/checkpoint-collection';
import type { KarborConfig } from '../common/config';
import type { CheckpointDocument, Plan } from '../common/documents';
import { CheckpointNotFoundError, ServiceUnreachableError } from '../common/errors';
import { connectRedis } from '../common/redis';
import { searchAttributesFor } from '../temporal-config/search-attributes';
import { checkpointCreatedUpdate, workflowIds } from '../workflows/definitions';
import type { ProtectResult } from '../workflows/definitions';
import type { protect } from '../workflows/protect';
import { checkPlanShape } from './plan-file';

export interface OperationStarted {
  checkpoint_id: string;
  workflow_id: string;
}

/**
 * The Protection Service's RPCs (DESIGN.md section 9). Operations start Temporal workflows;
 * reads go straight to the bank.
 */
export class ProtectionService {
  private readonly checkpoints: CheckpointCollection;

  private constructor(
    readonly config: KarborConfig,
    readonly temporal: Client,
    private readonly connection: Connection,
    private readonly redis: Redis,
  ) {
    this.checkpoints = new CheckpointCollection(redis, config.bankPrefix);
  }

  static async connect(config: KarborConfig): Promise<ProtectionService> {
    const redis = await connectRedis(config.redisUrl, 'karbor-client');
    let connection: Connection;
    try {
      connection = await Connection.connect({
        address: config.temporalAddress,
        connectTimeout: '5s',
      });
    } catch (err) {
      redis.disconnect();
      throw new ServiceUnreachableError(
        `cannot reach Temporal at ${config.temporalAddress}: ${(err as Error).message}`,
      );
    }
    const client = new Client({ connection, namespace: config.namespace });
    return new ProtectionService(config, client, connection, redis);
  }

  /**
   * Starts a protect operation and returns once its checkpoint exists in the bank. The
   * checkpoint id is chosen here, before the start, so a retried call with the same id
   * attaches to the same run instead of making a second checkpoint.
   */
  async executeOperation(
    planDoc: Plan,
    action: 'protect',
    options: { checkpointId?: string } = {},
  ): Promise<OperationStarted> {
    const plan = checkPlanShape(planDoc);
    const checkpointId = options.checkpointId ?? randomUUID();
    const workflowId = workflowIds[action](checkpointId);
    const start = new WithStartWorkflowOperation<typeof protect>('protect', {
      workflowId,
      taskQueue: this.config.taskQueue,
      args: [{ checkpointId, plan }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: searchAttributesFor({
        operation: action,
        providerId: plan.provider_id,
        planId: plan.id,
        checkpointId,
        projectId: plan.project_id,
      }),
    });
    await this.temporal.workflow.executeUpdateWithStart(checkpointCreatedUpdate, {
      startWorkflowOperation: start,
    });
    return { checkpoint_id: checkpointId, workflow_id: workflowId };
  }

  /** Waits for a protect run to end and returns its outcome. */
  async waitForProtect(checkpointId: string): Promise<ProtectResult> {
    return this.temporal.workflow
      .getHandle<typeof protect>(workflowIds.protect(checkpointId))
      .result();
  }

  /** The caller this client acts for (KARBOR_PROJECT_ID, KARBOR_ADMIN). */
  get caller(): Caller {
    return { projectId: this.config.projectId, admin: this.config.admin };
  }

  async listCheckpoints(
    providerId: string,
    query: ListCheckpointsQuery = {},
  ): Promise<CheckpointPage> {
    return this.checkpoints.list(providerId, query, this.caller);
  }

  async showCheckpoint(providerId: string, checkpointId: string): Promise<CheckpointDocument> {
    const doc = await this.checkpoints.get(checkpointId, this.caller);
    // A checkpoint is addressed through its provider, as in Karbor.
    if (doc.provider_id !== providerId) throw new CheckpointNotFoundError(checkpointId);
    return doc;
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.connection.close();
  }
}
