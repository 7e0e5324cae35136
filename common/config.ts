import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from '../temporal-config/activity-options';
import settings from '../temporal-config/dev-server.json';

/** Everything a worker or client needs to know about where things are (DESIGN.md section 8). */
export interface KarborConfig {
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  redisUrl: string;
  bankPrefix: string;
  projectId: string;
  /** KARBOR_ADMIN=1: the caller may list all tenants' checkpoints. */
  admin: boolean;
  providersDir?: string;
  dataDir?: string;
  /** KARBOR_CHUNK_THREADS: threads that move file bytes (default: one per core). */
  chunkThreads?: number;
}

/**
 * Reads the configuration from an environment. Called once by each entry point (worker,
 * CLI, scripts); nothing below them reads process.env.
 */
export function configFromEnv(env: NodeJS.ProcessEnv): KarborConfig {
  const cfg: KarborConfig = {
    temporalAddress: env.TEMPORAL_ADDRESS || `${settings.ip}:${settings.port}`,
    namespace: env.TEMPORAL_NAMESPACE || DEFAULT_NAMESPACE,
    taskQueue: env.KARBOR_TASK_QUEUE || DEFAULT_TASK_QUEUE,
    redisUrl: env.REDIS_URL || `redis://${settings.ip}:${settings.redisPort}`,
    bankPrefix: env.KARBOR_BANK_PREFIX || 'karbor',
    projectId: env.KARBOR_PROJECT_ID || 'default',
    admin: env.KARBOR_ADMIN === '1' || env.KARBOR_ADMIN === 'true',
  };
  if (env.KARBOR_PROVIDERS_DIR) cfg.providersDir = env.KARBOR_PROVIDERS_DIR;
  if (env.KARBOR_DATA_DIR) cfg.dataDir = env.KARBOR_DATA_DIR;
  const threads = Number(env.KARBOR_CHUNK_THREADS);
  if (Number.isInteger(threads) && threads > 0) cfg.chunkThreads = threads;
  return cfg;
}
