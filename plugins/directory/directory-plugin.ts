// Karbor::Directory: a directory tree (resource id = its absolute path). Protect stores every
// file's bytes in the provider's repository, and the tree in a manifest sealed there too
// (the bank keeps its id); restore rebuilds it at the original path or a target, checking
// every chunk.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HookFailedError, RestoreRefusedError } from '../../common/errors';
import { resourceDataPrefix, resourceSectionName } from '../../bank/keys';
import type { GraphResource } from '../../graph/resource-graph';
import { sha256 } from '../chunk-store/chunk-store';
import {
  damagedFileMessage,
  extentBytes,
  ownerOf,
  resourceChunks,
} from '../chunk-store/provider-store';
import type { DataPluginDeps, ProviderChunks, SealedRef } from '../chunk-store/provider-store';
import type { DataStats, HookContext, ResourcePlugin, RestoreCheck } from '../types';
import { showPath, TreeError } from './manifest';
import { mountOf, PSEUDO_FILESYSTEMS } from './mounts';
import type { Manifest, ManifestEntry } from './manifest';
import { restoreTree } from './restore-tree';
import { walk } from './tree';

export const DIRECTORY_TYPE = 'Karbor::Directory';
const MANIFEST = 'manifest.json';
/** What kind of sealed document a tree's manifest is. */
const MANIFEST_KIND = 'directory-manifest';

function progress(ctx: HookContext, total: number, filesTotal?: number) {
  let done = 0;
  return (n: number) => {
    done += n;
    ctx.heartbeat({
      bytesDone: done,
      bytesTotal: total,
      ...(filesTotal !== undefined ? { filesTotal } : {}),
    });
  };
}

/** Where the tree's last successful protect is remembered (outside any checkpoint). */
function lastProtectKey(ctx: HookContext): string {
  return `/plugin-state/directory/${ctx.providerId}/${resourceSectionName(ctx.resource)}.json`;
}

/** The manifest of the tree's last protect, if that checkpoint still exists. */
async function parentManifest(
  deps: DataPluginDeps,
  ctx: HookContext,
  chunks: ProviderChunks,
): Promise<Map<string, ManifestEntry>> {
  const out = new Map<string, ManifestEntry>();
  try {
    const { checkpoint_id } = await deps.bank.getObject<{ checkpoint_id: string }>(
      lastProtectKey(ctx),
    );
    const ref = await deps.bank.getObject(
      `${resourceDataPrefix(checkpoint_id, ctx.resource)}/${MANIFEST}`,
    );
    const parent = await chunks.openDocument<Manifest>(
      MANIFEST_KIND,
      ref,
      ownerOf(checkpoint_id, ctx.resource),
    );
    for (const e of parent.entries) out.set(entryKey(e), e);
  } catch {
    // No earlier protect, or its checkpoint is gone: every file is read.
  }
  return out;
}

function unchanged(now: ManifestEntry, before: ManifestEntry | undefined): before is ManifestEntry {
  return (
    before !== undefined &&
    before.type === 'file' &&
    before.chunks !== undefined &&
    before.ctime_ns !== undefined &&
    before.size === now.size &&
    before.mtime_ns === now.mtime_ns &&
    before.ctime_ns === now.ctime_ns &&
    before.ino === now.ino
  );
}

const entryKey = (e: ManifestEntry) => e.path ?? `b64:${e.path_b64}`;

async function protect(deps: DataPluginDeps, ctx: HookContext): Promise<void> {
  const root = ctx.resource.id;
  const st = await fs.promises.stat(root).catch(() => undefined);
  if (!path.isAbsolute(root) || !st?.isDirectory()) {
    throw new TreeError(`${root} is not an absolute path to a directory`);
  }
  const chunks = await resourceChunks(deps, ctx);
  const tree = await walk(root);
  const { entries } = tree;
  const parent = await parentManifest(deps, ctx, chunks);
  const files = [...tree.paths.keys()];
  const total = files.reduce((n, e) => n + (e.size ?? 0), 0);
  const onBytes = progress(ctx, total, files.length);
  onBytes(0); // the pre-scan's totals, before the first byte
  let stats: DataStats = {};
  let sealed: SealedRef;
  try {
    // Like restic's parent snapshot: a file whose size, mtime, ctime and inode did not
    // change keeps its chunks without being read again (when they are all still there).
    const kept = files.filter((e) => unchanged(e, parent.get(entryKey(e))));
    const present = await chunks.reuse(kept.flatMap((e) => parent.get(entryKey(e))!.chunks!));
    const toRead: ManifestEntry[] = [];
    let reused = 0;
    for (const e of files) {
      const before = parent.get(entryKey(e));
      if (unchanged(e, before) && before.chunks!.every(present)) {
        e.chunks = before.chunks;
        if (before.extents) e.extents = before.extents;
        onBytes(e.size ?? 0);
        reused += e.size ?? 0;
      } else {
        toRead.push(e);
      }
    }
    const stored = await chunks.storeFiles(
      toRead.map((e) => ({ path: tree.paths.get(e)!, size: e.size ?? 0 })),
      onBytes,
      ctx.signal,
    );
    const read = stored.reduce((n, s) => n + s.bytes, 0);
    const stored_ = stored.reduce((n, s) => n + s.newBytes, 0);
    stats = { read, stored: stored_, deduplicated: read - stored_ + reused, files: files.length };
    toRead.forEach((e, i) => {
      const s = stored[i]!;
      e.chunks = s.chunks;
      if (s.extents) e.extents = s.extents;
      // A dense file's size is what was read (it may have changed since the walk).
      else e.size = s.bytes;
    });
    const manifest: Manifest = {
      version: 2,
      root,
      root_meta: tree.root,
      entries,
      files: files.length,
      bytes: files.reduce((n, e) => n + (e.size ?? 0), 0),
    };
    sealed = await chunks.sealDocument(MANIFEST_KIND, manifest);
    await chunks.commit();
  } catch (err) {
    await chunks.abandon();
    throw err;
  }
  for (const why of tree.skipped) await ctx.warn(`not protected: ${why}`);
  await ctx.section.updateObject(MANIFEST, sealed);
  await deps.bank.updateObject(lastProtectKey(ctx), { checkpoint_id: ctx.checkpointId });
  ctx.record(stats);
}

/**
 * How a restore's temporary files start: tagged with the restore and resource, so a retry
 * can remove what a dead attempt left (it would otherwise stay in the restored tree).
 */
export function restoreTempPrefix(restoreId: string, resourceId: string): string {
  return `.karbor-restore-${sha256(Buffer.from(`${restoreId}/${resourceId}`)).slice(0, 12)}-`;
}

/** The checkpoint's manifest, from the repository (the bank holds only its sealed id). */
async function sealedManifest(chunks: ProviderChunks, ctx: HookContext): Promise<Manifest> {
  return chunks.openDocument<Manifest>(MANIFEST_KIND, await ctx.section.getObject(MANIFEST));
}

async function restore(deps: DataPluginDeps, ctx: HookContext): Promise<void> {
  const chunks = await resourceChunks(deps, ctx);
  const manifest = await sealedManifest(chunks, ctx);
  // In place means the resource's own path: never a place the manifest alone names.
  if (manifest.root !== ctx.resource.id) {
    throw new TreeError(
      `refusing manifest: it describes ${JSON.stringify(manifest.root)}, not ${ctx.resource.id}`,
    );
  }
  await restoreTree(manifest, ctx.restoreTarget ?? ctx.resource.id, {
    chunks: await resourceChunks(deps, ctx),
    onBytes: progress(ctx, manifest.bytes, manifest.files),
    signal: ctx.signal,
    tmpPrefix: restoreTempPrefix(ctx.operationId, ctx.resource.id),
    retry: ctx.attempt > 1,
    warn: (m) => ctx.warn(m),
  });
  ctx.record({
    files: manifest.files,
    restored: manifest.entries.reduce(
      (n, e) => n + (e.type === 'file' && !e.link && !e.link_b64 ? dataBytesOf(e) : 0),
      0,
    ),
  });
}

/** The bytes a file entry's chunks hold: its size, or its data regions when sparse. */
function dataBytesOf(e: ManifestEntry): number {
  return e.extents ? extentBytes(e.extents) : (e.size ?? 0);
}

/** Before the restore starts: an absolute target that is (or can become) a real directory. */
async function checkRestore(req: RestoreCheck): Promise<void> {
  const target = req.target ?? req.resource.id;
  const refuse = (why: string) => {
    throw new RestoreRefusedError(
      `restore target ${JSON.stringify(target)} for ${req.resource.id} ${why}`,
    );
  };
  if (!path.isAbsolute(target)) refuse('is not an absolute path');
  const mount = mountOf(target);
  if (mount && PSEUDO_FILESYSTEMS.has(mount.fsType)) {
    refuse(`is on a ${mount.fsType} filesystem (${mount.mountPoint}), which holds no files`);
  }
  if (mount?.readOnly) refuse(`is on a read-only mount (${mount.mountPoint})`);
  // The nearest part of the target that exists must be a writable real directory.
  for (let probe = target; ; probe = path.dirname(probe)) {
    const st = await fs.promises.lstat(probe).catch(() => undefined);
    if (!st) continue;
    if (st.isSymbolicLink() && probe === target) refuse('is a symlink');
    if (!st.isDirectory() && !st.isSymbolicLink())
      refuse(
        probe === target ? 'is not a directory' : `lies below ${probe}, which is not a directory`,
      );
    await fs.promises
      .access(probe, fs.constants.W_OK)
      .catch((err: NodeJS.ErrnoException) =>
        refuse(`is not writable (${probe}: ${err.code ?? err.message})`),
      );
    return;
  }
}

/** A file's name as restore shows it (one quoted line, whatever bytes it holds). */
function shownName(e: ManifestEntry): string {
  return showPath(
    e.path !== undefined ? Buffer.from(e.path) : Buffer.from(e.path_b64 ?? '', 'base64'),
  );
}

async function verify(deps: DataPluginDeps, ctx: HookContext): Promise<void> {
  const chunks = await resourceChunks(deps, ctx);
  const manifest = await sealedManifest(chunks, ctx);
  const onBytes = progress(ctx, manifest.bytes);
  const files = manifest.entries.filter((e) => e.chunks && e.chunks.length > 0);
  const all = files.flatMap((e) => e.chunks!);
  const owner = files.flatMap((e) => e.chunks!.map(() => shownName(e)));
  const damaged = await chunks.checkChunks(all, onBytes, ctx.signal);
  const problems = damaged.map((d) => damagedFileMessage(owner[d.index]!, d));
  if (problems.length > 0) {
    throw new HookFailedError(
      `${problems.length} damaged chunk(s): ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; …' : ''}`,
      // Only missing ones: maybe a pack prune rewrote meanwhile; a retry looks them up again.
      damaged.some((d) => d.why === 'corrupt'),
    );
  }
}

async function remove(deps: DataPluginDeps, ctx: HookContext): Promise<void> {
  // Every chunk of the resource (files and sealed manifest alike) was claimed under its
  // name, by whichever attempt: all of them go, without reading the manifest.
  await (await resourceChunks(deps, ctx)).releaseAll();
}

const roots = (config: Record<string, string>) =>
  (config.roots ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function instance(p: string): GraphResource {
  return { id: p, type: DIRECTORY_TYPE, name: path.basename(p) || p, extra_info: {} };
}

export function directoryPlugin(deps: DataPluginDeps): ResourcePlugin {
  return {
    name: 'directory',
    type: DIRECTORY_TYPE,
    hostPinned: true,
    description:
      'A directory tree: files (sparse ones with their holes), directories, symlinks (as links), hard links, FIFOs and devices; owners, modes, nanosecond mtimes and extended attributes (ACLs too)',
    schemas: {
      options: { type: 'object', properties: {}, additionalProperties: false },
      restore: { type: 'object', properties: {}, additionalProperties: false },
      savedInfo: {
        type: 'object',
        properties: { files: { type: 'integer' }, bytes: { type: 'integer' } },
      },
      restoreTarget: {
        type: 'string',
        pattern: '^/',
        maxLength: 4095,
        description: 'an absolute path (at most 4095 bytes)',
      },
    },
    dependents: () => Promise.resolve([]),
    // The provider's [directory] section: `roots = /srv, /data` lists those trees and their
    // immediate subdirectories as instances.
    async listInstances(config) {
      const out: GraphResource[] = [];
      for (const root of roots(config)) {
        out.push(instance(root));
        const names = await fs.promises.readdir(root, { withFileTypes: true }).catch(() => []);
        for (const d of names) if (d.isDirectory()) out.push(instance(path.join(root, d.name)));
      }
      return out;
    },
    showInstance: (id) => Promise.resolve(instance(id)),
    checkRestore,
    operations: {
      protect: { onMain: (ctx) => protect(deps, ctx) },
      restore: { onMain: (ctx) => restore(deps, ctx) },
      verify: { onMain: (ctx) => verify(deps, ctx) },
      delete: { onMain: (ctx) => remove(deps, ctx) },
    },
  };
}
