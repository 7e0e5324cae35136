import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Redis } from 'ioredis';

/** Lua scripts of the bank, one file each under bank/lua (copied beside the build). */
const SCRIPTS = ['create-checkpoint', 'transition-checkpoint'] as const;
type ScriptName = (typeof SCRIPTS)[number];

export type TransitionReply = ['ok' | 'same' | 'conflict' | 'missing', string];

/** The typed face of the commands `defineBankScripts` adds to an ioredis client. */
export interface BankScripts {
  createCheckpoint(keys: string[], args: string[]): Promise<number>;
  transitionCheckpoint(stateKey: string, args: string[]): Promise<TransitionReply>;
}

function luaDir(): string {
  // Compiled code runs from dist/bank; the .lua sources are copied there by the build.
  return path.join(__dirname, 'lua');
}

function camel(name: ScriptName): string {
  return name.replace(/-(\w)/g, (_m, c: string) => c.toUpperCase());
}

const loaded = new WeakSet<Redis>();

/** Registers the bank's scripts on a client once (EVALSHA with automatic reload). */
export function defineBankScripts(redis: Redis): BankScripts {
  if (!loaded.has(redis)) {
    for (const name of SCRIPTS) {
      const lua = fs.readFileSync(path.join(luaDir(), `${name}.lua`), 'utf8');
      redis.defineCommand(camel(name), { lua });
    }
    loaded.add(redis);
  }
  const r = redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  return {
    createCheckpoint: (keys, args) =>
      r.createCheckpoint!(keys.length, ...keys, ...args) as Promise<number>,
    transitionCheckpoint: (stateKey, args) =>
      r.transitionCheckpoint!(1, stateKey, ...args) as Promise<TransitionReply>,
  };
}
