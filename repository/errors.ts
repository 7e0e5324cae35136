// What the repository raises. Codes are in common/error-codes.ts with the rest.
import { KarborError } from '../common/errors';

/** A password or key file that opens none of the repository's keys. */
export class WrongKeyError extends KarborError {
  readonly code = 'REPOSITORY_WRONG_KEY';
  readonly permanent = true;
}

/**
 * Stored bytes that fail their authentication or do not hash to their name: a flipped bit,
 * a truncated pack, a file swapped for another. `file` names the store file.
 */
export class RepositoryDamagedError extends KarborError {
  readonly code = 'REPOSITORY_DAMAGED';
  readonly permanent = true;
  constructor(
    readonly file: string,
    why: string,
  ) {
    super(`repository file ${file} is damaged: ${why}`);
  }
}

/** A blob the index does not know, or whose pack is gone. */
export class BlobMissingError extends KarborError {
  readonly code = 'REPOSITORY_BLOB_MISSING';
  readonly permanent = true;
  constructor(
    readonly blobId: string,
    where: string,
  ) {
    super(`blob ${blobId} is missing: ${where}`);
  }
}

/** init on a repository that exists, open on one that does not, or a bad setting. */
export class RepositoryConfigError extends KarborError {
  readonly code = 'REPOSITORY_CONFIG';
  readonly permanent = true;
}
