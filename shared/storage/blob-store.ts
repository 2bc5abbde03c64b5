/**
 * The `BlobStore` port: where the control plane keeps what is not desired
 * state: signed snapshots, gateway status reports and its own bookkeeping
 * (watermarks). S3, Cloud Storage and Azure Blob all offer exactly this:
 * whole-object reads and writes, an ETag, a conditional write on it
 * (`If-Match` / `If-None-Match: *`), and listing by prefix.
 *
 * Keys are `/`-separated paths of lowercase-safe segments
 * (`snapshots/aws-east/gw-1.jws`); {@link checkBlobKey} says which.
 *
 * @module
 */

/** A stored blob: its text and the ETag its next conditional write must name. */
export interface StoredBlob {
  /** UTF-8 text: every blob weft keeps is JSON or compact JWS. */
  readonly body: string;
  /** Opaque; changes with every write. */
  readonly etag: string;
}

/** Options of {@link BlobStore.put}. */
export interface BlobPutOptions {
  /**
   * Compare-and-set. A string: the blob must exist with exactly this ETag.
   * `null`: there must be no blob at the key. Omitted: unconditional.
   */
  readonly ifMatch?: string | null;
}

/** Whole-text blobs by key, with ETags and conditional writes (see the module comment). */
export interface BlobStore {
  /** The blob at `key`, or `undefined` when there is none. */
  get(key: string): Promise<StoredBlob | undefined>;
  /**
   * Writes `body` at `key`, atomically: a reader sees the old or the new
   * text, never part of one.
   *
   * @returns the new ETag.
   * @throws ConflictError when `ifMatch` does not hold.
   */
  put(key: string, body: string, options?: BlobPutOptions): Promise<{ etag: string }>;
  /** Keys that start with `prefix`, sorted by UTF-16 code unit. */
  list(prefix: string): Promise<string[]>;
  /** Removes the blob at `key`; nothing happens when there is none. */
  delete(key: string): Promise<void>;
}

/** Segments: letters, digits, `.`, `_`, `-`; not starting with `.` (no `..`, no hidden files). */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/;

/**
 * Throws unless `key` is a blob key: 1 to 1024 characters of segments
 * joined by `/`. Keys come from code, not from callers (the API checks
 * names first), so a bad one is a bug.
 *
 * @throws TypeError for anything else.
 */
export function checkBlobKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 1024 || !key.split('/').every(isSegment)) {
    throw new TypeError(`not a blob key: ${JSON.stringify(key)}`);
  }
  return key;
}

/** Throws unless `prefix` is empty or a blob key, optionally ending in `/`. */
export function checkBlobPrefix(prefix: string): string {
  if (prefix !== '') checkBlobKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  return prefix;
}

function isSegment(segment: string): boolean {
  return SEGMENT.test(segment);
}
