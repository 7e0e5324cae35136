// Redis with replicas on this one machine, for the fleet and the bank's topology tests:
// a primary with a replica watched by three Sentinels, or a Cluster of three primaries.
// Real redis-server processes on free ports; nothing here is a fake.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, startRedis, waitUntil } from './services';
import type { ServiceProcess, SpawnOptions } from './services';

export const SENTINEL_PRIMARY_NAME = 'karbor';

export interface RedisTopology {
  /** The REDIS_URL that names it (common/redis-url.ts). */
  url: string;
  /** Every process, primaries first. */
  processes: (ServiceProcess & { role: string })[];
}

/** A readiness check that treats a refused question as "not yet". */
const soon = (check: () => Promise<boolean>) => () => check().catch(() => false);

/** Asks one server something and hangs up. */
async function ask(port: number, ...command: string[]): Promise<unknown> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await r.call(command[0]!, ...command.slice(1));
  } finally {
    r.disconnect();
  }
}

/**
 * A primary, one replica, three Sentinels (quorum 2) that declare the primary down after
 * `downAfterMs` and promote the replica.
 */
export async function startSentinelGroup(
  opts: SpawnOptions & { dir: string; downAfterMs?: number; appendfsync?: 'everysec' | 'off' },
): Promise<RedisTopology> {
  const fsync = opts.appendfsync ?? 'everysec';
  const node = (name: string, extraArgs: string[] = []) =>
    startRedis({
      ...opts,
      dir: path.join(opts.dir, name),
      appendfsync: fsync,
      extraArgs,
      ...(opts.logFile ? {} : { logFile: path.join(opts.dir, `${name}.log`) }),
    });
  fs.mkdirSync(opts.dir, { recursive: true });
  const primary = await node('primary');
  const replica = await node('replica', ['--replicaof', '127.0.0.1', String(primary.port)]);
  await waitUntil(
    'the replica to sync',
    soon(async () =>
      /master_link_status:up/.test(String(await ask(replica.port, 'INFO', 'replication'))),
    ),
    20_000,
  );
  const sentinels: ServiceProcess[] = [];
  for (let i = 1; i <= 3; i++) {
    const dir = path.join(opts.dir, `sentinel-${i}`);
    fs.mkdirSync(dir, { recursive: true });
    const port = await freePort();
    const conf = path.join(dir, 'sentinel.conf');
    // Sentinel rewrites its own file (what it learns about the group): it must be writable.
    fs.writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${SENTINEL_PRIMARY_NAME} 127.0.0.1 ${primary.port} 2`,
        `sentinel down-after-milliseconds ${SENTINEL_PRIMARY_NAME} ${opts.downAfterMs ?? 2000}`,
        `sentinel failover-timeout ${SENTINEL_PRIMARY_NAME} 10000`,
        `sentinel parallel-syncs ${SENTINEL_PRIMARY_NAME} 1`,
        '',
      ].join('\n'),
    );
    sentinels.push(
      await startRedis({
        ...opts,
        port,
        dir,
        appendfsync: 'off',
        configFile: conf,
        extraArgs: ['--sentinel'],
        logFile: opts.logFile ?? path.join(opts.dir, `sentinel-${i}.log`),
      }),
    );
  }
  // Ready once every Sentinel knows the replica and the other Sentinels.
  await waitUntil(
    'the Sentinels to see the group',
    soon(async () => {
      for (const s of sentinels) {
        const info = (await ask(s.port, 'SENTINEL', 'PRIMARY', SENTINEL_PRIMARY_NAME).catch(() =>
          ask(s.port, 'SENTINEL', 'MASTER', SENTINEL_PRIMARY_NAME),
        )) as string[];
        const field = (k: string) => Number(info[info.indexOf(k) + 1]);
        if (field('num-slaves') < 1 || field('num-other-sentinels') < 2) return false;
      }
      return true;
    }),
    30_000,
  );
  return {
    url: `redis+sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${SENTINEL_PRIMARY_NAME}`,
    processes: [
      { ...primary, role: 'primary' },
      { ...replica, role: 'replica' },
      ...sentinels.map((s) => ({ ...s, role: 'sentinel' })),
    ],
  };
}

/** Which port Sentinel says the primary is on now. */
export async function sentinelPrimaryPort(sentinelPort: number): Promise<number> {
  const addr = (await ask(
    sentinelPort,
    'SENTINEL',
    'GET-MASTER-ADDR-BY-NAME',
    SENTINEL_PRIMARY_NAME,
  )) as [string, string];
  return Number(addr[1]);
}

/** Three primaries sharing the 16384 slots (no replicas: the slot math is what is tested). */
export async function startRedisCluster(
  opts: SpawnOptions & { dir: string; primaries?: number },
): Promise<RedisTopology> {
  const count = opts.primaries ?? 3;
  const nodes: ServiceProcess[] = [];
  for (let i = 1; i <= count; i++) {
    const dir = path.join(opts.dir, `node-${i}`);
    nodes.push(
      await startRedis({
        ...opts,
        dir,
        appendfsync: 'off',
        extraArgs: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          path.join(dir, 'nodes.conf'),
        ],
        logFile: opts.logFile ?? path.join(opts.dir, `node-${i}.log`),
      }),
    );
  }
  await new Promise<void>((resolve, reject) =>
    execFile(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      (err, _stdout, stderr) =>
        err ? reject(new Error(`redis-cli --cluster create: ${stderr || err.message}`)) : resolve(),
    ),
  );
  await waitUntil(
    'the Cluster to serve every slot',
    soon(async () => {
      for (const n of nodes) {
        if (!/cluster_state:ok/.test(String(await ask(n.port, 'CLUSTER', 'INFO')))) return false;
      }
      return true;
    }),
    30_000,
  );
  return {
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    processes: nodes.map((n) => ({ ...n, role: 'primary' })),
  };
}
