// What tests share: the servers the harness started, isolated per test by bank prefix and
// task queue, and workers that run inside the test process.
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import { after, before } from 'node:test';
import type { Redis } from 'ioredis';
import { ProtectionService } from '../../client/protection-service';
import { DEFAULT_GC_SETTINGS } from '../../common/config';
import type { KarborConfig } from '../../common/config';
import { DEFAULT_LEASE_SETTINGS } from '../../bank/leases';
import { asCluster, connectRedis } from '../../common/redis';
import { connectTemporalWorker, createKarborWorker } from '../../worker/karbor-worker';
import type { KarborWorker } from '../../worker/karbor-worker';
import { PROJECT_ROOT } from '../../scripts/services';

// Worker state changes at INFO would bury the test report.
Runtime.install({ logger: new DefaultLogger('WARN') });

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run tests with npm test (the harness sets it)`);
  return v;
}

export const testEnv = {
  get redisUrl() {
    return need('KARBOR_TEST_REDIS_URL');
  },
  get temporalAddress() {
    return need('KARBOR_TEST_TEMPORAL_ADDRESS');
  },
  get temporalUi() {
    return need('KARBOR_TEST_TEMPORAL_UI');
  },
  get temporalCli() {
    return need('KARBOR_TEST_TEMPORAL_CLI');
  },
  get workDir() {
    return need('KARBOR_TEST_WORK_DIR');
  },
  /** The harness's PostgreSQL: superuser postgres, trust authentication on 127.0.0.1. */
  get pgPort() {
    return Number(need('KARBOR_TEST_PG_PORT'));
  },
};

/** The provider in providers.d/noop.conf. */
export const NOOP_PROVIDER = 'b766f37c-d011-4026-8228-28730d734a3f';
/** The provider in providers.d/filesystem.conf (directories, PostgreSQL, applications). */
export const FS_PROVIDER = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';

export const CLI = path.join(PROJECT_ROOT, 'dist', 'client', 'cli.js');
export const WORKER_MAIN = path.join(PROJECT_ROOT, 'dist', 'worker', 'main.js');

/** A configuration with its own bank prefix and task queue, so tests never see each other. */
export function isolatedConfig(label: string): KarborConfig {
  const id = `${label}-${randomUUID().slice(0, 8)}`;
  return {
    temporalAddress: testEnv.temporalAddress,
    namespace: 'default',
    taskQueue: `test-${id}`,
    redisUrl: testEnv.redisUrl,
    bankPrefix: `t-${id}`,
    projectId: 'tenant-a',
    admin: false,
    dataDir: path.join(need('KARBOR_TEST_WORK_DIR'), 'data', id),
    leases: DEFAULT_LEASE_SETTINGS,
    gc: DEFAULT_GC_SETTINGS,
  };
}

/** The environment a child process (CLI, worker) needs to use an isolated config. */
export function envFor(cfg: KarborConfig): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TEMPORAL_ADDRESS: cfg.temporalAddress,
    TEMPORAL_NAMESPACE: cfg.namespace,
    KARBOR_TASK_QUEUE: cfg.taskQueue,
    REDIS_URL: cfg.redisUrl,
    KARBOR_BANK_PREFIX: cfg.bankPrefix,
    KARBOR_PROJECT_ID: cfg.projectId,
    ...(cfg.dataDir ? { KARBOR_DATA_DIR: cfg.dataDir } : {}),
    KARBOR_LEASE_EXPIRE_MS: String(cfg.leases.expireWindowMs),
    KARBOR_LEASE_RENEW_MS: String(cfg.leases.renewWindowMs),
    KARBOR_LEASE_VALIDITY_MS: String(cfg.leases.validityWindowMs),
    KARBOR_GC_INTERVAL_S: String(cfg.gc.intervalSeconds),
    KARBOR_GC_GRACE_S: String(cfg.gc.graceSeconds),
  };
}

export interface RunningWorker {
  worker: KarborWorker;
  redis: Redis;
  stop(): Promise<void>;
}

/** Runs a real worker in this process until `stop()`. */
export async function startWorker(
  cfg: KarborConfig,
  opts: { gcSchedule?: boolean } = {},
): Promise<RunningWorker> {
  const redis = await connectRedis(cfg.redisUrl, 'test-worker');
  const connection: NativeConnection = await connectTemporalWorker(cfg);
  const clientConnection = await Connection.connect({ address: cfg.temporalAddress });
  const client = new Client({ connection: clientConnection, namespace: cfg.namespace });
  const worker = await createKarborWorker({
    config: cfg,
    connection,
    redis,
    env: process.env,
    client,
    gcSchedule: opts.gcSchedule ?? false,
  });
  const running = worker.run();
  return {
    worker,
    redis,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
      await clientConnection.close();
      redis.disconnect();
    },
  };
}

/** Polls until `check` returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A Redis connection to the harness's server and a fresh bank prefix for one test file. */
export async function isolatedBank(label: string): Promise<{ redis: Redis; prefix: string }> {
  const redis = await connectRedis(testEnv.redisUrl, `test-${label}`);
  return { redis, prefix: `t-${label}-${randomUUID().slice(0, 8)}` };
}

/** Every Redis key of one bank (tests only: SCAN is never used for user listings). */
export async function allKeysOf(redis: Redis, prefix: string): Promise<string[]> {
  // On a Cluster the bank's keys share one slot, so one primary holds them all.
  const nodes: Redis[] = asCluster(redis)?.nodes('master') ?? [redis];
  const out: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
      out.push(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
  return out.sort();
}

export interface ServiceFixture {
  cfg: KarborConfig;
  worker: RunningWorker;
  svc: ProtectionService;
}

/**
 * For a describe block: an isolated config, a worker in this process and a client, set up
 * before its tests and torn down after them. Read the fields inside tests.
 */
export function useService(
  label: string,
  tweak: (cfg: KarborConfig) => void = () => {},
): ServiceFixture {
  const fixture = { cfg: isolatedConfig(label) } as ServiceFixture;
  tweak(fixture.cfg);
  before(async () => {
    fixture.worker = await startWorker(fixture.cfg);
    fixture.svc = await ProtectionService.connect(fixture.cfg);
  });
  after(async () => {
    await fixture.svc?.close();
    await fixture.worker?.stop();
  });
  return fixture;
}
