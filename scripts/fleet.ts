// `npm run fleet:up` / `fleet:down` / `fleet:status`: a fleet on this one machine, for tests
// and trials. Not the dev server: a Temporal server built from the Go module proxy
// (go.temporal.io/server) with PostgreSQL persistence and visibility and mTLS on its frontend
// (certificates made here); Redis as a primary with a replica watched by three Sentinels; a
// chunk repository directory every worker shares; workers for two simulated hosts, each
// with KARBOR_WORKER_HOST and a root of its own. Everything lives in the run directory
// (KARBOR_FLEET_DIR, default .run/fleet); fleet.env there holds what a client needs.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { setupCluster } from '../client/cluster-setup';
import { configFromEnv } from '../common/config';
import { connectionOptions } from '../common/temporal-profile';
import fleetSettings from '../temporal-config/fleet.json';
import { sentinelPrimaryPort, startSentinelGroup } from './redis-topologies';
import {
  ensurePostgresDir,
  freePort,
  isAlive,
  postgresDirFor,
  PROJECT_ROOT,
  spawnService,
  startPostgres,
  stopPostgres,
  stopProcess,
  waitReady,
  waitUntil,
  repositoryPasswordIn,
} from './services';

const run = promisify(execFile);

export interface FleetWorker {
  name: string;
  host: string;
  pid: number;
  buildId?: string;
  metrics: string;
  log: string;
}

export interface FleetState {
  runDir: string;
  temporal: { address: string; pid: number; log: string };
  postgres: { dir: string; port: number };
  redis: { url: string; processes: { pid: number; port: number; role: string }[] };
  /** A chunk repository all workers share (the repository issue's S3 store is not here yet). */
  repository: string;
  /** Per simulated host, the root its directories live under. */
  hostRoots: Record<string, string>;
  /** What a client or worker needs to reach this fleet (also in fleet.env). */
  env: Record<string, string>;
  workers: FleetWorker[];
}

const log = (line: string) => process.stderr.write(`fleet: ${line}\n`);

export function defaultFleetDir(): string {
  return process.env.KARBOR_FLEET_DIR || path.join(PROJECT_ROOT, '.run', 'fleet');
}

const stateFile = (runDir: string) => path.join(runDir, 'fleet.json');

export function readFleet(runDir: string): FleetState | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile(runDir), 'utf8')) as FleetState;
  } catch {
    return undefined;
  }
}

function saveFleet(state: FleetState): void {
  fs.writeFileSync(stateFile(state.runDir), JSON.stringify(state, null, 2));
  const lines = Object.entries(state.env).map(([k, v]) => `export ${k}='${v}'`);
  fs.writeFileSync(path.join(state.runDir, 'fleet.env'), `${lines.join('\n')}\n`);
}

/** What fleet:up makes in its run directory (and removes again at the next fleet:up). */
const FLEET_MADE = [
  'logs',
  'certs',
  'redis',
  'repository',
  'providers',
  'postgres',
  'fleet.json',
  'fleet.env',
  'temporal.yaml',
  'dynamicconfig.yaml',
];
const MARKER = '.karbor-fleet';

/**
 * The run directory must be new, empty, or one a fleet made (it holds the marker): a
 * KARBOR_FLEET_DIR that names a directory of other files is refused, never cleared.
 */
function claimFleetDir(runDir: string): void {
  if (fs.existsSync(runDir)) {
    const entries = fs.readdirSync(runDir);
    if (entries.length > 0 && !entries.includes(MARKER)) {
      throw new Error(
        `${runDir} holds files that are not a fleet's: set KARBOR_FLEET_DIR to a new or empty directory`,
      );
    }
  }
  fs.mkdirSync(runDir, { recursive: true });
  fs.writeFileSync(path.join(runDir, MARKER), 'made by npm run fleet:up\n');
}

const hostProvidersDir = (runDir: string, host: string) => path.join(runDir, 'providers', host);

/**
 * Per simulated host, the shipped provider files with `[directory] roots` naming that host's
 * root, so `protectable instances` shows each host's own trees.
 */
function writeHostProviders(runDir: string, hostRoots: Record<string, string>): void {
  const shipped = path.join(PROJECT_ROOT, 'providers.d');
  for (const [host, root] of Object.entries(hostRoots)) {
    const dir = hostProvidersDir(runDir, host);
    fs.mkdirSync(dir, { recursive: true });
    for (const f of fs.readdirSync(shipped).filter((n) => n.endsWith('.conf'))) {
      const text = fs.readFileSync(path.join(shipped, f), 'utf8');
      fs.writeFileSync(path.join(dir, f), text.replace(/^roots = .*$/m, `roots = ${root}`));
    }
  }
}

/** The Temporal server and its schema tool (scripts/fleet-tools builds them once). */
async function serverTools(): Promise<{ bin: string; schema: string }> {
  const { stdout } = await run('bash', [path.join(PROJECT_ROOT, 'scripts', 'fleet-tools')], {
    maxBuffer: 1 << 20,
  });
  const [dir, schema] = stdout.trim().split('\n');
  return { bin: path.join(dir!, 'bin'), schema: schema! };
}

/** A CA, a server certificate for localhost/127.0.0.1 and a client certificate. */
export async function makeCertificates(dir: string): Promise<Record<string, string>> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args);
  if (!fs.existsSync(f('client.pem'))) {
    await openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '365',
      '-subj',
      '/CN=karbor-fleet-ca',
      '-keyout',
      f('ca.key'),
      '-out',
      f('ca.pem'),
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
    for (const [name, cn, ext] of [
      [
        'server',
        'localhost',
        'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth',
      ],
      ['client', 'karbor-client', 'extendedKeyUsage=clientAuth'],
    ] as const) {
      fs.writeFileSync(f(`${name}.ext`), `${ext}\n`);
      await openssl(
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        `/CN=${cn}`,
        '-keyout',
        f(`${name}.key`),
        '-out',
        f(`${name}.csr`),
      );
      await openssl(
        'x509',
        '-req',
        '-in',
        f(`${name}.csr`),
        '-CA',
        f('ca.pem'),
        '-CAkey',
        f('ca.key'),
        '-CAcreateserial',
        '-days',
        '365',
        '-extfile',
        f(`${name}.ext`),
        '-out',
        f(`${name}.pem`),
      );
    }
  }
  return {
    ca: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
  };
}

/** Creates the two databases and brings their schemas up to this server version. */
async function setupDatabases(bin: string, schema: string, pgPort: number): Promise<void> {
  const env = {
    ...process.env,
    SQL_PLUGIN: 'postgres12',
    SQL_HOST: '127.0.0.1',
    SQL_PORT: String(pgPort),
    SQL_USER: 'postgres',
    SQL_PASSWORD: '',
  };
  const sql = (...args: string[]) => run(path.join(bin, 'sql'), args, { env, maxBuffer: 1 << 24 });
  for (const [db, dir] of [
    ['temporal', 'temporal'],
    ['temporal_visibility', 'visibility'],
  ] as const) {
    await sql('--db', db, 'create-database').catch((err: Error & { stderr?: string }) => {
      if (!/already exists/.test(`${err.message}${err.stderr ?? ''}`)) throw err;
    });
    await sql('--db', db, 'setup-schema', '-v', '0.0');
    await sql('--db', db, 'update-schema', '-d', path.join(schema, dir, 'versioned'));
  }
}

interface ServerPorts {
  frontend: number;
  http: number;
  membership: Record<'frontend' | 'history' | 'matching' | 'worker', number>;
  grpc: Record<'history' | 'matching' | 'worker', number>;
}

function serverConfig(
  ports: ServerPorts,
  pgPort: number,
  certs: Record<string, string>,
  dynamicConfig: string,
): string {
  const store = (db: string) => `      sql:
        pluginName: postgres12
        databaseName: ${db}
        connectAddr: "127.0.0.1:${pgPort}"
        connectProtocol: tcp
        user: postgres
        password: ""
        maxConns: 10
        maxIdleConns: 10
        maxConnLifetime: 1h`;
  const service = (grpc: number, membership: number, extra = '') =>
    `    rpc:\n      grpcPort: ${grpc}\n      membershipPort: ${membership}\n      bindOnIP: 127.0.0.1${extra}`;
  return `log:
  stdout: true
  level: warn
persistence:
  defaultStore: pg-default
  visibilityStore: pg-visibility
  numHistoryShards: 4
  datastores:
    pg-default:
${store('temporal')}
    pg-visibility:
${store('temporal_visibility')}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
  pprof:
    port: 0
  tls:
    frontend:
      server:
        certFile: ${certs.serverCert}
        keyFile: ${certs.serverKey}
        requireClientAuth: true
        clientCaFiles:
          - ${certs.ca}
    # The server's own system worker (schedules, batch) is a client of the frontend too.
    systemWorker:
      certFile: ${certs.serverCert}
      keyFile: ${certs.serverKey}
      client:
        serverName: localhost
        rootCaFiles:
          - ${certs.ca}
services:
  frontend:
${service(ports.frontend, ports.membership.frontend, `\n      httpPort: ${ports.http}`)}
  history:
${service(ports.grpc.history, ports.membership.history)}
  matching:
${service(ports.grpc.matching, ports.membership.matching)}
  worker:
${service(ports.grpc.worker, ports.membership.worker)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:${ports.frontend}"
      httpAddress: "127.0.0.1:${ports.http}"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: ${dynamicConfig}
  pollInterval: 10s
`;
}

/** The environment that reaches the fleet's Temporal (mTLS) and Redis (Sentinel). */
function fleetEnv(
  frontend: number,
  certs: Record<string, string>,
  redisUrl: string,
  repository: string,
) {
  return {
    TEMPORAL_ADDRESS: `127.0.0.1:${frontend}`,
    TEMPORAL_NAMESPACE: fleetSettings.namespace,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.ca!,
    TEMPORAL_TLS_CLIENT_CERT_PATH: certs.clientCert!,
    TEMPORAL_TLS_CLIENT_KEY_PATH: certs.clientKey!,
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
    REDIS_URL: redisUrl,
    KARBOR_DATA_DIR: repository,
  };
}

async function startServer(
  runDir: string,
  bin: string,
  schema: string,
  pgPort: number,
  certs: Record<string, string>,
) {
  const ports: ServerPorts = {
    frontend: await freePort(),
    http: await freePort(),
    // Membership ports are stored as PostgreSQL smallints.
    membership: {
      frontend: await freePort(32_000),
      history: await freePort(32_000),
      matching: await freePort(32_000),
      worker: await freePort(32_000),
    },
    grpc: { history: await freePort(), matching: await freePort(), worker: await freePort() },
  };
  await setupDatabases(bin, schema, pgPort);
  const dynamic = path.join(runDir, 'dynamicconfig.yaml');
  fs.writeFileSync(dynamic, 'frontend.enableUpdateWorkflowExecution:\n  - value: true\n');
  const config = path.join(runDir, 'temporal.yaml');
  fs.writeFileSync(config, serverConfig(ports, pgPort, certs, dynamic));
  const logFile = path.join(runDir, 'logs', 'temporal.log');
  const child = spawnService(
    path.join(bin, 'server'),
    ['--allow-no-auth', '--config-file', config, 'start'],
    { detached: true, logFile },
  );
  return { ports, child, log: logFile };
}

/** Connects to the fleet's frontend with the client certificate. */
export function connectFleet(state: Pick<FleetState, 'env'>): Promise<Connection> {
  return Connection.connect({
    ...connectionOptions(configFromEnv(state.env)),
    connectTimeout: '5s',
  });
}

/** Whether the fleet's frontend answers a client with the certificate. */
async function frontendAnswers(state: Pick<FleetState, 'env'>): Promise<boolean> {
  const connection = await connectFleet(state).catch(() => undefined);
  if (!connection) return false;
  try {
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection.close();
  }
}

/** Namespace and search attributes (karbor setup), then waits until queries can use them. */
async function prepareNamespace(state: FleetState): Promise<void> {
  const connection = await connectFleet(state);
  try {
    await setupCluster(connection, { namespace: fleetSettings.namespace, retentionDays: 1 });
    // Frontends cache namespaces and their search attributes for a few seconds.
    await waitUntil(
      'the search attributes to be usable',
      () =>
        connection.workflowService
          .countWorkflowExecutions({
            namespace: fleetSettings.namespace,
            query: 'KarborOperation = "fleet-check"',
          })
          .then(
            () => true,
            () => false,
          ),
      60_000,
      500,
    );
  } finally {
    await connection.close();
  }
}

/** Starts one worker process of the fleet (a simulated host's). */
export async function startFleetWorker(
  state: FleetState,
  w: { name: string; host: string; buildId?: string; env?: Record<string, string> },
): Promise<FleetWorker> {
  const metrics = `127.0.0.1:${await freePort()}`;
  const logFile = path.join(state.runDir, 'logs', `worker-${w.name}.log`);
  const child = spawnService(
    process.execPath,
    [path.join(PROJECT_ROOT, 'dist', 'worker', 'main.js')],
    {
      detached: true,
      logFile,
      env: {
        ...process.env,
        ...state.env,
        KARBOR_WORKER_HOST: w.host,
        KARBOR_REPOSITORY_PASSWORD:
          process.env.KARBOR_REPOSITORY_PASSWORD ?? repositoryPasswordIn(state.runDir),
        // Each simulated host lists the directories under its own root.
        ...(fs.existsSync(hostProvidersDir(state.runDir, w.host))
          ? { KARBOR_PROVIDERS_DIR: hostProvidersDir(state.runDir, w.host) }
          : {}),
        KARBOR_METRICS_ADDRESS: metrics,
        ...(w.buildId ? { KARBOR_BUILD_ID: w.buildId } : {}),
        ...w.env,
      },
    },
  );
  await waitReady(
    `worker ${w.name} (${w.host})`,
    child,
    () =>
      fetch(`http://${metrics}/readyz`).then(
        (r) => r.ok,
        () => false,
      ),
    60_000,
    logFile,
  );
  const worker: FleetWorker = {
    name: w.name,
    host: w.host,
    pid: child.pid!,
    metrics,
    log: logFile,
    ...(w.buildId ? { buildId: w.buildId } : {}),
  };
  state.workers.push(worker);
  saveFleet(state);
  return worker;
}

/** Stops one worker: SIGTERM lets it finish what it runs; SIGKILL is a crash. */
export async function stopFleetWorker(
  state: FleetState,
  w: FleetWorker,
  signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
): Promise<void> {
  if (signal === 'SIGKILL') {
    try {
      process.kill(w.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await waitUntil(`worker ${w.name} to die`, () => Promise.resolve(!isAlive(w.pid)), 10_000);
  } else {
    await stopProcess(w.pid, 20_000);
  }
  state.workers = state.workers.filter((x) => x.pid !== w.pid);
  saveFleet(state);
}

export async function fleetUp(
  opts: { runDir?: string; buildId?: string; workers?: { name: string; host: string }[] } = {},
): Promise<FleetState> {
  const runDir = path.resolve(opts.runDir ?? defaultFleetDir());
  const running = readFleet(runDir);
  if (running && isAlive(running.temporal.pid)) {
    throw new Error(`a fleet already runs from ${runDir} (npm run fleet:down first)`);
  }
  // Each fleet starts fresh: no history, bank or repository of an earlier one. Only what a
  // fleet made goes, in a directory a fleet made; the hosts' trees (the user's data) stay.
  claimFleetDir(runDir);
  for (const made of FLEET_MADE)
    fs.rmSync(path.join(runDir, made), { recursive: true, force: true });
  fs.mkdirSync(path.join(runDir, 'logs'), { recursive: true });
  log('building or finding the Temporal server (scripts/fleet-tools)');
  const tools = await serverTools();
  const certs = await makeCertificates(path.join(runDir, 'certs'));
  const pgDir = postgresDirFor(runDir);
  await stopPostgres(pgDir);
  fs.rmSync(pgDir, { recursive: true, force: true });
  ensurePostgresDir(pgDir);
  // Whatever started is stopped again if a later step fails.
  const started: { pids: number[]; pg?: string } = { pids: [] };
  try {
    const pg = await startPostgres({ dir: pgDir });
    started.pg = pgDir;
    log(`PostgreSQL on ${pg.port}`);
    const server = await startServer(runDir, tools.bin, tools.schema, pg.port, certs);
    started.pids.push(server.child.pid!);
    const redis = await startSentinelGroup({
      dir: path.join(runDir, 'redis'),
      detached: true,
      downAfterMs: fleetSettings.sentinelDownAfterMs,
    });
    started.pids.push(...redis.processes.map((p) => p.pid));
    log(`Redis: ${redis.url}`);
    const repository = path.join(runDir, 'repository');
    fs.mkdirSync(repository, { recursive: true });
    const hostRoots = Object.fromEntries(
      fleetSettings.hosts.map((h) => [h, path.join(runDir, 'hosts', h)]),
    );
    for (const root of Object.values(hostRoots)) fs.mkdirSync(root, { recursive: true });
    writeHostProviders(runDir, hostRoots);
    const state: FleetState = {
      runDir,
      temporal: {
        address: `127.0.0.1:${server.ports.frontend}`,
        pid: server.child.pid!,
        log: server.log,
      },
      postgres: { dir: pgDir, port: pg.port },
      redis: {
        url: redis.url,
        processes: redis.processes.map(({ pid, port, role }) => ({ pid, port, role })),
      },
      repository,
      hostRoots,
      env: fleetEnv(server.ports.frontend, certs, redis.url, repository),
      workers: [],
    };
    saveFleet(state);
    await waitReady(
      'the Temporal frontend (mTLS)',
      server.child,
      () => frontendAnswers(state),
      120_000,
      server.log,
    );
    await prepareNamespace(state);
    log(`Temporal ${tools.bin}/server on ${state.temporal.address} (mTLS, PostgreSQL)`);
    for (const w of opts.workers ?? fleetSettings.workers) {
      await startFleetWorker(state, { ...w, ...(opts.buildId ? { buildId: opts.buildId } : {}) });
      started.pids.push(state.workers[state.workers.length - 1]!.pid);
      log(`worker ${w.name} for ${w.host} ready`);
    }
    return state;
  } catch (err) {
    await Promise.all(started.pids.map((pid) => stopProcess(pid, 5_000)));
    if (started.pg) await stopPostgres(started.pg);
    throw err;
  }
}

export async function fleetDown(runDir = defaultFleetDir()): Promise<void> {
  const state = readFleet(runDir);
  if (!state) return;
  await Promise.all(state.workers.map((w) => stopProcess(w.pid, 20_000)));
  await Promise.all([
    stopProcess(state.temporal.pid, 15_000),
    ...state.redis.processes.map((p) => stopProcess(p.pid, 5_000)),
  ]);
  await stopPostgres(state.postgres.dir);
  // The fleet's PostgreSQL lives outside the run directory when run as root: remove it too.
  if (path.resolve(state.postgres.dir) !== path.join(path.resolve(runDir), 'postgres')) {
    fs.rmSync(state.postgres.dir, { recursive: true, force: true });
  }
  fs.rmSync(stateFile(runDir), { force: true });
}

async function status(runDir: string): Promise<void> {
  const state = readFleet(runDir);
  if (!state) {
    process.stdout.write(`no fleet runs from ${runDir}\n`);
    return;
  }
  const alive = (pid: number) => (isAlive(pid) ? 'running' : 'stopped');
  // After a failover the primary is whichever node the Sentinels name now.
  let primary: number | undefined;
  for (const s of state.redis.processes.filter((p) => p.role === 'sentinel' && isAlive(p.pid))) {
    primary = await sentinelPrimaryPort(s.port).catch(() => undefined);
    if (primary !== undefined) break;
  }
  const role = (p: { role: string; port: number }) =>
    p.role === 'sentinel' || primary === undefined
      ? p.role
      : p.port === primary
        ? 'primary'
        : 'replica';
  const lines = [
    `Temporal ${state.temporal.address} (mTLS, PostgreSQL ${state.postgres.port}): ${alive(state.temporal.pid)}`,
    `Redis ${state.redis.url}: ${state.redis.processes.map((p) => `${role(p)} ${p.port} ${alive(p.pid)}`).join(', ')}`,
    ...state.workers.map(
      (w) => `worker ${w.name} on ${w.host}: ${alive(w.pid)} (pid ${w.pid}, metrics ${w.metrics})`,
    ),
    `client environment: source ${path.join(runDir, 'fleet.env')}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const command = process.argv[2];
  const runDir = defaultFleetDir();
  if (command === 'up') {
    const state = await fleetUp({ runDir });
    await status(runDir);
    process.stdout.write(
      `Directories of the simulated hosts live under ${Object.values(state.hostRoots).join(' and ')};\nname their host in a plan with extra_info.host. Stop it all: npm run fleet:down\n`,
    );
  } else if (command === 'down') {
    await fleetDown(runDir);
    process.stdout.write(`fleet in ${runDir} stopped\n`);
  } else if (command === 'status') {
    await status(runDir);
  } else if (command === 'worker') {
    // Starts one more worker (or a replacement for one that was killed) for a host.
    const [name, host, buildId] = process.argv.slice(3);
    const state = readFleet(runDir);
    if (!state || !name || !host) {
      throw new Error('usage: fleet worker <name> <host> [build id] (with a fleet running)');
    }
    const w = await startFleetWorker(state, { name, host, ...(buildId ? { buildId } : {}) });
    process.stdout.write(`worker ${w.name} on ${w.host}: running (pid ${w.pid})\n`);
  } else {
    process.stderr.write(
      'usage: fleet up|down|status|worker <name> <host> [build] (npm run fleet:up, fleet:down, fleet:status, fleet:worker -- <name> <host>)\n',
    );
    process.exitCode = 2;
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`fleet: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
