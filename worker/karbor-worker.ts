import * as fs from 'node:fs';
import * as path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Redis } from 'ioredis';
import { createActivities } from '../activities';
import { CheckpointCollection } from '../bank/checkpoint-collection';
import { LeaseManager } from '../bank/leases';
import type { KarborConfig } from '../common/config';
import { ServiceUnreachableError } from '../common/errors';

/** The prebuilt workflow bundle (`npm run build`); falls back to bundling at start. */
function workflowSource(): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const codePath = path.join(__dirname, '..', 'workflow-bundle.js');
  if (fs.existsSync(codePath)) return { workflowBundle: { codePath } };
  return { workflowsPath: require.resolve('../workflows') };
}

export async function connectTemporalWorker(address: string): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect({ address });
  } catch (err) {
    throw new ServiceUnreachableError(
      `cannot reach Temporal at ${address}: ${(err as Error).message}`,
    );
  }
}

export interface KarborWorkerOptions {
  config: KarborConfig;
  connection: NativeConnection;
  redis: Redis;
  identity?: string;
  /** How long in-flight activities get to finish on shutdown before they are cancelled. */
  shutdownGraceTime?: string;
}

/** Builds a worker hosting every workflow and activity, wired to one Redis bank. */
export async function createKarborWorker(opts: KarborWorkerOptions): Promise<Worker> {
  const { config, connection, redis } = opts;
  const activities = createActivities({
    checkpoints: new CheckpointCollection(redis, config.bankPrefix),
    leases: new LeaseManager(redis, config.bankPrefix),
  });
  return Worker.create({
    connection,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    activities,
    ...workflowSource(),
    ...(opts.identity ? { identity: opts.identity } : {}),
    shutdownGraceTime: (opts.shutdownGraceTime ?? '10s') as `${number}s`,
  });
}
