// A content-addressed chunk store on the local filesystem: a chunk's name is the SHA-256 of
// its bytes, so unchanged data is stored once however many checkpoints hold it. Writes are
// atomic (temp file, fsync, rename, fsync of the directory); reads re-check the hash.
import { createHash, randomBytes } from 'node:crypto';
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

export class ChunkStore {
  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  pathOf(hash: string): string {
    if (!HASH.test(hash)) throw new ChunkError(hash, 'missing');
    return path.join(this.dir, hash.slice(0, 2), hash);
  }

  /** Stores a chunk unless it is there already; returns its name and whether it was new. */
  async put(data: Buffer): Promise<{ hash: string; stored: boolean }> {
    const hash = sha256(data);
    const file = this.pathOf(hash);
    if (fs.existsSync(file)) return { hash, stored: false };
    const dir = path.dirname(file);
    await fs.promises.mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
    const fh = await fs.promises.open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, file);
    const dh = await fs.promises.open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
    return { hash, stored: true };
  }

  /** The chunk's bytes, checked against its name. */
  async get(hash: string): Promise<Buffer> {
    let data: Buffer;
    try {
      data = await fs.promises.readFile(this.pathOf(hash));
    } catch {
      throw new ChunkError(hash, 'missing');
    }
    if (sha256(data) !== hash) throw new ChunkError(hash, 'corrupt');
    return data;
  }

  async remove(hash: string): Promise<void> {
    await fs.promises.rm(this.pathOf(hash), { force: true });
  }
}
