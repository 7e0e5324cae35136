// Repository v2 on the S3 backend against a real SeaweedFS (started here, built from the Go
// module proxy by scripts/seaweedfs) and a real redis-server: round trips through the chunk
// threads, damage named by object, nothing readable in the store.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { ChunkRefs } from '../../bank/chunk-refs';
import { RedisBank } from '../../bank/redis-bank';
import { ChunkThreads } from '../../plugins/chunk-store/chunk-threads';
import { DamagedFileError, ProviderChunks } from '../../plugins/chunk-store/provider-store';
import type { DataPluginDeps } from '../../plugins/chunk-store/provider-store';
import { Repositories } from '../../plugins/chunk-store/repositories';
import { packFile } from '../../repository/backend';
import { WrongKeyError } from '../../repository/errors';
import { Repository } from '../../repository/repository';
import { backendFor } from '../../repository/spec';
import { startSeaweed } from '../../scripts/seaweedfs';
import type { SeaweedProcess } from '../../scripts/seaweedfs';
import { stopProcess } from '../../scripts/services';
import { isolatedBank, testEnv } from '../support/env';

const SENTINEL = 'KARBOR-S3-SENTINEL-51f0';

describe('repository v2 on S3 (real SeaweedFS, real redis-server)', () => {
  let weed: SeaweedProcess;
  let deps: DataPluginDeps;
  let redis: Redis;
  let prefix: string;
  const work = () => path.join(testEnv.workDir, 'repository-s3');
  let section: Record<string, string>;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    weed = await startSeaweed({
      dir: path.join(work(), 'weed'),
      logFile: path.join(testEnv.workDir, 'seaweedfs.log'),
    });
    ({ redis, prefix } = await isolatedBank('repository-s3'));
    env = {
      KARBOR_REPOSITORY_PASSWORD: 's3 secret',
      AWS_ACCESS_KEY_ID: weed.accessKeyId,
      AWS_SECRET_ACCESS_KEY: weed.secretAccessKey,
    };
    section = {
      backend: 's3',
      endpoint: weed.endpoint,
      bucket: 'karbor-test',
      prefix: 'repo/',
      auto_init: 'true',
    };
    deps = {
      bank: new RedisBank(redis, prefix),
      chunkRefs: new ChunkRefs(redis, prefix),
      dataDir: path.join(work(), 'data'),
      chunkThreads: new ChunkThreads(2),
      repositories: new Repositories(redis, prefix, env, path.join(work(), 'data')),
    };
  });
  after(async () => {
    await deps?.chunkThreads.close();
    redis?.disconnect();
    if (weed) await stopProcess(weed.pid, 5000);
  });

  it('stores files through the chunk threads into packs in the bucket and restores them byte for byte', async () => {
    const src = path.join(work(), 'src');
    fs.mkdirSync(src, { recursive: true });
    const files: { path: string; size: number }[] = [];
    for (let i = 0; i < 12; i++) {
      const p = path.join(src, `f${i}`);
      const body =
        i % 3 === 0
          ? randomBytes(3 * 1024 * 1024)
          : Buffer.from(`${SENTINEL} line ${i}: secret ledger\n`.repeat(2000 + i));
      fs.writeFileSync(p, body);
      files.push({ path: p, size: body.length });
    }
    const opened = await deps.repositories.forProvider('prov-s3', section);
    const chunks = new ProviderChunks(deps, 'prov-s3', 'cp-s3/Karbor::Directory/src', opened);
    const stored = await chunks.storeFiles(files);
    const ref = await chunks.sealDocument('directory-manifest', { files: SENTINEL });
    await chunks.commit();
    const out = path.join(work(), 'out');
    fs.mkdirSync(out, { recursive: true });
    await chunks.restoreFiles(
      stored.map((s, i) => ({
        dest: { path: path.join(out, `f${i}`) },
        chunks: s.chunks,
        size: s.bytes,
      })),
    );
    files.forEach((f, i) =>
      assert.ok(
        fs.readFileSync(path.join(out, `f${i}`)).equals(fs.readFileSync(f.path)),
        `file ${i}`,
      ),
    );
    assert.deepEqual(await chunks.openDocument('directory-manifest', ref), { files: SENTINEL });

    // Objects in the bucket: config, a key and a few packs; none holds the sentinel.
    const backend = backendFor(opened.spec.backend);
    const names: string[] = [];
    for await (const f of backend.list('')) names.push(f.name);
    assert.ok(names.includes('config') && names.some((n) => n.startsWith('keys/')));
    const packs = names.filter((n) => n.startsWith('data/'));
    assert.ok(packs.length >= 1 && packs.length <= 4, `${packs.length} packs`);
    for (const n of names) {
      assert.equal((await backend.read(n)).includes(SENTINEL), false, n);
    }
    // Nor does anything SeaweedFS keeps on its disk.
    for (const e of fs.readdirSync(path.join(work(), 'weed'), {
      recursive: true,
      withFileTypes: true,
    })) {
      if (!e.isFile() || e.name === 's3.json') continue;
      const body = fs.readFileSync(path.join(e.parentPath, e.name));
      assert.equal(body.includes(SENTINEL), false, e.name);
    }

    // A flipped byte in an object: the restore names the file and the pack.
    const [at] = await opened.index.lookup([stored[1]!.chunks[0]!]);
    const name = packFile(at!.pack);
    const bytes = await backend.read(name);
    bytes[at!.offset + 10] = bytes[at!.offset + 10]! ^ 1;
    await backend.write(name, bytes);
    await assert.rejects(
      chunks.restoreFiles([
        {
          dest: { path: path.join(out, 'again') },
          chunks: stored[1]!.chunks,
          size: stored[1]!.bytes,
        },
      ]),
      (err: Error) => err instanceof DamagedFileError && err.message.includes(name),
    );
  });

  it('a wrong password opens nothing; without credentials the worker says which variables to set', async () => {
    const opened = await deps.repositories.forProvider('prov-s3', section);
    await assert.rejects(Repository.open(backendFor(opened.spec.backend), 'not it'), WrongKeyError);
    const noKeys = new Repositories(redis, prefix, { KARBOR_REPOSITORY_PASSWORD: 'x' }, '/tmp');
    await assert.rejects(
      noKeys.forProvider('p', section),
      /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
    );
  });
});
