// The repository's keys: each `keys/<id>` file holds the master keys sealed under a key
// derived (scrypt) from one secret: a password, or the bytes of a key file. Any of them
// opens the repository; adding, listing, removing and changing them never touches data.
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Backend } from './backend';
import { NotInBackend } from './backend';
import type { KdfParams, MasterKeys } from './crypto';
import { CONTEXT, deriveKey, MIN_KDF, newKdfParams, open, seal } from './crypto';
import { RepositoryConfigError, RepositoryDamagedError, WrongKeyError } from './errors';

interface KeyFile {
  version: 1;
  created: string;
  host: string;
  kdf: KdfParams;
  /** base64 of the sealed master keys. */
  data: string;
}

export interface KeyInfo {
  id: string;
  created: string;
  host: string;
}

/** A password or a key file's bytes. */
export type Secret = string | Buffer;

function keyIdOf(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/** Writes a new key file for `keys` under `secret`; returns its id. */
export async function addKey(
  backend: Backend,
  keys: MasterKeys,
  secret: Secret,
  cost?: { N: number; r: number; p: number },
): Promise<string> {
  checkSecret(secret);
  const kdf = newKdfParams(cost);
  const kek = await deriveKey(secret, kdf);
  const plain = Buffer.from(
    JSON.stringify({ encrypt: keys.encrypt.toString('base64'), id: keys.id.toString('base64') }),
  );
  const file: KeyFile = {
    version: 1,
    created: new Date().toISOString(),
    host: hostname(),
    kdf,
    data: seal(kek, plain, CONTEXT.masterKeys).toString('base64'),
  };
  const body = Buffer.from(`${JSON.stringify(file)}\n`);
  const id = keyIdOf(Buffer.concat([body, randomBytes(16)]));
  await backend.write(`keys/${id}`, body);
  return id;
}

function checkSecret(secret: Secret): void {
  if (secret.length === 0) throw new RepositoryConfigError('the repository password is empty');
}

async function readKey(backend: Backend, id: string): Promise<KeyFile> {
  let body: Buffer;
  try {
    body = await backend.read(`keys/${id}`);
  } catch (err) {
    if (err instanceof NotInBackend) throw new RepositoryConfigError(`no key ${id}`);
    throw err;
  }
  try {
    const file = JSON.parse(body.toString('utf8')) as KeyFile;
    const { N, r, p, salt } = file.kdf;
    if (file.version !== 1 || typeof file.data !== 'string') throw new Error('bad fields');
    // A planted key file must not make an opener burn minutes or gigabytes in scrypt.
    const sane =
      [N, r, p].every((v) => Number.isInteger(v) && v >= 1) &&
      N >= MIN_KDF.N &&
      (N & (N - 1)) === 0 &&
      128 * N * r * p <= 256 * 1024 * 1024 &&
      typeof salt === 'string' &&
      /^[A-Za-z0-9+/]{16,}={0,2}$/.test(salt);
    if (!sane) throw new Error('scrypt settings out of range');
    return file;
  } catch (err) {
    throw new RepositoryDamagedError(`keys/${id}`, (err as Error).message);
  }
}

export async function listKeys(backend: Backend): Promise<KeyInfo[]> {
  const out: KeyInfo[] = [];
  for await (const f of backend.list('keys/')) {
    const id = f.name.slice('keys/'.length);
    const file = await readKey(backend, id).catch(() => undefined);
    out.push({ id, created: file?.created ?? '?', host: file?.host ?? '?' });
  }
  return out.sort((a, b) => a.created.localeCompare(b.created));
}

/** The master keys, from the first key file `secret` opens. */
export async function unlock(
  backend: Backend,
  secret: Secret,
): Promise<{ keys: MasterKeys; keyId: string }> {
  checkSecret(secret);
  const ids: string[] = [];
  for await (const f of backend.list('keys/')) ids.push(f.name.slice('keys/'.length));
  if (ids.length === 0) {
    throw new RepositoryConfigError(`${backend.location} has no keys: is it a repository?`);
  }
  for (const id of ids.sort()) {
    const file = await readKey(backend, id).catch(() => undefined);
    if (!file) continue;
    try {
      const kek = await deriveKey(secret, file.kdf);
      const plain = open(kek, Buffer.from(file.data, 'base64'), CONTEXT.masterKeys);
      const parsed = JSON.parse(plain.toString('utf8')) as { encrypt: string; id: string };
      const keys = {
        encrypt: Buffer.from(parsed.encrypt, 'base64'),
        id: Buffer.from(parsed.id, 'base64'),
      };
      if (keys.encrypt.length !== 32 || keys.id.length !== 32) continue;
      return { keys, keyId: id };
    } catch {
      // Not this key (or a key file that is not one): the next one may open.
    }
  }
  throw new WrongKeyError(
    `the password or key file opens none of the ${ids.length} key(s) of the repository at ${backend.location}`,
  );
}

/** Removes a key; never the one in use, never the last. */
export async function removeKey(backend: Backend, id: string, inUse: string): Promise<void> {
  if (id === inUse) {
    throw new RepositoryConfigError(`key ${id} is the one this command opened the repository with`);
  }
  const all = await listKeys(backend);
  if (!all.some((k) => k.id === id)) throw new RepositoryConfigError(`no key ${id}`);
  await backend.remove(`keys/${id}`);
}
