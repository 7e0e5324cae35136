// What a data plugin needs, on an isolated bank in the test redis-server and real chunk
// threads, for tests that call plugins or ProviderChunks without a worker.
import { BankSection } from '../../bank/bank-section';
import { ChunkRefs } from '../../bank/chunk-refs';
import { resourceDataPrefix } from '../../bank/keys';
import type { GraphResource } from '../../graph/resource-graph';
import { RedisBank } from '../../bank/redis-bank';
import type { Redis } from 'ioredis';
import { ChunkThreads } from '../../plugins/chunk-store/chunk-threads';
import { Repositories } from '../../plugins/chunk-store/repositories';
import type { OpenedRepository } from '../../plugins/chunk-store/repositories';
import type { DataPluginDeps } from '../../plugins/chunk-store/provider-store';
import type { HookContext, Operation } from '../../plugins/types';
import { isolatedBank } from './env';

/** The repository password tests use (set for the harness's workers too). */
export const TEST_REPOSITORY_ENV = { KARBOR_REPOSITORY_PASSWORD: 'karbor-test-password' };
/** A test provider's `[repository]`: the default place, created on first use. */
export const TEST_REPOSITORY_CONFIG = { auto_init: 'true' };

/** The test provider `prov`'s repository, as hooks get it. */
export function testRepository(deps: DataPluginDeps): Promise<OpenedRepository> {
  return deps.repositories.forProvider('prov', TEST_REPOSITORY_CONFIG);
}

export async function dataPluginDeps(
  label: string,
  dataDir: string,
): Promise<{ deps: DataPluginDeps; close: () => Promise<void>; redis: Redis; prefix: string }> {
  const { redis, prefix } = await isolatedBank(label);
  const deps: DataPluginDeps = {
    bank: new RedisBank(redis, prefix),
    chunkRefs: new ChunkRefs(redis, prefix),
    dataDir,
    chunkThreads: new ChunkThreads(2),
    repositories: new Repositories(redis, prefix, TEST_REPOSITORY_ENV, dataDir),
  };
  return {
    deps,
    redis,
    prefix,
    close: async () => {
      await deps.chunkThreads.close();
      redis.disconnect();
    },
  };
}

/** A hook's context as the activity builds it, for calling a plugin's hooks directly. */
export function hookContext(
  deps: DataPluginDeps,
  opts: {
    operation: Operation;
    operationId: string;
    checkpointId: string;
    resource: GraphResource;
    attempt?: number;
    restoreTarget?: string;
    warnings?: string[];
  },
): HookContext {
  return {
    operation: opts.operation,
    operationId: opts.operationId,
    checkpointId: opts.checkpointId,
    providerId: 'prov',
    resource: opts.resource,
    parameters: {},
    attempt: opts.attempt ?? 1,
    section: new BankSection(deps.bank, resourceDataPrefix(opts.checkpointId, opts.resource), {
      readOnly: opts.operation !== 'protect',
    }),
    ...(opts.restoreTarget ? { restoreTarget: opts.restoreTarget } : {}),
    providerConfig: {},
    repositoryConfig: TEST_REPOSITORY_CONFIG,
    heartbeat: () => {},
    record: () => {},
    warn: (message) => {
      opts.warnings?.push(message);
      return Promise.resolve();
    },
    signal: new AbortController().signal,
  };
}
