import { randomUUID } from 'node:crypto';
import type { Client, Connection } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import type * as TemporalLinkModule from './temporal-link';
import type { Redis } from 'ioredis';
import { Catalog } from '../bank/catalog';
import type { ProtectableDocument } from '../bank/catalog';
import { CheckpointCollection } from '../bank/checkpoint-collection';
import type { Caller, CheckpointPage, ListCheckpointsQuery } from '../bank/checkpoint-collection';
import { OperationLog } from '../bank/operation-log';
import type { OperationEvent } from '../bank/operation-log';
import { PlanStore } from '../bank/plan-store';
import { RestoreCollection } from '../bank/restore-collection';
import { WorkerRegistry } from '../bank/worker-registry';
import type { RestoreRecord } from '../bank/restore-collection';
import type { KarborConfig } from '../common/config';
import type { CheckpointDocument, CheckpointStatus, Plan } from '../common/documents';
import {
  InvalidArgumentError,
  InvalidStatusTransitionError,
  OperationRefusedError,
  PermissionDeniedError,
  ProviderNotFoundError,
  UnknownResourceTypeError,
} from '../common/errors';
import { LeaseManager } from '../bank/leases';
import type { GcReport } from '../activities';
import type { gc } from '../workflows/gc';
import { connectRedis } from '../common/redis';
import { pageProviders } from '../providers/provider-registry';
import type { ProviderDocument } from '../providers/provider-registry';
import { MAX_HOOK_CONCURRENCY } from '../temporal-config/names';
import { workflowIds } from '../workflows/ids';
import type {
  DeleteResult,
  Progress,
  ProtectResult,
  RestoreResult,
  RunOptions,
  VerifyResult,
} from '../workflows/definitions';
import type { deleteCheckpoint } from '../workflows/delete';
import type { protect } from '../workflows/protect';
import type { HostInstances, protectableInstances } from '../workflows/protectables';
import type { restore } from '../workflows/restore';
import type { verifyCheckpoint } from '../workflows/verify';
import { checkHostName } from '../graph/host-pinning';
import type { GraphResource } from '../graph/resource-graph';
import { unpackGraph } from '../graph/resource-graph';
import { checkParameterKeys, checkTargetIds } from '../providers/parameters';
import { checkPlanShape } from './plan-file';
import { applyRetention, checkPolicy } from '../retention/policy';
import type { RetentionPolicy, Verdict } from '../retention/policy';
import { runMetadata } from './run-metadata';
import { OperationEngine } from './operation-engine';
import type { RunDescription } from './run-metadata';

type TemporalLink = typeof TemporalLinkModule;

export interface OperationStarted {
  workflow_id: string;
}
export interface CheckpointOperationStarted extends OperationStarted {
  checkpoint_id: string;
}
export interface RestoreStarted extends OperationStarted {
  restore_id: string;
}

export interface RestoreRequest {
  providerId: string;
  checkpointId: string;
  /** Resource id -> target (path, database, ...). */
  restoreTarget?: Record<string, string>;
  parameters?: Record<string, Record<string, unknown>>;
}

/**
 * The Protection Service's RPCs (DESIGN.md section 9). Operations start Temporal workflows
 * and return once their record exists; reads go straight to the bank.
 */
export class ProtectionService {
  private readonly checkpoints: CheckpointCollection;
  private readonly restores: RestoreCollection;
  private readonly oplog: OperationLog;
  private readonly leases: LeaseManager;
  readonly plans: PlanStore;
  private readonly catalog: Catalog<ProviderDocument>;

  /** The Temporal side, connected on first use (see `connect`). */
  private linked?: Promise<{ link: TemporalLink; client: Client; connection: Connection }>;
  private connectedClient?: Client;

  private constructor(
    readonly config: KarborConfig,
    private readonly redis: Redis,
  ) {
    this.checkpoints = new CheckpointCollection(redis, config.bankPrefix);
    this.restores = new RestoreCollection(redis, config.bankPrefix);
    this.oplog = new OperationLog(redis, config.bankPrefix);
    this.leases = new LeaseManager(redis, config.bankPrefix, config.leases);
    this.plans = new PlanStore(redis, config.bankPrefix);
    this.catalog = new Catalog(redis, config.bankPrefix);
  }

  /**
   * Connects to the bank, and to Temporal at once unless `lazyTemporal` (the CLI: a command
   * that only reads the bank then never loads the Temporal SDK nor connects to it).
   */
  static async connect(
    config: KarborConfig,
    opts: { lazyTemporal?: boolean } = {},
  ): Promise<ProtectionService> {
    const redis = await connectRedis(config.redisUrl, 'karbor-client');
    const svc = new ProtectionService(config, redis);
    if (!opts.lazyTemporal) {
      try {
        await svc.t();
      } catch (err) {
        redis.disconnect();
        throw err;
      }
    }
    return svc;
  }

  /** The Temporal client; for callers that connected eagerly (the default). */
  get temporal(): Client {
    if (!this.connectedClient) throw new Error('ProtectionService: Temporal is not connected yet');
    return this.connectedClient;
  }

  /** Triggers and scheduled operations (Karbor's operation engine). */
  get engine(): OperationEngine {
    this.engineClient ??= new OperationEngine(this, this.redis, this.config.bankPrefix);
    return this.engineClient;
  }

  private engineClient?: OperationEngine;

  /** The Temporal client, connecting on first use. */
  temporalLink(): Promise<{ link: TemporalLink; client: Client; connection: Connection }> {
    return this.t();
  }

  private t(): Promise<{ link: TemporalLink; client: Client; connection: Connection }> {
    this.linked ??= (async () => {
      const link = await import('./temporal-link');
      const { client, connection } = await link.connectTemporal(this.config);
      this.connectedClient = client;
      return { link, client, connection };
    })();
    return this.linked;
  }

  /** The workflow client, connecting first if need be. */
  private async workflows(): Promise<Client['workflow']> {
    return (await this.t()).client.workflow;
  }

  /**
   * The provider as workers published it; unknown is bad input. Undefined only while no
   * worker has published anything yet (then workers judge the plan).
   */
  private async knownProvider(providerId: string): Promise<ProviderDocument | undefined> {
    const all = await this.catalog.providers();
    if (all.length === 0) return undefined;
    const found = all.find((p) => p.id === providerId);
    if (!found) throw new ProviderNotFoundError(providerId);
    return found;
  }

  /**
   * Refuses, before anything is written or started, a plan whose provider or resource types
   * the published providers do not know (cycles and parameters are judged by the worker).
   */
  private async checkPlanTypes(plan: Plan): Promise<void> {
    const provider = await this.knownProvider(plan.provider_id);
    if (!provider) return;
    const types = new Set(Object.keys(provider.extended_info_schema.options_schema));
    const unknown = plan.resources.find((r) => !types.has(r.type));
    if (unknown) {
      throw new UnknownResourceTypeError(
        `provider ${plan.provider_id} does not protect resource type ${unknown.type} (resource ${unknown.id})`,
      );
    }
  }

  /**
   * The caller's checkpoint, in one of the statuses an operation may start from: checked
   * here so a request that would be refused starts no workflow (the worker checks again).
   */
  private async checkpointIn(
    providerId: string,
    checkpointId: string,
    allowed: CheckpointStatus[],
    to: CheckpointStatus | 'restored' | 'verified',
    /** Also accepted, without being named in the refusal (an operation already under way). */
    underWay: CheckpointStatus[] = [],
  ): Promise<CheckpointDocument> {
    const doc = await this.showCheckpoint(providerId, checkpointId);
    if (!allowed.includes(doc.status) && !underWay.includes(doc.status)) {
      throw new InvalidStatusTransitionError(checkpointId, doc.status, allowed, to);
    }
    return doc;
  }

  /** A tenant's plans name only its own project; an admin's any. */
  private checkPlanProject(plan: Pick<Plan, 'project_id'>): void {
    if (!this.caller.admin && plan.project_id !== this.caller.projectId) {
      throw new PermissionDeniedError(
        `the plan names project ${plan.project_id}, not the caller's project ${this.caller.projectId}`,
      );
    }
  }

  /** Karbor's plan create: stores a plan of the caller's project (an id is made if absent). */
  async createPlan(plan: Omit<Plan, 'id'> & { id?: string }): Promise<Plan> {
    this.checkPlanProject(plan);
    await this.checkPlanTypes(plan as Plan);
    return this.plans.create(plan);
  }

  /** The caller this client acts for (KARBOR_PROJECT_ID, KARBOR_ADMIN). */
  get caller(): Caller {
    return { projectId: this.config.projectId, admin: this.config.admin };
  }

  // --- providers and protectables -------------------------------------------------------

  async listProviders(
    opts: { marker?: string; limit?: number; name?: string } = {},
  ): Promise<ProviderDocument[]> {
    return pageProviders(await this.catalog.providers(), opts);
  }

  async showProvider(providerId: string): Promise<ProviderDocument> {
    return this.catalog.provider(providerId);
  }

  async listProtectables(): Promise<ProtectableDocument[]> {
    return this.catalog.protectables();
  }

  async showProtectable(type: string): Promise<ProtectableDocument> {
    return this.catalog.protectable(type);
  }

  /**
   * Instances of a protectable type, listed by its plugin on a worker. A host-pinned type's
   * instances live on hosts: each host (the given ones, else every host whose workers
   * announced themselves) lists its own, and says so when none of its workers answers.
   */
  async listProtectableInstances(
    type: string,
    providerId?: string,
    hosts?: string[],
  ): Promise<{ instances: GraphResource[]; silentHosts: { host: string; error: string }[] }> {
    // An unknown type is the worker's to refuse, with the provider's own words.
    const doc = await this.catalog.protectable(type).catch(() => undefined);
    const pinned = doc?.host_pinned === true;
    const asked = hosts
      ? [...new Set(hosts.map((h) => checkHostName(h, '--host')))]
      : pinned
        ? await new WorkerRegistry(this.redis, this.config.bankPrefix).hosts()
        : undefined;
    const { link, client } = await this.t();
    let answer: Awaited<ReturnType<typeof protectableInstances>>;
    try {
      answer = await client.workflow.execute<typeof protectableInstances>('protectableInstances', {
        workflowId: workflowIds.instances(randomUUID()),
        taskQueue: this.config.taskQueue,
        args: [{ type, ...(providerId ? { providerId } : {}), ...(asked ? { hosts: asked } : {}) }],
        workflowExecutionTimeout: '60s',
      });
    } catch (err) {
      throw link.refusal(err);
    }
    if (!asked) return { instances: answer as GraphResource[], silentHosts: [] };
    const perHost = answer as HostInstances[];
    return {
      instances: perHost.flatMap((h) => h.instances ?? []),
      silentHosts: perHost
        .filter((h) => h.error !== undefined)
        .map((h) => ({ host: h.host, error: h.error! })),
    };
  }

  // --- operations -----------------------------------------------------------------------

  /**
   * Karbor's execute_operation(protect): returns once the checkpoint exists, or fails with
   * the validation error before anything is written. `plan` is a plan document (kept for
   * the run, so workflow history carries only ids) or a stored plan's id. The checkpoint id
   * is chosen here, before the start, so a retried call with the same id attaches to the
   * same run instead of making a second checkpoint.
   */
  async executeOperation(
    plan: Plan | string,
    action: 'protect',
    options: RunOptions & { checkpointId?: string } = {},
  ): Promise<CheckpointOperationStarted> {
    const checkpointId = options.checkpointId ?? randomUUID();
    checkRunOptions(options);
    let doc: Plan;
    if (typeof plan === 'string') {
      doc = await this.plans.get(plan, this.caller);
    } else {
      doc = checkPlanShape(plan);
      await this.checkPlanTypes(doc);
      this.checkPlanProject(doc);
      await this.plans.putOperationPlan(checkpointId, doc);
    }
    const { checkpointId: _drop, ...run } = options;
    try {
      const started = await this.startOperation<typeof protect>(
        'protect',
        workflowIds[action](checkpointId),
        [{ checkpointId, ...(typeof plan === 'string' ? { storedPlanId: plan } : {}), ...run }],
        {
          operation: 'protect',
          providerId: doc.provider_id,
          planId: doc.id,
          planName: doc.name,
          resourceCount: doc.resources.length,
          checkpointId,
          projectId: doc.project_id,
        },
      );
      return { checkpoint_id: checkpointId, ...started };
    } catch (err) {
      // Refused (bad plan, unknown type, cycle …): nothing of it stays in the bank.
      if (typeof plan !== 'string' && err instanceof OperationRefusedError) {
        await this.plans.dropOperationPlan(checkpointId);
      }
      throw err;
    }
  }

  /** Starts a restore; returns once the restore record exists (`in_progress`). */
  async restore(req: RestoreRequest, options: RunOptions = {}): Promise<RestoreStarted> {
    checkRunOptions(options);
    const doc = await this.checkpointIn(
      req.providerId,
      req.checkpointId,
      ['available'],
      'restored',
    );
    // What can be told here is refused before anything starts (the worker checks again,
    // with each plugin's own checks).
    const nodes = unpackGraph(doc.resource_graph).nodes;
    const provider = await this.showProvider(req.providerId);
    checkTargetIds(
      req.restoreTarget,
      nodes,
      doc.id,
      provider.extended_info_schema.restore_target_schema,
    );
    checkParameterKeys(
      req.parameters,
      new Set(Object.keys(provider.extended_info_schema.restore_schema)),
      nodes,
    );
    const restoreId = randomUUID();
    const started = await this.startOperation<typeof restore>(
      'restore',
      workflowIds.restore(restoreId),
      [
        {
          restoreId,
          checkpointId: req.checkpointId,
          providerId: req.providerId,
          caller: this.caller,
          restoreTarget: req.restoreTarget ?? {},
          parameters: req.parameters ?? {},
          ...options,
        },
      ],
      {
        operation: 'restore',
        providerId: req.providerId,
        checkpointId: req.checkpointId,
        restoreId,
        projectId: this.config.projectId,
        ...planOf(doc),
      },
    );
    return { restore_id: restoreId, ...started };
  }

  /** Starts deleting a checkpoint; returns once it is `deleting`. */
  async deleteCheckpoint(
    providerId: string,
    checkpointId: string,
    options: RunOptions = {},
  ): Promise<CheckpointOperationStarted> {
    checkRunOptions(options);
    // `deleting` too: a delete whose workflow died is run again (its run, if any, is reused).
    const doc = await this.checkpointIn(
      providerId,
      checkpointId,
      ['available', 'error', 'error-deleting'],
      'deleting',
      ['deleting'],
    );
    const started = await this.startOperation<typeof deleteCheckpoint>(
      'deleteCheckpoint',
      workflowIds.delete(checkpointId),
      [{ checkpointId, providerId, caller: this.caller, ...options }],
      {
        operation: 'delete',
        providerId,
        checkpointId,
        projectId: this.config.projectId,
        ...planOf(doc),
      },
      // A delete that failed (error-deleting) may be run again under the same id.
      'ALLOW_DUPLICATE',
    );
    return { checkpoint_id: checkpointId, ...started };
  }

  /** Starts re-reading a checkpoint's data; returns once it is under way. */
  async verifyCheckpoint(
    providerId: string,
    checkpointId: string,
    options: RunOptions = {},
  ): Promise<CheckpointOperationStarted> {
    checkRunOptions(options);
    const doc = await this.checkpointIn(providerId, checkpointId, ['available'], 'verified');
    const started = await this.startOperation<typeof verifyCheckpoint>(
      'verifyCheckpoint',
      workflowIds.verify(checkpointId),
      [{ checkpointId, providerId, caller: this.caller, ...options }],
      {
        operation: 'verify',
        providerId,
        checkpointId,
        projectId: this.config.projectId,
        ...planOf(doc),
      },
      'ALLOW_DUPLICATE',
    );
    return { checkpoint_id: checkpointId, ...started };
  }

  async waitForVerify(checkpointId: string): Promise<VerifyResult> {
    return (await this.workflows())
      .getHandle<typeof verifyCheckpoint>(workflowIds.verify(checkpointId))
      .result();
  }

  /**
   * Karbor's reset-state (admin only): forces a checkpoint to `available` or `error` when an
   * operator knows better than the bank; refused while its protect or delete still runs.
   */
  async resetState(
    providerId: string,
    checkpointId: string,
    state: string,
  ): Promise<CheckpointDocument> {
    if (!this.caller.admin) {
      throw new PermissionDeniedError('reset-state needs an admin caller (KARBOR_ADMIN=1)');
    }
    if (state !== 'available' && state !== 'error') {
      throw new InvalidArgumentError(`--state must be available or error, not ${state}`);
    }
    await this.showCheckpoint(providerId, checkpointId);
    for (const workflowId of [
      workflowIds.protect(checkpointId),
      workflowIds.delete(checkpointId),
    ]) {
      if ((await this.runningRun(workflowId)) !== undefined) {
        throw new OperationRefusedError(
          'INVALID_STATUS_TRANSITION',
          `checkpoint ${checkpointId}: ${workflowId} is running; cancel it or wait for it first`,
        );
      }
    }
    await this.checkpoints.resetState(checkpointId, state, `reset to ${state} by an admin`);
    await this.leases.clear(checkpointId);
    return this.showCheckpoint(providerId, checkpointId);
  }

  /** Runs garbage collection now (admin only), or with `dryRun` reports what it would do. */
  async collectGarbage(dryRun: boolean): Promise<GcReport> {
    if (!this.caller.admin) {
      throw new PermissionDeniedError('gc needs an admin caller (KARBOR_ADMIN=1)');
    }
    return (await this.workflows()).execute<typeof gc>('gc', {
      workflowId: `gc-now-${randomUUID()}`,
      taskQueue: this.config.taskQueue,
      args: [{ dryRun }],
    });
  }

  /**
   * Cancels a running protect: no hook starts from now on, running hooks stop and clean up,
   * and the checkpoint becomes `error` with reason `cancelled`.
   */
  async cancelCheckpoint(providerId: string, checkpointId: string): Promise<void> {
    const doc = await this.showCheckpoint(providerId, checkpointId);
    if (doc.status !== 'protecting') {
      throw new InvalidStatusTransitionError(checkpointId, doc.status, ['protecting'], 'cancelled');
    }
    await this.cancelRun(workflowIds.protect(checkpointId), `checkpoint ${checkpointId}`);
  }

  /** Cancels a running restore: it ends `failure` with reason `cancelled`. */
  async cancelRestore(restoreId: string): Promise<void> {
    const record = await this.showRestore(restoreId);
    if (record.status !== 'in_progress') {
      // Not InvalidStatusTransitionError: its message speaks of a checkpoint.
      throw new OperationRefusedError(
        'INVALID_STATUS_TRANSITION',
        `restore ${restoreId} is ${record.status}, not in_progress: nothing to cancel`,
      );
    }
    await this.cancelRun(workflowIds.restore(restoreId), `restore ${restoreId}`);
  }

  /** Stops new hooks of the run at once (before Temporal delivers the cancel), then cancels. */
  private async cancelRun(workflowId: string, what: string): Promise<void> {
    const runId = await this.runningRun(workflowId);
    if (runId === undefined) {
      throw new OperationRefusedError(
        'INVALID_STATUS_TRANSITION',
        `${what} has no running operation to cancel (garbage collection settles its state)`,
      );
    }
    await this.oplog.stop(runId, 'cancelled');
    await (await this.workflows()).getHandle(workflowId, runId).cancel();
  }

  /** The run id of the workflow's running execution, or undefined when none runs. */
  private async runningRun(workflowId: string): Promise<string | undefined> {
    try {
      const d = await (await this.workflows()).getHandle(workflowId).describe();
      return d.status.name === 'RUNNING' ? d.runId : undefined;
    } catch (err) {
      // Only "no such workflow" means nothing runs; any other error (a wrong namespace,
      // Temporal unreachable) must not pass for it: reset-state would then act blind.
      if (err instanceof (await this.t()).link.WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  private async startOperation<W extends Workflow>(
    workflowType: string,
    workflowId: string,
    args: Parameters<W>,
    tags: RunDescription,
    reuse: 'REJECT_DUPLICATE' | 'ALLOW_DUPLICATE' = 'REJECT_DUPLICATE',
  ): Promise<OperationStarted> {
    const { link, client } = await this.t();
    const start = new link.WithStartWorkflowOperation<W>(workflowType, {
      workflowId,
      taskQueue: this.config.taskQueue,
      args,
      ...runMetadata(tags, this.caller),
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: reuse,
      typedSearchAttributes: link.searchAttributesFor(tags),
    } as unknown as ConstructorParameters<typeof link.WithStartWorkflowOperation<W>>[1]);
    try {
      await client.workflow.executeUpdateWithStart(link.operationStartedUpdate, {
        startWorkflowOperation: start,
      });
    } catch (err) {
      throw link.refusal(err);
    }
    return { workflow_id: workflowId };
  }

  /** A running (or finished) operation's progress. */
  async progress(workflowId: string): Promise<Progress> {
    const { link, client } = await this.t();
    return client.workflow.getHandle(workflowId).query(link.progressQuery);
  }

  /** When the run with this workflow id started (ms). */
  async startedAt(workflowId: string): Promise<number> {
    const { client } = await this.t();
    return (await client.workflow.getHandle(workflowId).describe()).startTime.getTime();
  }

  /** Whether a run with this workflow id is running now. */
  async isRunning(workflowId: string): Promise<boolean> {
    const { client } = await this.t();
    try {
      return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
    } catch {
      return false; // never started, or long gone
    }
  }

  /**
   * The hooks running now, as their heartbeats tell: resource, bytes (and files) done and
   * total when known, and the attempt with the last failure when a hook is being retried.
   */
  async runningHooks(workflowId: string): Promise<RunningHook[]> {
    const { link, client } = await this.t();
    const d = await client.workflow.getHandle(workflowId).describe();
    const out: RunningHook[] = [];
    for (const a of d.raw.pendingActivities ?? []) {
      if (a.activityType?.name !== 'runResourceHook') continue;
      const [beat] = a.heartbeatDetails?.payloads ?? [];
      const v = beat
        ? link.defaultPayloadConverter.fromPayload<{
            resource?: string;
            bytesDone?: number;
            bytesTotal?: number;
            filesTotal?: number;
          }>(beat)
        : undefined;
      out.push({
        resource: v?.resource ?? '',
        bytesDone: v?.bytesDone ?? 0,
        bytesTotal: v?.bytesTotal ?? 0,
        filesTotal: v?.filesTotal ?? 0,
        attempt: a.attempt ?? 1,
        maxAttempts: a.maximumAttempts ?? 0,
        ...(a.lastFailure?.message ? { lastFailure: a.lastFailure.message } : {}),
      });
    }
    return out;
  }

  async waitForProtect(checkpointId: string): Promise<ProtectResult> {
    const { link, client } = await this.t();
    return link.settle(
      client.workflow.getHandle<typeof protect>(workflowIds.protect(checkpointId)).result(),
      (reason) => ({ checkpoint_id: checkpointId, status: 'error', reason }),
    );
  }

  async waitForRestore(restoreId: string): Promise<RestoreResult> {
    const { link, client } = await this.t();
    return link.settle(
      client.workflow.getHandle<typeof restore>(workflowIds.restore(restoreId)).result(),
      (reason) => ({ restore_id: restoreId, status: 'failure', reason }),
    );
  }

  async waitForDelete(checkpointId: string): Promise<DeleteResult> {
    const { link, client } = await this.t();
    return link.settle(
      client.workflow.getHandle<typeof deleteCheckpoint>(workflowIds.delete(checkpointId)).result(),
      (reason) => ({ checkpoint_id: checkpointId, status: 'error-deleting', reason }),
    );
  }

  // --- checkpoints and restores ---------------------------------------------------------

  async listCheckpoints(
    providerId: string,
    query: ListCheckpointsQuery = {},
  ): Promise<CheckpointPage> {
    await this.knownProvider(providerId);
    return this.checkpoints.list(providerId, query, this.caller);
  }

  /**
   * What a retention policy does to a stored plan's `available` checkpoints, each with the
   * reasons (the newest first). Changes nothing.
   */
  async retentionOf(
    planId: string,
    policy: RetentionPolicy,
    nowMs = Date.now(),
  ): Promise<Verdict[]> {
    checkPolicy(policy);
    const plan = await this.plans.get(planId, this.caller);
    await this.knownProvider(plan.provider_id);
    const candidates = await this.checkpoints.availableOfPlan(
      plan.provider_id,
      planId,
      this.caller,
    );
    return applyRetention(candidates, policy, nowMs);
  }

  /**
   * Applies a retention policy now: every checkpoint it does not keep is deleted by the
   * delete workflow (its hooks free the chunks), never purged directly.
   */
  async applyRetentionTo(
    planId: string,
    policy: RetentionPolicy,
  ): Promise<{ verdicts: Verdict[]; deleting: string[] }> {
    const verdicts = await this.retentionOf(planId, policy);
    const plan = await this.plans.get(planId, this.caller);
    const deleting: string[] = [];
    for (const v of verdicts.filter((x) => !x.keep)) {
      await this.deleteCheckpoint(plan.provider_id, v.id);
      deleting.push(v.id);
    }
    return { verdicts, deleting };
  }

  async showCheckpoint(providerId: string, checkpointId: string): Promise<CheckpointDocument> {
    return this.checkpoints.getOf(providerId, checkpointId, this.caller);
  }

  /** The operation log of a checkpoint (its protect, delete and verify runs). */
  async checkpointEvents(providerId: string, checkpointId: string): Promise<OperationEvent[]> {
    const status = await this.checkpoints.status(checkpointId);
    if (status !== 'deleted') await this.showCheckpoint(providerId, checkpointId);
    return this.oplog.read(checkpointId);
  }

  async listRestores(
    opts: { marker?: string; limit?: number; allTenants?: boolean } = {},
  ): Promise<RestoreRecord[]> {
    return this.restores.list(this.caller, opts);
  }

  async showRestore(restoreId: string): Promise<RestoreRecord> {
    return this.restores.get(restoreId, this.caller);
  }

  async restoreEvents(restoreId: string): Promise<OperationEvent[]> {
    await this.showRestore(restoreId);
    return this.oplog.read(restoreId);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    const linked = await this.linked?.catch(() => undefined);
    await linked?.connection.close();
  }
}

/** Concurrency a caller may ask for: at least one hook, at most what a worker can hold. */
function checkRunOptions(options: RunOptions): void {
  const c = options.concurrency;
  if (c !== undefined && (!Number.isInteger(c) || c < 1 || c > MAX_HOOK_CONCURRENCY)) {
    throw new InvalidArgumentError(
      `concurrency must be a whole number from 1 to ${MAX_HOOK_CONCURRENCY}, not ${c}`,
    );
  }
}

/** A hook activity in flight, as `--wait` shows it. */
export interface RunningHook {
  resource: string;
  bytesDone: number;
  bytesTotal: number;
  filesTotal: number;
  attempt: number;
  maxAttempts: number;
  lastFailure?: string;
}

/** A checkpoint's plan, as a run's metadata names it. */
function planOf(
  doc: CheckpointDocument,
): Pick<RunDescription, 'planId' | 'planName' | 'resourceCount'> {
  return {
    planId: doc.protection_plan.id,
    planName: doc.protection_plan.name,
    resourceCount: doc.protection_plan.resources.length,
  };
}
