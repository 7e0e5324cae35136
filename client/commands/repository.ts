// karbor repository …: maintenance of a provider's repository, run on a machine that has
// the provider's files and the repository's secret (a worker's): init, keys, check, prune,
// rebuild-index. Secrets come from the environment or files, never from an argument (it
// would stay in shell history and the process list), and never leave this process.
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { ChunkRefs } from '../../bank/chunk-refs';
import type { KarborConfig } from '../../common/config';
import { DEFAULT_DATA_DIR, DEFAULT_PROVIDERS_DIR } from '../../common/config';
import { connectRedis } from '../../common/redis';
import { checkRepository, rebuildIndex } from '../../plugins/chunk-store/check';
import { DEFAULT_REPACK_SHARE, prune } from '../../plugins/chunk-store/prune';
import { Repositories } from '../../plugins/chunk-store/repositories';
import { repositorySectionOf } from '../../providers/repository-section';
import { DEFAULT_KDF } from '../../repository/crypto';
import { RepositoryConfigError } from '../../repository/errors';
import { addKey, listKeys, removeKey } from '../../repository/key-store';
import { backendFor } from '../../repository/spec';
import { Repository } from '../../repository/repository';
import { printJson, printTable } from '../output';

export interface RepositoryCommandDeps {
  config(cmd: Command): KarborConfig;
  json(cmd: Command): boolean;
  out(line: string): void;
}

/** The environment variable a new password is read from (key add, key passwd). */
const NEW_PASSWORD_ENV = 'KARBOR_NEW_REPOSITORY_PASSWORD';

function readSecretFile(file: string, what: string): Buffer {
  try {
    const body = fs.readFileSync(file);
    if (body.length === 0) throw new RepositoryConfigError(`${what} ${file} is empty`);
    return body;
  } catch (err) {
    if (err instanceof RepositoryConfigError) throw err;
    throw new RepositoryConfigError(
      `cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** The new secret of key add / key passwd: a file, or KARBOR_NEW_REPOSITORY_PASSWORD. */
function newSecret(opts: { newPasswordFile?: string }): string | Buffer {
  if (opts.newPasswordFile) return readSecretFile(opts.newPasswordFile, 'new password file');
  const v = process.env[NEW_PASSWORD_ENV];
  if (!v) {
    throw new RepositoryConfigError(
      `give the new password in ${NEW_PASSWORD_ENV} or a file with --new-password-file`,
    );
  }
  return v;
}

/** Opens the repository with the current secret and adds a key for the new one. */
async function addNewKey(
  opts: { newPasswordFile?: string },
  open: () => Promise<{ repo: Repository }>,
): Promise<{ r: Repository; id: string }> {
  const secret = newSecret(opts);
  const { repo: r } = await open();
  return { r, id: await addKey(r.backend, r.keys, secret, DEFAULT_KDF) };
}

function parseShare(v: string): number {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(v);
  const n = m ? Number(m[1]) : NaN;
  if (!(n >= 0 && n <= 100))
    throw new InvalidArgumentError(`expected a percentage like 10%, got ${v}`);
  return n / 100;
}

/** What every subcommand works with: the provider's settings, Redis, and opening. */
async function withRepository<T>(
  deps: RepositoryCommandDeps,
  cmd: Command,
  providerId: string,
  body: (ctx: {
    cfg: KarborConfig;
    repositories: Repositories;
    section: Record<string, string> | undefined;
    open: () => ReturnType<Repositories['forProvider']>;
    redis: Awaited<ReturnType<typeof connectRedis>>;
  }) => Promise<T>,
): Promise<T> {
  const cfg = deps.config(cmd);
  const section = repositorySectionOf(cfg.providersDir ?? DEFAULT_PROVIDERS_DIR, providerId);
  const redis = await connectRedis(cfg.redisUrl, 'karbor-repository');
  try {
    const repositories = new Repositories(
      redis,
      cfg.bankPrefix,
      process.env,
      cfg.dataDir ?? DEFAULT_DATA_DIR,
    );
    repositories.settings(providerId, section); // a bad section is refused before anything
    return await body({
      cfg,
      repositories,
      section,
      redis,
      open: () => repositories.forProvider(providerId, { ...section, auto_init: 'false' }),
    });
  } finally {
    redis.disconnect();
  }
}

export function addRepositoryCommands(program: Command, deps: RepositoryCommandDeps): void {
  const repo = program
    .command('repository')
    .description(
      "admin, on a worker's machine: a provider's repository (where its data is, encrypted and packed)",
    );
  // Errors go up to the CLI's main, which prints one line and sets the exit code.
  const action = <A extends unknown[]>(body: (...args: A) => Promise<void>) => body;

  repo
    .command('init')
    .description(
      "create the provider's repository, with a first key from the provider's password setting",
    )
    .argument('<provider>', 'provider id')
    .action(
      action(async (providerId: string, _o: unknown, cmd: Command) =>
        withRepository(deps, cmd, providerId, async ({ repositories, section }) => {
          const s = repositories.settings(providerId, section);
          const secret = s.passwordFile
            ? readSecretFile(s.passwordFile, 'key file')
            : process.env[s.passwordEnv];
          if (!secret) {
            throw new RepositoryConfigError(
              `no password: set ${s.passwordEnv} (or password_file in the provider's [repository] section)`,
            );
          }
          const backend = backendFor(repositories.backendSpec(s));
          const r = await Repository.init(backend, secret, { kdfCost: DEFAULT_KDF });
          if (deps.json(cmd)) {
            return printJson({ id: r.id, location: backend.location, key: r.keyId });
          }
          deps.out(
            `created repository ${r.id} at ${backend.location} (key ${r.keyId.slice(0, 12)})`,
          );
        }),
      ),
    );

  const key = repo.command('key').description("the repository's keys (passwords or key files)");
  key
    .command('list')
    .argument('<provider>', 'provider id')
    .description('list the keys; the one this command opened with is marked')
    .action(
      action(async (providerId: string, _o: unknown, cmd: Command) =>
        withRepository(deps, cmd, providerId, async ({ open }) => {
          const { repo: r } = await open();
          const keys = await listKeys(r.backend);
          if (deps.json(cmd))
            return printJson(keys.map((k) => ({ ...k, current: k.id === r.keyId })));
          printTable(
            ['', 'ID', 'CREATED', 'HOST'],
            keys.map((k) => [k.id === r.keyId ? '*' : '', k.id, k.created, k.host]),
          );
        }),
      ),
    );
  const withNew = (c: Command) =>
    c.option(
      '--new-password-file <file>',
      `the new password or key file (else ${NEW_PASSWORD_ENV})`,
    );
  withNew(
    key
      .command('add')
      .argument('<provider>', 'provider id')
      .description('add a key with a new password; the existing keys keep working'),
  ).action(
    action(async (providerId: string, opts: { newPasswordFile?: string }, cmd: Command) =>
      withRepository(deps, cmd, providerId, async ({ open }) => {
        const { id } = await addNewKey(opts, open);
        if (deps.json(cmd)) return printJson({ added: id });
        deps.out(`added key ${id}`);
      }),
    ),
  );
  key
    .command('remove')
    .argument('<provider>', 'provider id')
    .argument('<key-id>', 'a key id from key list')
    .description('remove a key (never the one this command opened with)')
    .action(
      action(async (providerId: string, keyId: string, _o: unknown, cmd: Command) =>
        withRepository(deps, cmd, providerId, async ({ open }) => {
          const { repo: r } = await open();
          await removeKey(r.backend, keyId, r.keyId);
          if (deps.json(cmd)) return printJson({ removed: keyId });
          deps.out(`removed key ${keyId}`);
        }),
      ),
    );
  withNew(
    key
      .command('passwd')
      .argument('<provider>', 'provider id')
      .description('change the password: add a key with the new one, remove the one used now'),
  ).action(
    action(async (providerId: string, opts: { newPasswordFile?: string }, cmd: Command) =>
      withRepository(deps, cmd, providerId, async ({ open }) => {
        const { r, id } = await addNewKey(opts, open);
        await r.backend.remove(`keys/${r.keyId}`);
        if (deps.json(cmd)) return printJson({ added: id, removed: r.keyId });
        deps.out(
          `key ${r.keyId.slice(0, 12)} replaced by ${id.slice(0, 12)}: set the workers' password to the new one`,
        );
      }),
    ),
  );

  repo
    .command('check')
    .argument('<provider>', 'provider id')
    .option(
      '--read-data-subset <n%>',
      'also read and verify every blob of this share of packs',
      parseShare,
    )
    .description('verify packs, index and the bank agree (exit 1 with one line per problem)')
    .action(
      action(async (providerId: string, opts: { readDataSubset?: number }, cmd: Command) =>
        withRepository(deps, cmd, providerId, async ({ open, redis, cfg }) => {
          const { repo: r, index } = await open();
          const report = await checkRepository(
            r,
            index,
            { redis, prefix: cfg.bankPrefix, providerId },
            { readDataShare: opts.readDataSubset ?? 0 },
          );
          if (deps.json(cmd)) printJson(report);
          else {
            for (const e of report.errors) process.stderr.write(`karbor: ${e}\n`);
            deps.out(
              `${report.packs} pack(s) (${report.packs_read} read whole), ${report.blobs_indexed} indexed blob(s), ${report.owners_checked} checkpoint resource(s): ${report.errors.length === 0 ? 'no problems' : `${report.errors.length} problem(s)`}`,
            );
          }
          if (report.errors.length > 0) process.exitCode = 1;
        }),
      ),
    );

  repo
    .command('prune')
    .argument('<provider>', 'provider id')
    .option('--dry-run', 'only print what it would do')
    .description(
      'give back the space of chunks no checkpoint uses (free for the grace period, KARBOR_GC_GRACE_S)',
    )
    .action(
      action(async (providerId: string, opts: { dryRun?: boolean }, cmd: Command) =>
        withRepository(deps, cmd, providerId, async ({ open, redis, cfg }) => {
          const { repo: r, index } = await open();
          const report = await prune(r, index, new ChunkRefs(redis, cfg.bankPrefix), {
            providerId,
            cutoffMs: Date.now() - cfg.gc.graceSeconds * 1000,
            repackShare: DEFAULT_REPACK_SHARE,
            dryRun: opts.dryRun ?? false,
          });
          if (deps.json(cmd)) return printJson({ dry_run: opts.dryRun ?? false, ...report });
          deps.out(
            `${opts.dryRun ? 'would remove' : 'removed'} ${report.chunks_removed} chunk(s), ${report.bytes_removed} bytes: ${report.packs_removed} pack(s) removed, ${report.packs_repacked} repacked, of ${report.packs_seen}`,
          );
        }),
      ),
    );

  repo
    .command('rebuild-index')
    .argument('<provider>', 'provider id')
    .description("rebuild the bank's index of the repository from the packs' own headers")
    .action(
      action(async (providerId: string, _o: unknown, cmd: Command) =>
        withRepository(deps, cmd, providerId, async ({ open }) => {
          const { repo: r, index } = await open();
          const report = await rebuildIndex(r, index);
          if (deps.json(cmd)) return printJson(report);
          for (const e of report.errors) process.stderr.write(`karbor: ${e}\n`);
          deps.out(
            `${report.packs} pack(s), ${report.blobs_listed} blob(s) listed; ${report.entries_dropped} entry(ies) of missing packs dropped`,
          );
          if (report.errors.length > 0) process.exitCode = 1;
        }),
      ),
    );
}
