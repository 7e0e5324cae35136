// A provider's `[repository]` section, read and checked. Pure: the secret is named here
// (an environment variable or a file on the worker), and read by whoever opens.
import * as path from 'node:path';
import type { CompressionMode } from './codec';
import { COMPRESSION_MODES } from './codec';
import { RepositoryConfigError } from './errors';
import { DEFAULT_PACK_SIZE } from './repository';

/** Where a repository is: a directory, or a bucket of an S3-compatible store. */
export type RepositoryPlace =
  | { backend: 'local'; dir: string }
  | { backend: 's3'; endpoint: string; bucket: string; prefix: string; region: string };

export interface RepositoryConfigSection {
  place: RepositoryPlace;
  /** Name of the worker's environment variable holding the password. */
  passwordEnv: string;
  /** A key file on the worker (its bytes are the secret); wins over passwordEnv. */
  passwordFile?: string;
  compression: CompressionMode;
  packSize: number;
  /** Create the repository on first use when there is none (one-machine setups). */
  autoInit: boolean;
}

export const DEFAULT_PASSWORD_ENV = 'KARBOR_REPOSITORY_PASSWORD';
const KEYS = new Set([
  'backend',
  'path',
  'endpoint',
  'bucket',
  'prefix',
  'region',
  'password_env',
  'password_file',
  'compression',
  'pack_size_mib',
  'auto_init',
]);

/**
 * The section's settings; `defaultDir` is where a local repository lives when `path` is not
 * given. Throws RepositoryConfigError naming the provider and the setting.
 */
export function repositorySettings(
  providerId: string,
  section: Record<string, string> | undefined,
  defaultDir: string,
): RepositoryConfigSection {
  const s = section ?? {};
  const bad = (what: string) =>
    new RepositoryConfigError(`provider ${providerId}: [repository] ${what}`);
  for (const k of Object.keys(s)) if (!KEYS.has(k)) throw bad(`has no setting ${k}`);
  const backend = s.backend ?? 'local';
  let place: RepositoryPlace;
  if (backend === 'local') {
    const dir = s.path ?? defaultDir;
    if (!path.isAbsolute(dir)) throw bad(`path must be absolute, not ${JSON.stringify(dir)}`);
    place = { backend, dir };
  } else if (backend === 's3') {
    const endpoint = s.endpoint ?? '';
    if (!/^https?:\/\/[^\s/]+(:\d+)?\/?$/.test(endpoint)) {
      throw bad(`endpoint must be an http(s)://host[:port] URL, not ${JSON.stringify(endpoint)}`);
    }
    const bucket = s.bucket ?? '';
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw bad(`bucket must be an S3 bucket name, not ${JSON.stringify(bucket)}`);
    }
    const prefix = s.prefix ?? '';
    if (prefix !== '' && !/^[A-Za-z0-9._\-/]+\/$/.test(prefix)) {
      throw bad('prefix must be empty or end in / (letters, digits, . _ - /)');
    }
    place = {
      backend,
      endpoint: endpoint.replace(/\/$/, ''),
      bucket,
      prefix,
      region: s.region ?? 'us-east-1',
    };
  } else {
    throw bad(`backend must be local or s3, not ${JSON.stringify(backend)}`);
  }
  const passwordEnv = s.password_env ?? DEFAULT_PASSWORD_ENV;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(passwordEnv)) {
    throw bad(`password_env must name an environment variable, not ${JSON.stringify(passwordEnv)}`);
  }
  if (s.password_file !== undefined && !path.isAbsolute(s.password_file)) {
    throw bad('password_file must be an absolute path');
  }
  const compression = (s.compression ?? 'auto') as CompressionMode;
  if (!COMPRESSION_MODES.includes(compression)) {
    throw bad(`compression must be one of ${COMPRESSION_MODES.join(', ')}`);
  }
  const mib = s.pack_size_mib === undefined ? DEFAULT_PACK_SIZE / 2 ** 20 : Number(s.pack_size_mib);
  if (!Number.isInteger(mib) || mib < 1 || mib > 128) {
    throw bad('pack_size_mib must be a whole number from 1 to 128');
  }
  const autoInit = s.auto_init ?? 'false';
  if (autoInit !== 'true' && autoInit !== 'false') throw bad('auto_init must be true or false');
  return {
    place,
    passwordEnv,
    ...(s.password_file !== undefined ? { passwordFile: s.password_file } : {}),
    compression,
    packSize: mib * 2 ** 20,
    autoInit: autoInit === 'true',
  };
}
