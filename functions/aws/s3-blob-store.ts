/**
 * The `BlobStore` on S3: one object per blob, compare-and-set through S3's
 * conditional writes (`If-Match: <etag>`, `If-None-Match: *`), listing by
 * `ListObjectsV2` pages.
 *
 * S3's own ETag is the MD5 of the body, so writing the same text twice gives
 * the same ETag, while the port promises a new one on every write. Each
 * write therefore stores a random write id in the object's metadata
 * (`x-amz-meta-weft-write`), and the ETag this store hands out is
 * `"<md5>.<write id>"`. The conditional write S3 runs compares the MD5 part:
 * a stale ETag whose text equals the current text still matches, which is
 * harmless, since the caller's view is then the current content.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { ConflictError, UnavailableError } from '../../shared/model/errors.js';
import {
  type BlobPutOptions,
  type BlobStore,
  checkBlobKey,
  checkBlobPrefix,
  type StoredBlob,
} from '../../shared/storage/blob-store.js';
import { byCodeUnit } from '../../shared/storage/memory-blob-store.js';
import { unreachable } from './aws-errors.js';

/** The user-metadata entry (`x-amz-meta-weft-write`) that makes every write's ETag new. */
export const WRITE_ID_METADATA = 'weft-write';

/** Configuration of {@link S3BlobStore}. */
export interface S3BlobStoreOptions {
  readonly client: S3Client;
  /** The bucket (the construct's; `WEFT_BUCKET_NAME`). */
  readonly bucket: string;
  /**
   * Prepended to every key, so weft can share a bucket: `weft/`. Empty, or a
   * blob key ending in `/`. @default ''
   */
  readonly keyPrefix?: string;
  /** Keys per `ListObjectsV2` page (S3's most is 1000). @default 1000 */
  readonly pageSize?: number;
}

/**
 * Blobs as S3 objects (see the module comment for the ETags).
 *
 * @example
 * const blobs = new S3BlobStore({ client: new S3Client({}), bucket: process.env.WEFT_BUCKET_NAME! });
 * const { etag } = await blobs.put('compiled/watermark', '{}', { ifMatch: null });
 */
export class S3BlobStore implements BlobStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #pageSize: number;

  constructor(options: S3BlobStoreOptions) {
    if (!options.bucket) throw new TypeError('S3BlobStore needs a bucket');
    const prefix = options.keyPrefix ?? '';
    if (prefix !== '' && !prefix.endsWith('/')) throw new TypeError('S3BlobStore keyPrefix must end in /');
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#prefix = checkBlobPrefix(prefix);
    this.#pageSize = options.pageSize ?? 1000;
    if (!Number.isInteger(this.#pageSize) || this.#pageSize < 1 || this.#pageSize > 1000)
      throw new TypeError('S3BlobStore pageSize must be an integer from 1 to 1000');
  }

  async get(key: string): Promise<StoredBlob | undefined> {
    const Key = this.#prefix + checkBlobKey(key);
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key }));
      const body = (await out.Body?.transformToString('utf-8')) ?? '';
      return { body, etag: toEtag(out.ETag, out.Metadata?.[WRITE_ID_METADATA]) };
    } catch (error) {
      if (error instanceof S3ServiceException && error.name === 'NoSuchKey') return undefined;
      throw this.#unavailable(error);
    }
  }

  /** @throws ConflictError when `ifMatch` does not hold (S3 answers 412, 409, or 404 for an If-Match on nothing). */
  async put(key: string, body: string, options: BlobPutOptions = {}): Promise<{ etag: string }> {
    const Key = this.#prefix + checkBlobKey(key);
    const writeId = randomBytes(9).toString('base64url');
    const { ifMatch } = options;
    try {
      const out = await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key,
          Body: body,
          ContentType: contentType(key),
          Metadata: { [WRITE_ID_METADATA]: writeId },
          ...(ifMatch === null && { IfNoneMatch: '*' }),
          ...(typeof ifMatch === 'string' && { IfMatch: s3Etag(ifMatch) }),
        }),
      );
      return { etag: toEtag(out.ETag, writeId) };
    } catch (error) {
      if (ifMatch !== undefined && isConditionFailure(error)) {
        const expected = ifMatch === null ? 'no blob' : `ETag ${ifMatch}`;
        throw new ConflictError(`blob ${key}: expected ${expected}; it changed or is absent`, undefined, {
          cause: error,
        });
      }
      throw this.#unavailable(error);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const Prefix = this.#prefix + checkBlobPrefix(prefix);
    const keys: string[] = [];
    let ContinuationToken: string | undefined;
    try {
      do {
        const page = await this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.#bucket,
            Prefix,
            ContinuationToken,
            MaxKeys: this.#pageSize,
          }),
        );
        for (const { Key } of page.Contents ?? []) if (Key) keys.push(Key.slice(this.#prefix.length));
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
    } catch (error) {
      throw this.#unavailable(error);
    }
    // S3 lists in UTF-8 byte order; the port promises UTF-16 code units (the same for ASCII keys).
    return keys.sort(byCodeUnit);
  }

  async delete(key: string): Promise<void> {
    const Key = this.#prefix + checkBlobKey(key);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key }));
    } catch (error) {
      throw this.#unavailable(error);
    }
  }

  /** Missing bucket, credentials, throttling, network: the store cannot serve now. A malformed request is a bug and stays as it is. */
  #unavailable(error: unknown): unknown {
    if (error instanceof S3ServiceException) {
      if (error.name === 'NoSuchBucket') {
        return new UnavailableError(`S3 bucket ${this.#bucket} does not exist: deploy the AWS stack`, {
          cause: error,
        });
      }
      if (
        error.name === 'AccessDenied' ||
        error.name === 'InvalidAccessKeyId' ||
        error.name === 'ExpiredToken'
      ) {
        return new UnavailableError(
          `S3 refused the credentials (${error.name}): check the role's access to bucket ${this.#bucket}`,
          { cause: error },
        );
      }
      if (error.$fault === 'server' || error.$retryable || error.name === 'SlowDown') {
        return new UnavailableError(`S3 is throttling or failing (${error.name}): retry later`, {
          cause: error,
        });
      }
      return error;
    }
    return unreachable('S3', error) ?? error;
  }
}

/** 412 PreconditionFailed; 409 ConditionalRequestConflict (a racing write); 404 for If-Match on no object. */
function isConditionFailure(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  const status = error.$metadata.httpStatusCode;
  return (
    status === 412 ||
    status === 409 ||
    error.name === 'PreconditionFailed' ||
    error.name === 'ConditionalRequestConflict' ||
    error.name === 'NoSuchKey'
  );
}

/** `"<md5>.<write id>"` from S3's `"<md5>"`; S3's own ETag when the object has no write id (written by something else). */
function toEtag(s3: string | undefined, writeId: string | undefined): string {
  if (!s3) throw new Error('S3 answered without an ETag');
  if (!writeId) return s3;
  return `${s3.replace(/"$/, '')}.${writeId}"`;
}

/** The S3 ETag inside one of ours; anything else is passed on as it is (S3 then refuses it). */
function s3Etag(etag: string): string {
  const match = /^"([^".]+)\.[A-Za-z0-9_-]+"$/.exec(etag);
  return match ? `"${match[1]}"` : etag;
}

function contentType(key: string): string {
  return key.endsWith('.json')
    ? 'application/json'
    : key.endsWith('.jws')
      ? 'application/vnd.weft.signed-manifest' // a manifest JWS, a newline, the content it names
      : 'text/plain';
}
