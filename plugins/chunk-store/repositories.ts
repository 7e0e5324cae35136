// Each provider's repository, opened once per worker: its place and settings come from the
// provider's `[repository]` section, its secret from the worker's environment or a key
// file, its index from the bank. Opening costs a scrypt, so opened ones are kept.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Redis } from 'ioredis';
import { RedisKeys } from '../../bank/keys';
import { RedisPackIndex } from '../../bank/pack-index';
import { RepositoryConfigError } from '../../repository/errors';
import type { Secret } from '../../repository/key-store';
import type { Backend } from '../../repository/backend';
import { Repository } from '../../repository/repository';
import type { PackIndex } from '../../repository/repository';
import { repositorySettings } from '../../repository/settings';
import type { RepositoryConfigSection } from '../../repository/settings';
import { backendFor, specOf } from '../../repository/spec';
import type { BackendSpec, RepositorySpec } from '../../repository/spec';

export interface OpenedRepository {
  repo: Repository;
  index: PackIndex;
  /** What a chunk thread needs to use it. */
  spec: RepositorySpec;
}

const INIT_LOCK_MS = 60_000;

export class Repositories {
  private readonly opened = new Map<string, Promise<OpenedRepository>>();
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly env: NodeJS.ProcessEnv,
    /** Local repositories default to <dataDir>/<provider id>/repository. */
    private readonly dataDir: string,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  /** The settings of a provider's `[repository]` section (checked). */
  settings(providerId: string, section?: Record<string, string>): RepositoryConfigSection {
    return repositorySettings(
      providerId,
      section,
      path.join(this.dataDir, providerId, 'repository'),
    );
  }

  /** The provider's repository, opened (or, with auto_init, created) on first use. */
  forProvider(providerId: string, section?: Record<string, string>): Promise<OpenedRepository> {
    const key = `${providerId}\n${JSON.stringify(section ?? {})}`;
    let p = this.opened.get(key);
    if (!p) {
      p = this.open(this.settings(providerId, section));
      this.opened.set(key, p);
      // A failure (no password yet, a server down) is not remembered: the next hook tries again.
      p.catch(() => this.opened.delete(key));
    }
    return p;
  }

  /**
   * The provider's repository if one exists at its place (maintenance: GC, check), without
   * creating one; undefined when there is none yet.
   */
  async existing(
    providerId: string,
    section?: Record<string, string>,
  ): Promise<OpenedRepository | undefined> {
    const s = this.settings(providerId, section);
    if (!(await backendFor(this.backendSpec(s)).stat('config'))) return undefined;
    return this.forProvider(providerId, section);
  }

  private async secret(s: RepositoryConfigSection): Promise<Secret> {
    if (s.passwordFile) {
      try {
        return await fs.promises.readFile(s.passwordFile);
      } catch (err) {
        throw new RepositoryConfigError(
          `cannot read the repository key file ${s.passwordFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
    }
    const password = this.env[s.passwordEnv];
    if (!password) {
      throw new RepositoryConfigError(
        `this worker has no repository password: set ${s.passwordEnv} in its environment, or password_file in the provider's [repository] section`,
      );
    }
    return password;
  }

  /**
   * Where the repository is, with what reaches it: an S3 store's credentials come from the
   * worker's environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), never from a file.
   */
  backendSpec(s: RepositoryConfigSection): BackendSpec {
    if (s.place.backend === 'local') return { kind: 'local', dir: s.place.dir };
    const accessKeyId = this.env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = this.env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      throw new RepositoryConfigError(
        `the repository is in bucket ${s.place.bucket}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in this process's environment`,
      );
    }
    const { backend: _b, ...where } = s.place;
    return { kind: 's3', ...where, accessKeyId, secretAccessKey };
  }

  private async open(s: RepositoryConfigSection): Promise<OpenedRepository> {
    const spec = this.backendSpec(s);
    const backend = backendFor(spec);
    const secret = await this.secret(s);
    const settings = { compression: s.compression, packSize: s.packSize };
    let repo: Repository;
    if (s.autoInit && !(await backend.stat('config'))) {
      repo = await this.initOnce(backend, secret, settings);
    } else {
      repo = await Repository.open(backend, secret, settings);
    }
    return {
      repo,
      index: new RedisPackIndex(this.redis, this.prefix, repo.id),
      spec: specOf(repo, spec),
    };
  }

  /** Creates the repository unless another worker is doing so or did (a lock in the bank). */
  private async initOnce(
    backend: Backend,
    secret: Secret,
    settings: { compression: RepositoryConfigSection['compression']; packSize: number },
  ): Promise<Repository> {
    const lock = this.keys.repositoryInit(
      createHash('sha256').update(backend.location).digest('hex').slice(0, 32),
    );
    const deadline = Date.now() + INIT_LOCK_MS;
    for (;;) {
      if (await this.redis.set(lock, '1', 'PX', INIT_LOCK_MS, 'NX')) break;
      if (Date.now() > deadline)
        throw new RepositoryConfigError('another worker is creating the repository');
      await new Promise((r) => setTimeout(r, 200));
    }
    try {
      if (await backend.stat('config')) return await Repository.open(backend, secret, settings);
      return await Repository.init(backend, secret, settings);
    } finally {
      await this.redis.del(lock);
    }
  }
}
