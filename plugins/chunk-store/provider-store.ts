// What data plugins share: one repository per provider (repository/), with reference
// tracking in the bank; files move in and out on the chunk threads, streams (dumps) here.
import type { Bank } from '../../bank/bank';
import type { ChunkRefs } from '../../bank/chunk-refs';
import { KarborError } from '../../common/errors';
import type { BlobType, PackBuilder } from '../../repository/pack';
import type { BlobLocation } from '../../repository/repository';
import { ChunkError, readAsChunk } from './chunk-store';
import { Chunker } from './chunker';
import type { ChunkThreads } from './chunk-threads';
import { DamagedChunkError } from './chunk-threads';
import type { OpenedRepository, Repositories } from './repositories';
import type { HookContext } from '../types';
import type { Damage, Job, Locations, RestoreFile } from './thread-protocol';

export interface DataPluginDeps {
  /** The bank, for plugin state outside checkpoints (e.g. the last protect of a tree). */
  bank: Bank;
  /** KARBOR_DATA_DIR: local repositories default to <dataDir>/<provider id>/repository. */
  dataDir: string;
  chunkRefs: ChunkRefs;
  /** Threads that move file bytes into and out of the repositories. */
  chunkThreads: ChunkThreads;
  /** Each provider's repository, opened once. */
  repositories: Repositories;
}

/** Files handed to a thread together, up to about this many bytes (one job each). */
const JOB_BYTES = 16 * 1024 * 1024;
const JOB_FILES = 256;
/** Chunks a verify job reads. */
const CHECK_JOB_CHUNKS = 64;
/** Packs written at once by one writer (16 MiB each, by default). */
const PACKS_IN_FLIGHT = 3;
/** Chunks a stream looks up in the index at once. */
const LOOKUP_BATCH = 64;

/** A file a restore could not write: its chunk is missing or corrupt. */
export class DamagedFileError extends ChunkError {
  constructor(
    /** Index into the files given to `restoreFiles`. */
    readonly file: number,
    hash: string,
    why: 'missing' | 'corrupt',
    detail?: string,
  ) {
    super(hash, why, detail);
  }
}

/**
 * What the bank keeps of a document sealed in the repository (a directory's manifest, a
 * dump's description): only its id. The document itself is encrypted and authenticated, and
 * names the checkpoint resource it belongs to, so a bank writer can neither edit it nor
 * hand a restore another resource's.
 */
export interface SealedRef {
  sealed: 1;
  repository: string;
  document: string;
}

/** A document the bank offers that is not a sealed one of this checkpoint resource. */
export class DocumentRefusedError extends KarborError {
  readonly code = 'DOCUMENT_REFUSED';
  readonly permanent = true;
}

function isSealedRef(v: unknown): v is SealedRef {
  const r = v as SealedRef;
  return (
    typeof r === 'object' &&
    r !== null &&
    r.sealed === 1 &&
    typeof r.repository === 'string' &&
    typeof r.document === 'string' &&
    /^[0-9a-f]{64}$/.test(r.document)
  );
}

/** How verify and restore name a damaged file: one line, the same in both. */
export function damagedFileMessage(
  shownName: string,
  d: { hash: string; why: 'missing' | 'corrupt'; detail?: string | undefined },
): string {
  return `file ${shownName}: chunk ${d.hash} is ${d.why}${d.detail ? ` (${d.detail})` : ''}`;
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
  /** Bytes that were new to the repository (the rest was already there). */
  newBytes: number;
}

/** The name a checkpoint resource claims its chunks under (and seals its documents to). */
export function ownerOf(checkpointId: string, resource: { type: string; id: string }): string {
  return `${checkpointId}/${resource.type}/${resource.id}`;
}

/**
 * The chunks of the checkpoint resource a hook works on, in its provider's repository. One
 * owner per checkpoint resource: deleting the checkpoint releases exactly its uses.
 */
export async function resourceChunks(
  deps: DataPluginDeps,
  ctx: HookContext,
): Promise<ProviderChunks> {
  const owner = ownerOf(ctx.checkpointId, ctx.resource);
  const repo = await deps.repositories.forProvider(ctx.providerId, ctx.repositoryConfig);
  return new ProviderChunks(deps, ctx.providerId, owner, repo);
}

/** One provider's repository, as one checkpoint resource (the owner) uses it. */
export class ProviderChunks {
  /** What this attempt claimed, so a failed attempt can give it back. */
  private readonly claimed = new Set<string>();
  /** Chunks this attempt is writing and has not indexed yet: written once, not twice. */
  private readonly writing = new Set<string>();
  /** The pack streams (dumps) fill on this thread. */
  private pack: PackBuilder;

  constructor(
    private readonly deps: DataPluginDeps,
    readonly providerId: string,
    private readonly owner: string,
    readonly repository: OpenedRepository,
  ) {
    this.pack = repository.repo.newPack();
  }

  private get repo() {
    return this.repository.repo;
  }

  /** Claims the chunks, then says which the repository does not have yet (to be written). */
  private async claimAndFindNew(ids: string[]): Promise<boolean[]> {
    const unique = [...new Set(ids)];
    for (const id of unique) this.claimed.add(id);
    await this.deps.chunkRefs.claim(this.providerId, this.owner, unique);
    const found = await this.repository.index.lookup(ids);
    return ids.map((id, k) => {
      if (found[k] || this.writing.has(id)) return false;
      this.writing.add(id);
      return true;
    });
  }

  /** Packs being written now (a few at a time, while the next one fills). */
  private inflight: Promise<void>[] = [];

  /** Adds a sealed blob to the current pack; a full pack starts being written. */
  private async addBlob(id: string, type: BlobType, sealed: Buffer, raw: number): Promise<void> {
    this.pack.add(id, type, sealed, raw);
    if (this.pack.bytes >= this.repo.packSize) await this.rotatePack();
  }

  /**
   * Starts writing the current pack (marked pending, written, indexed) and begins a new one.
   * With PACKS_IN_FLIGHT packs being written already, waits for the oldest first: the
   * memory held is bounded, and the disk's flushes overlap the threads' work.
   */
  private async rotatePack(): Promise<void> {
    if (this.pack.count === 0) return;
    const full = this.pack;
    this.pack = this.repo.newPack();
    while (this.inflight.length >= PACKS_IN_FLIGHT) await this.inflight.shift();
    const writing = this.repo.writePack(full, this.repository.index).then(({ entries }) => {
      for (const e of entries) this.writing.delete(e.id);
    });
    // Surfaced when awaited: at a later rotation or at commit.
    writing.catch(() => {});
    this.inflight.push(writing);
  }

  /**
   * Chunks a byte stream into the repository; the owner's claim comes before each write.
   * The last pack is written at `commit`.
   */
  async storeStream(
    source: AsyncIterable<Buffer | string> | Iterable<Buffer>,
    onBytes: (n: number) => void = () => {},
  ): Promise<StoredStream> {
    const chunker = new Chunker();
    const out: StoredStream = { chunks: [], bytes: 0, newBytes: 0 };
    const save = async (chunk: Buffer) => {
      const id = this.repo.blobId(chunk);
      out.chunks.push(id);
      out.bytes += chunk.length;
      const [isNew] = await this.claimAndFindNew([id]);
      if (isNew) {
        out.newBytes += chunk.length;
        await this.addBlob(id, 'data', this.repo.sealBlob(id, chunk), chunk.length);
      }
      onBytes(chunk.length);
    };
    for await (const piece of source) {
      for (const c of chunker.push(typeof piece === 'string' ? Buffer.from(piece) : piece))
        await save(c);
    }
    for (const c of chunker.finish()) await save(c);
    return out;
  }

  /**
   * Stores whole files on the chunk threads: they read, cut, name, compress and seal; this
   * thread claims each chunk, packs the sealed blobs of all threads together and writes
   * full packs, one while the next fills. Results are in `files`' order.
   */
  async storeFiles(
    files: { path: string | Buffer; size: number }[],
    onBytes: (n: number) => void = () => {},
    signal?: AbortSignal,
  ): Promise<StoredStream[]> {
    const out: StoredStream[] = files.map(() => ({ chunks: [], bytes: 0, newBytes: 0 }));
    const jobs = groups(files, (f) => f.size, JOB_BYTES, JOB_FILES);
    await this.deps.chunkThreads.runAll(
      jobs.map(
        ({ items }): Job => ({
          kind: 'store',
          repo: this.repository.spec,
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
          const write = await this.claimAndFindNew(chunks.map((c) => c.hash));
          // A thread sends one file's chunks in order, and waits for each answer.
          chunks.forEach(({ file, hash, size }, k) => {
            const stored = out[jobs[j]!.start + file]!;
            stored.chunks.push(hash);
            stored.bytes += size;
            if (write[k]) stored.newBytes += size;
            onBytes(size);
          });
          return write;
        },
        sealed: async (blobs) => {
          for (const b of blobs) {
            const sealed = Buffer.from(b.sealed.buffer, b.sealed.byteOffset, b.sealed.byteLength);
            await this.addBlob(b.id, 'data', sealed, b.raw);
          }
        },
      }),
      signal,
    );
    return out;
  }

  /** Where the blobs are; a blob the index lacks is absent from the result. */
  private async locate(ids: string[]): Promise<Locations> {
    const unique = [...new Set(ids)];
    const found = await this.repository.index.lookup(unique);
    const out: Locations = {};
    unique.forEach((id, k) => {
      const at = found[k];
      if (at) out[id] = at;
    });
    return out;
  }

  /**
   * Writes files from their chunks on the chunk threads, each to its `dest`, checking
   * every blob. A missing or damaged one throws DamagedFileError naming the file.
   */
  async restoreFiles(
    files: RestoreFile[],
    onBytes: (n: number) => void = () => {},
    signal?: AbortSignal,
  ): Promise<void> {
    const jobs = groups(files, (f) => f.size, JOB_BYTES, JOB_FILES);
    try {
      const made: Job[] = [];
      for (const { items } of jobs) {
        made.push({
          kind: 'restore',
          repo: this.repository.spec,
          files: items,
          locations: await this.locate(items.flatMap((f) => f.chunks)),
        });
      }
      await this.deps.chunkThreads.runAll(made, () => ({ progress: onBytes }), signal);
    } catch (err) {
      if (!(err instanceof DamagedChunkError)) throw err;
      const { index, hash, why, detail } = err.damage;
      throw new DamagedFileError(jobs[err.job]!.start + index, hash, why, detail);
    }
  }

  /** Reads every chunk on the chunk threads; the missing or damaged ones, by index. */
  async checkChunks(
    chunks: string[],
    onBytes: (n: number) => void = () => {},
    signal?: AbortSignal,
  ): Promise<Damage[]> {
    const found: Damage[] = [];
    const jobs = groups(chunks, () => 1, CHECK_JOB_CHUNKS, CHECK_JOB_CHUNKS);
    const made: Job[] = [];
    for (const { items } of jobs) {
      made.push({
        kind: 'check',
        repo: this.repository.spec,
        chunks: items,
        locations: await this.locate(items),
      });
    }
    await this.deps.chunkThreads.runAll(
      made,
      (j) => ({
        progress: onBytes,
        damaged: (d) => found.push({ ...d, index: jobs[j]!.start + d.index }),
      }),
      signal,
    );
    return found.sort((a, b) => a.index - b.index);
  }

  /**
   * Makes every chunk stored so far durable and indexed. Call before recording anything
   * (a manifest) that refers to them.
   */
  async commit(): Promise<void> {
    await this.rotatePack();
    while (this.inflight.length > 0) await this.inflight.shift();
  }

  /**
   * Seals a document in the repository, bound to this owner (the checkpoint resource) and
   * `kind`; returns what the bank may keep. Written with the next `commit`.
   */
  async sealDocument(kind: string, doc: unknown): Promise<SealedRef> {
    const data = Buffer.from(JSON.stringify({ owner: this.owner, kind, doc }));
    const id = this.repo.blobId(data, 'tree');
    const [isNew] = await this.claimAndFindNew([id]);
    if (isNew) await this.addBlob(id, 'tree', this.repo.sealBlob(id, data, 'tree'), data.length);
    return { sealed: 1, repository: this.repository.repo.id, document: id };
  }

  /**
   * The document a bank value refers to, if it is a sealed one of `kind` that belongs to
   * `owner` (default: this one). Anything else is refused: a document kept in the bank
   * itself, one of another resource or checkpoint, one the repository cannot vouch for.
   */
  async openDocument<T>(kind: string, ref: unknown, owner = this.owner): Promise<T> {
    if (!isSealedRef(ref)) {
      throw new DocumentRefusedError(
        `refusing the ${kind} in the bank: it is not a reference to a sealed document (a checkpoint made before repository v2, or a planted value)`,
      );
    }
    if (ref.repository !== this.repository.repo.id) {
      throw new DocumentRefusedError(`refusing the ${kind}: it lives in another repository`);
    }
    const [at] = await this.repository.index.lookup([ref.document]);
    if (at && at.type !== 'tree') {
      throw new DocumentRefusedError(
        `refusing the ${kind}: ${ref.document} is file data, not a document`,
      );
    }
    const data = await this.read(ref.document, at);
    let parsed: { owner?: string; kind?: string; doc?: T };
    try {
      parsed = JSON.parse(data.toString('utf8')) as typeof parsed;
    } catch {
      throw new DocumentRefusedError(`refusing the ${kind}: ${ref.document} is not a document`);
    }
    if (parsed.owner !== owner || parsed.kind !== kind || parsed.doc === undefined) {
      throw new DocumentRefusedError(
        `refusing the ${kind}: the sealed document belongs to ${JSON.stringify(parsed.owner)}, not ${owner}`,
      );
    }
    return parsed.doc;
  }

  /** After a failure: gives back the claims this attempt made (written packs stay for prune). */
  async abandon(): Promise<void> {
    this.pack = this.repo.newPack();
    await Promise.allSettled(this.inflight.splice(0));
    await this.release([...this.claimed]);
    this.claimed.clear();
  }

  /** The stored bytes back, chunk by chunk, each checked. */
  async *readStream(chunks: string[]): AsyncGenerator<Buffer> {
    for (let i = 0; i < chunks.length; i += LOOKUP_BATCH) {
      const batch = chunks.slice(i, i + LOOKUP_BATCH);
      const at = await this.repository.index.lookup(batch);
      // The next chunk is read and checked while the caller writes this one.
      const fetch = (k: number) => {
        const p = this.read(batch[k]!, at[k]);
        p.catch(() => {}); // surfaced when awaited below
        return p;
      };
      let next = fetch(0);
      for (let k = 0; k < batch.length; k++) {
        const current = next;
        if (k + 1 < batch.length) next = fetch(k + 1);
        yield await current;
      }
    }
  }

  /** One blob, its failures as ChunkError (naming the repository file). */
  private read(id: string, at: BlobLocation | undefined): Promise<Buffer> {
    return readAsChunk(id, () => this.repo.readBlob(id, at));
  }

  /**
   * Reuses chunks already in the repository (files unchanged since the last protect): claims
   * them all, gives back the claims on any the index lacks, and tells which are there.
   */
  async reuse(chunks: string[]): Promise<(hash: string) => boolean> {
    const unique = [...new Set(chunks)];
    for (const h of unique) this.claimed.add(h);
    await this.deps.chunkRefs.claim(this.providerId, this.owner, unique);
    const at = await this.repository.index.lookup(unique);
    const missing = new Set(unique.filter((_, k) => !at[k]));
    if (missing.size > 0) await this.release([...missing]);
    return (hash) => !missing.has(hash);
  }

  /**
   * Drops the owner's references; returns how many chunks nobody uses any more. Their blobs
   * stay until prune, after the grace period: a bank that rolls back the release must
   * still find them.
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
