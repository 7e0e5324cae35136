// A repository in a local directory (the default; a shared mount serves a fleet). Files are
// written to a temporary name, flushed, renamed into place and their directory flushed, so
// a crash leaves a whole file or none, never a torn one under a real name.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Backend, StoredFile } from './backend';
import { checkName, NotInBackend } from './backend';

/** Temporary files start with this; GC removes old ones. */
export const LOCAL_TEMP_PREFIX = '.tmp-';

export class LocalBackend implements Backend {
  readonly location: string;

  constructor(readonly dir: string) {
    this.location = dir;
  }

  private pathOf(name: string): string {
    return path.join(this.dir, checkName(name));
  }

  async write(name: string, data: Buffer | Buffer[]): Promise<void> {
    const file = this.pathOf(name);
    const dir = path.dirname(file);
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(dir, `${LOCAL_TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    const fh = await fs.promises.open(tmp, 'wx', 0o600);
    try {
      if (Array.isArray(data)) await writeParts(fh, data);
      else await fh.writeFile(data);
      await fh.sync();
    } catch (err) {
      await fh.close();
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
    await fh.close();
    await fs.promises.rename(tmp, file);
    await syncDir(dir);
  }

  async read(name: string, range?: { offset: number; length: number }): Promise<Buffer> {
    const file = this.pathOf(name);
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotInBackend(name);
      throw err;
    }
    try {
      if (!range) return await fh.readFile();
      const buf = Buffer.allocUnsafe(range.length);
      let got = 0;
      while (got < range.length) {
        const { bytesRead } = await fh.read(buf, got, range.length - got, range.offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    } finally {
      await fh.close();
    }
  }

  async stat(name: string): Promise<StoredFile | undefined> {
    try {
      const st = await fs.promises.stat(this.pathOf(name));
      return { name, size: st.size, modifiedMs: st.mtimeMs };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<StoredFile> {
    // Walks only the directories the prefix can reach: `data/` has 256 fan-out folders.
    const walk = async function* (this: LocalBackend, rel: string): AsyncGenerator<StoredFile> {
      let entries: fs.Dirent[];
      try {
        entries = await fs.promises.readdir(path.join(this.dir, rel), { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        if (e.name.startsWith(LOCAL_TEMP_PREFIX)) continue;
        const name = rel ? `${rel}/${e.name}` : e.name;
        if (!name.startsWith(prefix) && !prefix.startsWith(`${name}/`)) continue;
        if (e.isDirectory()) {
          yield* walk.call(this, name);
        } else if (e.isFile()) {
          const st = await fs.promises.stat(path.join(this.dir, name)).catch(() => undefined);
          if (st) yield { name, size: st.size, modifiedMs: st.mtimeMs };
        }
      }
    };
    yield* walk.call(this, '');
  }

  async removeStale(cutoffMs: number): Promise<number> {
    let removed = 0;
    const dirs = [this.dir, path.join(this.dir, 'keys')];
    const data = path.join(this.dir, 'data');
    for (const d of await fs.promises.readdir(data).catch(() => [] as string[])) {
      dirs.push(path.join(data, d));
    }
    for (const dir of dirs) {
      for (const name of await fs.promises.readdir(dir).catch(() => [] as string[])) {
        if (!name.startsWith(LOCAL_TEMP_PREFIX)) continue;
        const file = path.join(dir, name);
        const st = await fs.promises.stat(file).catch(() => undefined);
        if (!st || st.mtimeMs > cutoffMs) continue;
        await fs.promises.rm(file, { force: true });
        removed++;
      }
    }
    return removed;
  }

  async remove(name: string): Promise<void> {
    await fs.promises.rm(this.pathOf(name), { force: true });
  }
}

/** Writes buffers in order with as few calls as the kernel allows (no copy into one). */
async function writeParts(fh: fs.promises.FileHandle, parts: Buffer[]): Promise<void> {
  const IOV_MAX = 1024;
  for (let i = 0; i < parts.length; i += IOV_MAX) {
    const batch = parts.slice(i, i + IOV_MAX);
    while (batch.length > 0) {
      const { bytesWritten } = await fh.writev(batch);
      let left = bytesWritten;
      while (batch.length > 0 && left >= batch[0]!.length) left -= batch.shift()!.length;
      if (batch.length > 0 && left > 0) batch[0] = batch[0]!.subarray(left);
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fs.promises.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
