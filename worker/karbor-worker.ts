import {
  checkStickyBeforeHookRetry,
  STICKY_QUEUE_SCHEDULE_TO_START,
} from '../temporal-config/activity-options';
import { ProviderConfigError } from '../common/errors';
import * as fs from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Redis } from 'ioredis';
import { createActivities } from '../activities';
import type { ActivityDeps } from '../activities';
import { Catalog } from '../bank/catalog';
import { ChunkRefs } from '../bank/chunk-refs';
import { CheckpointCollection } from '../bank/checkpoint-collection';
import { LeaseManager } from '../bank/leases';
import { OperationLog } from '../bank/operation-log';
import { PlanStore } from '../bank/plan-store';
import { RedisBank } from '../bank/redis-bank';
import { RestoreCollection } from '../bank/restore-collection';
import { ANNOUNCE_EVERY_MS, WorkerRegistry } from '../bank/worker-registry';
import type { KarborConfig } from '../common/config';
import { connectionOptions, temporalUnreachable } from '../common/temporal-profile';
import { builtInPlugins } from '../plugins';
import { ChunkThreads } from '../plugins/chunk-store/chunk-threads';
import { Repositories } from '../plugins/chunk-store/repositories';
import { PluginRegistry } from '../plugins/registry';
import { ProviderRegistry } from '../providers/provider-registry';
import type { ProviderDocument } from '../providers/provider-registry';
import { checkHostName, hostQueue } from '../graph/host-pinning';
import { DEFAULT_DATA_DIR, DEFAULT_PROVIDERS_DIR } from '../common/config';
import { buildId, DEPLOYMENT_NAME } from './build-id';
import { ensureGcSchedule } from './gc-schedule';
import { resourceLogAttributes } from './observability';

export { DEFAULT_DATA_DIR, DEFAULT_PROVIDERS_DIR } from '../common/config';

/** The prebuilt workflow bundle (`npm run build`); falls back to bundling at start. */
function workflowSource(): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const codePath = path.join(__dirname, '..', 'workflow-bundle.js');
  if (fs.existsSync(codePath)) return { workflowBundle: { codePath } };
  return { workflowsPath: require.resolve('../workflows') };
}

export async function connectTemporalWorker(config: KarborConfig): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect(connectionOptions(config));
  } catch (err) {
    throw await temporalUnreachable(config, err);
  }
}

/**
 * Everything activities need, built once per worker: plugins, providers from their .conf
 * files (published to Redis so clients can list them), and the bank's collections.
 */
export async function buildActivityDeps(
  config: KarborConfig,
  redis: Redis,
  env: NodeJS.ProcessEnv,
  temporal?: Client,
): Promise<ActivityDeps> {
  const dataDir = config.dataDir ?? DEFAULT_DATA_DIR;
  const chunkRefs = new ChunkRefs(redis, config.bankPrefix);
  const repositories = new Repositories(redis, config.bankPrefix, env, dataDir);
  const plugins = new PluginRegistry(
    builtInPlugins({
      dataDir,
      chunkRefs,
      bank: new RedisBank(redis, config.bankPrefix),
      chunkThreads: new ChunkThreads(config.chunkThreads ?? availableParallelism()),
      repositories,
      env,
    }),
  );
  const providers = ProviderRegistry.load(config.providersDir ?? DEFAULT_PROVIDERS_DIR, plugins);
  // A provider's [repository] section is checked now: a mistake stops the start, naming
  // the file, instead of failing every hook later.
  for (const p of providers.all()) {
    try {
      repositories.settings(p.doc.id, p.config.repository);
    } catch (err) {
      throw new ProviderConfigError(`${p.file}: ${(err as Error).message}`);
    }
  }
  await new Catalog<ProviderDocument>(redis, config.bankPrefix).publish(
    providers.documents(),
    plugins.all().map((p) => ({
      name: p.type,
      description: p.description,
      dependent_types: p.dependentTypes ?? [],
      ...(p.hostPinned ? { host_pinned: true } : {}),
    })),
  );
  return {
    checkpoints: new CheckpointCollection(redis, config.bankPrefix, config.leases),
    leases: new LeaseManager(redis, config.bankPrefix, config.leases),
    plans: new PlanStore(redis, config.bankPrefix),
    restores: new RestoreCollection(redis, config.bankPrefix),
    oplog: new OperationLog(redis, config.bankPrefix),
    providers,
    plugins,
    host: workerHost(config),
    chunkRefs,
    repositories,
    gc: config.gc,
    taskQueue: config.taskQueue,
    ...(config.hostWaitSeconds !== undefined ? { hostWaitSeconds: config.hostWaitSeconds } : {}),
    ...(temporal ? { temporal } : {}),
  };
}

export interface KarborWorkerOptions {
  config: KarborConfig;
  connection: NativeConnection;
  redis: Redis;
  /** The process environment, read once by the entry point (plugins look credentials up here). */
  env: NodeJS.ProcessEnv;
  /**
   * A Temporal client for what activities ask Temporal (garbage collection). With
   * `gcSchedule`, the bank's `karbor-gc` Schedule is created or updated at start.
   */
  client?: Client;
  gcSchedule?: boolean;
  identity?: string;
  /** How long in-flight activities get to finish on shutdown before they are cancelled. */
  shutdownGraceTime?: string;
  maxConcurrentActivityTaskExecutions?: number;
}

/**
 * One Karbor worker: a Temporal worker on the shared queue (workflows and every activity)
 * and one on its host's queue (`<queue>@<host>`: the hooks of resources pinned to this
 * host). They start, stop and fail together.
 */
export class KarborWorker {
  constructor(
    readonly workers: Worker[],
    readonly host: string,
    readonly buildId: string,
    readonly identity: string,
    private readonly registry?: WorkerRegistry,
  ) {}

  async run(): Promise<void> {
    const runs = this.workers.map((w) => w.run());
    // Clients ask every host with workers for its instances (protectable instances).
    const announce = () =>
      this.registry
        ?.announce({ host: this.host, identity: this.identity, build_id: this.buildId })
        .catch(() => undefined);
    void announce();
    const ticker = setInterval(() => void announce(), ANNOUNCE_EVERY_MS);
    ticker.unref();
    try {
      await Promise.all(runs);
    } catch (err) {
      // One stopped with an error: the other must not poll on alone.
      this.shutdown();
      await Promise.allSettled(runs);
      throw err;
    } finally {
      clearInterval(ticker);
      await this.registry?.withdraw(this.identity).catch(() => undefined);
    }
  }

  shutdown(): void {
    for (const w of this.workers) if (w.getState() === 'RUNNING') w.shutdown();
  }

  /** RUNNING only while every part polls. */
  getState(): ReturnType<Worker['getState']> {
    return this.workers.map((w) => w.getState()).find((s) => s !== 'RUNNING') ?? 'RUNNING';
  }
}

/** The host this worker serves: its hooks' queue is `<queue>@<host>`. */
function workerHost(config: KarborConfig): string {
  return (
    config.workerHost ??
    checkHostName(hostname(), "this machine's host name (set KARBOR_WORKER_HOST instead)")
  );
}

/** Builds a worker hosting every workflow and activity, wired to one Redis bank. */
export async function createKarborWorker(opts: KarborWorkerOptions): Promise<KarborWorker> {
  const { config, connection, redis } = opts;
  const activities = createActivities(
    await buildActivityDeps(config, redis, opts.env, opts.client),
  );
  if (opts.client && opts.gcSchedule) await ensureGcSchedule(opts.client, config);
  checkStickyBeforeHookRetry();
  const host = workerHost(config);
  const build = buildId(opts.env);
  const identity = opts.identity ?? `${process.pid}@${host}`;
  const common = {
    connection,
    namespace: config.namespace,
    activities,
    identity,
    // Announced, not used for routing: every worker takes every task, so a rolling upgrade
    // is old and new builds side by side; the history records which build ran each task.
    workerDeploymentOptions: {
      version: { deploymentName: DEPLOYMENT_NAME, buildId: build },
      useWorkerVersioning: false as const,
    },
    shutdownGraceTime: (opts.shutdownGraceTime ?? '10s') as `${number}s`,
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions ?? 200,
    // Heartbeats reach the server at least this often, so a cancelled hook (another one
    // failed) hears about it within seconds rather than most of its heartbeat timeout.
    maxHeartbeatThrottleInterval: '2s' as const,
    interceptors: { activity: [() => resourceLogAttributes()] },
  };
  const shared = await Worker.create({
    ...common,
    taskQueue: config.taskQueue,
    ...workflowSource(),
    // See STICKY_QUEUE_SCHEDULE_TO_START: checked against the hook timings above.
    stickyQueueScheduleToStartTimeout: STICKY_QUEUE_SCHEDULE_TO_START,
  });
  const own = await Worker.create({ ...common, taskQueue: hostQueue(config.taskQueue, host) });
  return new KarborWorker(
    [shared, own],
    host,
    build,
    identity,
    new WorkerRegistry(redis, config.bankPrefix),
  );
}
