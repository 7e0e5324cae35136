// `karbor repository check` and `rebuild-index`: the repository's three records agree.
//   packs  - every pack's header opens, hashes to the pack's name and accounts for the
//            whole pack; with a data share, chosen packs are read whole: every blob opens
//            and hashes to its id;
//   index  - every entry points at a pack that exists, at a blob its header lists there;
//   bank   - every chunk a checkpoint resource claims is indexed.
// Streams throughout: one pack, one page of the index, one owner's claims at a time.
import type { Redis } from 'ioredis';
import { RedisKeys } from '../../bank/keys';
import { asCluster } from '../../common/redis';
import { packFile } from '../../repository/backend';
import type { PackEntry } from '../../repository/pack';
import type { PackIndex, Repository } from '../../repository/repository';

export interface CheckReport {
  packs: number;
  packs_read: number;
  blobs_indexed: number;
  owners_checked: number;
  /** One line each, naming the file, blob or owner at fault. */
  errors: string[];
}

const MAX_ERRORS = 1000;

/** True for about `share` (0..1) of packs, the same ones for the same share every time. */
function chosen(pack: string, share: number): boolean {
  return share >= 1 || parseInt(pack.slice(0, 8), 16) / 0x100000000 < share;
}

export async function checkRepository(
  repo: Repository,
  index: PackIndex,
  bank: { redis: Redis; prefix: string; providerId: string },
  opts: { readDataShare: number; onProgress?: (what: string) => void },
): Promise<CheckReport> {
  const report: CheckReport = {
    packs: 0,
    packs_read: 0,
    blobs_indexed: 0,
    owners_checked: 0,
    errors: [],
  };
  const fail = (line: string) => {
    if (report.errors.length < MAX_ERRORS) report.errors.push(line);
  };
  // Pack ids only (64 bytes each): a 16 MiB pack per id keeps this small for any repository.
  const headers = new Map<string, Map<string, PackEntry>>();
  const packIds = new Set<string>();
  for await (const p of repo.packs()) {
    report.packs++;
    packIds.add(p.pack);
    const file = packFile(p.pack);
    opts.onProgress?.(file);
    let entries: PackEntry[];
    try {
      entries = await repo.packEntries(p.pack);
    } catch (err) {
      fail((err as Error).message);
      continue;
    }
    const at = await index.lookup(entries.map((e) => e.id));
    entries.forEach((e, k) => {
      const where = at[k];
      const differs =
        where?.offset !== e.offset ||
        where.length !== e.length ||
        where.type !== e.type ||
        where.raw !== e.raw;
      if (where?.pack === p.pack && differs) {
        fail(`index entry of blob ${e.id} disagrees with the header of ${file}`);
      }
    });
    if (chosen(p.pack, opts.readDataShare)) {
      report.packs_read++;
      const bytes = await repo.backend.read(file);
      for (const e of entries) {
        try {
          repo.openBlob(e.id, bytes.subarray(e.offset, e.offset + e.length), file, e.type);
        } catch (err) {
          fail((err as Error).message);
        }
      }
    }
    // Kept only for packs the index names, and only until the index pass below.
    headers.set(p.pack, new Map(entries.map((e) => [e.id, e])));
    if (headers.size > 4096) headers.clear(); // bounded: later lookups re-read headers
  }
  for await (const e of index.entries()) {
    report.blobs_indexed++;
    if (!e.at) {
      fail(`index entry of blob ${e.id} is malformed: ${JSON.stringify(e.raw.slice(0, 100))}`);
      continue;
    }
    if (!packIds.has(e.at.pack)) {
      fail(`blob ${e.id} is indexed in ${packFile(e.at.pack)}, which does not exist`);
      continue;
    }
    let listed = headers.get(e.at.pack);
    if (!listed) {
      listed = new Map((await repo.packEntries(e.at.pack).catch(() => [])).map((x) => [x.id, x]));
      headers.set(e.at.pack, listed);
    }
    const h = listed.get(e.id);
    if (
      !h ||
      h.offset !== e.at.offset ||
      h.length !== e.at.length ||
      h.type !== e.at.type ||
      h.raw !== e.at.raw
    ) {
      fail(
        `blob ${e.id} is indexed in ${packFile(e.at.pack)}, whose header does not list it there`,
      );
    }
  }
  headers.clear();
  // The bank's references: every chunk an owner claims must be indexed.
  const keys = new RedisKeys(bank.prefix);
  const ownedPrefix = keys.chunksOwned(bank.providerId, '');
  const nodes: Redis[] = asCluster(bank.redis)?.nodes('master') ?? [bank.redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      // SCAN: maintenance only, never a user listing.
      const [next, found] = await node.scan(cursor, 'MATCH', `${ownedPrefix}*`, 'COUNT', 500);
      cursor = next;
      for (const key of found) {
        report.owners_checked++;
        const owner = key.slice(ownedPrefix.length);
        const ids = await bank.redis.smembers(key);
        for (let i = 0; i < ids.length; i += 1000) {
          const batch = ids.slice(i, i + 1000);
          const at = await index.lookup(batch);
          batch.forEach((id, k) => {
            if (!at[k])
              fail(`checkpoint resource ${owner} uses chunk ${id}, which the index lacks`);
          });
        }
      }
    } while (cursor !== '0');
  }
  return report;
}

export interface RebuildReport {
  packs: number;
  blobs_listed: number;
  entries_dropped: number;
  errors: string[];
}

/**
 * Rebuilds the index from the packs' own headers: every blob a readable pack lists is
 * indexed (an entry already there keeps its place), and entries that point at a pack that is
 * gone are dropped.
 */
export async function rebuildIndex(repo: Repository, index: PackIndex): Promise<RebuildReport> {
  const report: RebuildReport = { packs: 0, blobs_listed: 0, entries_dropped: 0, errors: [] };
  const packIds = new Set<string>();
  for await (const p of repo.packs()) {
    report.packs++;
    packIds.add(p.pack);
    try {
      const entries = await repo.packEntries(p.pack);
      report.blobs_listed += entries.length;
      await index.addPack(p.pack, entries);
    } catch (err) {
      report.errors.push((err as Error).message);
    }
  }
  const gone = new Map<string, PackEntry[]>();
  for await (const e of index.entries()) {
    if (e.at && packIds.has(e.at.pack)) continue;
    if (!e.at) continue;
    const list = gone.get(e.at.pack) ?? [];
    list.push({
      id: e.id,
      type: e.at.type,
      offset: e.at.offset,
      length: e.at.length,
      raw: e.at.raw,
    });
    gone.set(e.at.pack, list);
    if (list.length >= 1000) {
      report.entries_dropped += await index.move(e.at.pack, [], list.splice(0));
    }
  }
  for (const [pack, list] of gone) report.entries_dropped += await index.move(pack, [], list);
  return report;
}
