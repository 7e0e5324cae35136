// Making a batch of written files durable. One syncfs(2) (coreutils `sync --file-system`)
// per filesystem flushes them all with a single journal commit, where an fsync per file
// costs one commit each: on a tree of thousands of small files that was most of a
// protect's time. Where there is no `sync` program, every file is fsynced, a few at a time.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const FSYNC_PARALLELISM = 16;

let haveSyncProgram = true;

/** Resolves true once the filesystem is flushed; false when there is no `sync` to run. */
function syncFileSystem(anyPathOnIt: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    execFile('sync', ['--file-system', anyPathOnIt], (err, _out, stderr) => {
      if (!err) resolve(true);
      else if ((err as NodeJS.ErrnoException).code === 'ENOENT') resolve(false);
      else
        reject(
          new Error(`flushing ${anyPathOnIt} to disk failed: ${stderr.trim() || err.message}`),
        );
    });
  });
}

/**
 * Makes `files` durable: their bytes and their entries in their directories (call again
 * after renaming them, with `entriesOnly`, for the new names).
 */
export async function flushToDisk(
  files: string[],
  opts: { entriesOnly?: boolean } = {},
): Promise<void> {
  const dirs = [...new Set(files.map((f) => path.dirname(f)))];
  if (dirs.length === 0) return;
  if (haveSyncProgram) {
    // syncfs flushes one filesystem: once for each device the directories are on.
    const onDevice = new Map<number, string>();
    for (const dir of dirs) {
      const { dev } = await fs.promises.stat(dir);
      if (!onDevice.has(dev)) onDevice.set(dev, dir);
    }
    let flushed = 0;
    for (const dir of onDevice.values()) if (await syncFileSystem(dir)) flushed++;
    if (flushed === onDevice.size) return;
    haveSyncProgram = false;
  }
  for (const batch of [opts.entriesOnly ? [] : files, dirs]) {
    for (let i = 0; i < batch.length; i += FSYNC_PARALLELISM) {
      await Promise.all(batch.slice(i, i + FSYNC_PARALLELISM).map(fsyncPath));
    }
  }
}

/**
 * Starts flushing a filesystem in the background as bytes are written to it, so the device
 * writes while the threads go on and the final `flushToDisk` finds little left to do. A
 * failed early flush is reported by `settle`: syncfs reports a write-back error only to the
 * call that saw it, so it must not be dropped.
 */
export class EarlyFlusher {
  private unflushed = 0;
  private inFlight: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly dir: string,
    private readonly everyBytes = 128 * 1024 * 1024,
  ) {}

  wrote(bytes: number): void {
    this.unflushed += bytes;
    if (this.unflushed < this.everyBytes || this.inFlight || !haveSyncProgram) return;
    this.unflushed = 0;
    this.inFlight = syncFileSystem(this.dir)
      .then(
        () => {},
        (err: unknown) => {
          this.failure ??= err instanceof Error ? err : new Error(String(err));
        },
      )
      .finally(() => (this.inFlight = undefined));
  }

  /** Waits for a flush in progress; throws if any early flush failed. */
  async settle(): Promise<void> {
    await this.inFlight;
    if (this.failure) throw this.failure;
  }
}

/**
 * Flushes the filesystem `dir` is on (one syncfs). False when there is no `sync` program:
 * the caller then fsyncs what it wrote itself.
 */
export async function flushFileSystemOf(dir: string): Promise<boolean> {
  if (!haveSyncProgram) return false;
  if (await syncFileSystem(dir)) return true;
  haveSyncProgram = false;
  return false;
}

async function fsyncPath(p: string): Promise<void> {
  const fh = await fs.promises.open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
