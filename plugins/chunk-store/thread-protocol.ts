// What the main thread and a chunk thread (chunk-thread.ts) say to each other. A job moves
// file bytes into or out of one repository. While storing, the thread asks the main thread
// which of the chunks it cut to write (only the main thread claims chunks and reads the
// index in the bank), writes them sealed into packs, and tells the main thread of each
// pack it wrote so the pack's blobs get indexed.
import type { PackEntry } from '../../repository/pack';
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

/** The answer to `packing` and `packed`: done (or it failed: the job stops). */
export interface Indexed {
  kind: 'indexed';
  error?: string;
}

export type ToThread = Job | Reserved | Indexed;

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
  /** A pack the thread is about to write: mark it pending, then answer `indexed`. */
  | { kind: 'packing'; pack: string }
  /** A pack the thread wrote: index its blobs, then answer `indexed`. */
  | { kind: 'packed'; pack: string; entries: PackEntry[] }
  /** The job's `file`-th file is sparse: only these regions were read (before its chunks). */
  | { kind: 'extents'; file: number; extents: [number, number][] }
  | { kind: 'progress'; bytes: number }
  | { kind: 'damaged'; damage: Damage }
  | { kind: 'done' }
  | { kind: 'failed'; message: string; damage?: Damage };
