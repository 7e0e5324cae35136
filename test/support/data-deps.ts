// What a data plugin needs, on an isolated bank in the test redis-server and real chunk
// threads, for tests that call plugins or ProviderChunks without a worker.
import { ChunkRefs } from '../../bank/chunk-refs';
import { RedisBank } from '../../bank/redis-bank';
import { ChunkThreads } from '../../plugins/chunk-store/chunk-threads';
import type { DataPluginDeps } from '../../plugins/chunk-store/provider-store';
import { isolatedBank } from './env';

export async function dataPluginDeps(
  label: string,
  dataDir: string,
): Promise<{ deps: DataPluginDeps; close: () => Promise<void> }> {
  const { redis, prefix } = await isolatedBank(label);
  const deps: DataPluginDeps = {
    bank: new RedisBank(redis, prefix),
    chunkRefs: new ChunkRefs(redis, prefix),
    dataDir,
    chunkThreads: new ChunkThreads(2),
  };
  return {
    deps,
    close: async () => {
      await deps.chunkThreads.close();
      redis.disconnect();
    },
  };
}
