/**
 * The `JoinTokenStore` on Firestore, in a collection of its own (default
 * `weft-join-tokens`), one document per token hash (its id: see
 * `keyDocumentId`). A token is spent by reading its document and deleting
 * it with `{ lastUpdateTime }` of that read: of two agents racing with the
 * same token, the second delete finds the document gone and fails
 * (`FAILED_PRECONDITION`), so the token works once across any number of
 * function instances.
 *
 * Documents carry `spiffeId`, `expiresAt` (epoch ms, what the attestor
 * checks) and `expireAt` (a Timestamp): the deployment's TTL policy on
 * `expireAt` for this collection deletes tokens nobody used (within a day
 * of expiry, as Firestore's TTL does). An expired document that lingers is
 * harmless: a hash, refused as expired.
 *
 * @module
 */
import { Timestamp } from '@google-cloud/firestore';
import type { JoinTokenEntry, JoinTokenStore } from '../../shared/identity/attestation/join-token-store.js';
import { ConflictError } from '../../shared/model/errors.js';
import type { FirestoreClient, FirestoreCollection } from './firestore-client.js';
import { checkCollectionId, keyDocumentId } from './firestore-document.js';
import { GRPC, grpcCode, isLostRace, toStoreError } from './firestore-errors.js';

/** Configuration of {@link FirestoreJoinTokenStore}. */
export interface FirestoreJoinTokenStoreOptions {
  /** A `Firestore` client (anything with its shape: see {@link FirestoreClient}). */
  readonly firestore: FirestoreClient;
  /** The collection of token hashes; the store owns every document in it. @default 'weft-join-tokens' */
  readonly collection?: string;
}

/**
 * @example
 * const joinTokens = new FirestoreJoinTokenStore({ firestore: new Firestore() });
 */
export class FirestoreJoinTokenStore implements JoinTokenStore {
  readonly #tokens: FirestoreCollection;
  readonly #collection: string;

  constructor(options: FirestoreJoinTokenStoreOptions) {
    if (!options.firestore) throw new TypeError('FirestoreJoinTokenStore needs a Firestore client');
    this.#collection = options.collection ?? 'weft-join-tokens';
    checkCollectionId('FirestoreJoinTokenStore', this.#collection);
    this.#tokens = options.firestore.collection(this.#collection);
  }

  /** @throws ConflictError if the hash is already stored (a 256-bit collision: never, short of a bug). */
  async put(hash: string, entry: JoinTokenEntry): Promise<void> {
    try {
      await this.#tokens.doc(keyDocumentId(hash)).create({
        spiffeId: entry.spiffeId,
        expiresAt: entry.expiresAt,
        expireAt: Timestamp.fromMillis(entry.expiresAt),
      });
    } catch (error) {
      if (grpcCode(error) === GRPC.ALREADY_EXISTS) {
        throw new ConflictError('a join token with this hash is already stored', undefined, { cause: error });
      }
      throw toStoreError(error, this.#collection);
    }
  }

  /** Reads and deletes the entry, the delete conditional on the read; `undefined` when never issued or already used. */
  async consume(hash: string): Promise<JoinTokenEntry | undefined> {
    const ref = this.#tokens.doc(keyDocumentId(hash));
    try {
      const snapshot = await ref.get();
      const data = snapshot.exists ? snapshot.data() : undefined;
      if (!data || !snapshot.updateTime) return undefined;
      await ref.delete({ lastUpdateTime: snapshot.updateTime });
      const { spiffeId, expiresAt } = data;
      // A token whose record is unreadable was spent all the same: it must not work, and it did not.
      if (typeof spiffeId !== 'string' || !Number.isSafeInteger(expiresAt)) return undefined;
      return { spiffeId, expiresAt };
    } catch (error) {
      // Another consumer deleted it between the read and this delete: it is theirs.
      if (isLostRace(error)) return undefined;
      throw toStoreError(error, this.#collection);
    }
  }
}
