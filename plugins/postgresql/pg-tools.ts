// pg_dump, pg_restore and psql as child processes: bytes stream through, errors come back
// as one line with the tool's own words. Passwords travel in the child's environment only.
import { spawn } from 'node:child_process';
import { KarborError } from '../../common/errors';

/** Thrown when a PostgreSQL tool fails or a database is in the way. */
export class PostgresError extends KarborError {
  readonly code = 'POSTGRES_FAILED';
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

export interface PgConnection {
  host: string;
  port: number;
  database: string;
}

/** `host:port/dbname`, the resource id of a database. */
export function parseDatabaseId(id: string): PgConnection {
  const m = /^([^:/\s]+):(\d{1,5})\/([^/\s]+)$/.exec(id);
  if (!m) throw new PostgresError(`${id} is not host:port/dbname`, true);
  return { host: m[1]!, port: Number(m[2]), database: m[3]! };
}

export interface PgAccess {
  user: string;
  env: NodeJS.ProcessEnv;
}

function connArgs(c: PgConnection, a: PgAccess): string[] {
  return ['-h', c.host, '-p', String(c.port), '-U', a.user];
}

function describeExit(tool: string, code: number | null, stderr: string): string {
  const lines = stderr.trim().split('\n').filter(Boolean);
  // The tool's own error line says why; the lines after it are often just the statement.
  const errors = lines.filter((l) => /\b(ERROR|FATAL|error):/.test(l));
  const said = (errors.length > 0 ? errors.slice(0, 2) : lines.slice(-2)).join(' / ');
  return `${tool} exited with ${code ?? 'a signal'}${said ? `: ${said}` : ''}`;
}

/** Runs psql -At with one statement and returns its output lines. */
export async function psql(
  c: PgConnection,
  a: PgAccess,
  sql: string,
  database = c.database,
): Promise<string[]> {
  const out = await output(
    'psql',
    [...connArgs(c, a), '-d', database, '-v', 'ON_ERROR_STOP=1', '-Atc', sql],
    a,
  );
  return out.split('\n').filter((l) => l !== '');
}

/** Runs a tool to completion and returns what it printed; a failure carries its stderr. */
async function output(tool: string, args: string[], a: PgAccess): Promise<string> {
  const child = spawn(tool, args, { env: a.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new PostgresError(describeExit(tool, code, err), false);
  return out;
}

/** pg_dump -Fc of a database as a byte stream; the iterator throws if pg_dump fails. */
export async function* dump(
  c: PgConnection,
  a: PgAccess,
  signal: AbortSignal,
): AsyncGenerator<Buffer> {
  const child = spawn('pg_dump', [...connArgs(c, a), '-Fc', '-d', c.database], {
    env: a.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    signal,
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.on('error', () => {});
  for await (const piece of child.stdout) yield piece as Buffer;
  const code = await exited;
  if (code !== 0) throw new PostgresError(describeExit('pg_dump', code, err), false);
}

/** pg_restore from a byte stream into a database. */
export async function restore(
  c: PgConnection,
  a: PgAccess,
  source: AsyncIterable<Buffer>,
  opts: { clean: boolean },
  signal: AbortSignal,
): Promise<void> {
  const args = [...connArgs(c, a), '-d', c.database, '--exit-on-error'];
  if (opts.clean) args.push('--clean', '--if-exists');
  const child = spawn('pg_restore', args, {
    env: a.env,
    stdio: ['pipe', 'ignore', 'pipe'],
    signal,
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.on('error', () => {});
  child.stdin.on('error', () => {}); // a failing pg_restore closes its input; its exit says why
  try {
    for await (const data of source) {
      if (!child.stdin.write(data)) await new Promise((r) => child.stdin.once('drain', r));
    }
  } finally {
    child.stdin.end();
  }
  const code = await exited;
  if (code !== 0) throw new PostgresError(describeExit('pg_restore', code, err), false);
}

/**
 * A database's plain-text dump without the random `\restrict` guard lines recent pg_dump
 * releases add: two databases with the same contents give the same text.
 */
export async function comparableDump(c: PgConnection, a: PgAccess): Promise<string> {
  const text = await output('pg_dump', [...connArgs(c, a), '-d', c.database], a);
  return text
    .split('\n')
    .filter((l) => !/^\\(un)?restrict /.test(l))
    .join('\n');
}
