// Tests look into a provider's repository the way a worker does: its manifests (sealed,
// the bank holds only their ids), its index and its pack files.
import * as path from 'node:path';
import type { Redis } from 'ioredis';
import { ChunkRefs } from '../../bank/chunk-refs';
import { resourceDataPrefix } from '../../bank/keys';
import { RedisBank } from '../../bank/redis-bank';
import type { KarborConfig } from '../../common/config';
import { ownerOf, ProviderChunks } from '../../plugins/chunk-store/provider-store';
import type { DataPluginDeps } from '../../plugins/chunk-store/provider-store';
import { Repositories } from '../../plugins/chunk-store/repositories';
import type { OpenedRepository } from '../../plugins/chunk-store/repositories';
import { packFile } from '../../repository/backend';
import { TEST_REPOSITORY_CONFIG, TEST_REPOSITORY_ENV } from './data-deps';
import { FS_PROVIDER } from './env';

export interface RepositoryView {
  opened: OpenedRepository;
  /** The repository's directory. */
  dir: string;
  /** A manifest of a checkpoint's directory resource, read as restore reads it. */
  manifest(
    checkpointId: string,
    resourceId: string,
  ): Promise<{ entries: { path: string; chunks?: string[] }[] }>;
  /** The pack file (absolute path) and offset that hold a blob. */
  where(id: string): Promise<{ file: string; offset: number; length: number }>;
}

export async function repositoryView(
  cfg: KarborConfig,
  redis: Redis,
  providerId = FS_PROVIDER,
): Promise<RepositoryView> {
  const repositories = new Repositories(redis, cfg.bankPrefix, TEST_REPOSITORY_ENV, cfg.dataDir!);
  const opened = await repositories.forProvider(providerId, TEST_REPOSITORY_CONFIG);
  const dir = path.join(cfg.dataDir!, providerId, 'repository');
  const bank = new RedisBank(redis, cfg.bankPrefix);
  return {
    opened,
    dir,
    async manifest(checkpointId, resourceId) {
      const resource = { type: 'Karbor::Directory', id: resourceId };
      const deps = { chunkRefs: new ChunkRefs(redis, cfg.bankPrefix) } as DataPluginDeps;
      const chunks = new ProviderChunks(deps, providerId, ownerOf(checkpointId, resource), opened);
      const ref = await bank.getObject(
        `${resourceDataPrefix(checkpointId, resource)}/manifest.json`,
      );
      return chunks.openDocument('directory-manifest', ref);
    },
    async where(id) {
      const [at] = await opened.index.lookup([id]);
      if (!at) throw new Error(`blob ${id} is not indexed`);
      return { file: path.join(dir, packFile(at.pack)), offset: at.offset, length: at.length };
    },
  };
}
