import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ChunkError, ChunkStore, sha256 } from '../../plugins/chunk-store/chunk-store';
import { Chunker } from '../../plugins/chunk-store/chunker';
import { ChunkerPool } from '../../plugins/chunk-store/chunker-pool';

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
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'karbor-chunks-'));
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

describe('chunker pool (worker threads)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'karbor-pool-'));
  const file = path.join(dir, 'data.bin');
  const data = randomBytes(9 * 1024 * 1024);
  fs.writeFileSync(file, data);

  it('cuts and hashes a file exactly as the main-thread chunker does', async () => {
    const pool = new ChunkerPool(2);
    try {
      const got: { hash: string; data: Buffer }[] = [];
      for await (const c of pool.chunks(file)) got.push(c);
      assert.deepEqual(
        got.map((c) => c.hash),
        chunk(data, []).map(sha256),
      );
      assert.ok(got.every((c) => sha256(c.data) === c.hash));
      assert.ok(Buffer.concat(got.map((c) => c.data)).equals(data));
    } finally {
      await pool.close();
    }
  });

  it('hands over tiny last chunks intact (memory from the shared buffer pool)', async () => {
    // Zeros never hit the cut mask, so chunks end at the 4 MiB maximum and the last one
    // holds the 100 bytes left over.
    const odd = path.join(dir, 'odd.bin');
    const bytes = Buffer.alloc(8 * 1024 * 1024 + 100);
    fs.writeFileSync(odd, bytes);
    const pool = new ChunkerPool(1);
    try {
      for (let round = 0; round < 3; round++) {
        const got: { hash: string; data: Buffer }[] = [];
        for await (const c of pool.chunks(odd)) got.push(c);
        assert.equal(got.at(-1)?.data.length, 100, 'the setup leaves a 100-byte last chunk');
        assert.ok(
          got.every((c) => sha256(c.data) === c.hash),
          `round ${round}`,
        );
        assert.ok(Buffer.concat(got.map((c) => c.data)).equals(bytes));
      }
    } finally {
      await pool.close();
    }
  });

  it('keeps serving after a reader stops mid-file, and reports unreadable files', async () => {
    const pool = new ChunkerPool(1);
    try {
      for await (const _ of pool.chunks(file)) break;
      let n = 0;
      for await (const _ of pool.chunks(file)) n++;
      assert.equal(n, chunk(data, []).length);
      await assert.rejects(async () => {
        for await (const _ of pool.chunks(path.join(dir, 'missing'))) {
          // nothing to read
        }
      }, /cannot read .*missing/);
    } finally {
      await pool.close();
    }
  });
});
