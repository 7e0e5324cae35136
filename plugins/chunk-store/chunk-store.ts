// A content-addressed chunk store on the local filesystem: a chunk's name is the SHA-256 of
// its bytes, so unchanged data is stored once however many checkpoints hold it. Writes are
// atomic (temporary file, flushed to disk, renamed into place, directory flushed); reads
// re-check the hash.
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KarborError } from '../../common/errors';
import { flushToDisk } from './flush';

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

/** True for a chunk file's name (its SHA-256), false for temporary and other files. */
export function isChunkName(name: string): boolean {
  return HASH.test(name);
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The same digest, computed off the main thread. */
export async function sha256Async(data: Buffer): Promise<string> {
  const digest = await webcrypto.subtle.digest('SHA-256', data);
  return Buffer.from(digest).toString('hex');
}

/** Where a chunk lives in a store directory (256 fan-out directories by first byte). */
export function chunkPath(dir: string, hash: string): string {
  if (!HASH.test(hash)) throw new ChunkError(hash, 'missing');
  return path.join(dir, hash.slice(0, 2), hash);
}

/** Every temporary file of the store starts with this. */
export const TEMP_PREFIX = '.tmp-';

/** Temporary files of the writer tagged `tag` start with this. */
export function tempPrefix(tag: string): string {
  return `${TEMP_PREFIX}${tag}-`;
}

/**
 * A fresh temporary name beside where the chunk will live; never a chunk's name. The tag
 * names the writer, so a later attempt of the same writer can find what a dead one left.
 */
export function tempChunkPath(dir: string, hash: string, tag: string): string {
  const name = `${tempPrefix(tag)}${randomBytes(6).toString('hex')}`;
  return path.join(path.dirname(chunkPath(dir, hash)), name);
}

/** A chunk's bytes read synchronously (on a worker thread), checked against its name. */
export function readChunkSync(dir: string, hash: string): Buffer {
  let data: Buffer;
  try {
    data = fs.readFileSync(chunkPath(dir, hash));
  } catch {
    throw new ChunkError(hash, 'missing');
  }
  if (sha256(data) !== hash) throw new ChunkError(hash, 'corrupt');
  return data;
}

export class ChunkStore {
  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  pathOf(hash: string): string {
    return chunkPath(this.dir, hash);
  }

  has(hash: string): boolean {
    return fs.existsSync(this.pathOf(hash));
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
   * file (named with `tag`); `commit` flushes them all at once, renames them into place and
   * flushes their directories. A crash before `commit` leaves only temporary files, never
   * a chunk whose name promises bytes that are not on disk.
   */
  batch(tag = 'batch'): ChunkBatch {
    return new ChunkBatch(this, tag);
  }

  /** Removes the temporary files a dead writer tagged `tag` left behind. */
  async removeLeftovers(tag: string): Promise<number> {
    const prefix = tempPrefix(tag);
    let removed = 0;
    for await (const f of this.files()) {
      if (!f.name.startsWith(prefix)) continue;
      await fs.promises.rm(f.path, { force: true });
      removed++;
    }
    return removed;
  }

  /** Every file of the store's fan-out directories: chunks and temporary files alike. */
  async *files(): AsyncGenerator<{ name: string; path: string }> {
    const fanOut = await fs.promises.readdir(this.dir).catch(() => [] as string[]);
    for (const d of fanOut) {
      const names = await fs.promises.readdir(path.join(this.dir, d)).catch(() => [] as string[]);
      for (const name of names) yield { name, path: path.join(this.dir, d, name) };
    }
  }

  /** The chunk's bytes, checked against its name. */
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

const RENAME_PARALLELISM = 16;

export class ChunkBatch {
  /** hash → the temporary file its bytes go to, until `commit` renames it into place. */
  private readonly pending = new Map<string, string>();
  /** Fan-out directories known to exist (one mkdir each, not one per chunk). */
  private readonly dirs = new Set<string>();

  constructor(
    private readonly store: ChunkStore,
    private readonly tag: string,
  ) {}

  /**
   * Where the caller must write this chunk (a temporary file, whose fan-out directory may
   * not exist yet), or undefined when the store or this batch has it already. Claim the
   * chunk first, so no delete removes it between this check and the commit.
   */
  reserve(hash: string): string | undefined {
    if (this.pending.has(hash) || this.store.has(hash)) return undefined;
    const tmp = tempChunkPath(this.store.dir, hash, this.tag);
    this.pending.set(hash, tmp);
    return tmp;
  }

  /** Writes the chunk unless the store (or this batch) has it; `hash` when already known. */
  async put(data: Buffer, hash = sha256(data)): Promise<{ hash: string; stored: boolean }> {
    const tmp = this.reserve(hash);
    if (tmp === undefined) return { hash, stored: false };
    const dir = path.dirname(tmp);
    if (!this.dirs.has(dir)) {
      await fs.promises.mkdir(dir, { recursive: true });
      this.dirs.add(dir);
    }
    await fs.promises.writeFile(tmp, data, { mode: 0o600, flag: 'wx' });
    return { hash, stored: true };
  }

  async commit(): Promise<void> {
    const entries = [...this.pending.entries()];
    await flushToDisk(entries.map(([, tmp]) => tmp));
    for (let i = 0; i < entries.length; i += RENAME_PARALLELISM) {
      await Promise.all(
        entries
          .slice(i, i + RENAME_PARALLELISM)
          .map(([hash, tmp]) => fs.promises.rename(tmp, this.store.pathOf(hash))),
      );
    }
    await flushToDisk(
      entries.map(([hash]) => this.store.pathOf(hash)),
      { entriesOnly: true },
    );
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
