// Reads many blobs of a repository with few requests: a blob is fetched together with the
// blobs after it in the same pack that the reader will want too, as one range. On S3 each
// request costs a round trip, so a restore that asked blob by blob spent most of its time
// waiting; on a local disk it saves system calls.
import { NotInBackend, packFile } from './backend';
import { BlobMissingError, RepositoryDamagedError } from './errors';
import type { BlobLocation, Repository } from './repository';

/** One read spans at most this much of a pack… */
const MAX_WINDOW = 8 * 1024 * 1024;
/** …and skips at most this much between two wanted blobs. */
const MAX_GAP = 256 * 1024;

export class PackRangeReader {
  /** Per pack, the wanted blobs' ranges in pack order. */
  private readonly wanted = new Map<string, { offset: number; end: number }[]>();
  private window: { pack: string; start: number; bytes: Buffer } | undefined;

  constructor(
    private readonly repo: Repository,
    private readonly locations: Record<string, BlobLocation>,
  ) {
    for (const at of Object.values(locations)) {
      const list = this.wanted.get(at.pack) ?? [];
      list.push({ offset: at.offset, end: at.offset + at.length });
      this.wanted.set(at.pack, list);
    }
    for (const list of this.wanted.values()) list.sort((a, b) => a.offset - b.offset);
  }

  /** One blob's data, checked (seal, type, keyed hash). */
  async blob(id: string): Promise<Buffer> {
    const at = this.locations[id];
    if (!at) throw new BlobMissingError(id, 'the index does not know it');
    const file = packFile(at.pack);
    const w = this.window;
    const inWindow =
      w !== undefined &&
      w.pack === at.pack &&
      at.offset >= w.start &&
      at.offset + at.length <= w.start + w.bytes.length;
    if (!inWindow) this.window = await this.fetch(at, id);
    const { start, bytes } = this.window!;
    const sealed = bytes.subarray(at.offset - start, at.offset - start + at.length);
    if (sealed.length !== at.length) {
      throw new RepositoryDamagedError(file, `blob ${id} is cut short`);
    }
    return this.repo.openBlob(id, sealed, file, at.type);
  }

  /** The range from this blob on, over the wanted blobs after it in its pack. */
  private async fetch(
    at: BlobLocation,
    id: string,
  ): Promise<{ pack: string; start: number; bytes: Buffer }> {
    const start = at.offset;
    let end = at.offset + at.length;
    for (const r of this.wanted.get(at.pack) ?? []) {
      if (r.offset < end) continue;
      if (r.offset - end > MAX_GAP || r.end - start > MAX_WINDOW) break;
      end = r.end;
    }
    try {
      const bytes = await this.repo.backend.read(packFile(at.pack), {
        offset: start,
        length: end - start,
      });
      return { pack: at.pack, start, bytes };
    } catch (err) {
      if (err instanceof NotInBackend) {
        throw new BlobMissingError(id, `its pack ${packFile(at.pack)} is gone`);
      }
      throw err;
    }
  }
}
