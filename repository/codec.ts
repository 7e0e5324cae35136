// Per-blob compression. The first byte of a blob's plaintext says how the rest is stored,
// so a repository can mix codecs and settings, and a blob that does not shrink is stored
// as it is.
//
// zstd, as restic uses: at level 3 it matched restic's ratio on source code (0.190 of the
// size, against 0.211 for brotli at quality 1 and the same speed, ~260 MiB/s a core here;
// it decodes twice as fast). Node 20 has no zstd of its own: the binding is napi-rs's
// prebuilt package for this platform, from the npm registry.
import { Decoder, Encoder } from '@toondepauw/node-zstd';

/** `compression` of a provider's `[repository]` section. */
export type CompressionMode = 'auto' | 'off' | 'max';

export const COMPRESSION_MODES: readonly CompressionMode[] = ['auto', 'off', 'max'];

const RAW = 0;
const ZSTD = 2;

/** Below this a blob is stored raw: compressing it would cost more than it saves. */
const MIN_COMPRESS = 64;

const LEVEL: Record<Exclude<CompressionMode, 'off'>, number> = { auto: 3, max: 15 };

// One encoder per level per thread (each chunk thread loads this module anew).
const encoders = new Map<number, Encoder>();
let decoder: Decoder | undefined;

function encoder(level: number): Encoder {
  let e = encoders.get(level);
  if (!e) encoders.set(level, (e = new Encoder(level)));
  return e;
}

/** Samples of this size decide whether a large blob is worth compressing at all. */
const SAMPLE = 4096;

/**
 * True when two samples of `data` (its start and middle) do not shrink: random or already
 * compressed bytes, which half a typical tree is. Compressing them whole would cost a
 * core's time for nothing.
 */
function incompressible(data: Buffer): boolean {
  if (data.length < 16 * SAMPLE) return false;
  const e = encoder(1);
  const mid = Math.floor(data.length / 2);
  for (const at of [0, mid]) {
    if (e.encodeSync(data.subarray(at, at + SAMPLE)).length < SAMPLE * 0.97) return false;
  }
  return true;
}

/** The stored form of `data`: a codec byte and the payload. */
export function encodeBlob(data: Buffer, mode: CompressionMode): Buffer {
  if (mode === 'auto' && incompressible(data)) return Buffer.concat([Buffer.of(RAW), data]);
  if (mode !== 'off' && data.length >= MIN_COMPRESS) {
    const packed = encoder(LEVEL[mode]).encodeSync(data);
    if (packed.length + 1 < data.length) return Buffer.concat([Buffer.of(ZSTD), packed]);
  }
  return Buffer.concat([Buffer.of(RAW), data]);
}

/** The data back; throws for an unknown codec byte or a payload the codec rejects. */
export function decodeBlob(stored: Buffer): Buffer {
  const codec = stored[0];
  const payload = stored.subarray(1);
  if (codec === RAW) return payload;
  if (codec === ZSTD) return (decoder ??= new Decoder()).decodeSync(payload);
  throw new Error(`unknown codec ${String(codec)}`);
}
