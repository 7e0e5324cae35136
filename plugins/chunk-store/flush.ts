// Making a restore's many written files durable at once. One syncfs(2) (coreutils `sync
// --file-system`) flushes them all with a single journal commit, where an fsync per file
// costs one commit each: on a tree of thousands of small files that was most of the time.
// Where there is no `sync` program, the caller fsyncs what it wrote itself.
import { execFile } from 'node:child_process';

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
 * Flushes the filesystem `dir` is on (one syncfs). False when there is no `sync` program:
 * the caller then fsyncs what it wrote itself.
 */
export async function flushFileSystemOf(dir: string): Promise<boolean> {
  if (!haveSyncProgram) return false;
  if (await syncFileSystem(dir)) return true;
  haveSyncProgram = false;
  return false;
}
