import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { scratchDir } from '../support/scratch';
import { ChunkError, ChunkStore, sha256 } from '../../plugins/chunk-store/chunk-store';
import { Chunker } from '../../plugins/chunk-store/chunker';
import { ChunkThreads, DamagedChunkError } from '../../plugins/chunk-store/chunk-threads';
import type { CutChunk } from '../../plugins/chunk-store/thread-protocol';

function chunk(data: Buffer, pieces: number[]): Buffer[] {
  const c = new Chunker();
  const out: Buffer[] = [];
  let at = 0;
  for (const p of pieces) {
    out.push(...c.push(data.subarray(at, at + p)));
    at += p;
  }
  out.push(...c.push(data.subarray(at)), ...c.finish());
  return out;
}

describe('content-defined chunking', () => {
  const data = randomBytes(12 * 1024 * 1024);

  it('cuts the same chunks however the stream is split, and loses no byte', () => {
    const whole = chunk(data, []);
    const pieces = chunk(data, [1, 4096, 300_000, 65_536, 2_000_000, 7]);
    assert.deepEqual(whole.map(sha256), pieces.map(sha256));
    assert.ok(Buffer.concat(whole).equals(data));
    assert.ok(whole.length >= 3 && whole.length <= 48, `${whole.length} chunks`);
    for (const c of whole.slice(0, -1)) {
      assert.ok(c.length >= 256 * 1024 && c.length <= 4 * 1024 * 1024, `chunk of ${c.length}`);
    }
  });

  it('keeps most chunks when bytes are inserted near the start', () => {
    const edited = Buffer.concat([
      data.subarray(0, 1000),
      Buffer.from('inserted!'),
      data.subarray(1000),
    ]);
    const before = new Set(chunk(data, []).map(sha256));
    const after = chunk(edited, []).map(sha256);
    const shared = after.filter((h) => before.has(h)).length;
    assert.ok(shared >= after.length - 2, `${shared} of ${after.length} chunks unchanged`);
  });
});

describe('chunk store', () => {
  const dir = scratchDir('chunks');
  const store = new ChunkStore(dir);

  it('stores a chunk once under its hash and reads it back', async () => {
    const data = randomBytes(1000);
    const first = await store.put(data);
    const again = await store.put(data);
    assert.equal(first.hash, sha256(data));
    assert.equal(first.stored, true);
    assert.equal(again.stored, false);
    assert.ok((await store.get(first.hash)).equals(data));
    assert.deepEqual(
      fs.readdirSync(path.dirname(store.pathOf(first.hash))).filter((f) => f.startsWith('.tmp')),
      [],
    );
  });

  it('refuses a corrupt or missing chunk with a typed error', async () => {
    const { hash } = await store.put(Buffer.from('precious bytes'));
    const file = store.pathOf(hash);
    const bytes = fs.readFileSync(file);
    bytes[3] = bytes[3]! ^ 0xff;
    fs.writeFileSync(file, bytes);
    await assert.rejects(
      store.get(hash),
      (e: unknown) => e instanceof ChunkError && e.why === 'corrupt',
    );
    await store.remove(hash);
    await assert.rejects(
      store.get(hash),
      (e: unknown) => e instanceof ChunkError && e.why === 'missing',
    );
    await assert.rejects(store.get('../../etc/passwd'), ChunkError);
  });
});

describe('chunk threads', () => {
  const dir = scratchDir('threads');
  const file = path.join(dir, 'data.bin');
  const data = randomBytes(9 * 1024 * 1024);
  fs.writeFileSync(file, data);

  /** Stores files through the threads into a fresh store; the cuts as the threads sent them. */
  async function storeThrough(threads: ChunkThreads, files: string[], signal?: AbortSignal) {
    const store = new ChunkStore(fs.mkdtempSync(path.join(dir, 'store-')));
    const batch = store.batch();
    const cuts: CutChunk[] = [];
    await threads.run(
      { kind: 'store', storeDir: store.dir, files: files.map((f) => Buffer.from(f)) },
      {
        cut: (chunks) => {
          cuts.push(...chunks);
          return Promise.resolve(chunks.map((c) => batch.reserve(c.hash) ?? null));
        },
      },
      signal,
    );
    await batch.commit();
    return { store, cuts };
  }

  it('cuts, hashes and writes files exactly as the main-thread chunker does', async () => {
    const threads = new ChunkThreads(2);
    try {
      const twin = path.join(dir, 'twin.bin');
      fs.copyFileSync(file, twin);
      const { store, cuts } = await storeThrough(threads, [file, twin]);
      const expected = chunk(data, []).map(sha256);
      assert.deepEqual(
        cuts.filter((c) => c.file === 0).map((c) => c.hash),
        expected,
      );
      assert.deepEqual(
        cuts.filter((c) => c.file === 1).map((c) => c.hash),
        expected,
      );
      const back = await Promise.all(expected.map((h) => store.get(h)));
      assert.ok(Buffer.concat(back).equals(data));
      // The twin's chunks were reserved by the first file: written once.
      assert.equal(
        fs.readdirSync(store.dir).flatMap((d) => fs.readdirSync(path.join(store.dir, d))).length,
        new Set(expected).size,
      );
    } finally {
      await threads.close();
    }
  });

  it('writes tiny last chunks intact', async () => {
    // Zeros never hit the cut mask, so chunks end at the 4 MiB maximum and the last one
    // holds the 100 bytes left over.
    const odd = path.join(dir, 'odd.bin');
    const bytes = Buffer.alloc(8 * 1024 * 1024 + 100);
    fs.writeFileSync(odd, bytes);
    const threads = new ChunkThreads(1);
    try {
      const { store, cuts } = await storeThrough(threads, [odd]);
      assert.equal(cuts.at(-1)?.size, 100, 'the setup leaves a 100-byte last chunk');
      const back = await Promise.all(cuts.map((c) => store.get(c.hash)));
      assert.ok(Buffer.concat(back).equals(bytes));
    } finally {
      await threads.close();
    }
  });

  it('keeps serving after a job is stopped mid-way, and reports unreadable files', async () => {
    const threads = new ChunkThreads(1);
    try {
      const stop = new AbortController();
      const store = new ChunkStore(fs.mkdtempSync(path.join(dir, 'store-')));
      await assert.rejects(
        threads.run(
          { kind: 'store', storeDir: store.dir, files: [Buffer.from(file)] },
          {
            cut: () => {
              stop.abort(new Error('stopped by the test'));
              return new Promise(() => {}); // never answers: only the abort ends the job
            },
          },
          stop.signal,
        ),
        /stopped by the test/,
      );
      const { cuts } = await storeThrough(threads, [file]);
      assert.equal(cuts.length, chunk(data, []).length);
      await assert.rejects(storeThrough(threads, [path.join(dir, 'missing')]), /ENOENT.*missing/);
    } finally {
      await threads.close();
    }
  });

  it('restores files from chunks and names the file whose chunk is damaged', async () => {
    const threads = new ChunkThreads(2);
    try {
      const { store, cuts } = await storeThrough(threads, [file]);
      const hashes = cuts.map((c) => c.hash);
      const out = (name: string) => path.join(dir, name);
      await threads.runAll(
        [
          {
            kind: 'restore',
            storeDir: store.dir,
            files: [{ dest: { path: out('r1') }, chunks: hashes, size: data.length }],
          },
          {
            kind: 'restore',
            storeDir: store.dir,
            files: [{ dest: { path: out('r2') }, chunks: [], size: 0 }],
          },
        ],
        () => ({}),
      );
      assert.ok(fs.readFileSync(out('r1')).equals(data));
      assert.equal(fs.statSync(out('r2')).size, 0);

      const victim = store.pathOf(hashes[1]!);
      const bytes = fs.readFileSync(victim);
      bytes[10] = bytes[10]! ^ 1;
      fs.writeFileSync(victim, bytes);
      await assert.rejects(
        threads.runAll(
          [
            {
              kind: 'restore',
              storeDir: store.dir,
              files: [{ dest: { path: out('r3') }, chunks: [], size: 0 }],
            },
            {
              kind: 'restore',
              storeDir: store.dir,
              files: [
                { dest: { path: out('r4') }, chunks: [], size: 0 },
                { dest: { path: out('r5') }, chunks: hashes, size: data.length },
              ],
            },
          ],
          () => ({}),
        ),
        (e: unknown) =>
          e instanceof DamagedChunkError &&
          e.job === 1 &&
          e.damage.index === 1 &&
          e.damage.hash === hashes[1] &&
          e.why === 'corrupt',
      );

      const damaged: string[] = [];
      await threads.run(
        { kind: 'check', storeDir: store.dir, chunks: hashes },
        { damaged: (d) => damaged.push(`${d.index} ${d.why}`) },
      );
      assert.deepEqual(damaged, ['1 corrupt']);
    } finally {
      await threads.close();
    }
  });
});
