// One repository: a backend of sealed packs, the keys that open them, and the index (kept
// in the bank) that says where each blob lives. The only module that knows the layout:
// callers store and fetch blobs by id, and commit batches.
import { randomBytes } from 'node:crypto';
import type { Backend } from './backend';
import { NotInBackend, packFile, packIdFromHeader, packIdOf } from './backend';
import { decodeBlob, encodeBlob } from './codec';
import type { CompressionMode } from './codec';
import type { MasterKeys } from './crypto';
import { blobId, CONTEXT, newMasterKeys, open, SealBroken, seal } from './crypto';
import { BlobMissingError, RepositoryConfigError, RepositoryDamagedError } from './errors';
import type { Secret } from './key-store';
import { addKey, unlock } from './key-store';
import type { BlobType, PackEntry } from './pack';
import { HEADER_GUESS, PackBuilder, parsePackTail } from './pack';

/** Where a blob is: what the index records for its id. */
export interface BlobLocation {
  pack: string;
  type: BlobType;
  offset: number;
  length: number;
  raw: number;
}

/**
 * The index of one repository, chunk id → location. It lives in the bank (Redis), never in
 * the worker's memory: callers ask for the ids they need.
 */
export interface PackIndex {
  lookup(ids: string[]): Promise<(BlobLocation | undefined)[]>;
  /** Before writing a pack: marks it pending, so prune leaves it alone until it is indexed. */
  beginPack(pack: string): Promise<void>;
  /**
   * Records a written pack's blobs (an id already indexed keeps its first location), then
   * clears its pending mark.
   */
  addPack(pack: string, entries: PackEntry[]): Promise<void>;
  pendingSince(pack: string): Promise<number | undefined>;
  forgetPending(pack: string): Promise<void>;
  /** Repoints blobs of pack `from` and drops others, each only while it still points there. */
  move(
    from: string,
    moved: { old: PackEntry; now: PackEntry; to: string }[],
    dropped: PackEntry[],
    /** A dropped entry whose chunk this provider's checkpoints claim stays. */
    claimsOf?: string,
  ): Promise<number>;
  /** Every entry, streamed (maintenance: check). */
  entries(): AsyncIterable<{ id: string; at: BlobLocation | undefined; raw: string }>;
}

interface RepositoryConfig {
  version: 2;
  id: string;
  created: string;
}

export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;

export interface RepositorySettings {
  /** A pack is written once its blobs reach about this many bytes. */
  packSize?: number;
  compression?: CompressionMode;
}

export class Repository {
  readonly packSize: number;
  readonly compression: CompressionMode;

  private constructor(
    readonly backend: Backend,
    readonly id: string,
    readonly keys: MasterKeys,
    /** The key file this opener used. */
    readonly keyId: string,
    settings: RepositorySettings,
  ) {
    this.packSize = settings.packSize ?? DEFAULT_PACK_SIZE;
    this.compression = settings.compression ?? 'auto';
  }

  /** Creates a repository in an empty place; refuses one that has a config already. */
  static async init(
    backend: Backend,
    secret: Secret,
    settings: RepositorySettings & { kdfCost?: { N: number; r: number; p: number } } = {},
  ): Promise<Repository> {
    if (await backend.stat('config')) {
      throw new RepositoryConfigError(`${backend.location} is a repository already`);
    }
    const keys = newMasterKeys();
    const config: RepositoryConfig = {
      version: 2,
      id: randomBytes(16).toString('hex'),
      created: new Date().toISOString(),
    };
    const keyId = await addKey(backend, keys, secret, settings.kdfCost);
    await backend.write(
      'config',
      seal(keys.encrypt, Buffer.from(JSON.stringify(config)), CONTEXT.config),
    );
    return new Repository(backend, config.id, keys, keyId, settings);
  }

  /** Opens an existing repository: WrongKeyError when the secret opens none of its keys. */
  static async open(
    backend: Backend,
    secret: Secret,
    settings: RepositorySettings = {},
  ): Promise<Repository> {
    let sealed: Buffer;
    try {
      sealed = await backend.read('config');
    } catch (err) {
      if (err instanceof NotInBackend) {
        throw new RepositoryConfigError(
          `${backend.location} is not a repository (no config): run karbor repository init`,
        );
      }
      throw err;
    }
    const { keys, keyId } = await unlock(backend, secret);
    let config: RepositoryConfig;
    try {
      config = JSON.parse(
        open(keys.encrypt, sealed, CONTEXT.config).toString('utf8'),
      ) as RepositoryConfig;
    } catch (err) {
      throw new RepositoryDamagedError('config', (err as Error).message);
    }
    if (config.version !== 2 || !/^[0-9a-f]{32}$/.test(config.id)) {
      throw new RepositoryDamagedError('config', `unsupported version ${String(config.version)}`);
    }
    return new Repository(backend, config.id, keys, keyId, settings);
  }

  /**
   * A repository whose keys another opener already unlocked (a chunk thread gets them from
   * the main thread with each job): no I/O, no scrypt.
   */
  static withKeys(
    backend: Backend,
    id: string,
    keys: MasterKeys,
    keyId: string,
    settings: RepositorySettings,
  ): Repository {
    return new Repository(backend, id, keys, keyId, settings);
  }

  blobId(data: Buffer, type: BlobType = 'data'): string {
    return blobId(this.keys, data, type);
  }

  /** The stored form of a blob: compressed (unless that does not help), then sealed. */
  sealBlob(id: string, data: Buffer, type: BlobType = 'data'): Buffer {
    return seal(this.keys.encrypt, encodeBlob(data, this.compression), CONTEXT.blob(type, id));
  }

  /**
   * A blob's data from its stored form, checked three ways: the seal (nobody changed a
   * byte), the context (it is the blob of this id), and its keyed hash.
   */
  openBlob(id: string, sealed: Buffer, file: string, type: BlobType): Buffer {
    let data: Buffer;
    try {
      data = decodeBlob(open(this.keys.encrypt, sealed, CONTEXT.blob(type, id)));
    } catch (err) {
      const why =
        err instanceof SealBroken ? err.message : `cannot decode: ${(err as Error).message}`;
      throw new RepositoryDamagedError(file, `blob ${id}: ${why}`);
    }
    if (this.blobId(data, type) !== id) {
      throw new RepositoryDamagedError(file, `blob ${id} does not hash to its id`);
    }
    return data;
  }

  newPack(): PackBuilder {
    return new PackBuilder();
  }

  /** A finished pack's parts and id, not written yet (mark it pending first). */
  finishPack(builder: PackBuilder): { pack: string; parts: Buffer[]; entries: PackEntry[] } {
    const entries = [...builder.entries];
    const { parts, sealedHeader } = builder.finish(this.keys);
    return { pack: packIdFromHeader(sealedHeader), parts, entries };
  }

  /**
   * Writes a pack: marked pending in the index first, written, then indexed. A writer that
   * dies in between leaves a pending mark that prune takes as a dead writer's after a while.
   */
  async writePack(
    builder: PackBuilder,
    index: Pick<PackIndex, 'beginPack' | 'addPack'>,
  ): Promise<{ pack: string; entries: PackEntry[] }> {
    const { pack, parts, entries } = this.finishPack(builder);
    await index.beginPack(pack);
    await this.backend.write(packFile(pack), parts);
    await index.addPack(pack, entries);
    return { pack, entries };
  }

  /** One blob's data, from where the index says it is. */
  async readBlob(id: string, at: BlobLocation | undefined): Promise<Buffer> {
    if (!at) throw new BlobMissingError(id, 'the index does not know it');
    const file = packFile(at.pack);
    let sealed: Buffer;
    try {
      sealed = await this.backend.read(file, { offset: at.offset, length: at.length });
    } catch (err) {
      if (err instanceof NotInBackend) throw new BlobMissingError(id, `its pack ${file} is gone`);
      throw err;
    }
    if (sealed.length !== at.length) {
      throw new RepositoryDamagedError(file, `blob ${id} is cut short`);
    }
    // Opened as the type the index says: a data blob re-labelled a document does not open.
    return this.openBlob(id, sealed, file, at.type);
  }

  /** The blobs a pack's own header lists (what rebuild-index and check read). */
  async packEntries(pack: string): Promise<PackEntry[]> {
    const file = packFile(pack);
    const st = await this.backend.stat(file);
    if (!st) throw new NotInBackend(file);
    try {
      const guess = Math.min(st.size, HEADER_GUESS);
      let tail = await this.backend.read(file, { offset: st.size - guess, length: guess });
      let parsed = parsePackTail(this.keys, tail, st.size);
      if ('needed' in parsed) {
        tail = await this.backend.read(file, {
          offset: st.size - parsed.needed,
          length: parsed.needed,
        });
        parsed = parsePackTail(this.keys, tail, st.size);
      }
      if ('needed' in parsed) throw new Error('pack header keeps growing');
      // The id names the header: a pack stored under another pack's name is found here.
      if (packIdFromHeader(parsed.sealedHeader) !== pack) {
        throw new Error('its header does not hash to its name');
      }
      return parsed.entries;
    } catch (err) {
      if (err instanceof NotInBackend) throw err;
      throw new RepositoryDamagedError(file, `its header: ${(err as Error).message}`);
    }
  }

  /** Every pack's id, a few at a time. */
  async *packs(): AsyncGenerator<{ pack: string; size: number; modifiedMs: number }> {
    for await (const f of this.backend.list('data/')) {
      yield { pack: packIdOf(f.name), size: f.size, modifiedMs: f.modifiedMs };
    }
  }
}
