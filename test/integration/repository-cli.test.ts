// `karbor repository …` as an operator runs it on a worker's machine: init, keys, check,
// rebuild-index and prune against a real repository and a real redis-server.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { ChunkRefs } from '../../bank/chunk-refs';
import { RedisKeys } from '../../bank/keys';
import { RedisPackIndex } from '../../bank/pack-index';
import { packFile } from '../../repository/backend';
import { LocalBackend } from '../../repository/local-backend';
import { Repository } from '../../repository/repository';
import { karbor } from '../support/cli';
import { isolatedBank, testEnv } from '../support/env';

const PROVIDER = 'repo-cli-prov';

describe('karbor repository (real repository, real redis-server)', () => {
  let redis: Redis;
  let prefix: string;
  const work = () => path.join(testEnv.workDir, 'repository-cli');
  const repoDir = () => path.join(work(), 'repo');
  const env = (password = 'first secret', more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    ...process.env,
    REDIS_URL: testEnv.redisUrl,
    KARBOR_BANK_PREFIX: prefix,
    KARBOR_PROVIDERS_DIR: path.join(work(), 'providers'),
    KARBOR_REPO_CLI_PASSWORD: password,
    KARBOR_GC_GRACE_S: '1',
    ...more,
  });
  const repo = (args: string[], e = env()) => karbor(['repository', ...args], e);

  before(async () => {
    ({ redis, prefix } = await isolatedBank('repository-cli'));
    fs.mkdirSync(path.join(work(), 'providers'), { recursive: true });
    fs.writeFileSync(
      path.join(work(), 'providers', 'p.conf'),
      [
        '[provider]',
        `id = ${PROVIDER}`,
        'name = Repository CLI',
        'plugin = noop',
        '',
        '[repository]',
        `path = ${repoDir()}`,
        'password_env = KARBOR_REPO_CLI_PASSWORD',
        '',
      ].join('\n'),
    );
  });
  after(() => redis.disconnect());

  it('init creates the repository once; a second init and bad input are one line, exit 2', async () => {
    const made = await repo(['init', PROVIDER]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /created repository [0-9a-f]{32} at /);
    const again = await repo(['init', PROVIDER]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /^karbor: .* is a repository already\n$/);
    for (const args of [
      ['init', 'no-such-provider'],
      ['check', PROVIDER, '--read-data-subset', '150%'],
      ['check', PROVIDER, '--read-data-subset', 'ten'],
    ]) {
      const r = await repo(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    const noPassword = await repo(['key', 'list', PROVIDER], env(''));
    assert.equal(noPassword.code, 2);
    assert.match(noPassword.stderr, /KARBOR_REPO_CLI_PASSWORD/);
  });

  it('keys: add one, open with either, change a password; a wrong one is refused in one line', async () => {
    const added = await repo(
      ['key', 'add', PROVIDER],
      env('first secret', {
        KARBOR_NEW_REPOSITORY_PASSWORD: 'second secret',
      }),
    );
    assert.equal(added.code, 0, added.stderr);
    const listed = await repo(['key', 'list', PROVIDER]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout.trim().split('\n').length, 3, listed.stdout);
    const json = await karbor(
      ['--json', 'repository', 'key', 'list', PROVIDER],
      env('second secret'),
    );
    const keys = JSON.parse(json.stdout) as { id: string; current: boolean }[];
    assert.equal(keys.length, 2);
    assert.equal(keys.filter((k) => k.current).length, 1);
    const wrong = await repo(['key', 'list', PROVIDER], env('not the password'));
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /^karbor: the password or key file opens none of the 2 key\(s\)/);
    const newFile = path.join(work(), 'new-password');
    fs.writeFileSync(newFile, 'third secret', { mode: 0o600 });
    const changed = await repo(
      ['key', 'passwd', PROVIDER, '--new-password-file', newFile],
      env('second secret'),
    );
    assert.equal(changed.code, 0, changed.stderr);
    assert.equal((await repo(['key', 'list', PROVIDER], env('second secret'))).code, 2);
    assert.equal((await repo(['key', 'list', PROVIDER], env('third secret'))).code, 0);
    // Neither secret ever reaches the output.
    for (const r of [added, changed]) assert.doesNotMatch(r.stdout + r.stderr, /secret/);
  });

  it('check finds a flipped byte (naming the pack) and a blob the bank uses that the index lacks; rebuild-index mends the index', async () => {
    const r = await Repository.open(new LocalBackend(repoDir()), 'first secret');
    const index = new RedisPackIndex(redis, prefix, r.id);
    const ids: string[] = [];
    const pack = r.newPack();
    for (let i = 0; i < 5; i++) {
      const data = randomBytes(20_000);
      const id = r.blobId(data);
      ids.push(id);
      pack.add(id, 'data', r.sealBlob(id, data), data.length);
    }
    const { pack: name } = await r.writePack(pack, index);
    await new ChunkRefs(redis, prefix).claim(PROVIDER, 'cp-1/Karbor::Noop/a', ids);
    const clean = await repo(
      ['check', PROVIDER, '--read-data-subset', '100%'],
      env('first secret'),
    );
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(
      clean.stdout,
      /1 pack\(s\) \(1 read whole\), 5 indexed blob\(s\), 1 checkpoint resource\(s\): no problems/,
    );

    // A flipped byte in the third blob: found by reading the data.
    const file = path.join(repoDir(), packFile(name));
    const bytes = fs.readFileSync(file);
    const [at] = await index.lookup([ids[2]!]);
    bytes[at!.offset + 30] = bytes[at!.offset + 30]! ^ 1;
    fs.writeFileSync(file, bytes);
    const damaged = await repo(
      ['check', PROVIDER, '--read-data-subset', '100%'],
      env('first secret'),
    );
    assert.equal(damaged.code, 1);
    assert.ok(damaged.stderr.includes(packFile(name)), damaged.stderr);
    bytes[at!.offset + 30] = bytes[at!.offset + 30]! ^ 1;
    fs.writeFileSync(file, bytes);

    // The index lost (a bank restored from an old backup): check says which chunks.
    await redis.del(new RedisKeys(prefix).packIndex(r.id));
    const lost = await repo(['check', PROVIDER], env('first secret'));
    assert.equal(lost.code, 1);
    assert.match(
      lost.stderr,
      /checkpoint resource cp-1\/Karbor::Noop\/a uses chunk [0-9a-f]{64}, which the index lacks/,
    );
    const rebuilt = await repo(['rebuild-index', PROVIDER], env('first secret'));
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.match(rebuilt.stdout, /1 pack\(s\), 5 blob\(s\) listed/);
    assert.equal((await repo(['check', PROVIDER], env('first secret'))).code, 0);

    // Nothing uses the chunks any more: prune (grace 1 s, the least the variable takes)
    // removes the pack once they have been free that long; a dry run first.
    await new ChunkRefs(redis, prefix).release(PROVIDER, 'cp-1/Karbor::Noop/a', ids);
    const free = new RedisKeys(prefix).chunkFree(PROVIDER);
    for (const id of ids) await redis.zadd(free, Date.now() - 60_000, id);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(file, old, old);
    const dry = await repo(['prune', PROVIDER, '--dry-run'], env('first secret'));
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would remove 5 chunk\(s\)/);
    assert.ok(fs.existsSync(file));
    const pruned = await repo(['prune', PROVIDER], env('first secret'));
    assert.match(pruned.stdout, /removed 5 chunk\(s\), \d+ bytes: 1 pack\(s\) removed/);
    assert.equal(fs.existsSync(file), false);
  });
});
