/**
 * How a `StoredRecord` is laid out as a DynamoDB item. One table holds every
 * kind: partition key `pk` = kind, sort key `sk` = `<namespace>/<name>`
 * (`/<name>` for cluster-scoped kinds), so a kind, or one namespace of it, is
 * one Query.
 *
 * @module
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { KINDS, type Kind, type ResourceKey } from '../../shared/model/kinds.js';
import type { Resource } from '../../shared/model/resource.js';
import type { StoredRecord } from '../../shared/storage/state-store.js';

export type Item = Record<string, AttributeValue>;

/** The primary key of `key`'s item. */
export function itemKey(key: ResourceKey): Item {
  return { pk: { S: key.kind }, sk: { S: `${key.namespace}/${key.name}` } };
}

/** The `sk` prefix of one namespace ('' for cluster-scoped kinds). Names hold no '/', so it is exact. */
export function namespacePrefix(namespace: string): string {
  return `${namespace}/`;
}

/**
 * The item for a record: `version`, `origin`, `updatedAt`, `deleted` (BOOL);
 * live records add `doc` (the resource as JSON text, so it comes back
 * byte-for-byte whatever its shape) and `labels` (a map, for server-side
 * filters later).
 */
export function toItem(record: StoredRecord): Item {
  const item: Item = {
    ...itemKey(record.key),
    version: { S: record.version },
    origin: { S: record.origin },
    updatedAt: { S: record.updatedAt },
    deleted: { BOOL: record.resource === null },
  };
  if (record.resource !== null) {
    item.doc = { S: JSON.stringify(record.resource) };
    const labels = Object.entries(record.resource.metadata.labels ?? {});
    item.labels = { M: Object.fromEntries(labels.map(([k, v]) => [k, { S: v }])) };
  }
  return item;
}

/**
 * The record an item holds.
 *
 * @throws Error when the item was not written by {@link toItem}: the table is
 * shared with something else, or was edited by hand.
 */
export function fromItem(item: Item): StoredRecord {
  const kind = text(item, 'pk');
  const sk = text(item, 'sk');
  const slash = sk.indexOf('/');
  if (!(KINDS as readonly string[]).includes(kind) || slash === -1) throw notARecord(item);
  const deleted = item.deleted?.BOOL;
  if (deleted === undefined) throw notARecord(item, 'deleted');
  const resource = deleted ? null : (JSON.parse(text(item, 'doc')) as Resource);
  return {
    key: { kind: kind as Kind, namespace: sk.slice(0, slash), name: sk.slice(slash + 1) },
    version: text(item, 'version'),
    origin: text(item, 'origin'),
    updatedAt: text(item, 'updatedAt'),
    resource,
  };
}

function text(item: Item, name: string): string {
  const value = item[name]?.S;
  if (value === undefined) throw notARecord(item, name);
  return value;
}

function notARecord(item: Item, missing?: string): Error {
  const where = `${item.pk?.S ?? '?'} ${item.sk?.S ?? '?'}`;
  return new Error(
    `DynamoDB item ${where} is not a weft record${missing ? ` (no ${missing})` : ''}: give weft a table of its own`,
  );
}
