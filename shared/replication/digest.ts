/**
 * What anti-entropy compares: every record a cloud holds (tombstones
 * included), summarised per bucket. A bucket is a kind and one of
 * {@link BUCKETS} slices of its keys (by a hash of the key), so two clouds
 * that differ in one Service exchange one bucket's records, not every
 * Service. A bucket's hash covers each record's key and version only: the
 * version names the write, and the content follows from it.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { formatKey, KINDS, type Kind, type ResourceKey } from '../model/kinds.js';
import type { StoredRecord } from '../storage/state-store.js';

/**
 * Slices of each kind's keys: 256, so ten changes among 10,000 Services pull
 * about 400 records, not half of them (a digest of 10,000 is about 20 KB).
 */
export const BUCKETS = 256;

/** `Service/3`: a kind and a bucket number. */
export type BucketId = `${Kind}/${number}`;

export interface BucketDigest {
  readonly count: number;
  /** Hex SHA-256 of the sorted `key@version` lines. */
  readonly hash: string;
}

/** Non-empty buckets by id. */
export type Digest = Readonly<Record<BucketId, BucketDigest>>;

/** The bucket of `key`. */
export function bucketOf(key: ResourceKey): BucketId {
  const first = createHash('sha256').update(formatKey(key)).digest()[0]!;
  return `${key.kind}/${first % BUCKETS}`;
}

/** Whether `text` is a bucket id. */
export function isBucketId(text: string): text is BucketId {
  const [kind, n, ...rest] = text.split('/');
  return (
    rest.length === 0 &&
    (KINDS as readonly string[]).includes(kind ?? '') &&
    /^\d{1,3}$/.test(n ?? '') &&
    Number(n) < BUCKETS
  );
}

/** The digest of `records`, and the records of each bucket. */
export function digestOf(records: readonly StoredRecord[]): {
  digest: Digest;
  buckets: ReadonlyMap<BucketId, StoredRecord[]>;
} {
  const buckets = new Map<BucketId, StoredRecord[]>();
  for (const record of records) {
    const id = bucketOf(record.key);
    const list = buckets.get(id);
    if (list) list.push(record);
    else buckets.set(id, [record]);
  }
  const digest: Record<string, BucketDigest> = {};
  for (const [id, list] of buckets) {
    const lines = list.map((r) => `${formatKey(r.key)}@${r.version}`).sort();
    digest[id] = { count: list.length, hash: createHash('sha256').update(lines.join('\n')).digest('hex') };
  }
  return { digest: digest as Digest, buckets };
}

/** The buckets whose digests differ (present on one side only included). */
export function differingBuckets(ours: Digest, theirs: Digest): BucketId[] {
  const ids = new Set([...Object.keys(ours), ...Object.keys(theirs)] as BucketId[]);
  return [...ids].filter((id) => ours[id]?.hash !== theirs[id]?.hash).sort();
}
