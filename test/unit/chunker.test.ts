import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { sha256 } from '../../plugins/chunk-store/chunk-store';
import { Chunker } from '../../plugins/chunk-store/chunker';

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
