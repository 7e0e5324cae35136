// Per-blob compression. The first byte of a blob's plaintext says how the rest is stored,
// so a repository can mix codecs and a blob that does not shrink is stored as it is.
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';

/** `compression` of a provider's `[repository]` section. */
export type CompressionMode = 'auto' | 'off' | 'max';

export const COMPRESSION_MODES: readonly CompressionMode[] = ['auto', 'off', 'max'];

const RAW = 0;
const BROTLI = 1;

/** Below this a blob is stored raw: compressing it would cost more than it saves. */
const MIN_COMPRESS = 64;

function brotli(data: Buffer, quality: number): Buffer {
  return brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: quality,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
}

/**
 * The stored form of `data`: a codec byte and the payload. `auto` is brotli at quality 1
 * (measured in bench/codec: as fast as zstd level 1 from an npm binding on these machines,
 * within 3% of its ratio, and built into Node); `max` is quality 9.
 */
export function encodeBlob(data: Buffer, mode: CompressionMode): Buffer {
  if (mode !== 'off' && data.length >= MIN_COMPRESS) {
    const packed = brotli(data, mode === 'max' ? 9 : 1);
    if (packed.length + 1 < data.length) return Buffer.concat([Buffer.of(BROTLI), packed]);
  }
  return Buffer.concat([Buffer.of(RAW), data]);
}

/** The data back; throws for an unknown codec byte or a payload the codec rejects. */
export function decodeBlob(stored: Buffer): Buffer {
  const codec = stored[0];
  const payload = stored.subarray(1);
  if (codec === RAW) return payload;
  if (codec === BROTLI) return brotliDecompressSync(payload);
  throw new Error(`unknown codec ${String(codec)}`);
}
