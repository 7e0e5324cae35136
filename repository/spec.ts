// What a chunk thread needs to use an opened repository: where it is, its id and its keys,
// as plain data that crosses to a worker thread (never to Temporal, the bank or a log).
import type { Backend } from './backend';
import type { CompressionMode } from './codec';
import { LocalBackend } from './local-backend';
import { Repository } from './repository';
import type { S3Backend as S3BackendClass, S3Place } from './s3-backend';

export type BackendSpec = { kind: 'local'; dir: string } | ({ kind: 's3' } & S3Place);

export interface RepositorySpec {
  backend: BackendSpec;
  id: string;
  keyId: string;
  /** base64 */
  encryptKey: string;
  /** base64 */
  idKey: string;
  compression: CompressionMode;
  packSize: number;
}

export function backendFor(spec: BackendSpec): Backend {
  if (spec.kind === 'local') return new LocalBackend(spec.dir);
  // Loaded only where a repository is on S3: the SDK is large.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { S3Backend } = require('./s3-backend') as { S3Backend: typeof S3BackendClass };
  return new S3Backend(spec);
}

export function specOf(repo: Repository, backend: BackendSpec): RepositorySpec {
  return {
    backend,
    id: repo.id,
    keyId: repo.keyId,
    encryptKey: repo.keys.encrypt.toString('base64'),
    idKey: repo.keys.id.toString('base64'),
    compression: repo.compression,
    packSize: repo.packSize,
  };
}

const opened = new Map<string, Repository>();

/** The repository a spec describes; one object per repository and key per thread. */
export function repositoryFromSpec(spec: RepositorySpec): Repository {
  const key = `${spec.id}/${spec.keyId}/${spec.compression}/${spec.packSize}/${JSON.stringify(spec.backend)}`;
  let repo = opened.get(key);
  if (!repo) {
    repo = Repository.withKeys(
      backendFor(spec.backend),
      spec.id,
      { encrypt: Buffer.from(spec.encryptKey, 'base64'), id: Buffer.from(spec.idKey, 'base64') },
      spec.keyId,
      { compression: spec.compression, packSize: spec.packSize },
    );
    opened.set(key, repo);
  }
  return repo;
}
