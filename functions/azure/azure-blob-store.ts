/**
 * The `BlobStore` on Azure Blob storage: one block blob per blob, written in
 * one `Put Blob` request (never staged blocks, so a write is atomic),
 * compare-and-set through its conditional headers (`If-Match: <etag>`,
 * `If-None-Match: *`), listing by `List Blobs` pages.
 *
 * Unlike S3's, a blob's ETag is a version stamp that changes on every write,
 * even of the same text: it is the port's ETag as it is.
 *
 * @module
 */
import { type ContainerClient, RestError } from '@azure/storage-blob';
import { ConflictError, UnavailableError } from '../../shared/model/errors.js';
import {
  type BlobPutOptions,
  type BlobStore,
  checkBlobKey,
  checkBlobPrefix,
  type StoredBlob,
} from '../../shared/storage/blob-store.js';
import { byCodeUnit } from '../../shared/storage/memory-blob-store.js';
import { azureErrorCode } from './table-errors.js';

/** Configuration of {@link AzureBlobStore}. */
export interface AzureBlobStoreOptions {
  /** The container (`WEFT_BLOB_CONTAINER`, default `weft`); the deployment creates it. */
  readonly container: ContainerClient;
  /**
   * Prepended to every key, so weft can share a container: `weft/`. Empty, or
   * a blob key ending in `/`. @default ''
   */
  readonly keyPrefix?: string;
  /** Names per `List Blobs` page (Azure's most is 5000). @default 5000 */
  readonly pageSize?: number;
}

/**
 * Blobs as Azure block blobs (see the module comment).
 *
 * @example
 * const service = BlobServiceClient.fromConnectionString(process.env.AzureWebJobsStorage!);
 * const blobs = new AzureBlobStore({ container: service.getContainerClient('weft') });
 * const { etag } = await blobs.put('compiled/watermark', '{}', { ifMatch: null });
 */
export class AzureBlobStore implements BlobStore {
  readonly #container: ContainerClient;
  readonly #prefix: string;
  readonly #pageSize: number;

  constructor(options: AzureBlobStoreOptions) {
    if (!options.container) throw new TypeError('AzureBlobStore needs a ContainerClient');
    const prefix = options.keyPrefix ?? '';
    if (prefix !== '' && !prefix.endsWith('/')) throw new TypeError('AzureBlobStore keyPrefix must end in /');
    this.#container = options.container;
    this.#prefix = checkBlobPrefix(prefix);
    this.#pageSize = options.pageSize ?? 5000;
    if (!Number.isInteger(this.#pageSize) || this.#pageSize < 1 || this.#pageSize > 5000)
      throw new TypeError('AzureBlobStore pageSize must be an integer from 1 to 5000');
  }

  async get(key: string): Promise<StoredBlob | undefined> {
    const blob = this.#container.getBlockBlobClient(this.#prefix + checkBlobKey(key));
    try {
      // One request: the body and the ETag of that very version (a separate HEAD could see a later one).
      const out = await blob.download();
      const body = await text(out.readableStreamBody);
      if (!out.etag) throw new Error('Azure Blob storage answered without an ETag');
      return { body, etag: out.etag };
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404 && azureErrorCode(error) === 'BlobNotFound')
        return undefined;
      throw this.#unavailable(error);
    }
  }

  /**
   * @throws ConflictError when `ifMatch` does not hold (Azure answers 412
   *   `ConditionNotMet`, 409 `BlobAlreadyExists` for `If-None-Match: *`, or
   *   404 `BlobNotFound` for an `If-Match` on nothing).
   */
  async put(key: string, body: string, options: BlobPutOptions = {}): Promise<{ etag: string }> {
    const blob = this.#container.getBlockBlobClient(this.#prefix + checkBlobKey(key));
    const { ifMatch } = options;
    try {
      const out = await blob.upload(body, Buffer.byteLength(body), {
        blobHTTPHeaders: { blobContentType: contentType(key) },
        conditions: ifMatch === null ? { ifNoneMatch: '*' } : typeof ifMatch === 'string' ? { ifMatch } : {},
      });
      if (!out.etag) throw new Error('Azure Blob storage answered without an ETag');
      return { etag: out.etag };
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
    const listed = this.#container.listBlobsFlat({ prefix: this.#prefix + checkBlobPrefix(prefix) });
    const keys: string[] = [];
    try {
      for await (const page of listed.byPage({ maxPageSize: this.#pageSize })) {
        for (const { name } of page.segment.blobItems) keys.push(name.slice(this.#prefix.length));
      }
    } catch (error) {
      throw this.#unavailable(error);
    }
    // Azure lists in its own (byte) order; the port promises UTF-16 code units (the same for ASCII keys).
    return keys.sort(byCodeUnit);
  }

  async delete(key: string): Promise<void> {
    const blob = this.#container.getBlockBlobClient(this.#prefix + checkBlobKey(key));
    try {
      await blob.deleteIfExists();
    } catch (error) {
      throw this.#unavailable(error);
    }
  }

  /** Missing container, credentials, throttling, network: the store cannot serve now. A malformed request is a bug and stays as it is. */
  #unavailable(error: unknown): unknown {
    if (!(error instanceof RestError)) return error;
    const code = azureErrorCode(error);
    const status = error.statusCode;
    const container = this.#container.containerName;
    if (status === undefined) {
      // No answer at all: refused, reset, DNS, TLS or a timeout on the way.
      return new UnavailableError(
        `cannot reach Azure Blob storage (${code ?? error.message}): check the endpoint and network, or start azurite`,
        { cause: error },
      );
    }
    if (code === 'ContainerNotFound') {
      return new UnavailableError(
        `Azure blob container ${container} does not exist: deploy the Azure resources (or createIfNotExists() it)`,
        { cause: error },
      );
    }
    if (status === 401 || status === 403) {
      return new UnavailableError(
        `Azure Blob storage refused the credentials (${code ?? status}): check the connection string, or the identity's role on container ${container}`,
        { cause: error },
      );
    }
    if (status === 408 || status === 429 || status >= 500) {
      return new UnavailableError(
        `Azure Blob storage is throttling or failing (${code ?? status}): retry later`,
        {
          cause: error,
        },
      );
    }
    return error;
  }
}

/** 412 `ConditionNotMet`; 409 `BlobAlreadyExists` (If-None-Match: *); 404 `BlobNotFound` (If-Match on no blob). */
function isConditionFailure(error: unknown): boolean {
  if (!(error instanceof RestError)) return false;
  const code = azureErrorCode(error);
  return (
    error.statusCode === 412 ||
    (error.statusCode === 409 && code === 'BlobAlreadyExists') ||
    (error.statusCode === 404 && code === 'BlobNotFound')
  );
}

async function text(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (!stream) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  // Decoded once, whole: a multi-byte character may straddle two chunks.
  return Buffer.concat(chunks).toString('utf8');
}

function contentType(key: string): string {
  return key.endsWith('.json')
    ? 'application/json'
    : key.endsWith('.jws')
      ? 'application/vnd.weft.signed-manifest' // a manifest JWS, a newline, the content it names
      : 'text/plain';
}
