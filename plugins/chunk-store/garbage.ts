// Garbage collection of one chunk store: chunk files nobody uses, free for longer than the
// grace period, and temporary files that dead writers left behind.
import * as fs from 'node:fs';
import type { ChunkRefs } from '../../bank/chunk-refs';
import { ChunkStore, isChunkName, TEMP_PREFIX } from './chunk-store';

const BATCH = 1000;

export interface StoreSweep {
  chunksRemoved: number;
  bytesRemoved: number;
  tempFilesRemoved: number;
  /** What the store holds after the sweep (before it, on a dry run). */
  chunksKept: number;
  bytesKept: number;
}

/**
 * Removes (or with `dryRun` counts) the store's unused chunks free since before `cutoffMs`
 * and its temporary files older than that. A chunk goes only under its removal lock, taken
 * in the same Lua step that proves nobody uses it, so a protect that claims it meanwhile
 * waits and then writes it anew: a running protect never loses a chunk it names.
 */
export async function sweepStore(
  dir: string,
  refs: ChunkRefs,
  providerId: string,
  cutoffMs: number,
  dryRun: boolean,
  onProgress: () => void = () => {},
): Promise<StoreSweep> {
  const store = new ChunkStore(dir);
  const out: StoreSweep = {
    chunksRemoved: 0,
    bytesRemoved: 0,
    tempFilesRemoved: 0,
    chunksKept: 0,
    bytesKept: 0,
  };
  let batch: { hash: string; mtimeMs: number; size: number }[] = [];
  const flush = async () => {
    const sizes = new Map(batch.map((f) => [f.hash, f.size]));
    const doomed = await refs.sweep(providerId, batch, cutoffMs, dryRun);
    batch = [];
    try {
      if (!dryRun) for (const hash of doomed) await store.remove(hash);
    } finally {
      if (!dryRun) await refs.unlock(providerId, doomed);
    }
    out.chunksRemoved += doomed.length;
    for (const h of doomed) out.bytesRemoved += sizes.get(h) ?? 0;
    const gone = dryRun ? new Set<string>() : new Set(doomed);
    for (const [h, size] of sizes) {
      if (gone.has(h)) continue;
      out.chunksKept++;
      out.bytesKept += size;
    }
    onProgress();
  };
  for await (const f of store.files()) {
    const st = await fs.promises.lstat(f.path).catch(() => undefined);
    if (!st?.isFile()) continue;
    if (isChunkName(f.name)) {
      batch.push({ hash: f.name, mtimeMs: st.mtimeMs, size: st.size });
      if (batch.length >= BATCH) await flush();
    } else if (f.name.startsWith(TEMP_PREFIX) && st.mtimeMs <= cutoffMs) {
      if (!dryRun) await fs.promises.rm(f.path, { force: true });
      out.tempFilesRemoved++;
    }
  }
  if (batch.length > 0) await flush();
  return out;
}
