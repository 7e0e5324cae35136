// Karbor::PostgreSQL::Database (resource id `host:port/dbname`): protect streams
// `pg_dump -Fc` into the provider's chunk store; restore streams it back into `pg_restore`,
// into the original database or a target one (created when missing; an existing database
// with tables is replaced whole, and only with the `overwrite` restore parameter). Credentials: the provider's
// [postgresql] section names the user and the environment variable holding the password;
// they never reach workflow history or the bank.
import type { GraphResource } from '../../graph/resource-graph';
import { resourceChunks } from '../chunk-store/provider-store';
import type { ProviderChunks, SealedRef } from '../chunk-store/provider-store';
import type { DataPluginDeps, StoredStream } from '../chunk-store/provider-store';
import { InvalidArgumentError, RestoreRefusedError } from '../../common/errors';
import { sha256 } from '../chunk-store/chunk-store';
import type { HookContext, ResourcePlugin, RestoreCheck } from '../types';
import { dump, parseDatabaseId, psql, restore } from './pg-tools';
import type { PgAccess, PgConnection } from './pg-tools';

export const POSTGRES_TYPE = 'Karbor::PostgreSQL::Database';
const DUMP = 'dump.json';
/** What kind of sealed document a dump's description is. */
const DUMP_KIND = 'postgresql-dump';

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

const hostsOf = (config: Record<string, string>) =>
  (config.hosts ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);

/**
 * How to reach `conn`. A password (the one `password_env` names, or an inherited
 * PGPASSWORD) goes only to a server the provider lists in `hosts`: a resource id comes
 * from a plan or the bank, and must not make the worker hand its password to any server.
 */
export function pgAccess(
  env: NodeJS.ProcessEnv,
  config: Record<string, string>,
  conn: PgConnection,
): PgAccess {
  const child: NodeJS.ProcessEnv = { ...env, PGCONNECT_TIMEOUT: '10' };
  delete child.PGPASSWORD;
  const password = config.password_env ? env[config.password_env] : env.PGPASSWORD;
  if (password) {
    const server = `${conn.host}:${conn.port}`;
    if (!hostsOf(config).includes(server)) {
      throw new InvalidArgumentError(
        `refusing to send the database password to ${server}: it is not in the provider's [postgresql] hosts`,
      );
    }
    child.PGPASSWORD = password;
  }
  return { user: config.user ?? 'postgres', env: child };
}

const access = (deps: PostgresPluginDeps, config: Record<string, string>, conn: PgConnection) =>
  pgAccess(deps.env, config, conn);

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

/** What a database holds besides what PostgreSQL puts in every one. */
const OWN_OBJECTS = `SELECT
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%')
+ (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema'))
+ (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
       AND t.typrelid = 0 AND t.typelem = 0)
+ (SELECT count(*) FROM pg_namespace WHERE nspname NOT IN ('public', 'information_schema')
     AND nspname NOT LIKE 'pg\\_%')
+ (SELECT count(*) FROM pg_extension WHERE extname <> 'plpgsql')`;

/** A restore's mark on the databases it makes, so its own retry may replace them. */
const markOf = (tag: string) => `karbor restore ${tag}`;

/**
 * Whether the database is missing, empty, holds anything of its own (schemas, relations,
 * functions, types, extensions), or was made by this very restore (an earlier attempt).
 */
async function databaseState(
  c: PgConnection,
  a: PgAccess,
  tag?: string,
): Promise<'missing' | 'empty' | 'in use' | 'ours'> {
  const rows = await psql(
    c,
    a,
    `SELECT 'db:' || coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = ${quoteLiteral(c.database)}`,
    'postgres',
  );
  if (rows.length === 0) return 'missing';
  if (tag !== undefined && rows[0] === `db:${markOf(tag)}`) return 'ours';
  const [objects] = await psql(c, a, OWN_OBJECTS);
  return Number(objects) > 0 ? 'in use' : 'empty';
}

function notEmpty(c: PgConnection): RestoreRefusedError {
  return new RestoreRefusedError(
    `database ${c.database} on ${c.host}:${c.port} is not empty; restore with parameter overwrite=true to replace it`,
  );
}

/** Before the restore starts: a target name that parses, a server that answers, no silent overwrite. */
async function checkRestore(deps: PostgresPluginDeps, req: RestoreCheck): Promise<void> {
  const target = targetOf(parseDatabaseId(req.resource.id), req.target);
  const a = access(deps, req.providerConfig, target);
  let state: Awaited<ReturnType<typeof databaseState>>;
  try {
    state = await databaseState(target, a);
  } catch (err) {
    // Retrying would only keep the caller waiting: an unreachable target is refused now.
    throw new RestoreRefusedError(
      `cannot check database ${target.database} on ${target.host}:${target.port}: ${(err as Error).message}`,
    );
  }
  if (state === 'in use' && req.parameters.overwrite !== true) throw notEmpty(target);
}

async function protect(deps: PostgresPluginDeps, ctx: HookContext): Promise<void> {
  const conn = parseDatabaseId(ctx.resource.id);
  const a = access(deps, ctx.providerConfig, conn);
  let done = 0;
  const chunks = await resourceChunks(deps, ctx);
  let stored: StoredStream;
  let sealed: SealedRef;
  try {
    stored = await chunks.storeStream(dump(conn, a, ctx.signal), (n) => {
      done += n;
      ctx.heartbeat({ bytesDone: done });
    });
    const manifest: DumpManifest = {
      version: 1,
      format: 'custom',
      database: conn.database,
      chunks: stored.chunks,
      bytes: stored.bytes,
    };
    sealed = await chunks.sealDocument(DUMP_KIND, manifest);
    await chunks.commit();
  } catch (err) {
    await chunks.abandon();
    throw err;
  }
  await ctx.section.updateObject(DUMP, sealed);
  ctx.record({
    read: stored.bytes,
    stored: stored.newBytes,
    deduplicated: stored.bytes - stored.newBytes,
  });
}

/**
 * Restores into a staging database that then takes the target's name: the result holds
 * exactly the checkpoint's objects, a failed or killed restore leaves the target as it was,
 * and a retry starts the staging database over. A target with anything in it is replaced
 * only with overwrite=true (or when an earlier attempt of this restore made it).
 */
/** The dump's description, from the repository (the bank holds only its sealed id). */
async function dumpManifest(chunks: ProviderChunks, ctx: HookContext): Promise<DumpManifest> {
  return chunks.openDocument<DumpManifest>(DUMP_KIND, await ctx.section.getObject(DUMP));
}

async function restoreDatabase(deps: PostgresPluginDeps, ctx: HookContext): Promise<void> {
  const chunks = await resourceChunks(deps, ctx);
  const manifest = await dumpManifest(chunks, ctx);
  const target = targetOf(parseDatabaseId(ctx.resource.id), ctx.restoreTarget);
  const a = access(deps, ctx.providerConfig, target);
  const tag = sha256(Buffer.from(`${ctx.operationId}/${ctx.resource.id}`)).slice(0, 12);
  const state = await databaseState(target, a, tag);
  if (state === 'in use' && ctx.parameters.overwrite !== true) throw notEmpty(target);
  const staging = { ...target, database: `karbor_restore_${tag}` };
  const retired = quoteIdent(`karbor_replaced_${tag}`);
  const name = quoteIdent(target.database);
  const admin = (sql: string) => psql(target, a, sql, 'postgres');
  await admin(`DROP DATABASE IF EXISTS ${quoteIdent(staging.database)} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${quoteIdent(staging.database)}`);
  await admin(
    `COMMENT ON DATABASE ${quoteIdent(staging.database)} IS ${quoteLiteral(markOf(tag))}`,
  );
  let done = 0;
  async function* counted() {
    for await (const data of chunks.readStream(manifest.chunks)) {
      done += data.length;
      ctx.heartbeat({ bytesDone: done, bytesTotal: manifest.bytes });
      yield data;
    }
  }
  await restore(staging, a, counted(), { clean: false }, ctx.signal);
  ctx.record({ restored: done });
  if (state !== 'missing') {
    // The swap: no new sessions on the old database, the open ones ended, then renamed away.
    await admin(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    await admin(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${quoteLiteral(target.database)} AND pid <> pg_backend_pid()`,
    );
    await admin(`DROP DATABASE IF EXISTS ${retired} WITH (FORCE)`);
    await admin(`ALTER DATABASE ${name} RENAME TO ${retired}`);
  }
  await admin(`ALTER DATABASE ${quoteIdent(staging.database)} RENAME TO ${name}`);
  // Also what an attempt that died between the two renames left behind.
  await admin(`DROP DATABASE IF EXISTS ${retired} WITH (FORCE)`);
}

async function verify(deps: PostgresPluginDeps, ctx: HookContext): Promise<void> {
  const chunks = await resourceChunks(deps, ctx);
  const manifest = await dumpManifest(chunks, ctx);
  let done = 0;
  for await (const data of chunks.readStream(manifest.chunks)) {
    done += data.length;
    ctx.heartbeat({ bytesDone: done, bytesTotal: manifest.bytes });
  }
}

async function remove(deps: PostgresPluginDeps, ctx: HookContext): Promise<void> {
  // Every chunk the resource uses was claimed under its name (the dump's and the sealed
  // description's alike), so all of them go without reading the description.
  await (await resourceChunks(deps, ctx)).releaseAll();
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
      for (const hp of hostsOf(config)) {
        const conn = parseDatabaseId(`${hp}/postgres`);
        const names = await psql(
          conn,
          access(deps, config, conn),
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
