// What the main thread and a chunk thread (chunk-thread.ts) say to each other. A job moves
// file bytes into or out of one repository. While storing, the thread asks the main thread
// which of the chunks it cut are new (only the main thread claims chunks and reads the
// index in the bank), compresses and seals those, and hands them over: the main thread
// packs the blobs of all its threads together and writes full packs.
import type { BlobLocation } from '../../repository/repository';
import type { RepositorySpec } from '../../repository/spec';

/** Cut, name, seal and pack the files' new chunks. */
export interface StoreJob {
  kind: 'store';
  repo: RepositorySpec;
  /** Paths as bytes (names need not be UTF-8). */
  files: Uint8Array[];
}

/**
 * Where a restored file is written: a new name in a directory below an opened root, reached
 * without following any symlink; or (tests, dumps) a plain path.
 */
export type RestoreDest = { rootFd: number; dir: Uint8Array; name: string } | { path: string };

export interface RestoreFile {
  dest: RestoreDest;
  chunks: string[];
  size: number;
  /** A sparse file's data regions; the chunks fill them in order, the rest stays holes. */
  extents?: [number, number][];
}

/** Where the job's blobs are, as the index said when the job was made. */
export type Locations = Record<string, BlobLocation>;

/** Write each file (at its temporary name) from its chunks, checking every blob. */
export interface RestoreJob {
  kind: 'restore';
  repo: RepositorySpec;
  files: RestoreFile[];
  locations: Locations;
}

/** Read every chunk and report the missing or damaged ones. */
export interface CheckJob {
  kind: 'check';
  repo: RepositorySpec;
  chunks: string[];
  locations: Locations;
}

export type Job = StoreJob | RestoreJob | CheckJob;

/** The answer to `cut`: per chunk, whether this thread writes it (false: it is stored). */
export interface Reserved {
  kind: 'reserved';
  write: boolean[];
}

export type ToThread = Job | Reserved;

/** A new chunk, compressed and sealed, for the main thread to pack. */
export interface SealedBlob {
  id: string;
  /** Its length before compression and sealing. */
  raw: number;
  sealed: Uint8Array;
}

/** A chunk of the job's `file`-th file, in the file's order. */
export interface CutChunk {
  file: number;
  /** The blob id (keyed hash of the bytes). */
  hash: string;
  size: number;
}

export interface Damage {
  hash: string;
  why: 'missing' | 'corrupt';
  /** The file (restore) or chunk (check) index in the job. */
  index: number;
  /** The repository file at fault, and how, when known. */
  detail?: string;
}

export type FromThread =
  | { kind: 'cut'; chunks: CutChunk[] }
  /** New chunks of the last `cut`, sealed (no answer). */
  | { kind: 'sealed'; blobs: SealedBlob[] }
  /** The job's `file`-th file is sparse: only these regions were read (before its chunks). */
  | { kind: 'extents'; file: number; extents: [number, number][] }
  | { kind: 'progress'; bytes: number }
  | { kind: 'damaged'; damage: Damage }
  | { kind: 'done' }
  | { kind: 'failed'; message: string; damage?: Damage };
