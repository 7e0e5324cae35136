// Runs on a worker thread: moves file bytes into and out of a chunk store with synchronous
// system calls, so each thread keeps a core busy reading, cutting, hashing and writing while
// the main thread only claims chunks and keeps the books. See thread-protocol.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parentPort } from 'node:worker_threads';
import { ChunkError, readChunkSync, sha256 } from './chunk-store';
import { Chunker } from './chunker';
import type {
  CheckJob,
  FromThread,
  Job,
  Reserved,
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
let awaitingReply: ((m: Reserved) => void) | undefined;

function post(m: FromThread): void {
  port!.postMessage(m);
}

function writeAll(fd: number, data: Buffer): void {
  for (let at = 0; at < data.length; ) at += fs.writeSync(fd, data, at, data.length - at);
}

/** Fan-out directories this thread has made sure exist. */
const madeDirs = new Set<string>();

function writeNew(file: string, data: Buffer): void {
  const dir = path.dirname(file);
  if (!madeDirs.has(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    madeDirs.add(dir);
  }
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    writeAll(fd, data);
  } finally {
    fs.closeSync(fd);
  }
}

async function store(job: StoreJob): Promise<void> {
  let group: { file: number; data: Buffer }[] = [];
  let groupBytes = 0;
  const flush = async () => {
    if (group.length === 0) return;
    const chunks = group.map((c) => ({ file: c.file, hash: sha256(c.data), size: c.data.length }));
    const reply = new Promise<Reserved>((resolve) => (awaitingReply = resolve));
    post({ kind: 'cut', chunks });
    const { tmps } = await reply;
    group.forEach((c, k) => {
      const tmp = tmps[k];
      if (tmp) writeNew(tmp, c.data);
    });
    group = [];
    groupBytes = 0;
  };
  for (let file = 0; file < job.files.length; file++) {
    const fd = fs.openSync(job.files[file]!, 'r');
    try {
      const chunker = new Chunker();
      const size = fs.fstatSync(fd).size;
      const add = (data: Buffer) => {
        group.push({ file, data });
        groupBytes += data.length;
      };
      for (;;) {
        // Each read gets its own buffer: the chunker holds on to pieces of it.
        const buf = Buffer.allocUnsafe(Math.min(READ_SIZE, Math.max(size, 64 * 1024)));
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        for (const c of chunker.push(buf.subarray(0, n))) add(c);
        if (groupBytes >= GROUP_BYTES) await flush();
      }
      for (const c of chunker.finish()) add(c);
    } finally {
      fs.closeSync(fd);
    }
    if (groupBytes >= GROUP_BYTES || group.length >= GROUP_CHUNKS) await flush();
  }
  await flush();
}

/** A few recently read chunks, by hash; what is here was checked when it was read. */
class ChunkCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly storeDir: string) {}

  get(hash: string): Buffer {
    const hit = this.entries.get(hash);
    if (hit) return hit;
    const data = readChunkSync(this.storeDir, hash);
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

function restore(job: RestoreJob): void {
  const cache = new ChunkCache(job.storeDir);
  const progress = progressReporter();
  job.files.forEach(({ tmp, chunks }, index) => {
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      for (const hash of chunks) {
        const data = cache.get(hash);
        writeAll(fd, data);
        progress.add(data.length);
      }
    } catch (err) {
      if (err instanceof ChunkError) throw new DamageFound({ hash: err.hash, why: err.why, index });
      throw err;
    } finally {
      fs.closeSync(fd);
    }
  });
  progress.flush();
}

function check(job: CheckJob): void {
  const progress = progressReporter();
  job.chunks.forEach((hash, index) => {
    try {
      progress.add(readChunkSync(job.storeDir, hash).length);
    } catch (err) {
      if (!(err instanceof ChunkError)) throw err;
      post({ kind: 'damaged', damage: { hash, why: err.why, index } });
    }
  });
  progress.flush();
}

class DamageFound extends Error {
  constructor(readonly damage: { hash: string; why: 'missing' | 'corrupt'; index: number }) {
    super(`chunk ${damage.hash} is ${damage.why}`);
  }
}

async function run(job: Job): Promise<void> {
  if (job.kind === 'store') await store(job);
  else if (job.kind === 'restore') restore(job);
  else check(job);
}

if (port) {
  port.on('message', (m: ToThread) => {
    if (m.kind === 'reserved') {
      const resolve = awaitingReply;
      awaitingReply = undefined;
      resolve?.(m);
      return;
    }
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
