// What is left of the first chunk store: the error a missing or damaged chunk raises, and
// the SHA-256 helper names are built from. Chunks live in repositories now (repository/).
import { createHash } from 'node:crypto';
import { KarborError } from '../../common/errors';
import { BlobMissingError, RepositoryDamagedError } from '../../repository/errors';

/** Thrown when a chunk is missing or its stored bytes fail their checks. */
export class ChunkError extends KarborError {
  readonly code = 'CHUNK_DAMAGED';
  readonly permanent = true;
  constructor(
    readonly hash: string,
    readonly why: 'missing' | 'corrupt',
    /** Which repository file is at fault, and how, when known. */
    readonly detail?: string,
  ) {
    super(detail ? `chunk ${hash} is ${why}: ${detail}` : `chunk ${hash} is ${why}`);
  }
}

/**
 * Reads a chunk's blob, turning the repository's refusals into a ChunkError naming the
 * chunk and the repository file at fault: missing (index or pack) or corrupt.
 */
export async function readAsChunk(id: string, read: () => Promise<Buffer>): Promise<Buffer> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof BlobMissingError) throw new ChunkError(id, 'missing', err.message);
    if (err instanceof RepositoryDamagedError) throw new ChunkError(id, 'corrupt', err.message);
    throw err;
  }
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
