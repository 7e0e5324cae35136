// Repository v2 on the local backend with its index in a real redis-server: packs, keys,
// compression and encryption, and what a reader of the disk or the bank can learn.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { RedisKeys } from '../../bank/keys';
import { RedisPackIndex } from '../../bank/pack-index';
import { packFile } from '../../repository/backend';
import { MIN_KDF } from '../../repository/crypto';
import {
  BlobMissingError,
  RepositoryConfigError,
  RepositoryDamagedError,
  WrongKeyError,
} from '../../repository/errors';
import { addKey, listKeys, removeKey } from '../../repository/key-store';
import { LocalBackend } from '../../repository/local-backend';
import { Repository } from '../../repository/repository';
import type { RepositorySettings } from '../../repository/repository';
import { allKeysOf, isolatedBank, testEnv } from '../support/env';

const CHEAP = { kdfCost: MIN_KDF };
const SENTINEL = 'KARBOR-SENTINEL-7f3a9c';

/** Every file below `dir`, read whole. */
function filesBelow(dir: string): { file: string; data: Buffer }[] {
  const out: { file: string; data: Buffer }[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath, e.name);
    out.push({ file, data: fs.readFileSync(file) });
  }
  return out;
}

describe('repository v2: local backend, index in Redis', () => {
  let redis: Redis;
  let prefix: string;
  let n = 0;
  const dirOf = (label: string) => path.join(testEnv.workDir, 'repository', `${label}-${n++}`);

  before(async () => {
    ({ redis, prefix } = await isolatedBank('repository'));
  });
  after(() => redis.disconnect());

  async function fresh(label: string, settings: RepositorySettings = {}) {
    const backend = new LocalBackend(dirOf(label));
    const repo = await Repository.init(backend, 'correct horse', { ...CHEAP, ...settings });
    return { backend, repo, index: new RedisPackIndex(redis, prefix, repo.id) };
  }

  /** Stores blobs in packs the way protect does: pack written first, then indexed. */
  async function store(
    repo: Repository,
    index: RedisPackIndex,
    blobs: Buffer[],
  ): Promise<string[]> {
    const ids: string[] = [];
    let pack = repo.newPack();
    const flush = async () => {
      if (pack.count === 0) return;
      await repo.writePack(pack, index);
      pack = repo.newPack();
    };
    for (const data of blobs) {
      const id = repo.blobId(data);
      ids.push(id);
      pack.add(id, 'data', repo.sealBlob(id, data), data.length);
      if (pack.bytes >= repo.packSize) await flush();
    }
    await flush();
    return ids;
  }

  const read = async (repo: Repository, index: RedisPackIndex, id: string) =>
    repo.readBlob(id, (await index.lookup([id]))[0]);

  it('stores blobs in packs and reads each back by id, through a reopened repository', async () => {
    const { backend, repo, index } = await fresh('roundtrip', { packSize: 64 * 1024 });
    const blobs = Array.from({ length: 40 }, (_, i) =>
      i % 2 ? randomBytes(5000 + i) : Buffer.from(`log line ${i}\n`.repeat(400 + i)),
    );
    const ids = await store(repo, index, blobs);
    const again = await Repository.open(backend, 'correct horse');
    assert.equal(again.id, repo.id);
    for (let i = 0; i < blobs.length; i++) {
      assert.deepEqual(await read(again, index, ids[i]!), blobs[i]);
    }
    // Several packs (64 KiB each here), far fewer files than blobs.
    const packs = filesBelow(path.join(backend.dir, 'data'));
    assert.ok(packs.length >= 2 && packs.length < blobs.length / 4, `${packs.length} packs`);
    // Each pack lists its own blobs: the index can be rebuilt from the packs alone.
    const listed = new Set<string>();
    for await (const p of again.packs()) {
      for (const e of await again.packEntries(p.pack)) {
        listed.add(e.id);
        const { id: _id, ...where } = e;
        assert.deepEqual((await index.lookup([e.id]))[0], { pack: p.pack, ...where });
      }
    }
    assert.deepEqual([...listed].sort(), [...new Set(ids)].sort());
  });

  it('compresses what shrinks, stores the rest as it is, and compression=off stores raw', async () => {
    const text = Buffer.from('2026-12-04 12:00:00 INFO request served in 3 ms\n'.repeat(20_000));
    const noise = randomBytes(200_000);
    const sizes: Record<string, number> = {};
    for (const compression of ['auto', 'off'] as const) {
      const { backend, repo, index } = await fresh(`codec-${compression}`, { compression });
      await store(repo, index, [text, noise]);
      sizes[compression] = filesBelow(path.join(backend.dir, 'data')).reduce(
        (s, f) => s + f.data.length,
        0,
      );
    }
    assert.ok(sizes.auto! < noise.length + text.length / 10, `auto stored ${sizes.auto}`);
    assert.ok(sizes.off! > noise.length + text.length, `off stored ${sizes.off}`);
  });

  it('no store file and no Redis value reveals a stored file’s content', async () => {
    const { backend, repo, index } = await fresh('sentinel');
    const content = Buffer.from(`${SENTINEL} secret payroll ${SENTINEL}\n`.repeat(100));
    const ids = await store(repo, index, [content, Buffer.from(SENTINEL)]);
    assert.deepEqual(await read(repo, index, ids[0]!), content);
    for (const { file, data } of filesBelow(backend.dir)) {
      assert.equal(data.includes(SENTINEL), false, file);
      assert.equal(data.includes(Buffer.from(SENTINEL).toString('base64')), false, file);
    }
    for (const key of await allKeysOf(redis, prefix)) {
      const type = await redis.type(key);
      const dump = type === 'hash' ? JSON.stringify(await redis.hgetall(key)) : '';
      assert.equal(dump.includes(SENTINEL), false, key);
    }
  });

  it('a flipped byte anywhere in a pack is found, naming the pack file', async () => {
    const { backend, repo, index } = await fresh('flip');
    const blobs = [randomBytes(30_000), Buffer.from('abc'.repeat(10_000))];
    const ids = await store(repo, index, blobs);
    const loc = (await index.lookup([ids[0]!]))[0]!;
    const file = path.join(backend.dir, packFile(loc.pack));
    const bytes = fs.readFileSync(file);
    // In the first blob, then in the header.
    for (const at of [loc.offset + 100, bytes.length - 10]) {
      const damaged = Buffer.from(bytes);
      damaged[at] = damaged[at]! ^ 0x01;
      fs.writeFileSync(file, damaged);
      const reading =
        at < bytes.length - 100 ? read(repo, index, ids[0]!) : repo.packEntries(loc.pack);
      await assert.rejects(reading, (err: Error) => {
        assert.ok(err instanceof RepositoryDamagedError, err.message);
        assert.equal(err.file, packFile(loc.pack));
        return true;
      });
    }
    fs.writeFileSync(file, bytes);
    assert.deepEqual(await read(repo, index, ids[1]!), blobs[1]);
  });

  it('a blob moved under another id, or a planted index value, is refused', async () => {
    const { repo, index } = await fresh('planted');
    const [a, b] = await store(repo, index, [Buffer.from('first blob'), Buffer.from('second')]);
    const locB = (await index.lookup([b!]))[0]!;
    // The bank says a's bytes are where b's are: the seal is for b's id, so it fails.
    await assert.rejects(repo.readBlob(a!, locB), RepositoryDamagedError);
    await redis.hset(new RedisKeys(prefix).packIndex(repo.id), a!, '../../etc/passwd data 0 9 9');
    assert.equal((await index.lookup([a!]))[0], undefined);
    await assert.rejects(repo.readBlob(a!, undefined), BlobMissingError);
  });

  it('a wrong password is one clear error; init refuses an existing repository; open refuses a place without one', async () => {
    const { backend } = await fresh('keys-wrong');
    await assert.rejects(Repository.open(backend, 'wrong horse'), (err: Error) => {
      assert.ok(err instanceof WrongKeyError);
      assert.match(err.message, /opens none of the 1 key/);
      return true;
    });
    await assert.rejects(Repository.init(backend, 'x', CHEAP), RepositoryConfigError);
    await assert.rejects(
      Repository.open(new LocalBackend(dirOf('empty')), 'x'),
      /not a repository/,
    );
    await assert.rejects(Repository.open(backend, ''), /password is empty/);
  });

  it('keys: another password opens the same repository; neither the key in use nor an unknown one is removed', async () => {
    const { backend, repo } = await fresh('keys');
    const second = await addKey(backend, repo.keys, 'second secret', MIN_KDF);
    const keyFile = randomBytes(64);
    await addKey(backend, repo.keys, keyFile, MIN_KDF);
    assert.equal((await listKeys(backend)).length, 3);
    const bySecond = await Repository.open(backend, 'second secret');
    assert.equal(bySecond.keyId, second);
    assert.equal((await Repository.open(backend, keyFile)).id, repo.id);
    await assert.rejects(removeKey(backend, second, second), /the one this command opened/);
    await assert.rejects(removeKey(backend, 'f'.repeat(64), second), /no key/);
    await removeKey(backend, repo.keyId, second);
    await assert.rejects(Repository.open(backend, 'correct horse'), WrongKeyError);
    assert.equal((await listKeys(backend)).length, 2);
  });
});
