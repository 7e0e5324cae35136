// Starting and stopping the real servers the project runs on: redis-server, PostgreSQL and
// the Temporal dev server. Shared by the dev setup (detached, long-lived) and the test
// harness (children of the test run).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { Redis } from 'ioredis';
import { devServerArgs } from '../temporal-config/dev-server';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/**
 * A port nobody listens on right now: the kernel picks it, or (with `below`) one picked at
 * random under that bound, for servers that store ports in small integers.
 */
export async function freePort(below?: number): Promise<number> {
  if (below !== undefined) {
    for (let tries = 0; tries < 100; tries++) {
      const port = 20_000 + Math.floor(Math.random() * (below - 20_000));
      if (await canListen(port)) return port;
    }
    throw new Error(`no free port below ${below}`);
  }
  return listenOn(0);
}

async function canListen(port: number): Promise<boolean> {
  return listenOn(port).then(
    () => true,
    () => false,
  );
}

function listenOn(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr && typeof addr === 'object') resolve(addr.port);
        else reject(new Error('no port'));
      });
    });
  });
}

export function portAnswers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Polls `check` until it is true or the deadline passes; the error names what was awaited. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface ServiceProcess {
  pid: number;
  port: number;
  child: ChildProcess;
}

export interface SpawnOptions {
  /** Survive the parent (dev setup) instead of dying with it (tests). */
  detached?: boolean;
  logFile?: string;
  /** The child's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

/** A server process with its output appended to `logFile` (or dropped). */
export function spawnService(cmd: string, args: string[], opts: SpawnOptions): ChildProcess {
  const out = opts.logFile ? fs.openSync(opts.logFile, 'a') : 'ignore';
  const child = spawn(cmd, args, {
    detached: opts.detached ?? false,
    stdio: ['ignore', out, out],
    ...(opts.env ? { env: opts.env } : {}),
  });
  if (typeof out === 'number') fs.closeSync(out);
  if (opts.detached) child.unref();
  return child;
}

/** Fails with the log's last lines when a child dies before it is ready. */
export async function waitReady(
  name: string,
  child: ChildProcess,
  ready: () => Promise<boolean>,
  timeoutMs: number,
  logFile?: string,
): Promise<void> {
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });
  child.once('error', (err) => {
    exited = err.message;
  });
  try {
    await waitUntil(
      name,
      async () => {
        if (exited) throw new Error(`${name} ${exited}${logTail(logFile)}`);
        return ready();
      },
      timeoutMs,
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

function logTail(logFile?: string): string {
  if (!logFile || !fs.existsSync(logFile)) return '';
  const lines = fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-5);
  return `:\n  ${lines.join('\n  ')}`;
}

export interface RedisOptions extends SpawnOptions {
  port?: number;
  dir: string;
  /** AOF fsync policy; `off` disables AOF (fast throwaway servers for tests). */
  appendfsync?: 'always' | 'everysec' | 'no' | 'off';
  /** Each AOF record stamped with its second, so the crash tests can cut the AOF back. */
  aofTimestamps?: boolean;
  /** More redis-server arguments (`--replicaof`, `--cluster-enabled`, `--sentinel`, …). */
  extraArgs?: string[];
  /** A configuration file, read first (a Sentinel's, which it rewrites). */
  configFile?: string;
}

export async function startRedis(opts: RedisOptions): Promise<ServiceProcess> {
  const port = opts.port ?? (await freePort());
  fs.mkdirSync(opts.dir, { recursive: true });
  const fsync = opts.appendfsync ?? 'everysec';
  const args = [
    ...(opts.configFile ? [opts.configFile] : []),
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    opts.dir,
    '--save',
    '',
  ];
  if (fsync === 'off') args.push('--appendonly', 'no');
  else args.push('--appendonly', 'yes', '--appendfsync', fsync);
  if (opts.aofTimestamps) args.push('--aof-timestamp-enabled', 'yes');
  args.push(...(opts.extraArgs ?? []));
  const child = spawnService('redis-server', args, opts);
  await waitReady(
    `redis-server on port ${port}`,
    child,
    () => portAnswers('127.0.0.1', port),
    15_000,
    opts.logFile,
  );
  return { pid: child.pid!, port, child };
}

/** The AOF policy a running redis-server really uses: `off`, or its appendfsync setting. */
export async function redisAofInEffect(
  port: number,
): Promise<'always' | 'everysec' | 'no' | 'off'> {
  const redis = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined); // reported by the failing command
  try {
    await redis.connect();
    const [, appendonly] = (await redis.config('GET', 'appendonly')) as string[];
    const [, fsync] = (await redis.config('GET', 'appendfsync')) as string[];
    if (appendonly !== 'yes') return 'off';
    if (fsync === 'always' || fsync === 'everysec' || fsync === 'no') return fsync;
    throw new Error(`redis-server on port ${port} reports appendfsync ${fsync}`);
  } finally {
    redis.disconnect();
  }
}

export interface TemporalOptions extends SpawnOptions {
  cli: string;
  port?: number;
  uiPort?: number;
  dbFile?: string;
  namespace?: string;
}

export interface TemporalProcess extends ServiceProcess {
  uiPort: number;
}

export async function startTemporal(opts: TemporalOptions): Promise<TemporalProcess> {
  if (!fs.existsSync(opts.cli)) {
    throw new Error(`Temporal CLI not found at ${opts.cli}; run scripts/bootstrap first`);
  }
  const port = opts.port ?? (await freePort());
  const uiPort = opts.uiPort ?? (await freePort());
  const args = devServerArgs({
    ip: '127.0.0.1',
    port,
    uiPort,
    ...(opts.dbFile ? { dbFile: opts.dbFile } : {}),
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
  });
  const child = spawnService(opts.cli, args, opts);
  await waitReady(
    `Temporal dev server on port ${port}`,
    child,
    () => temporalReady(`127.0.0.1:${port}`, opts.namespace ?? 'default'),
    60_000,
    opts.logFile,
  );
  return { pid: child.pid!, port, uiPort, child };
}

/** True once the frontend answers and the namespace exists. */
export async function temporalReady(address: string, namespace: string): Promise<boolean> {
  if (!(await portAnswers(address.split(':')[0]!, Number(address.split(':')[1])))) return false;
  let conn: Connection | undefined;
  try {
    conn = await Connection.connect({ address, connectTimeout: '2s' });
    await conn.workflowService.describeNamespace({ namespace });
    return true;
  } catch {
    return false;
  } finally {
    await conn?.close();
  }
}

/** SIGTERM, then SIGKILL if it lingers; resolves once the process is gone. */
export async function stopProcess(pid: number, graceMs = 10_000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  try {
    await waitUntil(`process ${pid} to exit`, async () => Promise.resolve(!isAlive(pid)), graceMs);
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** The newest PostgreSQL server binaries Debian installed. */
export function postgresBinDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base)
    ? fs
        .readdirSync(base)
        .filter((v) => fs.existsSync(path.join(base, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions[0])
    throw new Error('PostgreSQL server not found under /usr/lib/postgresql; run scripts/bootstrap');
  return path.join(base, versions[0], 'bin');
}

/** PostgreSQL refuses to run as root: as root, its servers and tools run as this user. */
const PG_SYSTEM_USER = 'postgres';

function runsPostgresAsOtherUser(): boolean {
  return process.getuid?.() === 0;
}

/**
 * Where a long-lived PostgreSQL for the run directory `runDir` keeps its files (data/,
 * postgres.log, the socket). As root the server runs as the `postgres` system user, which
 * may not be allowed into the checkout at all (a clone under root's 0700 home): then it is
 * a directory of its own under /var/tmp named by a hash of the run directory's real path, so
 * two checkouts (or two run directories) never share one. Otherwise it is `runDir/postgres`.
 * Only computes the path; ensurePostgresDir creates it.
 */
export function postgresDirFor(runDir: string): string {
  if (!runsPostgresAsOtherUser()) return path.join(runDir, 'postgres');
  let real = path.resolve(runDir);
  try {
    real = fs.realpathSync(real);
  } catch {
    // not created yet: its resolved path names it
  }
  const hash = createHash('sha256').update(real).digest('hex').slice(0, 16);
  return path.join('/var/tmp', `karbor-postgres-${hash}`);
}

/**
 * Creates `dir` for startPostgres as a private directory (mode 0700) of the user PostgreSQL
 * runs as, or checks that an existing one is exactly that. In /var/tmp (world-writable)
 * a directory someone else planted, or a symlink, is refused, never used or chowned.
 */
export function ensurePostgresDir(dir: string): void {
  if (!runsPostgresAsOtherUser()) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    return;
  }
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const { uid, gid } = systemUser(PG_SYSTEM_USER);
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || (st.uid !== 0 && st.uid !== uid) || (st.mode & 0o077) !== 0) {
    throw new Error(
      `${dir} is not a private directory of root or ${PG_SYSTEM_USER} (${st.isDirectory() ? `owner uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}` : 'not a directory'}); remove it and try again`,
    );
  }
  if (st.uid !== uid || st.gid !== gid) fs.lchownSync(dir, uid, gid);
}

export interface PostgresProcess {
  port: number;
  dir: string;
  /** The superuser to connect as (trust authentication on 127.0.0.1). */
  user: string;
  stop(): Promise<void>;
}

/**
 * A PostgreSQL server in `dir` (data/, postgres.log and the socket), on a free port unless
 * one is given. As root it runs as the `postgres` system user that Debian's package creates,
 * so `dir` and every directory above it must be enterable by that user: use postgresDirFor
 * and ensurePostgresDir for a directory that lives as long as a checkout, or one under a
 * world-enterable temporary directory.
 */
export async function startPostgres(opts: {
  dir: string;
  port?: number;
}): Promise<PostgresProcess> {
  const port = opts.port ?? (await freePort());
  fs.mkdirSync(opts.dir, { recursive: true });
  const data = path.join(opts.dir, 'data');
  if (runsPostgresAsOtherUser()) {
    const { uid, gid } = systemUser(PG_SYSTEM_USER);
    fs.chownSync(opts.dir, uid, gid);
  }
  // A directory kept from an earlier start (the dev setup) is started again as it is.
  if (!fs.existsSync(path.join(data, 'PG_VERSION'))) {
    await pgTool('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
    ]);
  }
  await pgTool('pg_ctl', [
    '-D',
    data,
    '-l',
    path.join(opts.dir, 'postgres.log'),
    '-o',
    `-p ${port} -k ${opts.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    '-w',
    'start',
  ]);
  return { port, dir: opts.dir, user: 'postgres', stop: () => stopPostgres(opts.dir) };
}

/** Stops a server startPostgres started in `dir` (a no-op when it is not running). */
export async function stopPostgres(dir: string): Promise<void> {
  if (!fs.existsSync(path.join(dir, 'data', 'postmaster.pid'))) return;
  await pgTool('pg_ctl', ['-D', path.join(dir, 'data'), '-m', 'fast', '-w', 'stop']).catch(
    () => undefined,
  );
}

/** True while a server startPostgres started in `dir` runs (`pg_ctl status`). */
export async function postgresRunning(dir: string): Promise<boolean> {
  if (!fs.existsSync(path.join(dir, 'data', 'postmaster.pid'))) return false;
  return pgTool('pg_ctl', ['-D', path.join(dir, 'data'), 'status']).then(
    () => true,
    () => false,
  );
}

/**
 * Runs a server-side PostgreSQL tool, as `postgres` when we are root. Its working directory
 * is `/`: initdb and pg_ctl return to the directory they were started in, and the `postgres`
 * user may not be allowed into ours (the checkout).
 */
function pgTool(cmd: string, args: string[]): Promise<void> {
  const bin = postgresBinDir();
  const asOther = runsPostgresAsOtherUser();
  return new Promise<void>((resolve, reject) => {
    const argv = asOther ? ['-u', PG_SYSTEM_USER, '--', path.join(bin, cmd), ...args] : args;
    const child = spawn(asOther ? 'runuser' : path.join(bin, cmd), argv, {
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} failed: ${err.trim()}`)),
    );
  });
}

function systemUser(user: string): { uid: number; gid: number } {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`system user ${user} not found (is PostgreSQL installed?)`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * A local setup's repository password (dev stack, fleet): made once, kept in `dir` (0600),
 * so its workers open the repository they created after every restart. Set
 * KARBOR_REPOSITORY_PASSWORD to use your own.
 */
export function repositoryPasswordIn(dir: string): string {
  const file = path.join(dir, 'repository-password');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    const password = randomBytes(24).toString('base64url');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
    return password;
  }
}
