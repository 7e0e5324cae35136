// A content-addressed chunk store on the local filesystem: a chunk's name is the SHA-256 of
// its bytes, so unchanged data is stored once however many checkpoints hold it. Writes are
// atomic (temp file, fsync, rename, fsync of the directory); reads re-check the hash.
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KarborError } from '../../common/errors';

/** Thrown when a chunk is missing or its bytes no longer hash to its name. */
export class ChunkError extends KarborError {
  readonly code = 'CHUNK_DAMAGED';
  readonly permanent = true;
  constructor(
    readonly hash: string,
    readonly why: 'missing' | 'corrupt',
  ) {
    super(`chunk ${hash} is ${why}`);
  }
}

const HASH = /^[0-9a-f]{64}$/;

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The same digest, computed off the main thread. */
export async function sha256Async(data: Buffer): Promise<string> {
  const digest = await webcrypto.subtle.digest('SHA-256', data);
  return Buffer.from(digest).toString('hex');
}

export class ChunkStore {
  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  pathOf(hash: string): string {
    if (!HASH.test(hash)) throw new ChunkError(hash, 'missing');
    return path.join(this.dir, hash.slice(0, 2), hash);
  }

  /** Stores a chunk unless it is there already, durably, at once. */
  async put(data: Buffer): Promise<{ hash: string; stored: boolean }> {
    const batch = this.batch();
    const result = await batch.put(data);
    await batch.commit();
    return result;
  }

  /**
   * Chunk writes that become visible together, durably: each is written to a temporary
   * file; `commit` fsyncs them all at once, renames them into place and fsyncs their
   * directories. A crash before `commit` leaves only temporary files, never a chunk whose
   * name promises bytes that are not on disk.
   */
  batch(): ChunkBatch {
    return new ChunkBatch(this);
  }

  /** The chunk's bytes, checked against its name. */ /** The chunk's bytes, checked against its name. */
  async get(hash: string): Promise<Buffer> {
    let data: Buffer;
    try {
      data = await fs.promises.readFile(this.pathOf(hash));
    } catch {
      throw new ChunkError(hash, 'missing');
    }
    if ((await sha256Async(data)) !== hash) throw new ChunkError(hash, 'corrupt');
    return data;
  }

  async remove(hash: string): Promise<void> {
    await fs.promises.rm(this.pathOf(hash), { force: true });
  }
}

const SYNC_PARALLELISM = 16;

export class ChunkBatch {
  private readonly pending = new Map<string, string>();
  /** Fan-out directories known to exist (one mkdir each, not one per chunk). */
  private readonly dirs = new Set<string>();

  constructor(private readonly store: ChunkStore) {}

  /** Writes the chunk unless the store (or this batch) has it; `hash` when already known. */
  async put(data: Buffer, hash = sha256(data)): Promise<{ hash: string; stored: boolean }> {
    const file = this.store.pathOf(hash);
    if (this.pending.has(hash) || fs.existsSync(file)) return { hash, stored: false };
    const dir = path.dirname(file);
    const tmp = path.join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
    // Registered before the first await, so a concurrent put of the same bytes skips.
    this.pending.set(hash, tmp);
    if (!this.dirs.has(dir)) {
      await fs.promises.mkdir(dir, { recursive: true });
      this.dirs.add(dir);
    }
    await fs.promises.writeFile(tmp, data, { mode: 0o600 });
    return { hash, stored: true };
  }

  async commit(): Promise<void> {
    const entries = [...this.pending.entries()];
    for (let i = 0; i < entries.length; i += SYNC_PARALLELISM) {
      await Promise.all(
        entries.slice(i, i + SYNC_PARALLELISM).map(async ([hash, tmp]) => {
          await syncPath(tmp);
          await fs.promises.rename(tmp, this.store.pathOf(hash));
        }),
      );
    }
    const dirs = [...new Set(entries.map(([hash]) => path.dirname(this.store.pathOf(hash))))];
    for (let i = 0; i < dirs.length; i += SYNC_PARALLELISM) {
      await Promise.all(dirs.slice(i, i + SYNC_PARALLELISM).map(syncPath));
    }
    this.pending.clear();
  }

  /** Drops what was not committed (a failed protect). */
  async abandon(): Promise<void> {
    await Promise.all(
      [...this.pending.values()].map((tmp) => fs.promises.rm(tmp, { force: true })),
    );
    this.pending.clear();
  }
}

async function syncPath(p: string): Promise<void> {
  const fh = await fs.promises.open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
