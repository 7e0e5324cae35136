// Karbor::Directory: a directory tree (resource id = its absolute path). Protect stores every
// file's bytes in the provider's chunk store and the tree in a manifest in the bank;
// restore rebuilds it at the original path or a target, checking every chunk's hash.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HookFailedError } from '../../common/errors';
import { resourceDataPrefix, resourceSectionName } from '../../bank/keys';
import type { GraphResource } from '../../graph/resource-graph';
import { ChunkError } from '../chunk-store/chunk-store';
import { ProviderChunks } from '../chunk-store/provider-store';
import type { DataPluginDeps } from '../chunk-store/provider-store';
import type { HookContext, ResourcePlugin } from '../types';
import { checkEntryPath, checkTarget, TreeError, walk } from './tree';
import type { Manifest, TreeEntry } from './tree';

export const DIRECTORY_TYPE = 'Karbor::Directory';
const MANIFEST = 'manifest.json';
const FILES_IN_FLIGHT = 4;
const SMALL_FILE = 1024 * 1024;

function chunksFor(deps: DataPluginDeps, ctx: HookContext): ProviderChunks {
  // One owner per checkpoint resource: deleting the checkpoint releases exactly its uses.
  return new ProviderChunks(
    deps,
    ctx.providerId,
    `${ctx.checkpointId}/${ctx.resource.type}/${ctx.resource.id}`,
  );
}

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
  const chunks = chunksFor(deps, ctx);
  const entries = await walk(root);
  const parent = await parentManifest(deps, ctx);
  const total = entries.reduce((n, e) => n + (e.size ?? 0), 0);
  const onBytes = progress(ctx, total);
  let bytes = 0;
  const files = entries.filter((e) => e.type === 'file');
  // A few files at once: one reads or writes while another is being chunked and hashed.
  let next = 0;
  const protectFile = async (e: TreeEntry) => {
    const before = parent.get(e.path);
    // Like restic's parent snapshot: a file whose size, mtime, ctime and inode did not
    // change keeps its chunks without being read again.
    if (unchanged(e, before) && (await chunks.reuse(before.chunks!))) {
      e.chunks = before.chunks;
      onBytes(e.size ?? 0);
    } else {
      const file = path.join(root, e.path);
      // Small files in one read here; large ones are chunked and hashed on a pool thread.
      const stored =
        (e.size ?? 0) <= SMALL_FILE
          ? await chunks.storeStream([await fs.promises.readFile(file)], onBytes)
          : await chunks.storeFile(file, onBytes);
      e.chunks = stored.chunks;
      e.size = stored.bytes;
    }
    bytes += e.size ?? 0;
  };
  try {
    await Promise.all(
      Array.from({ length: FILES_IN_FLIGHT }, async () => {
        while (next < files.length) await protectFile(files[next++]!);
      }),
    );
    await chunks.commit();
  } catch (err) {
    await chunks.abandon();
    throw err;
  }
  const manifest: Manifest = {
    version: 1,
    root,
    entries,
    files: entries.filter((e) => e.type === 'file').length,
    bytes,
  };
  await ctx.section.updateObject(MANIFEST, manifest);
  await deps.bank.updateObject(lastProtectKey(ctx), { checkpoint_id: ctx.checkpointId });
}

async function restore(deps: DataPluginDeps, ctx: HookContext): Promise<void> {
  const manifest = await ctx.section.getObject<Manifest>(MANIFEST);
  const target = ctx.restoreTarget ?? manifest.root;
  if (!path.isAbsolute(target))
    throw new TreeError(`restore target ${target} is not an absolute path`);
  for (const e of manifest.entries) checkEntryPath(e.path);
  await checkTarget(target, manifest.entries);
  await fs.promises.mkdir(target, { recursive: true });

  const chunks = chunksFor(deps, ctx);
  const onBytes = progress(ctx, manifest.bytes);
  const ofType = (t: TreeEntry['type']) => manifest.entries.filter((e) => e.type === t);
  for (const e of ofType('dir'))
    await fs.promises.mkdir(path.join(target, e.path), { recursive: true });
  const files = ofType('file');
  const written: { tmp: string; dest: string }[] = [];
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: FILES_IN_FLIGHT }, async () => {
        while (next < files.length) {
          const e = files[next++]!;
          written.push(await writeFile(chunks, e, path.join(target, e.path), onBytes));
        }
      }),
    );
  } catch (err) {
    await Promise.all(written.map(({ tmp }) => fs.promises.rm(tmp, { force: true })));
    throw err;
  }
  await placeFiles(written);
  for (const e of ofType('symlink')) {
    const dest = path.join(target, e.path);
    await fs.promises.rm(dest, { force: true });
    await fs.promises.symlink(e.target ?? '', dest);
  }
  // Modes and times last, deepest first, so writing children does not disturb parents.
  for (const e of [...manifest.entries].reverse()) {
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
}

/** Writes a file beside its place and renames it in, so a failed restore leaves no half file. */
/**
 * Writes a file beside its place; the caller fsyncs and renames it in (`placeFiles`), so a
 * failed restore leaves no half file under a real name.
 */
async function writeFile(
  chunks: ProviderChunks,
  e: TreeEntry,
  dest: string,
  onBytes: (n: number) => void,
): Promise<{ tmp: string; dest: string }> {
  const tmp = path.join(path.dirname(dest), `.karbor-restore-${randomBytes(6).toString('hex')}`);
  const fh = await fs.promises.open(tmp, 'w', 0o600);
  try {
    for await (const data of chunks.readStream(e.chunks ?? [])) {
      await fh.write(data);
      onBytes(data.length);
    }
  } catch (err) {
    await fh.close();
    await fs.promises.rm(tmp, { force: true });
    if (err instanceof ChunkError) {
      throw new HookFailedError(`file ${e.path}: chunk ${err.hash} is ${err.why}`, true);
    }
    throw err;
  }
  await fh.close();
  return { tmp, dest };
}

/** fsyncs written files together (the disk batches them), then renames each into place. */
async function placeFiles(written: { tmp: string; dest: string }[]): Promise<void> {
  for (let i = 0; i < written.length; i += 16) {
    await Promise.all(
      written.slice(i, i + 16).map(async ({ tmp, dest }) => {
        const fh = await fs.promises.open(tmp, 'r');
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
        await fs.promises.rename(tmp, dest);
      }),
    );
  }
}

async function verify(deps: DataPluginDeps, ctx: HookContext): Promise<void> {
  const manifest = await ctx.section.getObject<Manifest>(MANIFEST);
  const chunks = chunksFor(deps, ctx);
  const onBytes = progress(ctx, manifest.bytes);
  const problems: string[] = [];
  for (const e of manifest.entries) {
    for (const hash of e.chunks ?? []) {
      try {
        onBytes((await chunks.store.get(hash)).length);
      } catch (err) {
        if (!(err instanceof ChunkError)) throw err;
        problems.push(`file ${e.path}: chunk ${hash} is ${err.why}`);
      }
    }
  }
  if (problems.length > 0) {
    throw new HookFailedError(
      `${problems.length} damaged chunk(s): ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; …' : ''}`,
      true,
    );
  }
}

async function remove(deps: DataPluginDeps, ctx: HookContext): Promise<void> {
  const manifest = await ctx.section.getObject<Manifest>(MANIFEST).catch(() => undefined);
  if (!manifest) return; // protect never got as far as a manifest: nothing to release
  await chunksFor(deps, ctx).release(manifest.entries.flatMap((e) => e.chunks ?? []));
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
