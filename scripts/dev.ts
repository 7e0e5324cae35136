// The long-running local setup: Redis (AOF on), PostgreSQL, the Temporal dev server with its
// Web UI and a SQLite file, and one worker. `up` reuses what is already running, so it is
// safe to repeat; `down` stops everything it started (`down --purge` also deletes
// PostgreSQL's data directory, which as root lives outside the checkout).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { configFromEnv } from '../common/config';
import { devServerSettings, temporalCliPath } from '../temporal-config/dev-server';
import {
  ensurePostgresDir,
  isAlive,
  portAnswers,
  postgresDirFor,
  postgresRunning,
  PROJECT_ROOT,
  redisAofInEffect,
  startPostgres,
  startRedis,
  startTemporal,
  stopPostgres,
  stopProcess,
  temporalReady,
  waitUntil,
  repositoryPasswordIn,
} from './services';

// KARBOR_RUN_DIR lets tests run a second, isolated dev setup beside a developer's own.
const RUN_DIR = process.env.KARBOR_RUN_DIR ?? path.join(PROJECT_ROOT, '.run');
const STATE_FILE = path.join(RUN_DIR, 'dev.json');

interface DevState {
  redis?: { pid: number; port: number };
  postgres?: { port: number; dir: string };
  temporal?: { pid: number; port: number; uiPort: number };
  worker?: { pid: number };
}

export interface DevEndpoints {
  temporalAddress: string;
  uiUrl: string;
  redisUrl: string;
  namespace: string;
  postgresPort: number;
}

/** Where the dev setup keeps its state, logs and data. */
export function runDir(): string {
  return RUN_DIR;
}

export function readState(): DevState {
  try {
    return JSON.parse(fs.readFileSync(STATE_FILE, 'utf8')) as DevState;
  } catch {
    return {};
  }
}

function writeState(state: DevState): void {
  fs.mkdirSync(RUN_DIR, { recursive: true });
  fs.writeFileSync(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
}

function port(envName: string, fallback: number): number {
  const v = process.env[envName];
  if (!v) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0 || n > 65535) throw new Error(`${envName}=${v} is not a port`);
  return n;
}

const APPENDFSYNC = ['always', 'everysec', 'no'] as const;
type Appendfsync = (typeof APPENDFSYNC)[number];

/** KARBOR_REDIS_APPENDFSYNC, checked; undefined when not set (everysec then). */
function requestedAppendfsync(): Appendfsync | undefined {
  const v = process.env.KARBOR_REDIS_APPENDFSYNC;
  if (!v) return undefined;
  if (!(APPENDFSYNC as readonly string[]).includes(v)) {
    throw new Error(`KARBOR_REDIS_APPENDFSYNC=${v} is not one of ${APPENDFSYNC.join(', ')}`);
  }
  return v as Appendfsync;
}

/** What a running redis-server really does, in the words of the log line. */
function aofDescription(aof: Appendfsync | 'off'): string {
  return aof === 'off' ? 'AOF off' : `AOF, appendfsync ${aof}`;
}

async function ensureFree(p: number, what: string, envName: string): Promise<void> {
  if (await portAnswers('127.0.0.1', p)) {
    throw new Error(
      `port ${p} for ${what} is taken by another program; stop it or set ${envName} to a free port`,
    );
  }
}

export function endpoints(state: DevState): DevEndpoints {
  if (!state.temporal || !state.redis || !state.postgres) {
    throw new Error('dev setup is not running: npm run dev:up');
  }
  return {
    temporalAddress: `127.0.0.1:${state.temporal.port}`,
    uiUrl: `http://127.0.0.1:${state.temporal.uiPort}`,
    redisUrl: `redis://127.0.0.1:${state.redis.port}`,
    namespace: devServerSettings.namespace,
    postgresPort: state.postgres.port,
  };
}

async function up(): Promise<DevEndpoints> {
  const state = readState();
  fs.mkdirSync(RUN_DIR, { recursive: true });
  const appendfsync = requestedAppendfsync();

  if (
    state.redis &&
    isAlive(state.redis.pid) &&
    (await portAnswers('127.0.0.1', state.redis.port))
  ) {
    const inEffect = await redisAofInEffect(state.redis.port);
    log(`redis-server already running on port ${state.redis.port} (${aofDescription(inEffect)})`);
    if (appendfsync && appendfsync !== inEffect) {
      log(
        `KARBOR_REDIS_APPENDFSYNC=${appendfsync} is not in effect on the running redis-server; npm run dev:down, then up again, to apply it`,
      );
    }
  } else {
    const p = port('KARBOR_DEV_REDIS_PORT', devServerSettings.redisPort);
    await ensureFree(p, 'Redis', 'KARBOR_DEV_REDIS_PORT');
    const redis = await startRedis({
      port: p,
      dir: path.join(RUN_DIR, 'redis'),
      appendfsync: appendfsync ?? 'everysec',
      detached: true,
      logFile: path.join(RUN_DIR, 'redis.log'),
    });
    state.redis = { pid: redis.pid, port: redis.port };
    writeState(state);
    const inEffect = await redisAofInEffect(redis.port);
    log(`started redis-server on port ${redis.port} (${aofDescription(inEffect)})`);
  }

  if (state.postgres && (await portAnswers('127.0.0.1', state.postgres.port))) {
    log(`PostgreSQL already running on port ${state.postgres.port}`);
  } else {
    const p = port('KARBOR_DEV_PG_PORT', devServerSettings.postgresPort);
    await ensureFree(p, 'PostgreSQL', 'KARBOR_DEV_PG_PORT');
    const dir = postgresDirFor(RUN_DIR);
    ensurePostgresDir(dir);
    const pg = await startPostgres({ dir, port: p });
    state.postgres = { port: pg.port, dir };
    writeState(state);
    log(
      `started PostgreSQL on port ${pg.port} (trust authentication on 127.0.0.1, user postgres; data and log in ${dir})`,
    );
  }

  if (
    state.temporal &&
    isAlive(state.temporal.pid) &&
    (await temporalReady(`127.0.0.1:${state.temporal.port}`, devServerSettings.namespace))
  ) {
    log(`Temporal dev server already running on port ${state.temporal.port}`);
  } else {
    const p = port('KARBOR_DEV_TEMPORAL_PORT', devServerSettings.port);
    const ui = port('KARBOR_DEV_UI_PORT', devServerSettings.uiPort);
    await ensureFree(p, 'the Temporal frontend', 'KARBOR_DEV_TEMPORAL_PORT');
    await ensureFree(ui, 'the Temporal Web UI', 'KARBOR_DEV_UI_PORT');
    log('starting the Temporal dev server (first start takes a few seconds)');
    const t = await startTemporal({
      cli: temporalCliPath(PROJECT_ROOT),
      port: p,
      uiPort: ui,
      dbFile: path.join(RUN_DIR, path.basename(devServerSettings.dbFile)),
      detached: true,
      logFile: path.join(RUN_DIR, 'temporal.log'),
    });
    state.temporal = { pid: t.pid, port: t.port, uiPort: t.uiPort };
    writeState(state);
    log(`started Temporal dev server on port ${t.port}, Web UI on port ${t.uiPort}`);
  }

  const ep = endpoints(state);
  // The worker is always restarted so it runs the code just built.
  if (state.worker) await stopProcess(state.worker.pid);
  state.worker = { pid: startWorker(ep) };
  writeState(state);
  await waitForPoller(ep);
  log(`worker ${state.worker.pid} is polling (log: ${path.join(RUN_DIR, 'worker.log')})`);
  return ep;
}

function startWorker(ep: DevEndpoints): number {
  const logFd = fs.openSync(path.join(RUN_DIR, 'worker.log'), 'a');
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'worker', 'main.js')], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: ep.temporalAddress,
      TEMPORAL_NAMESPACE: ep.namespace,
      REDIS_URL: ep.redisUrl,
      KARBOR_DATA_DIR: process.env.KARBOR_DATA_DIR ?? path.join(RUN_DIR, 'data'),
      KARBOR_REPOSITORY_PASSWORD:
        process.env.KARBOR_REPOSITORY_PASSWORD ?? repositoryPasswordIn(RUN_DIR),
    },
  });
  fs.closeSync(logFd);
  child.unref();
  return child.pid!;
}

async function waitForPoller(ep: DevEndpoints): Promise<void> {
  const { taskQueue } = configFromEnv(process.env);
  const conn = await Connection.connect({ address: ep.temporalAddress });
  try {
    await waitUntil(
      `a worker polling task queue ${taskQueue} (see ${path.join(RUN_DIR, 'worker.log')})`,
      async () => {
        const res = await conn.workflowService.describeTaskQueue({
          namespace: ep.namespace,
          taskQueue: { name: taskQueue },
          taskQueueType: 1, // workflow task queue
        });
        return (res.pollers?.length ?? 0) > 0;
      },
      60_000,
      250,
    );
  } finally {
    await conn.close();
  }
}

async function down(purge: boolean): Promise<void> {
  const state = readState();
  for (const name of ['worker', 'temporal', 'redis'] as const) {
    const s = state[name];
    if (s && isAlive(s.pid)) {
      await stopProcess(s.pid);
      log(`stopped ${name} (pid ${s.pid})`);
    }
    delete state[name];
  }
  // The recorded directory, and the one `up` would use (a server started before its state
  // was written is stopped too).
  const pgDirs = new Set([postgresDirFor(RUN_DIR)]);
  if (state.postgres) pgDirs.add(state.postgres.dir);
  for (const dir of pgDirs) await stopPostgres(dir);
  if (state.postgres) log(`stopped PostgreSQL (port ${state.postgres.port})`);
  delete state.postgres;
  writeState(state);
  if (purge) {
    for (const dir of pgDirs) {
      if (!fs.existsSync(dir)) continue;
      if (await postgresRunning(dir)) {
        throw new Error(`PostgreSQL in ${dir} did not stop; not deleting its data directory`);
      }
      fs.rmSync(dir, { recursive: true, force: true });
      log(`deleted PostgreSQL's data directory ${dir}`);
    }
  }
}

function status(): void {
  const state = readState();
  for (const name of ['redis', 'temporal', 'worker'] as const) {
    const s = state[name];
    log(`${name}: ${s && isAlive(s.pid) ? `running (pid ${s.pid})` : 'stopped'}`);
  }
  log(
    `postgres: ${state.postgres ? `port ${state.postgres.port}, data and log in ${state.postgres.dir}` : 'stopped'}`,
  );
  if (state.temporal) log(`Web UI: http://127.0.0.1:${state.temporal.uiPort}`);
}

function log(msg: string): void {
  process.stderr.write(`dev: ${msg}\n`);
}

async function main(): Promise<void> {
  const cmd = process.argv[2];
  switch (cmd) {
    case 'up': {
      const ep = await up();
      if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(ep)}\n`);
      return;
    }
    case 'down':
      return down(process.argv.includes('--purge'));
    case 'status':
      return status();
    default:
      process.stderr.write(
        'usage: node dist/scripts/dev.js up [--json] | down [--purge] | status\n',
      );
      process.exitCode = cmd === '--help' || cmd === '-h' ? 0 : 2;
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`dev: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
