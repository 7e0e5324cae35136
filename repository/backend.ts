// Where a repository's files live. A backend stores whole files by name, atomically: a
// reader sees a file complete or not at all. Names are `config`, `keys/<id>` and
// `data/<2 hex>/<pack id>`; nothing else is written.
import { createHash } from 'node:crypto';

export interface StoredFile {
  name: string;
  size: number;
  /** Milliseconds since the epoch. */
  modifiedMs: number;
}

export interface Backend {
  /** Human-readable place, for messages (never holds a credential). */
  readonly location: string;
  /**
   * Writes the whole file durably (its parts in order); an existing file of that name is
   * replaced.
   */
  write(name: string, data: Buffer | Buffer[]): Promise<void>;
  /** The file, or `length` bytes of it from `offset`; throws NotInBackend when absent. */
  read(name: string, range?: { offset: number; length: number }): Promise<Buffer>;
  /** The file's size and age, or undefined when absent. */
  stat(name: string): Promise<StoredFile | undefined>;
  /** Files whose names start with `prefix`, in no particular order, a few at a time. */
  list(prefix: string): AsyncIterable<StoredFile>;
  /** Removes the file; absent is fine. */
  remove(name: string): Promise<void>;
  /** Removes what writers that died left (temporary files) older than `cutoffMs`; how many. */
  removeStale(cutoffMs: number): Promise<number>;
}

/** Thrown by `read` for a file the backend does not have. */
export class NotInBackend extends Error {
  constructor(readonly file: string) {
    super(`${file} does not exist`);
  }
}

/**
 * A pack's id: the SHA-256 of its sealed header (which lists, and through the seal vouches
 * for, every blob in it; its random nonce makes it unique). Hashing the header rather than
 * the whole pack saves a pass over every byte stored; the blobs are authenticated anyway.
 */
export function packIdFromHeader(sealedHeader: Buffer): string {
  return createHash('sha256').update(sealedHeader).digest('hex');
}

export function packIdOf(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

export function packFile(packId: string): string {
  return `data/${packId.slice(0, 2)}/${packId}`;
}

const NAME = /^(config|keys\/[0-9a-f]{64}|data\/[0-9a-f]{2}\/[0-9a-f]{64})$/;

/** Refuses any name a repository never writes (no `..`, no absolute paths, nothing else). */
export function checkName(name: string): string {
  if (!NAME.test(name)) throw new Error(`not a repository file name: ${JSON.stringify(name)}`);
  return name;
}
