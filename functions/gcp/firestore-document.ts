/**
 * How a `StoredRecord` is laid out as a Firestore document. One collection
 * holds every kind; the document id is `<kind>~<namespace>~<name>`
 * (`<kind>~~<name>` for cluster-scoped kinds), and the key is repeated in
 * fields, so a kind, or one namespace of it, is one equality query. Also
 * the ids the attestation stores give their documents ({@link keyDocumentId}).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { DocumentData } from '@google-cloud/firestore';
import { KINDS, type Kind, type ResourceKey } from '../../shared/model/kinds.js';
import type { Resource } from '../../shared/model/resource.js';
import type { StoredRecord } from '../../shared/storage/state-store.js';

/**
 * Characters of one id part to percent-escape: `/` (a path separator in
 * Firestore), the separator `~`, and `%` itself so that escaping stays
 * reversible. DNS-1123 names contain none of them.
 */
const ID_UNSAFE = /[%~/]/g;

/** The document id of `key`. It can never be `.`, `..` or `__x__`, which Firestore reserves. */
export function documentId(key: ResourceKey): string {
  const safe = (part: string) =>
    part.replace(ID_UNSAFE, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${key.kind}~${safe(key.namespace)}~${safe(key.name)}`;
}

/**
 * Checks that `collection` names a top-level collection.
 *
 * @throws TypeError naming `owner` when it does not: a path, or an id Firestore reserves.
 */
export function checkCollectionId(owner: string, collection: string): void {
  if (!/^[^/]+$/.test(collection) || /^__.*__$/.test(collection) || collection === '.' || collection === '..')
    throw new TypeError(`${owner} needs a top-level collection id, got ${JSON.stringify(collection)}`);
}

/**
 * A document id for an opaque key (a join-token hash, a replay key, a rate
 * limit's window): the key itself when Firestore takes it as an id and it is
 * at most 512 bytes, else `%` and its SHA-256 in hex. A key holding `%` is
 * always hashed, so a hashed id never equals a key taken as it is.
 */
export function keyDocumentId(key: string): string {
  const usable =
    Buffer.byteLength(key) <= 512 &&
    /^[^/%]+$/.test(key) &&
    key !== '.' &&
    key !== '..' &&
    !/^__.*__$/.test(key);
  return usable ? key : `%${createHash('sha256').update(key).digest('hex')}`;
}

/**
 * The fields of a record: `kind`, `namespace`, `name`, `version`, `origin`,
 * `updatedAt`, `deleted`, `doc` (the resource as JSON text, so it comes back
 * exactly whatever its shape; a string field holds ~1 MiB, as much as the
 * document) and `labels` (a map, for server-side filters later).
 *
 * Every record names every field, `null` where a tombstone has none, because
 * a conditional write is an `update()`, which replaces only the fields it
 * names: naming them all makes it replace the whole document.
 */
export function toDocument(record: StoredRecord): DocumentData {
  const { kind, namespace, name } = record.key;
  const live = record.resource;
  return {
    kind,
    namespace,
    name,
    version: record.version,
    origin: record.origin,
    updatedAt: record.updatedAt,
    deleted: live === null,
    doc: live === null ? null : JSON.stringify(live),
    labels: live === null ? null : { ...live.metadata.labels },
  };
}

/**
 * The record a document holds.
 *
 * @throws Error when the document was not written by {@link toDocument}: the
 * collection is shared with something else, or was edited by hand.
 */
export function fromDocument(data: DocumentData): StoredRecord {
  const text = (field: string): string => {
    const value = data[field];
    if (typeof value !== 'string') throw notARecord(data, field);
    return value;
  };
  const kind = text('kind');
  if (!(KINDS as readonly string[]).includes(kind)) throw notARecord(data);
  if (typeof data.deleted !== 'boolean') throw notARecord(data, 'deleted');
  return {
    key: { kind: kind as Kind, namespace: text('namespace'), name: text('name') },
    version: text('version'),
    origin: text('origin'),
    updatedAt: text('updatedAt'),
    resource: data.deleted ? null : (JSON.parse(text('doc')) as Resource),
  };
}

function notARecord(data: DocumentData, missing?: string): Error {
  const where = `${String(data.kind ?? '?')} ${String(data.namespace ?? '?')}/${String(data.name ?? '?')}`;
  return new Error(
    `Firestore document ${where} is not a weft record${missing ? ` (no ${missing})` : ''}: give weft a collection of its own`,
  );
}
