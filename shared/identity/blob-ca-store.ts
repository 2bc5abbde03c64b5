/**
 * The {@link CaStore} over the `BlobStore` port, for the clouds: one JSON
 * blob (`ca/state.json`) in the control plane's bucket, compare-and-set on
 * its ETag, so two function instances saving from the same sequence cannot
 * both win. It holds only public material (certificates, public JWKs, key
 * ids); the private keys stay in the cloud's key service.
 *
 * @module
 */
import { ConflictError, WeftError } from '../model/errors.js';
import { type BlobStore, checkBlobKey, type StoredBlob } from '../storage/blob-store.js';
import { type CaState, type CaStore, checkSequence } from './ca-store.js';

/** Where the state lives unless told otherwise. */
export const CA_STATE_BLOB = 'ca/state.json';

/** Configuration of {@link BlobCaStore}. */
export interface BlobCaStoreOptions {
  /** The blob's key. @default 'ca/state.json' */
  readonly key?: string;
}

/**
 * @example
 * const store = new BlobCaStore(new S3BlobStore({ client, bucket }));
 * const ca = await MeshCa.open({ store, keys, trustDomain, ... });
 */
export class BlobCaStore implements CaStore {
  readonly #blobs: BlobStore;
  readonly #key: string;

  constructor(blobs: BlobStore, options: BlobCaStoreOptions = {}) {
    this.#blobs = blobs;
    this.#key = checkBlobKey(options.key ?? CA_STATE_BLOB);
  }

  async load(): Promise<CaState | undefined> {
    const blob = await this.#blobs.get(this.#key);
    return blob && this.#parse(blob);
  }

  /**
   * Reads the stored sequence and writes under the ETag it was read with:
   * a writer that saved in between makes this one fail, never both succeed.
   *
   * @throws ConflictError when the stored sequence is not `expectedSequence`, or changed while saving.
   */
  async save(state: CaState, expectedSequence: number | null): Promise<void> {
    const current = await this.#blobs.get(this.#key);
    checkSequence(current && this.#parse(current), expectedSequence);
    try {
      await this.#blobs.put(this.#key, `${JSON.stringify(state, null, 2)}\n`, {
        ifMatch: current ? current.etag : null,
      });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      throw new ConflictError(
        `CA state changed underneath (expected sequence ${expectedSequence}; another writer saved first)`,
        undefined,
        { cause: error },
      );
    }
  }

  #parse(blob: StoredBlob): CaState {
    try {
      const state = JSON.parse(blob.body) as CaState;
      if (state?.version !== 1) throw new Error(`unknown version ${String(state?.version)}`);
      if (!Number.isSafeInteger(state.sequence)) throw new Error('no sequence');
      return state;
    } catch (error) {
      throw new WeftError('ERR_INTERNAL', 500, `CA state blob ${this.#key} is unreadable`, { cause: error });
    }
  }
}
