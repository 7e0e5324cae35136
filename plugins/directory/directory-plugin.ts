// Karbor::Directory: a directory tree (resource id = its absolute path). Protect stores every
// file's bytes in the provider's chunk store and the tree in a manifest in the bank;
// restore rebuilds it at the original path or a target, checking every chunk's hash.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HookFailedError } from '../../common/errors';
import { resourceDataPrefix, resourceSectionName } from '../../bank/keys';
import type { GraphResource } from '../../graph/resource-graph';
import { sha256 } from '../chunk-store/chunk-store';
import { EarlyFlusher, flushToDisk } from '../chunk-store/flush';
import { DamagedFileError, manifestToRelease, resourceChunks } from '../chunk-store/provider-store';
import type { DataPluginDeps } from '../chunk-store/provider-store';
import type { HookContext, ResourcePlugin } from '../types';
import { checkEntryPath, checkTarget, TreeError, walk } from './tree';
import type { Manifest, TreeEntry } from './tree';

export const DIRECTORY_TYPE = 'Karbor::Directory';
const MANIFEST = 'manifest.json';
/** Renames and metadata updates issued together. */
const RENAMES_IN_FLIGHT = 16;

function progress(ctx: HookContext, total: number) {
  let done = 0;
  return (n: number) => {
    done += n;
    ctx.heartbeat({ bytesDone: done, bytesTotal: total });
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
): Promise<Map<string, TreeEntry>> {
  const out = new Map<string, TreeEntry>();
  try {
    const { checkpoint_id } = await deps.bank.getObject<{ checkpoint_id: string }>(
      lastProtectKey(ctx),
    );
    const parent = await deps.bank.getObject<Manifest>(
      `${resourceDataPrefix(checkpoint_id, ctx.resource)}/${MANIFEST}`,
    );
    for (const e of parent.entries) out.set(e.path, e);
  } catch {
    // No earlier protect, or its checkpoint is gone: every file is read.
  }
  return out;
}

function unchanged(now: TreeEntry, before: TreeEntry | undefined): before is TreeEntry {
  return (
    before !== undefined &&
    before.type === 'file' &&
    before.chunks !== undefined &&
    before.size === now.size &&
    before.mtime_ms === now.mtime_ms &&
    before.ctime_ms === now.ctime_ms &&
    before.ino === now.ino
  );
}

async function protect(deps: DataPluginDeps, ctx: HookContext): Promise<void> {
  const root = ctx.resource.id;
  const st = await fs.promises.stat(root).catch(() => undefined);
  if (!path.isAbsolute(root) || !st?.isDirectory()) {
    throw new TreeError(`${root} is not an absolute path to a directory`);
  }
  const chunks = resourceChunks(deps, ctx);
  const entries = await walk(root);
  const parent = await parentManifest(deps, ctx);
  const total = entries.reduce((n, e) => n + (e.size ?? 0), 0);
  const onBytes = progress(ctx, total);
  const files = entries.filter((e) => e.type === 'file');
  try {
    // Like restic's parent snapshot: a file whose size, mtime, ctime and inode did not
    // change keeps its chunks without being read again (when they are all still there).
    const kept = files.filter((e) => unchanged(e, parent.get(e.path)));
    const present = await chunks.reuse(kept.flatMap((e) => parent.get(e.path)!.chunks!));
    const toRead: TreeEntry[] = [];
    for (const e of files) {
      const before = parent.get(e.path);
      if (unchanged(e, before) && before.chunks!.every(present)) {
        e.chunks = before.chunks;
        onBytes(e.size ?? 0);
      } else {
        toRead.push(e);
      }
    }
    const stored = await chunks.storeFiles(
      toRead.map((e) => ({ path: path.join(root, e.path), size: e.size ?? 0 })),
      onBytes,
      ctx.signal,
    );
    toRead.forEach((e, i) => {
      e.chunks = stored[i]!.chunks;
      e.size = stored[i]!.bytes;
    });
    await chunks.commit();
  } catch (err) {
    await chunks.abandon();
    throw err;
  }
  const bytes = files.reduce((n, e) => n + (e.size ?? 0), 0);
  const manifest: Manifest = {
    version: 1,
    root,
    entries,
    files: files.length,
    bytes,
  };
  await ctx.section.updateObject(MANIFEST, manifest);
  await deps.bank.updateObject(lastProtectKey(ctx), { checkpoint_id: ctx.checkpointId });
}

/**
 * How a restore's temporary files start: tagged with the restore and resource, so a retry
 * can remove what a dead attempt left (it would otherwise stay in the restored tree).
 */
export function restoreTempPrefix(restoreId: string, resourceId: string): string {
  return `.karbor-restore-${sha256(Buffer.from(`${restoreId}/${resourceId}`)).slice(0, 12)}-`;
}

async function restore(deps: DataPluginDeps, ctx: HookContext): Promise<void> {
  const manifest = await ctx.section.getObject<Manifest>(MANIFEST);
  const target = ctx.restoreTarget ?? manifest.root;
  if (!path.isAbsolute(target))
    throw new TreeError(`restore target ${target} is not an absolute path`);
  for (const e of manifest.entries) checkEntryPath(e.path);
  await checkTarget(target, manifest.entries);
  await fs.promises.mkdir(target, { recursive: true });

  const chunks = resourceChunks(deps, ctx);
  const onBytes = progress(ctx, manifest.bytes);
  const ofType = (t: TreeEntry['type']) => manifest.entries.filter((e) => e.type === t);
  for (const e of ofType('dir'))
    await fs.promises.mkdir(path.join(target, e.path), { recursive: true });
  const tmpPrefix = restoreTempPrefix(ctx.operationId, ctx.resource.id);
  if (ctx.attempt > 1) {
    for (const dir of ['.', ...ofType('dir').map((e) => e.path)]) {
      const names = await fs.promises.readdir(path.join(target, dir));
      for (const name of names.filter((n) => n.startsWith(tmpPrefix))) {
        await fs.promises.rm(path.join(target, dir, name), { force: true });
      }
    }
  }
  const files = ofType('file').map((e) => ({
    entry: e,
    dest: path.join(target, e.path),
    tmp: path.join(target, path.dirname(e.path), tmpPrefix + randomBytes(6).toString('hex')),
  }));
  try {
    // Written beside their places, flushed together, then renamed in: a failed restore
    // leaves no half-written file under a real name.
    const flusher = new EarlyFlusher(target);
    await chunks.restoreFiles(
      files.map(({ entry, tmp }) => ({ tmp, chunks: entry.chunks ?? [], size: entry.size ?? 0 })),
      (n) => {
        onBytes(n);
        flusher.wrote(n);
      },
      ctx.signal,
    );
    await flusher.settle();
    await flushToDisk(files.map((f) => f.tmp));
  } catch (err) {
    await Promise.all(files.map(({ tmp }) => fs.promises.rm(tmp, { force: true })));
    if (err instanceof DamagedFileError) {
      throw new HookFailedError(
        `file ${files[err.file]!.entry.path}: chunk ${err.hash} is ${err.why}`,
        true,
      );
    }
    throw err;
  }
  for (let i = 0; i < files.length; i += RENAMES_IN_FLIGHT) {
    await Promise.all(
      files.slice(i, i + RENAMES_IN_FLIGHT).map(({ tmp, dest }) => fs.promises.rename(tmp, dest)),
    );
  }
  for (const e of ofType('symlink')) {
    const dest = path.join(target, e.path);
    await fs.promises.rm(dest, { force: true });
    await fs.promises.symlink(e.target ?? '', dest);
  }
  // Modes and times last: files and links a few at a time, then directories deepest first,
  // so nothing written afterwards disturbs a parent's mtime.
  const others = manifest.entries.filter((e) => e.type !== 'dir');
  for (let i = 0; i < others.length; i += RENAMES_IN_FLIGHT) {
    await Promise.all(others.slice(i, i + RENAMES_IN_FLIGHT).map((e) => setMeta(target, e)));
  }
  for (const e of ofType('dir').reverse()) await setMeta(target, e);
  // The new names, links, modes and times, durable before the restore reports success.
  await flushToDisk(
    manifest.entries.map((e) => path.join(target, e.path)),
    { entriesOnly: true },
  );
}

async function setMeta(target: string, e: TreeEntry): Promise<void> {
  const dest = path.join(target, e.path);
  // Seconds as a float keep sub-millisecond precision that a Date would drop.
  const when = e.mtime_ms / 1000;
  if (e.type === 'symlink') {
    await fs.promises.lutimes(dest, when, when);
  } else {
    await fs.promises.chmod(dest, e.mode);
    await fs.promises.utimes(dest, when, when);
  }
}

async function verify(deps: DataPluginDeps, ctx: HookContext): Promise<void> {
  const manifest = await ctx.section.getObject<Manifest>(MANIFEST);
  const chunks = resourceChunks(deps, ctx);
  const onBytes = progress(ctx, manifest.bytes);
  const files = manifest.entries.filter((e) => e.chunks && e.chunks.length > 0);
  const all = files.flatMap((e) => e.chunks!);
  const owner = files.flatMap((e) => e.chunks!.map(() => e.path));
  const damaged = await chunks.checkChunks(all, onBytes, ctx.signal);
  const problems = damaged.map((d) => `file ${owner[d.index]}: chunk ${d.hash} is ${d.why}`);
  if (problems.length > 0) {
    throw new HookFailedError(
      `${problems.length} damaged chunk(s): ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; …' : ''}`,
      true,
    );
  }
}

async function remove(deps: DataPluginDeps, ctx: HookContext): Promise<void> {
  // Without a manifest (protect never got that far) its attempts' claims still go.
  const manifest = await manifestToRelease<Manifest>(ctx, MANIFEST);
  await resourceChunks(deps, ctx).releaseAll(manifest?.entries.flatMap((e) => e.chunks ?? []));
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
    description: 'A directory tree: files, directories, symlinks (as links), modes and mtimes',
    schemas: {
      options: { type: 'object', properties: {}, additionalProperties: false },
      restore: { type: 'object', properties: {}, additionalProperties: false },
      savedInfo: {
        type: 'object',
        properties: { files: { type: 'integer' }, bytes: { type: 'integer' } },
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
    operations: {
      protect: { onMain: (ctx) => protect(deps, ctx) },
      restore: { onMain: (ctx) => restore(deps, ctx) },
      verify: { onMain: (ctx) => verify(deps, ctx) },
      delete: { onMain: (ctx) => remove(deps, ctx) },
    },
  };
}
