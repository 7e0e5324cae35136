// Content-defined chunking with a gear rolling hash (the FastCDC family): a cut falls where
// the hash of the last bytes matches a mask, so an insertion early in a file moves only the
// chunks around it and unchanged data keeps its chunk names.
import { createHash } from 'node:crypto';

export interface ChunkerOptions {
  minSize: number;
  avgSize: number;
  maxSize: number;
}

export const DEFAULT_CHUNKING: ChunkerOptions = {
  minSize: 256 * 1024,
  avgSize: 1024 * 1024,
  maxSize: 4 * 1024 * 1024,
};

/** 256 pseudo-random 32-bit values, the same on every machine (derived, not stored). */
const GEAR: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i += 8) {
    const digest = createHash('sha256').update(`karbor-gear-${i}`).digest();
    for (let j = 0; j < 8; j++) table[i + j] = digest.readUInt32LE(j * 4);
  }
  return table;
})();

/**
 * Splits a byte stream into chunks. Feed buffers with `push`; each returns the chunks it
 * completed; `finish` returns the rest. A chunk that lies within one pushed buffer is a view
 * of it, not a copy: do not reuse a buffer once it is pushed.
 */
export class Chunker {
  private readonly mask: number;
  private pending: Buffer[] = [];
  private pendingSize = 0;
  private hash = 0;

  constructor(private readonly opts: ChunkerOptions = DEFAULT_CHUNKING) {
    const bits = Math.round(Math.log2(opts.avgSize - opts.minSize));
    this.mask = (2 ** bits - 1) >>> 0;
  }

  push(data: Buffer): Buffer[] {
    const { minSize, maxSize } = this.opts;
    const mask = this.mask;
    const gear = GEAR;
    const out: Buffer[] = [];
    let start = 0;
    let i = 0;
    let h = this.hash;
    const n = data.length;
    while (i < n) {
      const size = this.pendingSize + (i - start);
      if (size < minSize - 32) {
        // No cut can fall below the minimum, and the hash only remembers the last 32 bytes:
        // skip to 32 bytes before the minimum.
        i += Math.min(n - i, minSize - 32 - size);
        continue;
      }
      // Scan in tight loops (locals only) up to where a cut is due anyway: first the bytes
      // that only warm the hash up, then those where a cut may fall.
      const limit = Math.min(n, i + (maxSize - size));
      const cutFrom = Math.min(limit, i + Math.max(0, minSize - size - 1));
      for (; i < cutFrom; i++) h = ((h << 1) + gear[data[i]!]!) >>> 0;
      let cut = -1;
      for (; i < limit; i++) {
        h = ((h << 1) + gear[data[i]!]!) >>> 0;
        if ((h & mask) === 0) {
          cut = i + 1;
          break;
        }
      }
      if (cut < 0 && i - start + this.pendingSize >= maxSize) cut = i;
      if (cut >= 0) {
        i = cut;
        this.pending.push(data.subarray(start, i));
        out.push(joined(this.pending));
        this.pending = [];
        this.pendingSize = 0;
        h = 0;
        start = i;
      }
    }
    this.hash = h;
    if (start < n) {
      this.pending.push(data.subarray(start));
      this.pendingSize += n - start;
    }
    return out;
  }

  finish(): Buffer[] {
    if (this.pendingSize === 0) return [];
    const last = joined(this.pending);
    this.pending = [];
    this.pendingSize = 0;
    this.hash = 0;
    return [last];
  }
}

function joined(pieces: Buffer[]): Buffer {
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
}
