// The repository's cryptography, all from Node's crypto: AES-256-GCM seals every stored
// byte (blobs, pack headers, the config), HMAC-SHA-256 under a separate key names blobs (so
// a name says nothing about the content to whoever lacks the key), and scrypt turns a
// password into the key that wraps the master keys.
import { createCipheriv, createDecipheriv, createHmac, randomBytes, scrypt } from 'node:crypto';

const NONCE = 12;
const TAG = 16;
/** What sealing adds to a plaintext: nonce in front, tag behind. */
export const SEAL_OVERHEAD = NONCE + TAG;

/** The repository's secrets: encryption and blob naming use different keys. */
export interface MasterKeys {
  /** AES-256-GCM key. */
  encrypt: Buffer;
  /** HMAC-SHA-256 key for blob ids. */
  id: Buffer;
}

export function newMasterKeys(): MasterKeys {
  return { encrypt: randomBytes(32), id: randomBytes(32) };
}

/** Thrown by `open` for bytes that fail authentication (callers name the file). */
export class SealBroken extends Error {}

/**
 * nonce || AES-256-GCM(plaintext) || tag. `context` is authenticated but not stored: a
 * sealed blob opens only under the id (or role) it was sealed for, so nobody can move
 * ciphertext from one name to another.
 */
export function seal(key: Buffer, plaintext: Buffer, context: Buffer): Buffer {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(context);
  const body = cipher.update(plaintext);
  const last = cipher.final();
  return Buffer.concat([nonce, body, last, cipher.getAuthTag()]);
}

export function open(key: Buffer, sealed: Buffer, context: Buffer): Buffer {
  if (sealed.length < SEAL_OVERHEAD) throw new SealBroken('too short to be sealed');
  const nonce = sealed.subarray(0, NONCE);
  const tag = sealed.subarray(sealed.length - TAG);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(context);
  decipher.setAuthTag(tag);
  const body = decipher.update(sealed.subarray(NONCE, sealed.length - TAG));
  try {
    return Buffer.concat([body, decipher.final()]);
  } catch {
    throw new SealBroken('authentication failed');
  }
}

/**
 * A blob's id: keyed, so equal content dedupes while its name reveals nothing. A document
 * (tree) is named in a domain of its own: no file's bytes can ever carry a document's id.
 */
export function blobId(keys: MasterKeys, data: Buffer, type: 'data' | 'tree' = 'data'): string {
  const h = createHmac('sha256', keys.id);
  if (type === 'tree') h.update('karbor-repository tree\0');
  return h.update(data).digest('hex');
}

/** scrypt settings stored with each key (so they can grow without breaking old keys). */
export interface KdfParams {
  N: number;
  r: number;
  p: number;
  salt: string;
}

/** Strong enough for a password at rest, about 0.1-0.3 s on one core. */
export const DEFAULT_KDF = { N: 2 ** 16, r: 8, p: 1 };
/** Tests use cheap settings; never below these. */
export const MIN_KDF = { N: 2 ** 10, r: 8, p: 1 };

export function deriveKey(password: string | Buffer, params: KdfParams): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      password,
      Buffer.from(params.salt, 'base64'),
      32,
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}

export function newKdfParams(cost: { N: number; r: number; p: number } = DEFAULT_KDF): KdfParams {
  return { ...cost, salt: randomBytes(32).toString('base64') };
}

/** Contexts (authenticated, not stored) of the sealed things that are not blobs. */
export const CONTEXT = {
  masterKeys: Buffer.from('karbor-repository master keys v1'),
  config: Buffer.from('karbor-repository config v1'),
  packHeader: Buffer.from('karbor-repository pack header v1'),
  /** A blob opens only as the type and id it was sealed as. */
  blob: (type: 'data' | 'tree', id: string) => Buffer.from(`karbor-repository ${type} ${id}`),
};
