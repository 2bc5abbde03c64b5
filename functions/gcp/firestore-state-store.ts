/**
 * The `StateStore` on Firestore (Native mode): one collection, compare-and-set
 * through write preconditions, no transactions, so it needs nothing any
 * other cloud lacks. Document layout: `firestore-document.ts`; the slice of
 * the SDK it calls: `firestore-client.ts`.
 *
 * @module
 */
import type { Timestamp } from '@google-cloud/firestore';
import { formatKey, type Kind, type ResourceKey } from '../../shared/model/kinds.js';
import {
  conflictError,
  createsOnly,
  holds,
  needsRead,
  type Precondition,
  preconditionOf,
  purgePrecondition,
} from '../../shared/storage/compare-and-set.js';
import { matchesSelector } from '../../shared/storage/label-selector.js';
import {
  type ListOptions,
  type PutOptions,
  requireLive,
  type StateStore,
  type StoredRecord,
  tombstone,
  type WriteStamp,
} from '../../shared/storage/state-store.js';
import type {
  FirestoreClient,
  FirestoreCollection,
  FirestoreQuery,
  FirestoreSnapshot,
} from './firestore-client.js';
import { checkCollectionId, documentId, fromDocument, toDocument } from './firestore-document.js';
import { isLostRace, toStoreError } from './firestore-errors.js';

export type { FirestoreClient } from './firestore-client.js';

export interface FirestoreStateStoreOptions {
  /** A `Firestore` client (anything with its shape: see {@link FirestoreClient}). */
  readonly firestore: FirestoreClient;
  /** The collection holding every record; the store owns every document in it. @default 'weft-state' */
  readonly collection?: string;
}

/**
 * Desired mesh state in one Firestore collection. Reads are strongly
 * consistent (Firestore's always are), which a compare-and-set needs.
 *
 * A conditional write reads the document, checks its `version`, and writes
 * with `update(fields, { lastUpdateTime })` of that read: a writer that
 * slipped in between moved the update time, so Firestore refuses the write
 * (`FAILED_PRECONDITION`) as it should. Creating uses `create()`, which
 * refuses an existing document (`ALREADY_EXISTS`), and `purge()` is a
 * `delete({ lastUpdateTime })` of the tombstone it read. Failures come out as core
 * errors: `ConflictError` (with `cause` and the current version),
 * `UnavailableError` for network, quota, credentials or a missing database,
 * `PayloadTooLargeError` for a document over 1 MiB.
 *
 * @example
 * const store = new FirestoreStateStore({ firestore: new Firestore() });
 */
export class FirestoreStateStore implements StateStore {
  private readonly records: FirestoreCollection;
  private readonly collection: string;

  constructor(options: FirestoreStateStoreOptions) {
    const { firestore, collection = 'weft-state' } = options;
    if (!firestore) throw new TypeError('FirestoreStateStore needs a Firestore client');
    checkCollectionId('FirestoreStateStore', collection);
    this.records = firestore.collection(collection);
    this.collection = collection;
  }

  async get(key: ResourceKey): Promise<StoredRecord | undefined> {
    const snapshot = await this.read(key);
    const data = snapshot.exists ? snapshot.data() : undefined;
    return data && fromDocument(data);
  }

  async put(record: StoredRecord, options: PutOptions = {}): Promise<void> {
    requireLive(record);
    await this.write(record, options);
  }

  async delete(key: ResourceKey, write: WriteStamp, options: PutOptions = {}): Promise<void> {
    await this.write(tombstone(key, write), options);
  }

  /**
   * Reads the document, checks it is the tombstone at `ifVersion`, and deletes
   * it with `{ lastUpdateTime }` of that read, as a conditional write updates.
   */
  async purge(key: ResourceKey, ifVersion: string): Promise<void> {
    const precondition = purgePrecondition(ifVersion);
    const snapshot = await this.read(key);
    const lastUpdateTime = this.check(key, precondition, snapshot);
    await this.commit(key, precondition, () => this.records.doc(documentId(key)).delete({ lastUpdateTime }));
  }

  /** Equality filters only, which Firestore serves from its automatic single-field indexes. */
  async list(kind: Kind, options: ListOptions = {}): Promise<StoredRecord[]> {
    let query = this.records.where('kind', '==', kind).where('deleted', '==', false);
    if (options.namespace !== undefined) query = query.where('namespace', '==', options.namespace);
    const records = await this.query(query);
    return records
      .filter((r) => matchesSelector(options.selector ?? [], r.resource?.metadata.labels))
      .sort((a, b) => byCodeUnit(a.key.namespace, b.key.namespace) || byCodeUnit(a.key.name, b.key.name));
  }

  /** Versions are ASCII, so Firestore's order of strings (by UTF-8 bytes) is HLC order. */
  async changedSince(version: string | undefined): Promise<StoredRecord[]> {
    const since = version === undefined ? this.records : this.records.where('version', '>', version);
    return this.query(since.orderBy('version'));
  }

  private async read(key: ResourceKey): Promise<FirestoreSnapshot> {
    try {
      return await this.records.doc(documentId(key)).get();
    } catch (error) {
      throw toStoreError(error, this.collection);
    }
  }

  private async query(query: FirestoreQuery): Promise<StoredRecord[]> {
    try {
      const { docs } = await query.get();
      return docs.map((d) => fromDocument(d.data() ?? {}));
    } catch (error) {
      throw toStoreError(error, this.collection);
    }
  }

  private async write(record: StoredRecord, options: PutOptions): Promise<void> {
    const precondition = preconditionOf(options);
    const { key } = record;
    // Creates and unconditional writes need no read: Firestore refuses a create
    // over any document, tombstones included.
    const snapshot = needsRead(precondition) ? await this.read(key) : undefined;
    const lastUpdateTime = this.check(key, precondition, snapshot);
    const ref = this.records.doc(documentId(key));
    const fields = toDocument(record);
    await this.commit(key, precondition, () => {
      if (lastUpdateTime) return ref.update(fields, { lastUpdateTime });
      if (createsOnly(precondition)) return ref.create(fields);
      return ref.set(fields);
    });
  }

  /**
   * Checks `precondition` against what `snapshot` read.
   *
   * @returns the update time to condition the write on, when a document was read.
   * @throws ConflictError when the precondition does not hold.
   */
  private check(
    key: ResourceKey,
    precondition: Precondition,
    snapshot: FirestoreSnapshot | undefined,
  ): Timestamp | undefined {
    const current = snapshot?.exists ? snapshot.data() : undefined;
    const version = typeof current?.version === 'string' ? current.version : undefined;
    if (!holds(precondition, current && { version, deleted: current.deleted === true }))
      throw conflictError(key, precondition, version);
    if (!current) return undefined;
    if (!snapshot?.updateTime) throw new Error(`Firestore returned ${formatKey(key)} without an updateTime`);
    return snapshot.updateTime;
  }

  /** Runs one conditional write, turning a lost race into `ConflictError`. */
  private async commit(
    key: ResourceKey,
    precondition: Precondition,
    send: () => Promise<unknown>,
  ): Promise<void> {
    try {
      await send();
    } catch (error) {
      if (!isLostRace(error)) throw toStoreError(error, this.collection);
      // Someone wrote in between: read what won, as a hint (it may move on again).
      throw conflictError(key, precondition, (await this.get(key))?.version, error);
    }
  }
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
