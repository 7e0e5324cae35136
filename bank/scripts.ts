import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Redis } from 'ioredis';
import { writeDurably } from './replica-wait';

/**
 * The bank's Lua scripts (bank/lua/*.lua, copied beside the build), each registered on a
 * client with `defineCommand` so calls go by EVALSHA with automatic reload. Every script gets
 * the shared prelude lib/lease.lua.
 */
const SCRIPT_FILES = {
  putObject: 'put-object',
  deleteObject: 'delete-object',
  createCheckpoint: 'create-checkpoint',
  transitionStatus: 'transition-status',
  setResourceStatus: 'set-resource-status',
  purgeCheckpoint: 'purge-checkpoint',
  leaseAcquire: 'lease-acquire',
  leaseRenew: 'lease-renew',
  leaseRelease: 'lease-release',
  leaseCheck: 'lease-check',
  readCheckpoints: 'read-checkpoints',
  listCheckpoints: 'list-checkpoints',
  createRecord: 'create-record',
  deleteRecord: 'delete-record',
  claimChunks: 'claim-chunks',
  releaseChunks: 'release-chunks',
  appendEvent: 'append-event',
  sweepChunks: 'sweep-chunks',
  recordMeasurements: 'record-measurements',
  moveBlobs: 'move-blobs',
} as const;

export type ScriptName = keyof typeof SCRIPT_FILES;

/** Scripts that only read, or write what a failover may lose (the operation log, measurements). */
const NOT_WAITED: ReadonlySet<ScriptName> = new Set([
  'leaseCheck',
  'readCheckpoints',
  'listCheckpoints',
  'appendEvent',
  'recordMeasurements',
]);

/** Every script answers a list whose first element says what happened. */
export type ScriptReply = [string, ...string[]];

type Caller = (keys: string[], args: (string | number)[]) => Promise<ScriptReply>;
export type BankScripts = Record<ScriptName, Caller>;

let sources: Record<ScriptName, string> | undefined;

function loadSources(): Record<ScriptName, string> {
  if (!sources) {
    const dir = path.join(__dirname, 'lua');
    const prelude = fs.readFileSync(path.join(dir, 'lib', 'lease.lua'), 'utf8');
    const out: Partial<Record<ScriptName, string>> = {};
    for (const [name, file] of Object.entries(SCRIPT_FILES) as [ScriptName, string][]) {
      out[name] = `${prelude}\n${fs.readFileSync(path.join(dir, `${file}.lua`), 'utf8')}`;
    }
    sources = out as Record<ScriptName, string>;
  }
  return sources;
}

const registered = new WeakMap<Redis, BankScripts>();

/** The bank's scripts on one client, registered once per client. */
export function bankScripts(redis: Redis): BankScripts {
  const existing = registered.get(redis);
  if (existing) return existing;
  const callers: Partial<BankScripts> = {};
  for (const [name, lua] of Object.entries(loadSources()) as [ScriptName, string][]) {
    const command = `karbor_${name}`;
    redis.defineCommand(command, { lua });
    const fn = (
      redis as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>
    )[command]!.bind(redis);
    callers[name] = NOT_WAITED.has(name)
      ? async (keys, args) => (await fn(keys.length, ...keys, ...args)) as ScriptReply
      : (keys, args) =>
          writeDurably<ScriptReply>(
            redis,
            (pipeline) =>
              (pipeline as unknown as Record<string, (...a: (string | number)[]) => unknown>)[
                command
              ]!(keys.length, ...keys, ...args),
            name,
            keys[0],
          );
  }
  const scripts = callers as BankScripts;
  registered.set(redis, scripts);
  return scripts;
}
