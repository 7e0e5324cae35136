// Runs on a worker thread: moves file bytes into and out of a repository, so each thread
// keeps a core busy reading, cutting, naming, compressing and sealing (or opening and
// writing) while the main thread only claims chunks and keeps the books. See
// thread-protocol.ts.
import * as fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { fsAt } from '../directory/fs-at';
import { ChunkError, readAsChunk } from './chunk-store';
import { PackRangeReader } from '../../repository/range-reader';
import { repositoryFromSpec } from '../../repository/spec';
import { Chunker } from './chunker';
import type {
  CheckJob,
  Damage,
  FromThread,
  Job,
  Reserved,
  SealedBlob,
  RestoreDest,
  RestoreJob,
  StoreJob,
  ToThread,
} from './thread-protocol';

const READ_SIZE = 4 * 1024 * 1024;
/** Chunks are reserved in groups of about this many bytes: one round trip per group. */
const GROUP_BYTES = 8 * 1024 * 1024;
const GROUP_CHUNKS = 64;
/** Progress is reported about this often. */
const PROGRESS_BYTES = 4 * 1024 * 1024;
/** Recently read chunks kept for files that share them (duplicates restore from memory). */
const CACHE_BYTES = 32 * 1024 * 1024;

const port = parentPort;

// The AWS SDK's notice that its releases of 2027 will want Node 22 would print nine lines
// from every thread that loads it; anything else still prints.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'NodeVersionSupportWarning')
    process.stderr.write(`karbor-worker: ${w.name}: ${w.message}\n`);
});
let awaitingReply: ((m: Reserved) => void) | undefined;

/** Sends a question to the main thread and waits for its answer. */
function ask<T extends Reserved>(m: FromThread): Promise<T> {
  const reply = new Promise<T>((resolve) => (awaitingReply = resolve as (m: Reserved) => void));
  post(m);
  return reply;
}

function post(m: FromThread): void {
  port!.postMessage(m);
}

async function store(job: StoreJob): Promise<void> {
  const repo = repositoryFromSpec(job.repo);
  let group: { file: number; data: Buffer }[] = [];
  let groupBytes = 0;
  let answered: Promise<void> = Promise.resolve();
  const flush = async () => {
    if (group.length === 0) return;
    const cut = group;
    group = [];
    groupBytes = 0;
    const chunks = cut.map((c) => ({
      file: c.file,
      hash: repo.blobId(c.data),
      size: c.data.length,
    }));
    // One group waits for its answer while this thread reads and cuts the next.
    await answered;
    answered = ask<Reserved>({ kind: 'cut', chunks }).then(({ write }) => {
      // The new chunks, compressed and sealed here; the main thread packs and writes them.
      const blobs: SealedBlob[] = [];
      for (let k = 0; k < cut.length; k++) {
        if (!write[k]) continue;
        const data = cut[k]!.data;
        blobs.push({
          id: chunks[k]!.hash,
          raw: data.length,
          sealed: repo.sealBlob(chunks[k]!.hash, data),
        });
      }
      // Moved, not copied, where a blob owns its whole memory (a pooled small one is copied).
      const moved = blobs
        .map((b) => b.sealed)
        .filter((u) => u.byteOffset === 0 && u.byteLength === u.buffer.byteLength)
        .map((u) => u.buffer as ArrayBuffer);
      if (blobs.length > 0)
        port!.postMessage({ kind: 'sealed', blobs } satisfies FromThread, moved);
    });
  };
  for (let file = 0; file < job.files.length; file++) {
    const fd = fs.openSync(bytesOf(job.files[file]!), 'r');
    try {
      const chunker = new Chunker();
      const size = fs.fstatSync(fd).size;
      const add = (data: Buffer) => {
        group.push({ file, data });
        groupBytes += data.length;
      };
      const extents = dataExtents(fd, size);
      if (extents) post({ kind: 'extents', file, extents });
      // A dense file is read to its end (it may have grown); a sparse one region by region.
      // Positioned reads: the hole search moved the file offset.
      const regions: [number, number][] = extents ?? [[0, Infinity]];
      for (const [start, len] of regions) {
        let position = start;
        for (let left = len; left > 0; ) {
          // Each read gets its own buffer: the chunker holds on to pieces of it.
          const want = Math.min(READ_SIZE, Math.max(size, 64 * 1024), left);
          const buf = Buffer.allocUnsafe(want);
          const n = fs.readSync(fd, buf, 0, want, position);
          if (n === 0) break;
          position += n;
          left -= n;
          for (const c of chunker.push(buf.subarray(0, n))) add(c);
          if (groupBytes >= GROUP_BYTES) await flush();
        }
      }
      for (const c of chunker.finish()) add(c);
    } finally {
      fs.closeSync(fd);
    }
    if (groupBytes >= GROUP_BYTES || group.length >= GROUP_CHUNKS) await flush();
  }
  await flush();
  await answered;
}

/** One blob's data, checked; a ChunkError when it cannot be had. */
function readChunk(reader: PackRangeReader, id: string): Promise<Buffer> {
  return readAsChunk(id, () => reader.blob(id));
}

/** A few recently read chunks, by id; what is here was checked when it was read. */
class ChunkCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly reader: PackRangeReader) {}

  async get(hash: string): Promise<Buffer> {
    const hit = this.entries.get(hash);
    if (hit) return hit;
    const data = await readChunk(this.reader, hash);
    this.entries.set(hash, data);
    this.bytes += data.length;
    for (const [old, b] of this.entries) {
      if (this.bytes <= CACHE_BYTES) break;
      this.entries.delete(old);
      this.bytes -= b.length;
    }
    return data;
  }
}

function progressReporter(): { add(n: number): void; flush(): void } {
  let unreported = 0;
  const flush = () => {
    if (unreported > 0) post({ kind: 'progress', bytes: unreported });
    unreported = 0;
  };
  return {
    add(n) {
      unreported += n;
      if (unreported >= PROGRESS_BYTES) flush();
    },
    flush,
  };
}

function bytesOf(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** A sparse file's data regions (SEEK_DATA / SEEK_HOLE); undefined when it has no hole. */
function dataExtents(fd: number, size: number): [number, number][] | undefined {
  if (size === 0) return undefined;
  const at = fsAt();
  const out: [number, number][] = [];
  for (let pos = 0; pos < size; ) {
    const data = at.lseek(fd, pos, at.SEEK_DATA);
    if (data < 0 || data >= size) break;
    let hole = at.lseek(fd, data, at.SEEK_HOLE);
    if (hole < 0 || hole > size) hole = size;
    out.push([data, hole - data]);
    pos = hole;
  }
  const dense = out.length === 1 && out[0]![0] === 0 && out[0]![1] === size;
  return dense ? undefined : out;
}

/**
 * Opens a restored file's temporary name for writing: new (never an existing file), and
 * with a directory reached one component at a time below the opened root, so no symlink
 * anywhere can send the bytes outside the target.
 */
class DestOpener {
  private readonly dirs = new Map<string, number>();

  open(dest: RestoreDest): number {
    const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL;
    if ('path' in dest) return fs.openSync(dest.path, flags, 0o600);
    const key = `${dest.rootFd}:${bytesOf(dest.dir).toString('latin1')}`;
    let dirfd = this.dirs.get(key);
    if (dirfd === undefined) {
      dirfd = fsAt().openBeneath(dest.rootFd, bytesOf(dest.dir));
      this.dirs.set(key, dirfd);
    }
    return fsAt().openat(dirfd, dest.name, flags | fs.constants.O_NOFOLLOW, 0o600);
  }

  close(): void {
    for (const fd of this.dirs.values()) fsAt().close(fd);
    this.dirs.clear();
  }
}

/** The file's bytes from its chunks: in order, or into its data regions leaving holes. */
async function writeFile(
  fd: number,
  file: RestoreJob['files'][number],
  cache: ChunkCache,
  progress: ReturnType<typeof progressReporter>,
): Promise<void> {
  const regions = file.extents ?? [[0, file.size]];
  let region = 0;
  let at = regions[0]?.[0] ?? 0;
  let left = regions[0]?.[1] ?? 0;
  let written = 0;
  for (const hash of file.chunks) {
    const data = await cache.get(hash);
    for (let off = 0; off < data.length; ) {
      while (left === 0 && region + 1 < regions.length) {
        region++;
        [at, left] = regions[region]!;
      }
      const n = Math.min(left, data.length - off);
      if (n === 0) throw new Error(`restored file is longer than its recorded size ${file.size}`);
      for (let done = 0; done < n; )
        done += fs.writeSync(fd, data, off + done, n - done, at + done);
      off += n;
      at += n;
      left -= n;
    }
    written += data.length;
    progress.add(data.length);
  }
  const expected = regions.reduce((sum, [, len]) => sum + len, 0);
  if (written !== expected) {
    throw new Error(`restored file has ${written} bytes of data, its record says ${expected}`);
  }
  // Trailing holes (and all-hole files) get their length here.
  if (file.extents) fs.ftruncateSync(fd, file.size);
}

async function restore(job: RestoreJob): Promise<void> {
  const cache = new ChunkCache(new PackRangeReader(repositoryFromSpec(job.repo), job.locations));
  const progress = progressReporter();
  const opener = new DestOpener();
  try {
    for (let index = 0; index < job.files.length; index++) {
      const file = job.files[index]!;
      const fd = opener.open(file.dest);
      const native = !('path' in file.dest);
      try {
        await writeFile(fd, file, cache, progress);
      } catch (err) {
        if (err instanceof ChunkError)
          throw new DamageFound({ hash: err.hash, why: err.why, index, detail: err.detail });
        throw err;
      } finally {
        if (native) fsAt().close(fd);
        else fs.closeSync(fd);
      }
    }
  } finally {
    opener.close();
  }
  progress.flush();
}

async function check(job: CheckJob): Promise<void> {
  const reader = new PackRangeReader(repositoryFromSpec(job.repo), job.locations);
  const progress = progressReporter();
  for (let index = 0; index < job.chunks.length; index++) {
    const hash = job.chunks[index]!;
    try {
      progress.add((await readChunk(reader, hash)).length);
    } catch (err) {
      if (!(err instanceof ChunkError)) throw err;
      post({ kind: 'damaged', damage: { hash, why: err.why, index, detail: err.detail } });
    }
  }
  progress.flush();
}

class DamageFound extends Error {
  constructor(readonly damage: Damage) {
    super(`chunk ${damage.hash} is ${damage.why}`);
  }
}

async function run(job: Job): Promise<void> {
  if (job.kind === 'store') await store(job);
  else if (job.kind === 'restore') await restore(job);
  else await check(job);
}

if (port) {
  port.on('message', (m: ToThread) => {
    if (m.kind === 'reserved') {
      const resolve = awaitingReply;
      awaitingReply = undefined;
      resolve?.(m);
      return;
    }
    // A new job: no answer of an earlier one may reach it.
    awaitingReply = undefined;
    run(m).then(
      () => post({ kind: 'done' }),
      (err: unknown) =>
        post({
          kind: 'failed',
          message: err instanceof Error ? err.message : String(err),
          ...(err instanceof DamageFound ? { damage: err.damage } : {}),
        }),
    );
  });
}
