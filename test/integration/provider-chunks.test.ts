// ProviderChunks over a real repository: chunk threads cut, seal and pack files; the main
// thread claims chunks and indexes packs in a real redis-server.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Chunker } from '../../plugins/chunk-store/chunker';
import { DamagedFileError, ProviderChunks } from '../../plugins/chunk-store/provider-store';
import type { DataPluginDeps } from '../../plugins/chunk-store/provider-store';
import { packFile } from '../../repository/backend';
import { dataPluginDeps, testRepository } from '../support/data-deps';
import { testEnv } from '../support/env';
import { countFiles } from '../support/trees';

describe('ProviderChunks on the chunk threads (real redis-server, real repository)', () => {
  let deps: DataPluginDeps;
  let close: () => Promise<void>;
  const work = () => path.join(testEnv.workDir, 'provider-chunks');
  const files: { path: string; size: number }[] = [];
  const repoDir = () => path.join(deps.dataDir, 'prov', 'repository');
  const chunksOf = async (owner: string) =>
    new ProviderChunks(deps, 'prov', owner, await testRepository(deps));

  before(async () => {
    ({ deps, close } = await dataPluginDeps('provider-chunks', path.join(work(), 'data')));
    fs.mkdirSync(path.join(work(), 'src'), { recursive: true });
    // Big files (several chunks each) and many small ones, so jobs run on both threads.
    for (let i = 0; i < 40; i++) {
      const p = path.join(work(), 'src', `f${i}`);
      const text = Buffer.from(`line ${i} of a log that compresses well\n`.repeat(500 + i));
      fs.writeFileSync(
        p,
        i % 10 === 0 ? randomBytes(6 * 1024 * 1024) : i % 2 ? text : randomBytes(20_000 + i),
      );
      files.push({ path: p, size: fs.statSync(p).size });
    }
  });
  after(() => close());

  it('cuts files exactly as the main-thread chunker does, names chunks by keyed hash, and packs them', async () => {
    const owner = await chunksOf('cp-cut/dir');
    const stored = await owner.storeFiles(files);
    await owner.commit();
    const repo = owner.repository.repo;
    for (const [i, f] of files.entries()) {
      const c = new Chunker();
      const data = fs.readFileSync(f.path);
      const expected = [...c.push(data), ...c.finish()].map((b) => repo.blobId(b));
      assert.deepEqual(stored[i]!.chunks, expected, `file ${i}`);
      assert.equal(stored[i]!.bytes, f.size);
    }
    // Far fewer store files than chunks: packs, not one file per chunk.
    const chunks = new Set(stored.flatMap((s) => s.chunks)).size;
    const packs = countFiles(path.join(repoDir(), 'data'));
    assert.ok(packs >= 1 && packs * 4 < chunks, `${packs} packs for ${chunks} chunks`);
    // Stored again: nothing new is written.
    const again = await (await chunksOf('cp-cut-2/dir')).storeFiles(files);
    assert.equal(
      again.reduce((n, s) => n + s.newBytes, 0),
      0,
    );
    assert.equal(countFiles(path.join(repoDir(), 'data')), packs);
  });

  it('leaves no claim behind when a file cannot be read', async () => {
    const failing = await chunksOf('cp-failed/dir');
    const withHole = [...files];
    withHole.splice(25, 0, { path: path.join(work(), 'src', 'vanished'), size: 10 });
    await assert.rejects(failing.storeFiles(withHole), /ENOENT.*vanished/);
    await failing.abandon();
    assert.deepEqual(await deps.chunkRefs.ownedBy('prov', 'cp-failed/dir'), []);
  });

  it('gives back on delete the claims of a dead attempt that its manifest never names', async () => {
    const owner = 'cp-leak/dir';
    await (await chunksOf(owner)).storeFiles(files); // claimed everything, then "died"
    const retry = await chunksOf(owner);
    const stored = await retry.storeFiles(files.slice(0, 3)); // the tree shrank meanwhile
    await retry.commit();
    const manifest = stored.flatMap((s) => s.chunks);
    const claimed = await deps.chunkRefs.ownedBy('prov', owner);
    assert.ok(claimed.length > new Set(manifest).size, 'the dead attempt claimed more');
    await (await chunksOf(owner)).releaseAll(manifest);
    assert.deepEqual(await deps.chunkRefs.ownedBy('prov', owner), []);
  });

  it('streams a dump in and out, and restores files, naming the one whose pack is damaged', async () => {
    const owner = await chunksOf('cp-restore/dir');
    const dump = Buffer.concat([randomBytes(3 * 1024 * 1024), Buffer.from('x'.repeat(2_000_000))]);
    const streamed = await owner.storeStream([dump.subarray(0, 1000), dump.subarray(1000)]);
    const stored = await owner.storeFiles(files);
    await owner.commit();
    const back: Buffer[] = [];
    for await (const b of owner.readStream(streamed.chunks)) back.push(b);
    assert.ok(Buffer.concat(back).equals(dump));

    const out = path.join(work(), 'out');
    fs.mkdirSync(out, { recursive: true });
    const targets = stored.map((s, i) => ({
      dest: { path: path.join(out, `r${i}`) },
      chunks: s.chunks,
      size: s.bytes,
    }));
    let progress = 0;
    await owner.restoreFiles(targets, (n) => (progress += n));
    for (const [i, f] of files.entries()) {
      assert.ok(
        fs.readFileSync(targets[i]!.dest.path).equals(fs.readFileSync(f.path)),
        `file ${i}`,
      );
    }
    assert.equal(
      progress,
      files.reduce((n, f) => n + f.size, 0),
    );

    // One flipped byte in the pack of file 33's first chunk.
    const id = stored[33]!.chunks[0]!;
    const [at] = await owner.repository.index.lookup([id]);
    const pack = path.join(repoDir(), packFile(at!.pack));
    const bytes = fs.readFileSync(pack);
    bytes[at!.offset + 20] = bytes[at!.offset + 20]! ^ 0x40;
    fs.writeFileSync(pack, bytes);
    const again = targets.map((t) => ({ ...t, dest: { path: `${t.dest.path}.again` } }));
    await assert.rejects(owner.restoreFiles(again), (e: unknown) => {
      assert.ok(e instanceof DamagedFileError);
      assert.equal(e.why, 'corrupt');
      assert.equal(targets[e.file]!.chunks.includes(id), true);
      assert.ok(e.message.includes(packFile(at!.pack)), e.message);
      return true;
    });
    const damaged = await owner.checkChunks(stored.flatMap((s) => s.chunks));
    assert.ok(damaged.length >= 1 && damaged.every((d) => d.why === 'corrupt'));
    assert.ok(damaged.some((d) => d.hash === id && d.detail?.includes(packFile(at!.pack))));
  });
});
