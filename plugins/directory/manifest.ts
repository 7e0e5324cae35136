// A directory tree's manifest as the bank keeps it, and the check that a manifest read back
// from the bank (which an attacker may have written) describes one tree that fits inside a
// restore target: run as a whole before anything is written. Pure code.
import { KarborError } from '../../common/errors';

export type EntryType = 'dir' | 'file' | 'symlink' | 'fifo' | 'char' | 'block';
const ENTRY_TYPES: readonly string[] = ['dir', 'file', 'symlink', 'fifo', 'char', 'block'];

/** One extended attribute; the value in base64. */
export interface Xattr {
  name: string;
  value: string;
}

/** Ownership, mode, times and attributes: what an entry (or the root) carries besides data. */
export interface EntryMeta {
  /** Permission bits (0o7777). */
  mode: number;
  uid?: number;
  gid?: number;
  /** Names as the protecting host knew them (restore uses the numbers). */
  user?: string;
  group?: string;
  /** Nanoseconds since the epoch, as a decimal string (more than a double holds). */
  mtime_ns?: string;
  /** Milliseconds (manifest v1 kept only these). */
  mtime_ms: number;
  xattrs?: Xattr[];
}

export interface ManifestEntry extends EntryMeta {
  /** Relative, `/`-separated, when the bytes are UTF-8; else `path_b64`. */
  path?: string;
  path_b64?: string;
  type: EntryType;
  size?: number;
  /** With size, mtime and ino, what tells an unchanged file (its chunks are reused unread). */
  ctime_ns?: string;
  ctime_ms?: number;
  ino?: number;
  chunks?: string[];
  /** A sparse file's data regions as [offset, length]; everything else is a hole. */
  extents?: [number, number][];
  /** A symlink's target, kept as bytes: never followed. */
  target?: string;
  target_b64?: string;
  /** A hard link: the path of an earlier file entry sharing its inode (no chunks here). */
  link?: string;
  link_b64?: string;
  /** A device node's numbers. */
  rdev?: [number, number];
}

export interface Manifest {
  /** 1: paths, modes, ms mtimes, file data and symlinks only; 2: everything here. */
  version: 1 | 2;
  root: string;
  /** The protected directory's own metadata (version 2). */
  root_meta?: EntryMeta;
  entries: ManifestEntry[];
  files: number;
  bytes: number;
}

/** Thrown when a tree cannot be protected or restored safely. */
export class TreeError extends KarborError {
  readonly code = 'TREE_REFUSED';
  readonly permanent = true;
}

/** Linux's limits: a name is at most NAME_MAX bytes, a path fits PATH_MAX with its NUL. */
export const NAME_MAX = 255;
export const PATH_MAX = 4095;
const XATTR_NAME_MAX = 255;
const XATTR_VALUE_MAX = 64 * 1024;
const CHUNK_NAME = /^[0-9a-f]{64}$/;
const DECIMAL = /^-?[0-9]{1,20}$/;

/** The JSON fields of a byte string: text when it is UTF-8, else base64. */
export function bytesFields<K extends 'path' | 'target' | 'link'>(
  key: K,
  bytes: Buffer,
): Partial<Record<K | `${K}_b64`, string>> {
  const text = bytes.toString('utf8');
  const out: Partial<Record<string, string>> = {};
  if (Buffer.from(text, 'utf8').equals(bytes)) out[key] = text;
  else out[`${key}_b64`] = bytes.toString('base64');
  return out;
}

function fieldBytes(entry: object, key: string): Buffer | undefined {
  const rec = entry as Record<string, unknown>;
  const text = rec[key];
  const b64 = rec[`${key}_b64`];
  if (text !== undefined && b64 !== undefined) throw new Error(`both ${key} and ${key}_b64`);
  if (typeof text === 'string') return Buffer.from(text, 'utf8');
  if (text !== undefined) throw new Error(`${key} is not a string`);
  if (typeof b64 === 'string') {
    const bytes = Buffer.from(b64, 'base64');
    if (bytes.toString('base64') !== b64) throw new Error(`${key}_b64 is not canonical base64`);
    return bytes;
  }
  if (b64 !== undefined) throw new Error(`${key}_b64 is not a string`);
  return undefined;
}

/** How an entry is named in messages: short, printable, never the whole of a huge name. */
export function showPath(bytes: Buffer): string {
  const text = JSON.stringify(bytes.subarray(0, 120).toString('utf8'));
  return bytes.length > 120 ? `${text.slice(0, -1)}…" (${bytes.length} bytes)` : text;
}

/** An entry that passed the check, with its path as bytes split for the *at calls. */
export interface CheckedEntry {
  entry: ManifestEntry;
  /** The whole relative path. */
  rel: Buffer;
  /** The parent directory's relative path (empty: the root). */
  parent: Buffer;
  /** The last component. */
  name: Buffer;
  /** For a hard link: the checked entry it links to. */
  linkTo?: CheckedEntry;
  /** A symlink's target. */
  target?: Buffer;
  /** Printable path for messages. */
  shown: string;
}

function checkPathBytes(p: Buffer): void {
  if (p.length === 0) throw new Error('empty path');
  if (p.length > PATH_MAX) throw new Error(`path of ${p.length} bytes (at most ${PATH_MAX})`);
  if (p.includes(0)) throw new Error('NUL byte in path');
  if (p[0] === 0x2f) throw new Error('absolute path');
  for (const seg of splitPath(p)) {
    if (seg.length === 0) throw new Error('empty path segment');
    if (seg.length > NAME_MAX) throw new Error(`name of ${seg.length} bytes (at most ${NAME_MAX})`);
    const s = seg.toString('latin1');
    if (s === '.' || s === '..') throw new Error(`"${s}" segment`);
  }
}

export function splitPath(p: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= p.length; i++) {
    if (i === p.length || p[i] === 0x2f) {
      out.push(p.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
}

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** Ownership, mode, times and xattrs: shared by entries and the root. */
export function checkMeta(m: EntryMeta, what: string): void {
  if (!isInt(m.mode, 0, 0o7777)) throw new Error(`${what}mode is not permission bits`);
  for (const k of ['uid', 'gid'] as const) {
    if (m[k] !== undefined && !isInt(m[k], 0, 0xfffffffe)) throw new Error(`${what}bad ${k}`);
  }
  if (m.mtime_ns !== undefined && (typeof m.mtime_ns !== 'string' || !DECIMAL.test(m.mtime_ns)))
    throw new Error(`${what}bad mtime_ns`);
  if (typeof m.mtime_ms !== 'number' || !Number.isFinite(m.mtime_ms))
    throw new Error(`${what}bad mtime_ms`);
  if (m.xattrs !== undefined) {
    if (!Array.isArray(m.xattrs)) throw new Error(`${what}xattrs is not a list`);
    for (const x of m.xattrs) {
      if (typeof x?.name !== 'string' || x.name.length === 0 || x.name.includes('\0'))
        throw new Error(`${what}bad xattr name`);
      if (Buffer.byteLength(x.name) > XATTR_NAME_MAX) throw new Error(`${what}xattr name too long`);
      if (typeof x.value !== 'string') throw new Error(`${what}bad xattr value`);
      if (Buffer.from(x.value, 'base64').length > XATTR_VALUE_MAX)
        throw new Error(`${what}xattr ${x.name} larger than ${XATTR_VALUE_MAX} bytes`);
    }
  }
}

function checkFile(e: ManifestEntry): void {
  if (!isInt(e.size, 0, Number.MAX_SAFE_INTEGER)) throw new Error('file without a valid size');
  if (e.chunks !== undefined) {
    if (
      !Array.isArray(e.chunks) ||
      !e.chunks.every((c) => typeof c === 'string' && CHUNK_NAME.test(c))
    )
      throw new Error('bad chunk list');
  }
  if (e.extents !== undefined) {
    if (!Array.isArray(e.extents)) throw new Error('extents is not a list');
    let end = 0;
    for (const x of e.extents) {
      if (!Array.isArray(x) || !isInt(x[0], end, e.size) || !isInt(x[1], 1, e.size - x[0]))
        throw new Error('extents overlap, are out of order or reach past the size');
      end = x[0] + x[1];
    }
  }
}

/**
 * Checks a whole manifest: every entry well formed; paths unique, relative, without `.`,
 * `..` or empty segments, names within NAME_MAX; every entry's parent an earlier directory
 * entry (so nothing lies below a symlink, a file or a device); hard links naming an earlier
 * file. Throws TreeError naming the first entry at fault; returns the entries with their
 * paths as bytes.
 */
export function checkManifest(m: Manifest): CheckedEntry[] {
  if (typeof m !== 'object' || m === null || (m.version !== 1 && m.version !== 2))
    throw new TreeError('refusing manifest: unknown version');
  if (!Array.isArray(m.entries)) throw new TreeError('refusing manifest: no entry list');
  if (m.root_meta !== undefined) {
    try {
      checkMeta(m.root_meta, 'root: ');
    } catch (err) {
      throw new TreeError(`refusing manifest: ${(err as Error).message}`);
    }
  }
  const seen = new Map<string, CheckedEntry>();
  const out: CheckedEntry[] = [];
  m.entries.forEach((e, index) => {
    let shown = `#${index}`;
    try {
      if (typeof e !== 'object' || e === null) throw new Error('not an object');
      const rel = fieldBytes(e, 'path');
      if (!rel) throw new Error('no path');
      shown = showPath(rel);
      checkPathBytes(rel);
      if (!ENTRY_TYPES.includes(e.type)) throw new Error(`unknown type ${JSON.stringify(e.type)}`);
      checkMeta(e, '');
      const key = rel.toString('latin1');
      if (seen.has(key)) throw new Error('listed twice');
      const cut = rel.lastIndexOf(0x2f);
      const parent = cut < 0 ? Buffer.alloc(0) : rel.subarray(0, cut);
      if (cut >= 0) {
        const p = seen.get(parent.toString('latin1'));
        if (!p) throw new Error(`its parent ${showPath(parent)} is not an earlier directory entry`);
        if (p.entry.type !== 'dir')
          throw new Error(`its parent ${showPath(parent)} is a ${p.entry.type}, not a directory`);
      }
      const checked: CheckedEntry = { entry: e, rel, parent, name: rel.subarray(cut + 1), shown };
      if (e.type === 'file') {
        const link = fieldBytes(e, 'link');
        if (link) {
          const to = seen.get(link.toString('latin1'));
          if (!to || to.entry.type !== 'file' || to.linkTo)
            throw new Error(`hard link to ${showPath(link)}, which is not an earlier file entry`);
          if (e.chunks !== undefined) throw new Error('a hard link with its own data');
          checked.linkTo = to;
        } else {
          checkFile(e);
        }
      } else if (e.chunks !== undefined || e.extents !== undefined) {
        throw new Error(`a ${e.type} with file data`);
      } else if (fieldBytes(e, 'link')) {
        throw new Error(`a ${e.type} as a hard link`);
      }
      if (e.type === 'symlink') {
        const target = fieldBytes(e, 'target');
        if (!target || target.length === 0 || target.length > PATH_MAX || target.includes(0))
          throw new Error('symlink without a valid target');
        checked.target = target;
      }
      if (e.type === 'char' || e.type === 'block') {
        const r = e.rdev;
        if (!Array.isArray(r) || !isInt(r[0], 0, 0xfffff) || !isInt(r[1], 0, 0xfffff))
          throw new Error('device without valid numbers');
      }
      seen.set(key, checked);
      out.push(checked);
    } catch (err) {
      throw new TreeError(`refusing manifest entry ${shown}: ${(err as Error).message}`);
    }
  });
  return out;
}

/** Nanoseconds since the epoch, from the manifest (v2) or its milliseconds (v1). */
export function mtimeNs(m: EntryMeta): bigint {
  if (m.mtime_ns !== undefined) return BigInt(m.mtime_ns);
  return BigInt(Math.round(m.mtime_ms * 1e6));
}
