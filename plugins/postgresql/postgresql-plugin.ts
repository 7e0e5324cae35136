// Karbor::PostgreSQL::Database (resource id `host:port/dbname`): protect streams
// `pg_dump -Fc` into the provider's chunk store; restore streams it back into `pg_restore`,
// into the original database or a target one (created when missing; an existing database
// with tables needs the `overwrite` restore parameter). Credentials: the provider's
// [postgresql] section names the user and the environment variable holding the password;
// they never reach workflow history or the bank.
import type { GraphResource } from '../../graph/resource-graph';
import { manifestToRelease, resourceChunks } from '../chunk-store/provider-store';
import type { DataPluginDeps, StoredStream } from '../chunk-store/provider-store';
import type { HookContext, ResourcePlugin } from '../types';
import { dump, parseDatabaseId, PostgresError, psql, restore } from './pg-tools';
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
  if (!/^[A-Za-z0-9_\-.]+$/.test(target))
    throw new PostgresError(`restore target ${target} is not a database name`, true);
  return { ...original, database: target };
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

async function restoreDatabase(deps: PostgresPluginDeps, ctx: HookContext): Promise<void> {
  const manifest = await ctx.section.getObject<DumpManifest>(DUMP);
  const target = targetOf(parseDatabaseId(ctx.resource.id), ctx.restoreTarget);
  const a = access(deps, ctx.providerConfig);
  const name = target.database.replace(/'/g, "''");
  const exists =
    (await psql(target, a, `SELECT 1 FROM pg_database WHERE datname = '${name}'`, 'postgres'))
      .length > 0;
  let clean = false;
  if (!exists) {
    await psql(target, a, `CREATE DATABASE "${target.database.replace(/"/g, '""')}"`, 'postgres');
  } else {
    const [tables] = await psql(
      target,
      a,
      "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')",
    );
    if (Number(tables) > 0) {
      if (ctx.parameters.overwrite !== true) {
        throw new PostgresError(
          `database ${target.database} on ${target.host}:${target.port} is not empty; restore with parameter overwrite=true to replace it`,
          true,
        );
      }
      clean = true;
    }
  }
  let done = 0;
  const chunks = resourceChunks(deps, ctx);
  async function* counted() {
    for await (const data of chunks.readStream(manifest.chunks)) {
      done += data.length;
      ctx.heartbeat({ bytesDone: done, bytesTotal: manifest.bytes });
      yield data;
    }
  }
  await restore(target, a, counted(), { clean }, ctx.signal);
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
  };
}
