// What the main thread and a chunk thread (chunk-thread.ts) say to each other. A job moves
// file bytes into or out of one chunk store; while storing, the thread asks the main thread
// where to write each chunk it cut, since only the main thread claims chunks in the bank.

/** Cut, hash and write the files' new chunks. */
export interface StoreJob {
  kind: 'store';
  storeDir: string;
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

/** Write each file (at its temporary name) from its chunks, checking every hash. */
export interface RestoreJob {
  kind: 'restore';
  storeDir: string;
  files: RestoreFile[];
}

/** Read every chunk and report the missing or corrupt ones. */
export interface CheckJob {
  kind: 'check';
  storeDir: string;
  chunks: string[];
}

export type Job = StoreJob | RestoreJob | CheckJob;

/** The answer to `cut`: per chunk, the temporary file to write it to, or null to skip it. */
export interface Reserved {
  kind: 'reserved';
  tmps: (string | null)[];
}

export type ToThread = Job | Reserved;

/** A chunk of the job's `file`-th file, in the file's order. */
export interface CutChunk {
  file: number;
  hash: string;
  size: number;
}

export interface Damage {
  hash: string;
  why: 'missing' | 'corrupt';
  /** The file (restore) or chunk (check) index in the job. */
  index: number;
}

export type FromThread =
  | { kind: 'cut'; chunks: CutChunk[] }
  /** The job's `file`-th file is sparse: only these regions were read (before its chunks). */
  | { kind: 'extents'; file: number; extents: [number, number][] }
  | { kind: 'progress'; bytes: number }
  | { kind: 'damaged'; damage: Damage }
  | { kind: 'done' }
  | { kind: 'failed'; message: string; damage?: Damage };
