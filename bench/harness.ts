// What every end-to-end benchmark needs: its own redis-server and Temporal dev server, a
// Karbor worker in this process and a client, all torn down afterwards.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { Worker } from '@temporalio/worker';
import type { Redis } from 'ioredis';
import { ProtectionService } from '../client/protection-service';
import { DEFAULT_GC_SETTINGS } from '../common/config';
import type { KarborConfig } from '../common/config';
import { DEFAULT_LEASE_SETTINGS } from '../bank/leases';
import { connectRedis } from '../common/redis';
import { PROJECT_ROOT, startRedis, startTemporal, stopProcess } from '../scripts/services';
import { temporalCliPath } from '../temporal-config/dev-server';
import { createKarborWorker } from '../worker/karbor-worker';

Runtime.install({ logger: new DefaultLogger('ERROR') });

export interface BenchEnv {
  work: string;
  cfg: KarborConfig;
  redis: Redis;
  connection: NativeConnection;
  svc: ProtectionService;
  /** Runs another worker (e.g. a calibration one) until teardown. */
  alsoRun: (worker: Worker) => void;
}

/** What a benchmark adds before its worker starts: providers, environment, a server. */
export interface BenchExtras {
  providersDir?: string;
  env?: Record<string, string>;
  stop?: () => Promise<void>;
}

export async function withBenchEnv(
  name: string,
  body: (env: BenchEnv) => Promise<void>,
  extras: (work: string) => Promise<BenchExtras> = () => Promise.resolve({}),
): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `karbor-bench-${name}-`));
  const more = await extras(work);
  const [redisSrv, temporalSrv] = await Promise.all([
    startRedis({ dir: path.join(work, 'redis'), appendfsync: 'off' }),
    startTemporal({ cli: temporalCliPath(PROJECT_ROOT), logFile: path.join(work, 'temporal.log') }),
  ]);
  const cfg: KarborConfig = {
    temporalAddress: `127.0.0.1:${temporalSrv.port}`,
    namespace: 'default',
    taskQueue: `bench-${name}`,
    redisUrl: `redis://127.0.0.1:${redisSrv.port}`,
    bankPrefix: 'bench',
    projectId: 'bench',
    admin: false,
    dataDir: path.join(work, 'data'),
    leases: DEFAULT_LEASE_SETTINGS,
    gc: DEFAULT_GC_SETTINGS,
    ...(more.providersDir ? { providersDir: more.providersDir } : {}),
  };
  const redis = await connectRedis(cfg.redisUrl, 'bench-worker');
  const connection = await NativeConnection.connect({ address: cfg.temporalAddress });
  const workers: Pick<Worker, 'run' | 'shutdown'>[] = [
    await createKarborWorker({
      config: cfg,
      connection,
      redis,
      // The bench's repositories are throwaway: a fixed password unless one is given.
      env: { KARBOR_REPOSITORY_PASSWORD: 'karbor-bench', ...process.env, ...more.env },
    }),
  ];
  const runs = [workers[0]!.run()];
  const svc = await ProtectionService.connect(cfg);
  try {
    await body({
      work,
      cfg,
      redis,
      connection,
      svc,
      alsoRun: (worker) => {
        workers.push(worker);
        runs.push(worker.run());
      },
    });
  } finally {
    await svc.close();
    for (const w of workers) w.shutdown();
    await Promise.all(runs);
    await connection.close();
    redis.disconnect();
    await Promise.all([stopProcess(redisSrv.pid, 5000), stopProcess(temporalSrv.pid, 5000)]);
    await more.stop?.();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
