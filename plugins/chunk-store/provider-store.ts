// What data plugins share: one chunk store per provider under the data directory, with
// reference tracking, and streaming in and out of it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Bank } from '../../bank/bank';
import type { ChunkRefs } from '../../bank/chunk-refs';
import type { ChunkerPool, HashedChunk } from './chunker-pool';
import { ChunkStore } from './chunk-store';
import { sha256Async } from './chunk-store';
import type { ChunkBatch } from './chunk-store';
import { Chunker } from './chunker';

export interface DataPluginDeps {
  /** The bank, for plugin state outside checkpoints (e.g. the last protect of a tree). */
  bank: Bank;
  /** KARBOR_DATA_DIR: chunk stores live under <dataDir>/<provider id>/chunks. */
  dataDir: string;
  chunkRefs: ChunkRefs;
  /** Threads that chunk and hash files; without it, that happens on the main thread. */
  chunkerPool?: ChunkerPool;
}

const WRITES_IN_FLIGHT = 8;

export interface StoredStream {
  chunks: string[];
  bytes: number;
  /** Bytes that were new to the store (the rest was already there). */
  newBytes: number;
}

/** One provider's chunk store, as one checkpoint resource (the owner) uses it. */
export class ProviderChunks {
  readonly store: ChunkStore;

  constructor(
    private readonly deps: DataPluginDeps,
    readonly providerId: string,
    private readonly owner: string,
  ) {
    this.store = new ChunkStore(path.join(deps.dataDir, providerId, 'chunks'));
    this.writes = this.store.batch();
  }

  private readonly writes: ChunkBatch;
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
        if (stored) out.newBytes += chunk.length;
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

  /** Stores a file's bytes, chunked and hashed on a pool thread when there is one. */
  async storeFile(file: string, onBytes: (n: number) => void = () => {}): Promise<StoredStream> {
    const pool = this.deps.chunkerPool;
    if (!pool) {
      return this.storeStream(fs.createReadStream(file, { highWaterMark: 1024 * 1024 }), onBytes);
    }
    return this.storeHashed(pool.chunks(file), onBytes);
  }

  /** Claims and writes chunks already cut and hashed, a few at a time, in order. */
  private async storeHashed(
    source: AsyncIterable<HashedChunk>,
    onBytes: (n: number) => void,
  ): Promise<StoredStream> {
    const out: StoredStream = { chunks: [], bytes: 0, newBytes: 0 };
    const inflight: Promise<void>[] = [];
    let failure: Error | undefined;
    for await (const { hash, data } of source) {
      out.chunks.push(hash);
      out.bytes += data.length;
      this.claimed.add(hash);
      inflight.push(
        (async () => {
          await this.deps.chunkRefs.claim(this.providerId, this.owner, [hash]);
          const { stored } = await this.writes.put(data, hash);
          if (stored) out.newBytes += data.length;
          onBytes(data.length);
        })().catch((err: unknown) => {
          failure ??= err instanceof Error ? err : new Error(String(err));
        }),
      );
      while (inflight.length >= WRITES_IN_FLIGHT) await inflight.shift();
      if (failure) throw failure;
    }
    await Promise.all(inflight);
    if (failure) throw failure;
    return out;
  }

  /**
   * Makes every chunk stored so far durable and visible. Call before recording anything
   * (a manifest) that refers to them.
   */
  async commit(): Promise<void> {
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
   * Reuses chunks already in the store (a file unchanged since the last protect): claims
   * them, then checks they are all there. False when any is missing.
   */
  async reuse(chunks: string[]): Promise<boolean> {
    for (const h of chunks) this.claimed.add(h);
    await this.deps.chunkRefs.claim(this.providerId, this.owner, chunks);
    return chunks.every((h) => fs.existsSync(this.store.pathOf(h)));
  }

  /** Drops the owner's references; removes chunks nobody else uses. Returns how many. */
  async release(chunks: string[]): Promise<number> {
    const free = await this.deps.chunkRefs.release(this.providerId, this.owner, chunks);
    try {
      for (const hash of free) await this.store.remove(hash);
    } finally {
      await this.deps.chunkRefs.unlock(this.providerId, free);
    }
    return free.length;
  }
}
