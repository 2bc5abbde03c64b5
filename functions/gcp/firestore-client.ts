/**
 * The slice of the Firestore SDK the Firestore adapters call (the state
 * store, the join-token store, the replay cache, the rate limiter), and
 * nothing more, so that a test can stand in for it at this seam: the tests
 * run on Google's Firestore emulator, and on a fake for the failures the
 * emulator cannot produce (an unreachable Firestore, a missing index).
 *
 * Members are declared as function-typed properties, not methods: TypeScript
 * then checks their parameters contravariantly, so the real `Firestore` being
 * assignable to {@link FirestoreClient} proves that every call the store makes
 * is one the real SDK accepts (see `test/functions/gcp/firestore-client.test.ts`).
 *
 * @module
 */
import type { DocumentData, Precondition, Timestamp, WhereFilterOp } from '@google-cloud/firestore';

/** What a read hands back: `DocumentSnapshot` / `QueryDocumentSnapshot`. */
export interface FirestoreSnapshot {
  readonly exists: boolean;
  /** The commit time of the document's last write: the compare-and-set token. */
  readonly updateTime?: Timestamp;
  data(): DocumentData | undefined;
}

/** `DocumentReference`: single-document reads and (conditional) writes. */
export interface FirestoreDocument {
  readonly get: () => Promise<FirestoreSnapshot>;
  /** Fails with `ALREADY_EXISTS` (6) when the document exists. */
  readonly create: (data: DocumentData) => Promise<unknown>;
  /** Replaces the document, or creates it. */
  readonly set: (data: DocumentData) => Promise<unknown>;
  /**
   * Replaces the named top-level fields. With `lastUpdateTime`, fails with
   * `FAILED_PRECONDITION` (9) when the document was written since.
   */
  readonly update: (data: DocumentData, precondition: Precondition) => Promise<unknown>;
  /**
   * Removes the document. With `lastUpdateTime`, fails with
   * `FAILED_PRECONDITION` (9) when the document was written (or removed) since.
   */
  readonly delete: (precondition: Precondition) => Promise<unknown>;
}

/** `Query`: filters and order, read at once. */
export interface FirestoreQuery {
  readonly where: (fieldPath: string, opStr: WhereFilterOp, value: string | boolean) => FirestoreQuery;
  readonly orderBy: (fieldPath: string) => FirestoreQuery;
  readonly get: () => Promise<{ readonly docs: readonly FirestoreSnapshot[] }>;
}

/** `CollectionReference`: a query over the collection, and its documents by id. */
export interface FirestoreCollection extends FirestoreQuery {
  readonly doc: (documentPath: string) => FirestoreDocument;
}

/** `Firestore`, as far as the adapters use it. The real client satisfies it. */
export interface FirestoreClient {
  readonly collection: (collectionPath: string) => FirestoreCollection;
}
