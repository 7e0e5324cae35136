// Making a batch of written files durable. One syncfs(2) (coreutils `sync --file-system`)
// flushes them all with a single journal commit, where an fsync per file costs one commit
// each: on a tree of thousands of small files that was most of a protect's time. Where
// there is no `sync` program, every file is fsynced, a few at a time.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';

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
 * Durably flushes `paths` (files or directories, all on the filesystem that holds `dir`).
 * syncfs flushes everything dirty on that filesystem, which includes them.
 */
export async function flushToDisk(dir: string, paths: string[]): Promise<void> {
  if (paths.length === 0) return;
  if (haveSyncProgram && (await syncFileSystem(dir))) return;
  haveSyncProgram = false;
  for (let i = 0; i < paths.length; i += FSYNC_PARALLELISM) {
    await Promise.all(paths.slice(i, i + FSYNC_PARALLELISM).map(fsyncPath));
  }
}

async function fsyncPath(p: string): Promise<void> {
  const fh = await fs.promises.open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
