// Karbor::PostgreSQL::Database (resource id `host:port/dbname`): protect streams
// `pg_dump -Fc` into the provider's chunk store; restore streams it back into `pg_restore`,
// into the original database or a target one (created when missing; an existing database
// with tables is replaced whole, and only with the `overwrite` restore parameter). Credentials: the provider's
// [postgresql] section names the user and the environment variable holding the password;
// they never reach workflow history or the bank.
import type { GraphResource } from '../../graph/resource-graph';
import { manifestToRelease, resourceChunks } from '../chunk-store/provider-store';
import type { DataPluginDeps, StoredStream } from '../chunk-store/provider-store';
import { RestoreRefusedError } from '../../common/errors';
import { sha256 } from '../chunk-store/chunk-store';
import type { HookContext, ResourcePlugin, RestoreCheck } from '../types';
import { dump, parseDatabaseId, psql, restore } from './pg-tools';
import type { PgAccess, PgConnection } from './pg-tools';

export const POSTGRES_TYPE = 'Karbor::PostgreSQL::Database';
const DUMP = 'dump.json';

interface DumpManifest {
  version: 1;
  format: 'custom';
  database: string;
  chunks: string[];
  bytes: number;
}

export interface PostgresPluginDeps extends DataPluginDeps {
  /** The worker's environment, read once at start (passwords are looked up here). */
  env: NodeJS.ProcessEnv;
}

function access(deps: PostgresPluginDeps, config: Record<string, string>): PgAccess {
  const env: NodeJS.ProcessEnv = { ...deps.env, PGCONNECT_TIMEOUT: '10' };
  if (config.password_env) env.PGPASSWORD = deps.env[config.password_env] ?? '';
  return { user: config.user ?? 'postgres', env };
}

/** `dbname`, or `host:port/dbname` for another server. */
function targetOf(original: PgConnection, target?: string): PgConnection {
  if (!target) return original;
  if (target.includes('/')) return parseDatabaseId(target);
  if (!/^[A-Za-z0-9_\-.]{1,63}$/.test(target))
    throw new RestoreRefusedError(`restore target ${target} is not a database name`);
  return { ...original, database: target };
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** Whether the database exists, and whether it holds any relation of its own. */
async function databaseState(
  c: PgConnection,
  a: PgAccess,
): Promise<'missing' | 'empty' | 'in use'> {
  const rows = await psql(
    c,
    a,
    `SELECT 1 FROM pg_database WHERE datname = ${quoteLiteral(c.database)}`,
    'postgres',
  );
  if (rows.length === 0) return 'missing';
  const [relations] = await psql(
    c,
    a,
    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')",
  );
  return Number(relations) > 0 ? 'in use' : 'empty';
}

function notEmpty(c: PgConnection): RestoreRefusedError {
  return new RestoreRefusedError(
    `database ${c.database} on ${c.host}:${c.port} is not empty; restore with parameter overwrite=true to replace it`,
  );
}

/** Before the restore starts: a target name that parses, and no silent overwrite. */
async function checkRestore(deps: PostgresPluginDeps, req: RestoreCheck): Promise<void> {
  const target = targetOf(parseDatabaseId(req.resource.id), req.target);
  if (req.parameters.overwrite === true) return;
  if ((await databaseState(target, access(deps, req.providerConfig))) === 'in use')
    throw notEmpty(target);
}

async function protect(deps: PostgresPluginDeps, ctx: HookContext): Promise<void> {
  const conn = parseDatabaseId(ctx.resource.id);
  const a = access(deps, ctx.providerConfig);
  let done = 0;
  const chunks = resourceChunks(deps, ctx);
  let stored: StoredStream;
  try {
    stored = await chunks.storeStream(dump(conn, a, ctx.signal), (n) => {
      done += n;
      ctx.heartbeat({ bytesDone: done });
    });
    await chunks.commit();
  } catch (err) {
    await chunks.abandon();
    throw err;
  }
  const manifest: DumpManifest = {
    version: 1,
    format: 'custom',
    database: conn.database,
    chunks: stored.chunks,
    bytes: stored.bytes,
  };
  await ctx.section.updateObject(DUMP, manifest);
}

/**
 * Restores into the target database. A non-empty target (with overwrite=true) is replaced
 * whole: the dump goes into a staging database that then takes the target's name, so the
 * result holds exactly the checkpoint's tables and a failed restore leaves the old one.
 */
async function restoreDatabase(deps: PostgresPluginDeps, ctx: HookContext): Promise<void> {
  const manifest = await ctx.section.getObject<DumpManifest>(DUMP);
  const target = targetOf(parseDatabaseId(ctx.resource.id), ctx.restoreTarget);
  const a = access(deps, ctx.providerConfig);
  const state = await databaseState(target, a);
  if (state === 'in use' && ctx.parameters.overwrite !== true) throw notEmpty(target);
  const tag = sha256(Buffer.from(`${ctx.operationId}/${ctx.resource.id}`)).slice(0, 12);
  const staging = { ...target, database: `karbor_restore_${tag}` };
  const retired = `karbor_replaced_${tag}`;
  const into = state === 'in use' ? staging : target;
  const admin = (sql: string) => psql(target, a, sql, 'postgres');
  if (into === staging)
    await admin(`DROP DATABASE IF EXISTS ${quoteIdent(staging.database)} WITH (FORCE)`);
  if (state === 'missing' || into === staging)
    await admin(`CREATE DATABASE ${quoteIdent(into.database)}`);
  let done = 0;
  const chunks = resourceChunks(deps, ctx);
  async function* counted() {
    for await (const data of chunks.readStream(manifest.chunks)) {
      done += data.length;
      ctx.heartbeat({ bytesDone: done, bytesTotal: manifest.bytes });
      yield data;
    }
  }
  await restore(into, a, counted(), { clean: false }, ctx.signal);
  if (into === staging) {
    // The swap: no new sessions on the old database, the open ones ended, then two renames.
    const name = quoteIdent(target.database);
    await admin(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    await admin(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${quoteLiteral(target.database)} AND pid <> pg_backend_pid()`,
    );
    await admin(`DROP DATABASE IF EXISTS ${quoteIdent(retired)} WITH (FORCE)`);
    await admin(`ALTER DATABASE ${name} RENAME TO ${quoteIdent(retired)}`);
    await admin(`ALTER DATABASE ${quoteIdent(staging.database)} RENAME TO ${name}`);
  }
  // Also what an attempt that died between the two renames left behind.
  await admin(`DROP DATABASE IF EXISTS ${quoteIdent(retired)} WITH (FORCE)`);
}

async function verify(deps: PostgresPluginDeps, ctx: HookContext): Promise<void> {
  const manifest = await ctx.section.getObject<DumpManifest>(DUMP);
  let done = 0;
  for await (const data of resourceChunks(deps, ctx).readStream(manifest.chunks)) {
    done += data.length;
    ctx.heartbeat({ bytesDone: done, bytesTotal: manifest.bytes });
  }
}

async function remove(deps: PostgresPluginDeps, ctx: HookContext): Promise<void> {
  const manifest = await manifestToRelease<DumpManifest>(ctx, DUMP);
  await resourceChunks(deps, ctx).releaseAll(manifest?.chunks);
}

export function postgresqlPlugin(deps: PostgresPluginDeps): ResourcePlugin {
  return {
    name: 'postgresql',
    type: POSTGRES_TYPE,
    description: 'A PostgreSQL database, dumped with pg_dump -Fc and restored with pg_restore',
    schemas: {
      options: { type: 'object', properties: {}, additionalProperties: false },
      restore: {
        type: 'object',
        properties: { overwrite: { type: 'boolean' } },
        additionalProperties: false,
      },
      savedInfo: { type: 'object', properties: { bytes: { type: 'integer' } } },
      restoreTarget: {
        type: 'string',
        pattern: '^([^/:]+:[0-9]{1,5}/)?[A-Za-z0-9_.-]{1,63}$',
        description: 'a database name, or host:port/name',
      },
    },
    dependents: () => Promise.resolve([]),
    // The provider's [postgresql] section: `hosts = 127.0.0.1:5432` lists their databases.
    async listInstances(config) {
      const out: GraphResource[] = [];
      for (const hp of (config.hosts ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const conn = parseDatabaseId(`${hp}/postgres`);
        const names = await psql(
          conn,
          access(deps, config),
          'SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1',
        );
        for (const n of names)
          out.push({ id: `${hp}/${n}`, type: POSTGRES_TYPE, name: n, extra_info: {} });
      }
      return out;
    },
    operations: {
      protect: { onMain: (ctx) => protect(deps, ctx) },
      restore: { onMain: (ctx) => restoreDatabase(deps, ctx) },
      verify: { onMain: (ctx) => verify(deps, ctx) },
      delete: { onMain: (ctx) => remove(deps, ctx) },
    },
    checkRestore: (req) => checkRestore(deps, req),
  };
}
