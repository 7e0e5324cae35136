import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sweepStore } from '../../plugins/chunk-store/garbage';
import { DamagedFileError, ProviderChunks } from '../../plugins/chunk-store/provider-store';
import type { DataPluginDeps } from '../../plugins/chunk-store/provider-store';
import { dataPluginDeps } from '../support/data-deps';
import { testEnv } from '../support/env';
import { countFiles } from '../support/trees';

describe('ProviderChunks on the chunk threads (real redis-server, real files)', () => {
  let deps: DataPluginDeps;
  let close: () => Promise<void>;
  const work = () => path.join(testEnv.workDir, 'provider-chunks');
  const files: { path: string; size: number }[] = [];
  const chunkDir = () => path.join(deps.dataDir, 'prov', 'chunks');

  before(async () => {
    ({ deps, close } = await dataPluginDeps('provider-chunks', path.join(work(), 'data')));
    fs.mkdirSync(path.join(work(), 'src'), { recursive: true });
    // Big files (several chunks each) and many small ones, so jobs run on both threads.
    for (let i = 0; i < 40; i++) {
      const p = path.join(work(), 'src', `f${i}`);
      fs.writeFileSync(p, randomBytes(i % 10 === 0 ? 6 * 1024 * 1024 : 20_000 + i));
      files.push({ path: p, size: fs.statSync(p).size });
    }
  });
  after(() => close());
  const sweep = (cutoffMs: number) =>
    sweepStore(chunkDir(), deps.chunkRefs, 'prov', cutoffMs, false);

  it('leaves no temporary file and no claim behind when a file cannot be read', async () => {
    const failing = new ProviderChunks(deps, 'prov', 'cp-failed/dir');
    const withHole = [...files];
    withHole.splice(25, 0, { path: path.join(work(), 'src', 'vanished'), size: 10 });
    await assert.rejects(failing.storeFiles(withHole), /ENOENT.*vanished/);
    await failing.abandon();
    assert.equal(countFiles(chunkDir()), 0, 'nothing was committed, no temporary file stays');

    // A later owner stores and releases everything: no claim of the failed one keeps a
    // chunk alive.
    const ok = new ProviderChunks(deps, 'prov', 'cp-ok/dir');
    const stored = await ok.storeFiles(files);
    await ok.commit();
    const hashes = stored.flatMap((s) => s.chunks);
    assert.equal(countFiles(chunkDir()), new Set(hashes).size);
    assert.equal(await ok.release(hashes), new Set(hashes).size);
    // A release removes nothing: the files wait out the grace period for garbage collection.
    assert.equal(countFiles(chunkDir()), new Set(hashes).size);
    const early = await sweep(Date.now() - 60_000);
    assert.equal(early.chunksRemoved, 0, 'chunks free for less than the grace period stay');
    const swept = await sweep(Date.now() + 1);
    assert.equal(swept.chunksRemoved, new Set(hashes).size);
    assert.equal(countFiles(chunkDir()), 0);
  });

  it('on a retry, removes the temporary files its dead attempt left, and only those', async () => {
    const dead = new ProviderChunks(deps, 'prov', 'cp-retry/dir');
    await dead.storeFiles(files); // never committed nor abandoned: the worker "died"
    const leftovers = countFiles(chunkDir());
    assert.ok(leftovers > 0);
    // Another writer's unfinished batch must survive the retry's sweep.
    const other = new ProviderChunks(deps, 'prov', 'cp-other/dir');
    await other.storeFiles(files.slice(0, 1));
    const others = countFiles(chunkDir()) - leftovers;
    assert.ok(others > 0);

    const retry = new ProviderChunks(deps, 'prov', 'cp-retry/dir', 2);
    const stored = await retry.storeFiles(files);
    await retry.commit();
    const unique = new Set(stored.flatMap((s) => s.chunks)).size;
    assert.equal(countFiles(chunkDir()), unique + others);
    await other.abandon();
    assert.equal(await retry.release(stored.flatMap((s) => s.chunks)), unique);
    await sweep(Date.now() + 1);
    assert.equal(countFiles(chunkDir()), 0);
  });

  it('gives back on delete the claims of a dead attempt that its manifest never names', async () => {
    const owner = 'cp-leak/dir';
    const dead = new ProviderChunks(deps, 'prov', owner);
    await dead.storeFiles(files); // claimed everything, then the worker "died"
    const retry = new ProviderChunks(deps, 'prov', owner, 2);
    const stored = await retry.storeFiles(files.slice(0, 3)); // the tree shrank meanwhile
    await retry.commit();
    const manifest = stored.flatMap((s) => s.chunks);
    const claimed = await deps.chunkRefs.ownedBy('prov', owner);
    assert.ok(claimed.length > new Set(manifest).size, 'the dead attempt claimed more');
    await new ProviderChunks(deps, 'prov', owner).releaseAll(manifest);
    assert.deepEqual(await deps.chunkRefs.ownedBy('prov', owner), []);
    for (const h of claimed) assert.deepEqual(await deps.chunkRefs.owners('prov', h), [], h);
    await sweep(Date.now() + 1);
    assert.equal(countFiles(chunkDir()), 0, 'every chunk of the owner became free');
  });

  it('restores files from their chunks and names the one whose chunk is gone', async () => {
    const owner = new ProviderChunks(deps, 'prov', 'cp-restore/dir');
    const stored = await owner.storeFiles(files);
    await owner.commit();
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

    fs.rmSync(owner.store.pathOf(stored[33]!.chunks[0]!));
    const again = targets.map((t) => ({ ...t, dest: { path: `${t.dest.path}.again` } }));
    await assert.rejects(
      owner.restoreFiles(again),
      (e: unknown) => e instanceof DamagedFileError && e.file === 33 && e.why === 'missing',
    );
    const damaged = await owner.checkChunks(stored.flatMap((s) => s.chunks));
    assert.deepEqual(
      damaged.map((d) => d.why),
      ['missing'],
    );
  });
});
