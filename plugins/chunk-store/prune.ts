// Prune: give back the space of chunks nobody uses. Deleting a checkpoint only releases its
// chunks (they become free in the bank); prune, run by garbage collection or by hand, then
// walks the packs one at a time:
// - a pack younger than the grace period is left alone (a protect may not have indexed it);
// - its blobs that the index does not point at (copies another writer also stored, or a
//   killed writer never indexed) are dead;
// - its indexed blobs that nobody claims and that have been free for the grace period are
//   locked in the bank for removal: a protect that claims one of them now waits, and then
//   finds it gone from the index and writes it anew; one it claimed before stays live;
// - a pack whose dead share is at least `repackShare` is rewritten: its live blobs are
//   copied, still sealed, into a new pack, their index entries repointed (each only if it
//   still points at the old pack), the dead ones dropped, and the old pack removed.
// Memory is one pack at a time, whatever the repository's size.
import type { ChunkRefs } from '../../bank/chunk-refs';
import { packFile } from '../../repository/backend';
import type { PackEntry } from '../../repository/pack';
import type { PackIndex, Repository } from '../../repository/repository';

export interface PruneOptions {
  providerId: string;
  /** Free (and unindexed) data older than this goes, ms since the epoch. */
  cutoffMs: number;
  /** A pack is rewritten once this share of its bytes is dead (1: only wholly dead ones). */
  repackShare: number;
  dryRun: boolean;
  /** Called between packs (heartbeats). */
  onPack?: () => void;
}

export interface PruneReport {
  packs_seen: number;
  packs_removed: number;
  packs_repacked: number;
  /** Blobs whose space was given back. */
  chunks_removed: number;
  /** Bytes of packs removed, less what their live blobs took in new packs. */
  bytes_removed: number;
  /** Packs kept because a chunk in them was claimed again while they were pruned. */
  packs_kept_claimed: number;
  /** Packs that could not be read (named; prune went on with the others). */
  unreadable: string[];
}

export const DEFAULT_REPACK_SHARE = 0.2;
/** A pack pending this long was left by a writer that died (indexing takes seconds). */
const STALE_PENDING_MS = 60 * 60 * 1000;

export async function prune(
  repo: Repository,
  index: PackIndex,
  refs: ChunkRefs,
  opts: PruneOptions,
): Promise<PruneReport> {
  const report: PruneReport = {
    packs_seen: 0,
    packs_removed: 0,
    packs_repacked: 0,
    chunks_removed: 0,
    bytes_removed: 0,
    packs_kept_claimed: 0,
    unreadable: [],
  };
  for await (const p of repo.packs()) {
    opts.onPack?.();
    report.packs_seen++;
    if (p.modifiedMs > opts.cutoffMs) continue;
    // A pack still pending is being indexed by its writer (or its writer died: after a
    // while its mark is dropped and its blobs judged like any others').
    const pendingSince = await index.pendingSince(p.pack);
    if (pendingSince !== undefined) {
      if (pendingSince > Date.now() - STALE_PENDING_MS) continue;
      if (!opts.dryRun) await index.forgetPending(p.pack);
    }
    let entries: PackEntry[];
    try {
      entries = await repo.packEntries(p.pack);
    } catch (err) {
      // A damaged or stray file must not stop every other pack's space coming back.
      report.unreadable.push((err as Error).message);
      continue;
    }
    const at = await index.lookup(entries.map((e) => e.id));
    const indexed = entries.filter((e, k) => at[k]?.pack === p.pack && at[k]?.offset === e.offset);
    const orphans = entries.length - indexed.length;
    const asSweep = (es: PackEntry[]) => es.map((e) => ({ hash: e.id, mtimeMs: p.modifiedMs }));
    const wouldFree = new Set(
      await refs.sweep(opts.providerId, asSweep(indexed), opts.cutoffMs, true),
    );
    const deadBytes =
      entries.reduce((n, e) => n + e.length, 0) -
      indexed.filter((e) => !wouldFree.has(e.id)).reduce((n, e) => n + e.length, 0);
    const total = entries.reduce((n, e) => n + e.length, 0);
    if (deadBytes === 0 || (deadBytes < total && deadBytes < opts.repackShare * total)) continue;
    if (opts.dryRun) {
      report.chunks_removed += orphans + wouldFree.size;
      report.bytes_removed += deadBytes;
      if (deadBytes === total) report.packs_removed++;
      else report.packs_repacked++;
      continue;
    }
    const locked = await refs.sweep(opts.providerId, asSweep(indexed), opts.cutoffMs, false);
    const dead = new Set(locked);
    try {
      const live = indexed.filter((e) => !dead.has(e.id));
      let written = 0;
      const moved: { old: PackEntry; now: PackEntry; to: string }[] = [];
      if (live.length > 0) {
        const bytes = await repo.backend.read(packFile(p.pack));
        const builder = repo.newPack();
        for (const e of live) {
          builder.add(e.id, e.type, bytes.subarray(e.offset, e.offset + e.length), e.raw);
        }
        const out = await repo.writePack(builder, index);
        written = out.entries.reduce((n, e) => n + e.length, 0);
        out.entries.forEach((now, k) => moved.push({ old: live[k]!, now, to: out.pack }));
      }
      const dropped = indexed.filter((e) => dead.has(e.id));
      const changed = await index.move(p.pack, moved, dropped, opts.providerId);
      // Every entry moved or dropped: nothing points at the old pack any more. Otherwise a
      // chunk was claimed again after all (its lock ran out): the pack stays, whole.
      if (changed !== moved.length + dropped.length) {
        report.packs_kept_claimed++;
        continue;
      }
      await repo.backend.remove(packFile(p.pack));
      report.chunks_removed += orphans + dead.size;
      report.bytes_removed += p.size - written;
      if (live.length > 0) report.packs_repacked++;
      else report.packs_removed++;
    } finally {
      await refs.unlock(opts.providerId, locked);
    }
  }
  return report;
}
