/**
 * The in-memory `BlobStore`: the fake unit tests use. It passes the same
 * contract test as the filesystem adapter.
 *
 * @module
 */
import { ConflictError } from '../model/errors.js';
import {
  type BlobPutOptions,
  type BlobStore,
  checkBlobKey,
  checkBlobPrefix,
  type StoredBlob,
} from './blob-store.js';

/** Blobs in a map, ETags from a counter. */
export class MemoryBlobStore implements BlobStore {
  readonly #blobs = new Map<string, StoredBlob>();
  #writes = 0;

  async get(key: string): Promise<StoredBlob | undefined> {
    return this.#blobs.get(checkBlobKey(key));
  }

  async put(key: string, body: string, options: BlobPutOptions = {}): Promise<{ etag: string }> {
    checkBlobKey(key);
    checkIfMatch(key, this.#blobs.get(key)?.etag, options.ifMatch);
    this.#writes += 1;
    const etag = `"m${this.#writes}"`;
    this.#blobs.set(key, { body, etag });
    return { etag };
  }

  async list(prefix: string): Promise<string[]> {
    checkBlobPrefix(prefix);
    return [...this.#blobs.keys()].filter((k) => k.startsWith(prefix)).sort(byCodeUnit);
  }

  async delete(key: string): Promise<void> {
    this.#blobs.delete(checkBlobKey(key));
  }
}

/**
 * What every adapter checks before a conditional write.
 *
 * @throws ConflictError when `ifMatch` does not hold for the `current` ETag.
 */
export function checkIfMatch(
  key: string,
  current: string | undefined,
  ifMatch: string | null | undefined,
): void {
  if (ifMatch === undefined || ifMatch === current || (ifMatch === null && current === undefined)) return;
  const expected = ifMatch === null ? 'no blob' : `ETag ${ifMatch}`;
  throw new ConflictError(`blob ${key}: expected ${expected}, found ${current ?? 'no blob'}`, current);
}

/** Locale-free order, as object stores list keys. */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
