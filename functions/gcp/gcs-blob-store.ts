/**
 * The `BlobStore` on Cloud Storage: one object per blob, compare-and-set
 * through generation preconditions. Every write of an object gets a new
 * generation (a number GCS assigns), so the generation, as a decimal string,
 * is the ETag this store hands out: `ifMatch: '<generation>'` becomes
 * `ifGenerationMatch=<generation>` and `ifMatch: null` becomes
 * `ifGenerationMatch=0` (only if there is no live object). GCS answers 412
 * when the precondition does not hold.
 *
 * A read is one request (`alt=media`) whose `x-goog-generation` header names
 * the generation of exactly the bytes read. Writes are single-request
 * multipart uploads (`resumable: false`): blobs are small, and a resumable
 * session would cost a second round trip for nothing.
 *
 * GCS takes about one write per second to the same object name; faster
 * writers get 429, which the SDK retries for conditional writes and this
 * store reports as `UnavailableError` otherwise.
 *
 * @module
 */
import { buffer } from 'node:stream/consumers';
import type { Bucket, File, Storage } from '@google-cloud/storage';
import { ConflictError, UnavailableError } from '../../shared/model/errors.js';
import {
  type BlobPutOptions,
  type BlobStore,
  checkBlobKey,
  checkBlobPrefix,
  type StoredBlob,
} from '../../shared/storage/blob-store.js';
import { byCodeUnit } from '../../shared/storage/memory-blob-store.js';

/** A GCS generation: a positive int64 in decimal. Anything else cannot be the ETag of a live object. */
const GENERATION = /^[1-9][0-9]{0,18}$/;

/** Configuration of {@link GcsBlobStore}. */
export interface GcsBlobStoreOptions {
  readonly storage: Storage;
  /** The bucket (`WEFT_BUCKET_NAME`). */
  readonly bucket: string;
  /**
   * Prepended to every object name, so weft can share a bucket: `weft/`.
   * Empty, or a blob key ending in `/`. @default ''
   */
  readonly keyPrefix?: string;
  /** Objects per list page (GCS's most is 1000). @default 1000 */
  readonly pageSize?: number;
}

/**
 * Blobs as Cloud Storage objects; ETags are generations (see the module comment).
 *
 * @example
 * const blobs = new GcsBlobStore({ storage: new Storage(), bucket: process.env.WEFT_BUCKET_NAME! });
 * const { etag } = await blobs.put('compiled/watermark', '{}', { ifMatch: null });
 */
export class GcsBlobStore implements BlobStore {
  readonly #bucket: Bucket;
  readonly #prefix: string;
  readonly #pageSize: number;

  constructor(options: GcsBlobStoreOptions) {
    if (!options.bucket) throw new TypeError('GcsBlobStore needs a bucket');
    const prefix = options.keyPrefix ?? '';
    if (prefix !== '' && !prefix.endsWith('/')) throw new TypeError('GcsBlobStore keyPrefix must end in /');
    this.#bucket = options.storage.bucket(options.bucket);
    this.#prefix = checkBlobPrefix(prefix);
    this.#pageSize = options.pageSize ?? 1000;
    if (!Number.isInteger(this.#pageSize) || this.#pageSize < 1 || this.#pageSize > 1000)
      throw new TypeError('GcsBlobStore pageSize must be an integer from 1 to 1000');
  }

  async get(key: string): Promise<StoredBlob | undefined> {
    const file = this.#bucket.file(this.#prefix + checkBlobKey(key));
    try {
      return await download(file);
    } catch (error) {
      if (httpStatus(error) === 404 && !isNoSuchBucket(error)) return undefined;
      throw this.#unavailable(error);
    }
  }

  /** @throws ConflictError when `ifMatch` does not hold (GCS answers 412). */
  async put(key: string, body: string, options: BlobPutOptions = {}): Promise<{ etag: string }> {
    const file = this.#bucket.file(this.#prefix + checkBlobKey(key));
    const { ifMatch } = options;
    const conflict = (cause?: unknown) =>
      new ConflictError(
        `blob ${key}: expected ${ifMatch === null ? 'no blob' : `generation ${ifMatch}`}; it changed or is absent`,
        undefined,
        { cause },
      );
    // Not a generation (another store's ETag, or '0', which GCS reads as "absent"): nothing live matches it.
    if (typeof ifMatch === 'string' && !GENERATION.test(ifMatch)) throw conflict();
    try {
      await file.save(body, {
        resumable: false,
        gzip: false,
        validation: 'crc32c',
        metadata: { contentType: contentType(key) },
        ...(ifMatch !== undefined && { preconditionOpts: { ifGenerationMatch: ifMatch ?? 0 } }),
      });
    } catch (error) {
      if (ifMatch !== undefined && httpStatus(error) === 412) throw conflict(error);
      throw this.#unavailable(error);
    }
    return { etag: generationOf(file.metadata.generation) };
  }

  async list(prefix: string): Promise<string[]> {
    const fullPrefix = this.#prefix + checkBlobPrefix(prefix);
    const keys: string[] = [];
    let pageToken: string | undefined;
    try {
      do {
        const [files, next] = await this.#bucket.getFiles({
          prefix: fullPrefix,
          maxResults: this.#pageSize,
          autoPaginate: false,
          fields: 'items(name),nextPageToken',
          ...(pageToken && { pageToken }),
        });
        for (const { name } of files) keys.push(name.slice(this.#prefix.length));
        pageToken = next?.pageToken;
      } while (pageToken);
    } catch (error) {
      throw this.#unavailable(error);
    }
    // GCS lists in UTF-8 byte order; the port promises UTF-16 code units (the same for ASCII keys).
    return keys.sort(byCodeUnit);
  }

  async delete(key: string): Promise<void> {
    const file = this.#bucket.file(this.#prefix + checkBlobKey(key));
    try {
      await file.delete();
    } catch (error) {
      if (httpStatus(error) === 404 && !isNoSuchBucket(error)) return;
      throw this.#unavailable(error);
    }
  }

  /** Missing bucket, credentials, throttling, network: the store cannot serve now. A malformed request is a bug and stays as it is. */
  #unavailable(error: unknown): unknown {
    const status = httpStatus(error);
    const bucket = this.#bucket.name;
    if (status === 404) {
      return new UnavailableError(`GCS bucket ${bucket} does not exist: deploy the GCP resources`, {
        cause: error,
      });
    }
    if (status === 401 || status === 403) {
      return new UnavailableError(
        `GCS refused the credentials (${status}): grant the function's service account roles/storage.objectUser on bucket ${bucket}`,
        { cause: error },
      );
    }
    if (status === 408 || status === 429 || (status !== undefined && status >= 500)) {
      return new UnavailableError(`GCS is throttling or failing (${status}): retry later`, { cause: error });
    }
    if (status === undefined && isTransportFailure(error)) {
      const code = (error as { code?: string }).code ?? (error as Error).name;
      return new UnavailableError(`cannot reach GCS (${code}): check the endpoint and network`, {
        cause: error,
      });
    }
    return error;
  }
}

/** The text and generation of one object, from one `alt=media` read. */
async function download(file: File): Promise<StoredBlob> {
  const stream = file.createReadStream();
  let generation: unknown;
  stream.on('response', (response: { headers?: Record<string, unknown> }) => {
    generation = response.headers?.['x-goog-generation'];
  });
  const bytes = await buffer(stream);
  return { body: bytes.toString('utf-8'), etag: generationOf(generation) };
}

function generationOf(value: unknown): string {
  const generation = String(value ?? '');
  if (!GENERATION.test(generation)) throw new Error(`GCS answered without a generation (${generation})`);
  return generation;
}

/** The HTTP status of an `ApiError` (its `code`); `undefined` for anything that got no answer. */
function httpStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** A 404 for the bucket, not the object (GCS says which in the message). */
function isNoSuchBucket(error: unknown): boolean {
  return error instanceof Error && /bucket does not exist/i.test(error.message);
}

/** A failure before GCS answered: node-fetch's `FetchError` (`type: 'system'`), a timeout, a socket error code. */
function isTransportFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code, type } = error as { code?: unknown; type?: unknown };
  return (
    type === 'system' ||
    type === 'request-timeout' ||
    error.name === 'FetchError' ||
    error.name === 'AbortError' ||
    error.name === 'TimeoutError' ||
    (typeof code === 'string' && /^E[A-Z_]+$/.test(code))
  );
}

function contentType(key: string): string {
  return key.endsWith('.json')
    ? 'application/json'
    : key.endsWith('.jws')
      ? 'application/vnd.weft.signed-manifest' // a manifest JWS, a newline, the content it names
      : 'text/plain';
}
