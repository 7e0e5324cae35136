import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError } from './errors';
import { checkHostName, isHostName } from '../graph/host-pinning';
import { parseRedisUrl } from './redis-url';
import { temporalProfile } from './temporal-profile';
import type { TemporalSecurity } from './temporal-profile';
import {
  DEFAULT_HOST_WAIT_SECONDS,
  DEFAULT_NAMESPACE,
  DEFAULT_TASK_QUEUE,
} from '../temporal-config/names';
import settings from '../temporal-config/dev-server.json';
import type { LeaseSettings } from '../bank/leases';
import { DEFAULT_LEASE_SETTINGS } from '../bank/leases';

/** Everything a worker or client needs to know about where things are (DESIGN.md section 8). */
/** Where local repositories live when KARBOR_DATA_DIR is not set. */
export const DEFAULT_DATA_DIR = path.join(__dirname, '..', '..', '.run', 'data');

/** The providers shipped with the project, used when KARBOR_PROVIDERS_DIR is not set. */
export const DEFAULT_PROVIDERS_DIR = path.join(__dirname, '..', '..', 'providers.d');

export interface KarborConfig {
  temporalAddress: string;
  namespace: string;
  /**
   * TLS, API key and gRPC headers, from Temporal's standard client configuration
   * (`TEMPORAL_TLS_*`, `TEMPORAL_API_KEY`, a `temporal.toml` profile): see temporal-profile.ts.
   */
  temporal?: TemporalSecurity;
  taskQueue: string;
  redisUrl: string;
  bankPrefix: string;
  projectId: string;
  /** KARBOR_ADMIN=1: the caller may list all tenants' checkpoints, reset states, run GC. */
  admin: boolean;
  providersDir?: string;
  dataDir?: string;
  /** KARBOR_CHUNK_THREADS: threads that move file bytes (default: one per core). */
  chunkThreads?: number;
  /** KARBOR_LEASE_*_MS: write-lease windows of checkpoints under construction. */
  leases: LeaseSettings;
  /** Garbage collection: how often it runs and how long unreferenced data is kept. */
  gc: GcSettings;
  /** Where the Temporal and Redis endpoints came from, for `--help` and error messages. */
  endpointsFrom?: string;
  /** KARBOR_METRICS_ADDRESS (host:port): the worker's /metrics, /healthz and /readyz. */
  metricsAddress?: string;
  /** KARBOR_LOG_FORMAT: `json` for one JSON object per line, else readable text. */
  logFormat?: 'text' | 'json';
  /**
   * KARBOR_WORKER_HOST (default: the machine's host name): the host whose pinned resources
   * this worker protects, from the `<queue>@<host>` task queue besides the shared one.
   */
  workerHost?: string;
  /** KARBOR_HOST_WAIT_S: how long a pinned hook waits for a worker of its host, then fails. */
  hostWaitSeconds?: number;
}

/** `host:port` with a port in range; the host may be empty (all interfaces). */
export function checkListenAddress(raw: string, name: string): string {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]*):(\d{1,5})$/.exec(raw);
  if (!m || Number(m[2]) > 65535) {
    throw new InvalidArgumentError(`${name} must be host:port (e.g. 0.0.0.0:9464), got ${raw}`);
  }
  return raw;
}

/**
 * The ports of the dev stack `npm run dev:up` started for this checkout (KARBOR_RUN_DIR,
 * else `.run/` of the checkout), so the CLI and a hand-started worker find it without
 * exported addresses.
 */
function devStack(env: NodeJS.ProcessEnv): { temporal?: string; redis?: string; file: string } {
  const file = path.join(
    env.KARBOR_RUN_DIR || path.join(__dirname, '..', '..', '.run'),
    'dev.json',
  );
  try {
    const s = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      temporal?: { port: number };
      redis?: { port: number };
    };
    return {
      file,
      ...(s.temporal ? { temporal: `${settings.ip}:${s.temporal.port}` } : {}),
      ...(s.redis ? { redis: `redis://${settings.ip}:${s.redis.port}` } : {}),
    };
  } catch {
    return { file };
  }
}

export interface GcSettings {
  /** KARBOR_GC_INTERVAL_S: the `karbor-gc` Schedule's interval. */
  intervalSeconds: number;
  /**
   * KARBOR_GC_GRACE_S: an unreferenced chunk (or leftover temporary file) is removed only
   * after this long, far longer than Redis's fsync window, so a bank that rolls back a
   * second or two never names a chunk that is gone.
   */
  graceSeconds: number;
}

export const DEFAULT_GC_SETTINGS: GcSettings = { intervalSeconds: 600, graceSeconds: 3600 };

/** A positive whole number from the environment, or one clear error naming the variable. */
function intVar(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(
      `environment variable ${name} must be a whole number from ${min} to ${max}, not "${raw}"`,
    );
  }
  return n;
}

/** A Redis URL (from REDIS_URL or --redis-url), checked: one clear error otherwise. */
export function checkRedisUrl(raw: string, name = 'environment variable REDIS_URL'): string {
  parseRedisUrl(raw, name);
  return raw;
}

/** KARBOR_ADMIN: 1/true or 0/false (unset: not admin); anything else is a mistake. */
function adminVar(env: NodeJS.ProcessEnv): boolean {
  const raw = (env.KARBOR_ADMIN ?? '').trim().toLowerCase();
  if (raw === '' || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new InvalidArgumentError(
    `environment variable KARBOR_ADMIN must be 1, true, 0 or false, not "${env.KARBOR_ADMIN}"`,
  );
}

function leaseSettings(env: NodeJS.ProcessEnv): LeaseSettings {
  const d = DEFAULT_LEASE_SETTINGS;
  const expireWindowMs = intVar(env, 'KARBOR_LEASE_EXPIRE_MS', d.expireWindowMs, 1000);
  const renewWindowMs = intVar(
    env,
    'KARBOR_LEASE_RENEW_MS',
    Math.min(d.renewWindowMs, Math.floor(expireWindowMs / 2)),
    100,
  );
  const validityWindowMs = intVar(
    env,
    'KARBOR_LEASE_VALIDITY_MS',
    Math.min(d.validityWindowMs, expireWindowMs),
    100,
  );
  if (validityWindowMs <= renewWindowMs || validityWindowMs > expireWindowMs) {
    throw new InvalidArgumentError(
      `KARBOR_LEASE_VALIDITY_MS (${validityWindowMs}) must be longer than KARBOR_LEASE_RENEW_MS (${renewWindowMs}) and at most KARBOR_LEASE_EXPIRE_MS (${expireWindowMs})`,
    );
  }
  if (renewWindowMs >= expireWindowMs) {
    throw new InvalidArgumentError(
      `KARBOR_LEASE_RENEW_MS (${renewWindowMs}) must be shorter than KARBOR_LEASE_EXPIRE_MS (${expireWindowMs})`,
    );
  }
  return { expireWindowMs, renewWindowMs, validityWindowMs };
}

function logFormatVar(env: NodeJS.ProcessEnv): 'text' | 'json' {
  const v = env.KARBOR_LOG_FORMAT || 'text';
  if (v !== 'text' && v !== 'json') {
    throw new InvalidArgumentError(`KARBOR_LOG_FORMAT must be text or json, got ${v}`);
  }
  return v;
}

/**
 * Reads the configuration from an environment. Called once by each entry point (worker,
 * CLI, scripts); nothing below them reads process.env. A malformed value is an error that
 * names the variable, never silently replaced by a default.
 */
export function configFromEnv(env: NodeJS.ProcessEnv): KarborConfig {
  const profile = temporalProfile(env);
  const dev = profile.address && env.REDIS_URL ? undefined : devStack(env);
  const from = (variable: string, fromDev: boolean) =>
    env[variable] ? variable : fromDev ? dev!.file : 'the default';
  const temporalFrom = env.TEMPORAL_ADDRESS
    ? 'TEMPORAL_ADDRESS'
    : profile.address
      ? profile.source
      : dev?.temporal
        ? dev.file
        : 'the default';
  const cfg: KarborConfig = {
    temporalAddress: profile.address || dev?.temporal || `${settings.ip}:${settings.port}`,
    namespace: profile.namespace || DEFAULT_NAMESPACE,
    ...(profile.security ? { temporal: profile.security } : {}),
    taskQueue: env.KARBOR_TASK_QUEUE || DEFAULT_TASK_QUEUE,
    redisUrl: env.REDIS_URL
      ? checkRedisUrl(env.REDIS_URL)
      : (dev?.redis ?? `redis://${settings.ip}:${settings.redisPort}`),
    bankPrefix: env.KARBOR_BANK_PREFIX || 'karbor',
    projectId: env.KARBOR_PROJECT_ID || 'default',
    admin: adminVar(env),
    leases: leaseSettings(env),
    gc: {
      intervalSeconds: intVar(env, 'KARBOR_GC_INTERVAL_S', DEFAULT_GC_SETTINGS.intervalSeconds),
      graceSeconds: intVar(env, 'KARBOR_GC_GRACE_S', DEFAULT_GC_SETTINGS.graceSeconds),
    },
    logFormat: logFormatVar(env),
    endpointsFrom: `Temporal from ${temporalFrom}, Redis from ${from('REDIS_URL', !!dev?.redis)}`,
  };
  if (env.KARBOR_METRICS_ADDRESS)
    cfg.metricsAddress = checkListenAddress(env.KARBOR_METRICS_ADDRESS, 'KARBOR_METRICS_ADDRESS');
  // Only a worker needs its host; a machine name that is not a host name (my_box) is the
  // worker's error to report (worker/karbor-worker.ts), never the CLI's.
  if (env.KARBOR_WORKER_HOST) {
    cfg.workerHost = checkHostName(env.KARBOR_WORKER_HOST, 'KARBOR_WORKER_HOST');
  } else if (isHostName(os.hostname())) {
    cfg.workerHost = os.hostname().toLowerCase();
  }
  cfg.hostWaitSeconds = intVar(env, 'KARBOR_HOST_WAIT_S', DEFAULT_HOST_WAIT_SECONDS, 1, 7 * 86400);
  if (env.KARBOR_PROVIDERS_DIR) cfg.providersDir = env.KARBOR_PROVIDERS_DIR;
  if (env.KARBOR_DATA_DIR) cfg.dataDir = env.KARBOR_DATA_DIR;
  if (env.KARBOR_CHUNK_THREADS) cfg.chunkThreads = intVar(env, 'KARBOR_CHUNK_THREADS', 1, 1, 256);
  return cfg;
}
