// What data plugins share: one chunk store per provider under the data directory, with
// reference tracking; files move in and out on the chunk threads, streams (dumps) here.
import * as path from 'node:path';
import type { Bank } from '../../bank/bank';
import type { ChunkRefs } from '../../bank/chunk-refs';
import { ObjectNotFoundError } from '../../common/errors';
import { ChunkError, ChunkStore, sha256, sha256Async } from './chunk-store';
import type { ChunkBatch } from './chunk-store';
import { Chunker } from './chunker';
import { EarlyFlusher } from './flush';
import type { ChunkThreads } from './chunk-threads';
import { DamagedChunkError } from './chunk-threads';
import type { HookContext } from '../types';
import type { Damage, Job, RestoreFile } from './thread-protocol';

export interface DataPluginDeps {
  /** The bank, for plugin state outside checkpoints (e.g. the last protect of a tree). */
  bank: Bank;
  /** KARBOR_DATA_DIR: chunk stores live under <dataDir>/<provider id>/chunks. */
  dataDir: string;
  chunkRefs: ChunkRefs;
  /** Threads that move file bytes into and out of the stores. */
  chunkThreads: ChunkThreads;
}

const WRITES_IN_FLIGHT = 8;
/** Files handed to a thread together, up to about this many bytes (one job each). */
const JOB_BYTES = 16 * 1024 * 1024;
const JOB_FILES = 256;
/** Chunks a verify job reads. */
const CHECK_JOB_CHUNKS = 64;

/** A file a restore could not write: its chunk is missing or corrupt. */
export class DamagedFileError extends ChunkError {
  constructor(
    /** Index into the files given to `restoreFiles`. */
    readonly file: number,
    hash: string,
    why: 'missing' | 'corrupt',
  ) {
    super(hash, why);
  }
}

/** The bytes a sparse file's data regions hold (what its chunks store). */
export function extentBytes(extents: [number, number][]): number {
  return extents.reduce((n, [, len]) => n + len, 0);
}

/** Consecutive items in groups of at most `maxItems` and `maxBytes` (unless one is bigger). */
function groups<T>(items: T[], bytes: (t: T) => number, maxBytes: number, maxItems: number) {
  const out: { start: number; items: T[] }[] = [];
  let current: { start: number; items: T[] } | undefined;
  let size = 0;
  items.forEach((item, i) => {
    const b = bytes(item);
    if (!current || size + b > maxBytes || current.items.length >= maxItems) {
      current = { start: i, items: [] };
      out.push(current);
      size = 0;
    }
    current.items.push(item);
    size += b;
  });
  return out;
}

export interface StoredStream {
  chunks: string[];
  bytes: number;
  /** A sparse file's data regions (the chunks hold only these bytes). */
  extents?: [number, number][];
  /** Bytes that were new to the store (the rest was already there). */
  newBytes: number;
}

/**
 * The chunks of the checkpoint resource a hook works on. One owner per checkpoint
 * resource: deleting the checkpoint releases exactly its uses.
 */
export function resourceChunks(deps: DataPluginDeps, ctx: HookContext): ProviderChunks {
  const owner = `${ctx.checkpointId}/${ctx.resource.type}/${ctx.resource.id}`;
  return new ProviderChunks(deps, ctx.providerId, owner, ctx.attempt);
}

/**
 * A delete hook's manifest: absent only when protect never got as far as writing one (then
 * there is nothing to release). Any other error (Redis unreachable, a damaged document)
 * fails the hook, so a delete never "succeeds" while its chunks stay claimed forever.
 */
export async function manifestToRelease<T>(ctx: HookContext, name: string): Promise<T | undefined> {
  try {
    return await ctx.section.getObject<T>(name);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
}

/** One provider's chunk store, as one checkpoint resource (the owner) uses it. */
export class ProviderChunks {
  readonly store: ChunkStore;

  constructor(
    private readonly deps: DataPluginDeps,
    readonly providerId: string,
    private readonly owner: string,
    /** The hook's attempt: a retry first removes what a dead attempt left unfinished. */
    attempt = 1,
  ) {
    this.store = new ChunkStore(path.join(deps.dataDir, providerId, 'chunks'));
    this.tag = sha256(Buffer.from(owner)).slice(0, 12);
    this.writes = this.store.batch(this.tag);
    this.flusher = new EarlyFlusher(this.store.dir);
    this.leftoversCleared = attempt <= 1;
  }

  /** Names this owner's temporary files. */
  private readonly tag: string;
  private readonly writes: ChunkBatch;
  private readonly flusher: EarlyFlusher;
  private leftoversCleared: boolean;

  /** Before a retry's first write: the temporary files of the attempt that died. */
  private async clearLeftovers(): Promise<void> {
    if (this.leftoversCleared) return;
    this.leftoversCleared = true;
    await this.store.removeLeftovers(this.tag);
  }
  /** What this attempt claimed, so a failed attempt can give it back. */
  private readonly claimed = new Set<string>();

  /**
   * Chunks a byte stream into the store; the owner's claim comes before each write. The new
   * chunks become durable and visible at `commit`.
   */
  async storeStream(
    source: AsyncIterable<Buffer | string> | Iterable<Buffer>,
    onBytes: (n: number) => void = () => {},
  ): Promise<StoredStream> {
    await this.clearLeftovers();
    const chunker = new Chunker();
    const out: StoredStream = { chunks: [], bytes: 0, newBytes: 0 };
    // Claims and writes run behind the chunker, a few at a time, so reading, hashing and
    // writing overlap; chunk order in the result is the stream's order.
    const inflight: Promise<void>[] = [];
    let failure: Error | undefined;
    const save = async (chunk: Buffer) => {
      const index = out.chunks.length;
      out.chunks.push('');
      out.bytes += chunk.length;
      const job = (async () => {
        // WebCrypto hashes on libuv's thread pool: the second core hashes while this one
        // keeps chunking.
        const hash = await sha256Async(chunk);
        out.chunks[index] = hash;
        this.claimed.add(hash);
        await this.deps.chunkRefs.claim(this.providerId, this.owner, [hash]);
        const { stored } = await this.writes.put(chunk, hash);
        if (stored) {
          out.newBytes += chunk.length;
          this.flusher.wrote(chunk.length);
        }
        onBytes(chunk.length);
      })().catch((err: unknown) => {
        failure ??= err instanceof Error ? err : new Error(String(err));
      });
      inflight.push(job);
      while (inflight.length >= WRITES_IN_FLIGHT) await inflight.shift();
      if (failure) throw failure;
    };
    for await (const piece of source) {
      for (const c of chunker.push(typeof piece === 'string' ? Buffer.from(piece) : piece))
        await save(c);
    }
    for (const c of chunker.finish()) await save(c);
    await Promise.all(inflight);
    if (failure) throw failure;
    return out;
  }

  /**
   * Stores whole files on the chunk threads: they read, cut, hash and write; this thread
   * claims each chunk before telling a thread to write it. Results are in `files`' order.
   */
  async storeFiles(
    files: { path: string | Buffer; size: number }[],
    onBytes: (n: number) => void = () => {},
    signal?: AbortSignal,
  ): Promise<StoredStream[]> {
    await this.clearLeftovers();
    const out: StoredStream[] = files.map(() => ({ chunks: [], bytes: 0, newBytes: 0 }));
    const jobs = groups(files, (f) => f.size, JOB_BYTES, JOB_FILES);
    await this.deps.chunkThreads.runAll(
      jobs.map(
        ({ items }): Job => ({
          kind: 'store',
          storeDir: this.store.dir,
          files: items.map((f) => (typeof f.path === 'string' ? Buffer.from(f.path) : f.path)),
        }),
      ),
      (j) => ({
        extents: (file, extents) => {
          const index = jobs[j]!.start + file;
          out[index]!.extents = extents;
          // Holes are never read: counted done at once, so progress still reaches the size.
          onBytes(files[index]!.size - extentBytes(extents));
        },
        cut: async (chunks) => {
          const hashes = [...new Set(chunks.map((c) => c.hash))];
          for (const h of hashes) this.claimed.add(h);
          await this.deps.chunkRefs.claim(this.providerId, this.owner, hashes);
          // A thread sends one file's chunks in order, and waits for each answer.
          return chunks.map(({ file, hash, size }) => {
            const stored = out[jobs[j]!.start + file]!;
            stored.chunks.push(hash);
            stored.bytes += size;
            const tmp = this.writes.reserve(hash);
            if (tmp !== undefined) {
              stored.newBytes += size;
              this.flusher.wrote(size);
            }
            onBytes(size);
            return tmp ?? null;
          });
        },
      }),
      signal,
    );
    return out;
  }

  /**
   * Writes files from their chunks on the chunk threads, each to its `dest`, checking
   * every chunk's hash. A damaged chunk throws DamagedFileError naming the file.
   */
  async restoreFiles(
    files: RestoreFile[],
    onBytes: (n: number) => void = () => {},
    signal?: AbortSignal,
  ): Promise<void> {
    const jobs = groups(files, (f) => f.size, JOB_BYTES, JOB_FILES);
    try {
      await this.deps.chunkThreads.runAll(
        jobs.map(
          ({ items }): Job => ({
            kind: 'restore',
            storeDir: this.store.dir,
            files: items,
          }),
        ),
        () => ({ progress: onBytes }),
        signal,
      );
    } catch (err) {
      if (!(err instanceof DamagedChunkError)) throw err;
      const { index, hash, why } = err.damage;
      throw new DamagedFileError(jobs[err.job]!.start + index, hash, why);
    }
  }

  /** Reads every chunk on the chunk threads; the missing or corrupt ones, by index. */
  async checkChunks(
    chunks: string[],
    onBytes: (n: number) => void = () => {},
    signal?: AbortSignal,
  ): Promise<Damage[]> {
    const found: Damage[] = [];
    const jobs = groups(chunks, () => 1, CHECK_JOB_CHUNKS, CHECK_JOB_CHUNKS);
    await this.deps.chunkThreads.runAll(
      jobs.map(({ items }): Job => ({ kind: 'check', storeDir: this.store.dir, chunks: items })),
      (j) => ({
        progress: onBytes,
        damaged: (d) => found.push({ ...d, index: jobs[j]!.start + d.index }),
      }),
      signal,
    );
    return found.sort((a, b) => a.index - b.index);
  }

  /**
   * Makes every chunk stored so far durable and visible. Call before recording anything
   * (a manifest) that refers to them.
   */
  async commit(): Promise<void> {
    await this.flusher.settle();
    await this.writes.commit();
  }

  /** After a failure: drops uncommitted writes and the claims this attempt made. */
  async abandon(): Promise<void> {
    await this.writes.abandon();
    await this.release([...this.claimed]);
    this.claimed.clear();
  }

  /** The stored bytes back, chunk by chunk, each checked against its hash. */
  async *readStream(chunks: string[]): AsyncGenerator<Buffer> {
    // The next chunk is read and checked while the caller writes this one.
    const fetch = (i: number) => {
      const p = this.store.get(chunks[i]!);
      p.catch(() => {}); // surfaced when awaited below
      return p;
    };
    let next = chunks.length > 0 ? fetch(0) : undefined;
    for (let i = 0; i < chunks.length; i++) {
      const current = next!;
      next = i + 1 < chunks.length ? fetch(i + 1) : undefined;
      yield await current;
    }
  }

  /**
   * Reuses chunks already in the store (files unchanged since the last protect): claims
   * them all, gives back the claims on any that are gone, and tells which are there.
   */
  async reuse(chunks: string[]): Promise<(hash: string) => boolean> {
    const unique = [...new Set(chunks)];
    for (const h of unique) this.claimed.add(h);
    await this.deps.chunkRefs.claim(this.providerId, this.owner, unique);
    const missing = new Set(unique.filter((h) => !this.store.has(h)));
    if (missing.size > 0) await this.release([...missing]);
    return (hash) => !missing.has(hash);
  }

  /**
   * Drops the owner's references; returns how many chunks nobody uses any more. Their files
   * stay until garbage collection, after the grace period: a bank that rolls back the
   * release must still find them.
   */
  async release(chunks: string[]): Promise<number> {
    return this.deps.chunkRefs.release(this.providerId, this.owner, chunks);
  }

  /**
   * Delete: gives back every claim the owner holds — the manifest's chunks and any a dead
   * or failed attempt claimed but never recorded — so nothing stays claimed forever.
   */
  async releaseAll(manifestChunks: string[] = []): Promise<number> {
    const owned = await this.deps.chunkRefs.ownedBy(this.providerId, this.owner);
    return this.release([...owned, ...manifestChunks]);
  }
}
