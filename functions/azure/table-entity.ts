/**
 * How a `StoredRecord` is laid out as an Azure Tables entity. One table holds
 * every kind: PartitionKey = kind, RowKey = `<namespace>|<name>` (`|<name>`
 * for cluster-scoped kinds), so a kind, or one namespace of it, is one
 * partition range query.
 *
 * @module
 */
import type { TableEntity, TableEntityResult } from '@azure/data-tables';
import { KINDS, type Kind, type ResourceKey } from '../../shared/model/kinds.js';
import type { Resource } from '../../shared/model/resource.js';
import type { StoredRecord } from '../../shared/storage/state-store.js';

/** What the store writes. */
export type Entity = TableEntity<Record<string, unknown>>;
/** What the SDK reads back: the properties plus `partitionKey`, `rowKey`, `etag`, `timestamp`. */
export type EntityResult = TableEntityResult<Record<string, unknown>>;

/**
 * Characters of one key part to percent-escape: those Azure forbids in keys
 * (`/ \ # ?` and control characters), the separator `|`, and `%` itself so
 * that escaping stays reversible. DNS-1123 names contain none of them.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: Azure forbids exactly these control characters in keys.
const KEY_UNSAFE = /[%|/\\#?\u0000-\u001f\u007f-\u009f]/g;

/**
 * A string property holds 64 KiB of UTF-16, i.e. 32 Ki characters: the
 * document is split into `doc0`..`docN` parts of at most this many (a little
 * under, to stay clear of the edge). The entity as a whole holds at most
 * 1 MiB, so about 500,000 characters of document.
 */
export const DOC_PART_CHARS = 32_000;

function escapePart(part: string): string {
  return part.replace(KEY_UNSAFE, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

function unescapePart(part: string): string {
  return part.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/** The PartitionKey and RowKey of `key`'s entity. */
export function entityKey(key: ResourceKey): { partitionKey: string; rowKey: string } {
  return { partitionKey: key.kind, rowKey: `${escapePart(key.namespace)}|${escapePart(key.name)}` };
}

/** RowKeys of one namespace are those in [`from`, `to`): '}' is the character after '|'. */
export function namespaceRange(namespace: string): { from: string; to: string } {
  return { from: `${escapePart(namespace)}|`, to: `${escapePart(namespace)}}` };
}

/**
 * The entity for a record: `version`, `origin`, `updatedAt`, `deleted`; live
 * records add the resource as ASCII JSON text split across `doc0`..`docN`
 * (so it comes back exactly, whatever its shape) and `labels` as JSON (for
 * server-side filters later).
 */
export function toEntity(record: StoredRecord): Entity {
  const entity: Entity = {
    ...entityKey(record.key),
    version: record.version,
    origin: record.origin,
    updatedAt: record.updatedAt,
    deleted: record.resource === null,
  };
  if (record.resource !== null) {
    splitDoc(asciiJson(record.resource)).forEach((part, i) => {
      entity[`doc${i}`] = part;
    });
    entity.labels = asciiJson(record.resource.metadata.labels ?? {});
  }
  return entity;
}

/**
 * The record an entity holds.
 *
 * @throws Error when the entity was not written by {@link toEntity}: the table
 * is shared with something else, or was edited by hand.
 */
export function fromEntity(entity: EntityResult): StoredRecord {
  const kind = entity.partitionKey ?? '';
  const parts = (entity.rowKey ?? '').split('|');
  if (!(KINDS as readonly string[]).includes(kind) || parts.length !== 2) throw notARecord(entity);
  const deleted = entity.deleted;
  if (typeof deleted !== 'boolean') throw notARecord(entity, 'deleted');
  let resource: Resource | null = null;
  if (!deleted) {
    let doc = text(entity, 'doc0');
    for (let i = 1; typeof entity[`doc${i}`] === 'string'; i++) doc += entity[`doc${i}`];
    resource = JSON.parse(doc) as Resource;
  }
  return {
    key: { kind: kind as Kind, namespace: unescapePart(parts[0]!), name: unescapePart(parts[1]!) },
    version: text(entity, 'version'),
    origin: text(entity, 'origin'),
    updatedAt: text(entity, 'updatedAt'),
    resource,
  };
}

/**
 * JSON with every non-ASCII character written as a `\\uXXXX` escape (they can
 * only occur inside string literals, where the escape means the same). Parts
 * of pure ASCII can be cut anywhere, never through a surrogate pair, and
 * survive azurite, which decodes each network chunk of a request body on its
 * own (`readRequestIntoText` in 3.35) and so mangles multi-byte UTF-8
 * characters that straddle two chunks of a large entity.
 */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function splitDoc(doc: string): string[] {
  return Array.from({ length: Math.ceil(doc.length / DOC_PART_CHARS) }, (_, i) =>
    doc.slice(i * DOC_PART_CHARS, (i + 1) * DOC_PART_CHARS),
  );
}

function text(entity: EntityResult, name: string): string {
  const value = entity[name];
  if (typeof value !== 'string') throw notARecord(entity, name);
  return value;
}

function notARecord(entity: EntityResult, missing?: string): Error {
  return new Error(
    `Azure Tables entity ${entity.partitionKey ?? '?'} ${entity.rowKey ?? '?'} is not a weft record${missing ? ` (no ${missing})` : ''}: give weft a table of its own`,
  );
}
