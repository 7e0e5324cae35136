// A repository in an S3-compatible bucket (AWS S3, SeaweedFS, MinIO, …), under an optional
// key prefix. A PUT is atomic (an object is whole or absent), so nothing is written under a
// temporary name; credentials come from the worker's environment (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY), never from the provider file or the bank.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { Backend, StoredFile } from './backend';
import { checkName, NotInBackend } from './backend';

export interface S3Place {
  endpoint: string;
  bucket: string;
  /** Key prefix inside the bucket ('' or ending in '/'). */
  prefix: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    err instanceof NoSuchKey ||
    err instanceof NotFound ||
    e.name === 'NoSuchKey' ||
    e.name === 'NotFound' ||
    e.$metadata?.httpStatusCode === 404
  );
}

export class S3Backend implements Backend {
  readonly location: string;
  private readonly client: S3Client;

  constructor(private readonly place: S3Place) {
    this.location = `s3 ${place.endpoint}/${place.bucket}/${place.prefix}`;
    this.client = new S3Client({
      endpoint: place.endpoint,
      region: place.region,
      forcePathStyle: true,
      credentials: { accessKeyId: place.accessKeyId, secretAccessKey: place.secretAccessKey },
      // Our own checks (seals, hashes) cover every byte; the SDK's checksums would hash
      // every pack a second time.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private key(name: string): string {
    return `${this.place.prefix}${checkName(name)}`;
  }

  async write(name: string, data: Buffer | Buffer[]): Promise<void> {
    const body = Array.isArray(data) ? Buffer.concat(data) : data;
    await this.client.send(
      new PutObjectCommand({ Bucket: this.place.bucket, Key: this.key(name), Body: body }),
    );
  }

  async read(name: string, range?: { offset: number; length: number }): Promise<Buffer> {
    if (range && range.length === 0) return Buffer.alloc(0);
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.place.bucket,
          Key: this.key(name),
          ...(range ? { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {}),
        }),
      );
      const bytes = await out.Body!.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (err) {
      if (isMissing(err)) throw new NotInBackend(name);
      throw err;
    }
  }

  async stat(name: string): Promise<StoredFile | undefined> {
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.place.bucket, Key: this.key(name) }),
      );
      return {
        name,
        size: out.ContentLength ?? 0,
        modifiedMs: out.LastModified?.getTime() ?? 0,
      };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<StoredFile> {
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.place.bucket,
          Prefix: `${this.place.prefix}${prefix}`,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const o of out.Contents ?? []) {
        if (!o.Key) continue;
        yield {
          name: o.Key.slice(this.place.prefix.length),
          size: o.Size ?? 0,
          modifiedMs: o.LastModified?.getTime() ?? 0,
        };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  async remove(name: string): Promise<void> {
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.place.bucket, Key: this.key(name) }),
    );
  }

  /** Objects are written whole: no writer leaves anything half-done behind. */
  removeStale(): Promise<number> {
    return Promise.resolve(0);
  }
}
