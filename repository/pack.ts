// A pack: many sealed blobs in one file, and a sealed header at its end that lists them, so
// the index can be rebuilt from the packs alone. Layout:
//   blob 0 | blob 1 | … | sealed header | header length (u32 LE)
// Header plaintext: per blob, type (1 byte), id (32 bytes), stored length (u32 LE) and raw
// length (u32 LE); offsets follow from the lengths, in order.
import type { MasterKeys } from './crypto';
import { CONTEXT, open, SealBroken, seal } from './crypto';

export type BlobType = 'data' | 'tree';
const TYPE_BYTE: Record<BlobType, number> = { data: 0, tree: 1 };
const BYTE_TYPE: BlobType[] = ['data', 'tree'];
const ENTRY = 1 + 32 + 4 + 4;
const TRAILER = 4;

/** A blob in a pack, as the header lists it and the index records it. */
export interface PackEntry {
  id: string;
  type: BlobType;
  /** Offset of the sealed blob in the pack. */
  offset: number;
  /** Sealed (stored) length. */
  length: number;
  /** Length of the blob's data once opened and decompressed. */
  raw: number;
}

/** Collects sealed blobs until the pack is big enough, then becomes one file. */
export class PackBuilder {
  private readonly parts: Buffer[] = [];
  readonly entries: PackEntry[] = [];
  private size = 0;

  /** Bytes of sealed blobs so far. */
  get bytes(): number {
    return this.size;
  }

  get count(): number {
    return this.entries.length;
  }

  add(id: string, type: BlobType, sealed: Buffer, raw: number): void {
    this.entries.push({ id, type, offset: this.size, length: sealed.length, raw });
    this.parts.push(sealed);
    this.size += sealed.length;
  }

  /**
   * The pack file's parts, in order (blobs, sealed header, trailer), and its id; the builder
   * is spent afterwards.
   */
  finish(keys: MasterKeys): { parts: Buffer[]; sealedHeader: Buffer } {
    const header = Buffer.alloc(this.entries.length * ENTRY);
    this.entries.forEach((e, i) => {
      const at = i * ENTRY;
      header[at] = TYPE_BYTE[e.type];
      header.write(e.id, at + 1, 32, 'hex');
      header.writeUInt32LE(e.length, at + 33);
      header.writeUInt32LE(e.raw, at + 37);
    });
    const sealedHeader = seal(keys.encrypt, header, CONTEXT.packHeader);
    const trailer = Buffer.alloc(TRAILER);
    trailer.writeUInt32LE(sealedHeader.length);
    const parts = [...this.parts, sealedHeader, trailer];
    this.parts.length = 0;
    return { parts, sealedHeader };
  }
}

/** How many bytes from a pack's end to read first: usually the whole header. */
export const HEADER_GUESS = 64 * 1024;

/**
 * The entries of a pack, from its last bytes (`tail`, at least the trailer; more if the
 * header is longer: `needed` says how many). Throws SealBroken or Error for a damaged pack.
 */
export function parsePackTail(
  keys: MasterKeys,
  tail: Buffer,
  packSize: number,
): { entries: PackEntry[]; sealedHeader: Buffer } | { needed: number } {
  if (tail.length < TRAILER) throw new Error('pack is shorter than its trailer');
  const headerLength = tail.readUInt32LE(tail.length - TRAILER);
  if (headerLength + TRAILER > packSize) throw new Error('pack header length is out of range');
  if (headerLength + TRAILER > tail.length) return { needed: headerLength + TRAILER };
  const sealed = tail.subarray(tail.length - TRAILER - headerLength, tail.length - TRAILER);
  const header = open(keys.encrypt, sealed, CONTEXT.packHeader);
  if (header.length % ENTRY !== 0) throw new SealBroken('pack header has a partial entry');
  const entries: PackEntry[] = [];
  let offset = 0;
  for (let at = 0; at < header.length; at += ENTRY) {
    const type = BYTE_TYPE[header[at]!];
    if (!type) throw new Error(`pack header names an unknown blob type ${header[at]}`);
    const length = header.readUInt32LE(at + 33);
    entries.push({
      id: header.toString('hex', at + 1, at + 33),
      type,
      offset,
      length,
      raw: header.readUInt32LE(at + 37),
    });
    offset += length;
  }
  if (offset + headerLength + TRAILER !== packSize) {
    throw new Error('pack header does not account for the whole pack');
  }
  return { entries, sealedHeader: sealed };
}
