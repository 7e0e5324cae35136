/**
 * The Bank API (Karbor's update_object / get_object / list_objects / delete_object /
 * get_owner_id). Objects are JSON values under validated keys.
 */

export type SortDir = 'asc' | 'desc';

export interface ListOptions {
  /** At most this many keys (default 1000). */
  limit?: number;
  /** Start after this key (exclusive), in the listing's direction. */
  marker?: string;
  sortDir?: SortDir;
}

/** Proof of holding a checkpoint's write lease; writes that present it are fenced. */
export interface LeaseToken {
  checkpointId: string;
  token: string;
  owner: string;
}

export interface WriteOptions {
  lease?: LeaseToken;
}

export interface Bank {
  updateObject(key: string, value: unknown, opts?: WriteOptions): Promise<void>;
  getObject<T = unknown>(key: string): Promise<T>;
  listObjects(prefix: string, opts?: ListOptions): Promise<string[]>;
  deleteObject(key: string, opts?: WriteOptions): Promise<void>;
  getOwnerId(): Promise<string>;
}

export const DEFAULT_LIST_LIMIT = 1000;
