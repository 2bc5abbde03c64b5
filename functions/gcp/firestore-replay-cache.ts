/**
 * The `ReplayCache` on Firestore, in a collection of its own (default
 * `weft-replay`), one document per claimed proof (its id: see
 * `keyDocumentId`), so every function instance shares it: a proof claimed by
 * one instance is refused by all the others. A claim is a `create()`, which
 * Firestore refuses when the document exists (`ALREADY_EXISTS`); a claim
 * found expired is taken over by an `update()` conditional on the
 * `lastUpdateTime` it was read at, so of two instances taking it over at
 * once, one wins. No transactions: preconditions never contend.
 *
 * Documents carry `expiresAt` (epoch ms, what a claim compares) and
 * `expireAt` (a Timestamp): the deployment's TTL policy on `expireAt` for
 * this collection deletes old claims. An expired document that lingers is
 * simply claimed again.
 *
 * @module
 */
import { Timestamp } from '@google-cloud/firestore';
import type { ReplayCache } from '../../shared/identity/attestation/replay-cache.js';
import type { FirestoreClient, FirestoreCollection } from './firestore-client.js';
import { checkCollectionId, keyDocumentId } from './firestore-document.js';
import { toStoreError, wonRace } from './firestore-errors.js';

/** Rounds of create, read, take over before a claim gives up (and refuses: fails closed). */
const MAX_ROUNDS = 3;

/** Configuration of {@link FirestoreReplayCache}. */
export interface FirestoreReplayCacheOptions {
  /** A `Firestore` client (anything with its shape: see {@link FirestoreClient}). */
  readonly firestore: FirestoreClient;
  /** The collection of claimed proofs; the cache owns every document in it. @default 'weft-replay' */
  readonly collection?: string;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * @example
 * const replayCache = new FirestoreReplayCache({ firestore: new Firestore() });
 * if (!(await replayCache.claim(`gcp_iit:${jti}`, Date.now() + 900_000))) throw replayed();
 */
export class FirestoreReplayCache implements ReplayCache {
  readonly #claims: FirestoreCollection;
  readonly #collection: string;
  readonly #now: () => number;

  constructor(options: FirestoreReplayCacheOptions) {
    if (!options.firestore) throw new TypeError('FirestoreReplayCache needs a Firestore client');
    this.#collection = options.collection ?? 'weft-replay';
    checkCollectionId('FirestoreReplayCache', this.#collection);
    this.#claims = options.firestore.collection(this.#collection);
    this.#now = options.now ?? Date.now;
  }

  /** @throws UnavailableError when Firestore cannot be reached: the caller refuses the proof (fails closed). */
  async claim(key: string, expiresAt: number): Promise<boolean> {
    if (typeof key !== 'string' || key.length === 0)
      throw new TypeError('a replay key must be a non-empty string');
    if (!Number.isFinite(expiresAt)) throw new TypeError('expiresAt must be epoch milliseconds');
    const ref = this.#claims.doc(keyDocumentId(key));
    const until = Math.ceil(expiresAt);
    const fields = { expiresAt: until, expireAt: Timestamp.fromMillis(until) };
    try {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        if (await wonRace(() => ref.create(fields))) return true;
        const snapshot = await ref.get();
        const lastUpdateTime = snapshot.exists ? snapshot.updateTime : undefined;
        // Gone since the create (the TTL policy deleted it): create again.
        if (!lastUpdateTime) continue;
        const held = snapshot.data()?.expiresAt;
        if (typeof held !== 'number' || held >= this.#now()) return false;
        if (await wonRace(() => ref.update(fields, { lastUpdateTime }))) return true;
        // Someone wrote it since the read: read again, it is most likely theirs now.
      }
      return false;
    } catch (error) {
      throw toStoreError(error, this.#collection);
    }
  }
}
