// The test run: starts one real redis-server and one real Temporal dev server (in-memory) on
// free ports, runs every test file with node's test runner against them, and stops both
// afterwards, whatever the tests did.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { temporalCliPath } from '../../temporal-config/dev-server';
import {
  PROJECT_ROOT,
  startPostgres,
  startRedis,
  startTemporal,
  stopProcess,
} from '../../scripts/services';
import type { PostgresProcess, TemporalProcess } from '../../scripts/services';
import type { ServiceProcess } from '../../scripts/services';
import { startRedisCluster, startSentinelGroup } from '../../scripts/redis-topologies';

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findTests(p));
    else if (entry.name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

/** `--redis=sentinel|cluster`: the bank's Redis is a topology with replicas or slots. */
type RedisKind = 'standalone' | 'sentinel' | 'cluster';

async function startBankRedis(
  kind: RedisKind,
  dir: string,
): Promise<{ url: string; processes: ServiceProcess[] }> {
  if (kind === 'sentinel') return startSentinelGroup({ dir, appendfsync: 'off' });
  if (kind === 'cluster') return startRedisCluster({ dir });
  const one = await startRedis({ dir, appendfsync: 'off' });
  return { url: `redis://127.0.0.1:${one.port}`, processes: [one] };
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const redisFlag = args.find((a) => a.startsWith('--redis='));
  const redisKind = (redisFlag?.slice('--redis='.length) ?? 'standalone') as RedisKind;
  if (!['standalone', 'sentinel', 'cluster'].includes(redisKind)) {
    throw new Error(`--redis must be standalone, sentinel or cluster, not ${redisKind}`);
  }
  const filters = args.filter((a) => a !== redisFlag);
  const testDir = path.join(PROJECT_ROOT, 'dist', 'test');
  // The crash simulations (test/crash/), the fleet (test/fleet/) and the S3 backend on a
  // SeaweedFS built from the Go module proxy (test/s3/) are suites of their own:
  // `npm run test:crash`, `npm run test:fleet`, `npm run test:s3`.
  const own = ['crash', 'fleet', 's3'].map((d) => `${path.sep}${d}${path.sep}`);
  const files = findTests(testDir).filter((f) =>
    filters.length === 0 ? !own.some((d) => f.includes(d)) : filters.some((x) => f.includes(x)),
  );
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'karbor-test-'));
  // PostgreSQL runs as its own user (see startPostgres) and must reach its directory here.
  fs.chmodSync(work, 0o755);
  const started: ServiceProcess[] = [];
  let postgres: PostgresProcess | undefined;
  const stopAll = async () => {
    await Promise.all([...started.map((s) => stopProcess(s.pid, 5000)), postgres?.stop()]);
    fs.rmSync(work, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    void stopAll().finally(() => process.kill(process.pid, sig));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const cli = temporalCliPath(PROJECT_ROOT);
    // Started side by side; whichever came up is stopped again even if another failed.
    const [r, t, p] = await Promise.allSettled([
      startBankRedis(redisKind, path.join(work, 'redis')),
      startTemporal({ cli, logFile: path.join(work, 'temporal.log') }),
      startPostgres({ dir: path.join(work, 'postgres') }),
    ]);
    if (r.status === 'fulfilled') started.push(...r.value.processes);
    if (t.status === 'fulfilled') started.push(t.value);
    if (p.status === 'fulfilled') postgres = p.value;
    for (const s of [r, t, p]) if (s.status === 'rejected') throw s.reason;
    const [redisUrl, temporal, pg] = [
      (r as PromiseFulfilledResult<{ url: string }>).value.url,
      (t as PromiseFulfilledResult<TemporalProcess>).value,
      postgres!,
    ];
    process.stderr.write(
      `test harness: Redis ${redisUrl} (${redisKind}), Temporal dev server on ${temporal.port} (UI ${temporal.uiPort}), PostgreSQL on ${pg.port}\n`,
    );
    const child = spawn(
      process.execPath,
      ['--test', '--test-reporter=spec', '--test-concurrency=2', '--test-timeout=300000', ...files],
      {
        stdio: 'inherit',
        env: {
          ...process.env,
          KARBOR_TEST_REDIS_URL: redisUrl,
          KARBOR_TEST_REDIS_KIND: redisKind,
          KARBOR_TEST_TEMPORAL_ADDRESS: `127.0.0.1:${temporal.port}`,
          KARBOR_TEST_TEMPORAL_UI: `http://127.0.0.1:${temporal.uiPort}`,
          KARBOR_TEST_TEMPORAL_CLI: cli,
          KARBOR_TEST_WORK_DIR: work,
          KARBOR_TEST_PG_PORT: String(pg.port),
          // The repositories of the test providers open with it (see test/support/data-deps).
          KARBOR_REPOSITORY_PASSWORD: 'karbor-test-password',
        },
      },
    );
    return await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  } finally {
    await stopAll();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`test harness: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
