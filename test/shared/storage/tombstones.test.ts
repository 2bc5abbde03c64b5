import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../../shared/model/errors.js';
import { formatHlc } from '../../../shared/model/hlc.js';
import type { ResourceKey } from '../../../shared/model/kinds.js';
import { parseResource } from '../../../shared/model/resource.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import { mergeRecord } from '../../../shared/storage/merge.js';
import type { StateStore, StoredRecord } from '../../../shared/storage/state-store.js';
import {
  collectTombstones,
  TOMBSTONE_HORIZON_MS,
  tombstoneHorizon,
} from '../../../shared/storage/tombstones.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2030, 0, 31);

/** An HLC version at wall time `wall` (ms). */
const at = (wall: number, node = 'aws', counter = 0) => formatHlc({ wall, counter, node });
const key = (name: string): ResourceKey => ({ kind: 'Service', namespace: 'shop', name });

/** A write of `k` at `version`: a Service when `live`, else a tombstone. */
function write(k: ResourceKey, version: string, live: boolean): StoredRecord {
  const origin = version.slice(version.lastIndexOf('-') + 1);
  const updatedAt = new Date(Number(version.slice(0, 13))).toISOString();
  if (!live) return { key: k, version, origin, updatedAt, resource: null };
  const resource = parseResource({
    apiVersion: 'weft.dev/v1',
    kind: 'Service',
    metadata: { name: k.name, namespace: k.namespace },
    spec: { ports: [{ port: 80 }] },
  });
  return { key: k, version, origin, updatedAt, resource };
}

/** Stores `records` as they are (tombstones through delete). */
async function storeWith(...records: StoredRecord[]): Promise<MemoryStateStore> {
  const store = new MemoryStateStore();
  for (const r of records) {
    if (r.resource === null) await store.delete(r.key, r);
    else await store.put(r);
  }
  return store;
}

describe('tombstoneHorizon', () => {
  it('is 7 days by default, and sorts after exactly the versions older than now - horizon', () => {
    expect(TOMBSTONE_HORIZON_MS).toBe(7 * DAY);
    const horizon = tombstoneHorizon(NOW);
    const edge = NOW - 7 * DAY;
    expect(at(edge - 1, 'zzz', 999_999) < horizon).toBe(true);
    expect(at(edge, 'a') < horizon).toBe(false);
    expect(at(edge, '-') < horizon).toBe(false);
    expect(tombstoneHorizon(NOW, DAY) > horizon).toBe(true);
  });

  it('refuses a horizon or a time that is not a non-negative number (TypeError)', () => {
    expect(() => tombstoneHorizon(NOW, -1)).toThrow(TypeError);
    expect(() => tombstoneHorizon(Number.NaN)).toThrow(TypeError);
    expect(() => tombstoneHorizon(NOW, Number.POSITIVE_INFINITY)).toThrow(TypeError);
  });
});

describe('collectTombstones', () => {
  it('purges tombstones older than the horizon, keeps recent ones, and never touches live records', async () => {
    const old = [
      write(key('a'), at(NOW - 30 * DAY), false),
      write(key('b'), at(NOW - 7 * DAY - 1, 'gcp'), false),
    ];
    const recent = [write(key('c'), at(NOW - 7 * DAY), false), write(key('d'), at(NOW - DAY), false)];
    const live = [write(key('e'), at(NOW - 300 * DAY), true), write(key('f'), at(NOW - DAY), true)];
    const store = await storeWith(...old, ...recent, ...live);
    expect(await collectTombstones(store, { now: NOW })).toBe(2);
    for (const r of old) expect(await store.get(r.key)).toBeUndefined();
    const left = [...recent, ...live].sort((x, y) => (x.version < y.version ? -1 : 1));
    expect(await store.changedSince(undefined)).toStrictEqual(left);
    expect(await collectTombstones(store, { now: NOW })).toBe(0);
  });

  it('takes a shorter horizon when given one', async () => {
    const store = await storeWith(write(key('a'), at(NOW - 2 * DAY), false));
    expect(await collectTombstones(store, { now: NOW })).toBe(0);
    expect(await collectTombstones(store, { now: NOW, horizonMs: DAY })).toBe(1);
    expect(await store.get(key('a'))).toBeUndefined();
  });

  it('leaves a tombstone whose version it cannot date', async () => {
    const odd = { ...write(key('a'), at(NOW - 30 * DAY), false), version: '0000000000001-odd' };
    const store = await storeWith(odd);
    expect(await collectTombstones(store, { now: NOW })).toBe(0);
    expect(await store.get(odd.key)).toStrictEqual(odd);
  });

  it('skips a tombstone overwritten between its read and its purge', async () => {
    const inner = await storeWith(
      write(key('a'), at(NOW - 30 * DAY), false),
      write(key('b'), at(NOW - 20 * DAY), false),
    );
    const recreated = write(key('a'), at(NOW), true);
    // A write lands right after the collector read the store.
    const store: StateStore = Object.assign(Object.create(inner) as StateStore, {
      async changedSince(since: string | undefined) {
        const records = await inner.changedSince(since);
        await inner.put(recreated, { ifVersion: records[0]!.version });
        return records;
      },
    });
    expect(await collectTombstones(store, { now: NOW })).toBe(1);
    expect(await inner.get(key('a'))).toStrictEqual(recreated);
    expect(await inner.get(key('b'))).toBeUndefined();
  });

  it('runs concurrently with itself: each tombstone is purged once', async () => {
    const tombstones = Array.from({ length: 10 }, (_, i) =>
      write(key(`t${i}`), at(NOW - 10 * DAY + i), false),
    );
    const store = await storeWith(...tombstones);
    const counts = await Promise.all([1, 2, 3].map(() => collectTombstones(store, { now: NOW })));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(10);
    expect(await store.changedSince(undefined)).toStrictEqual([]);
  });

  it('passes other errors through', async () => {
    const down = new Error('store down');
    const store: StateStore = Object.assign(
      Object.create(await storeWith(write(key('a'), at(NOW - 30 * DAY), false))) as StateStore,
      {
        async purge() {
          throw down;
        },
      },
    );
    await expect(collectTombstones(store, { now: NOW })).rejects.toBe(down);
  });
});

describe('mergeRecord with a horizon', () => {
  const horizon = tombstoneHorizon(NOW);

  it('refuses to create an absent key from a write older than the horizon', async () => {
    const store = new MemoryStateStore();
    const old = write(key('a'), at(NOW - 8 * DAY), true);
    expect(await mergeRecord(store, old, { horizon })).toBe('stale');
    expect(await store.get(old.key)).toBeUndefined();
    expect(await mergeRecord(store, write(key('b'), at(NOW - 8 * DAY), false), { horizon })).toBe('stale');
    expect(await store.changedSince(undefined)).toStrictEqual([]);
  });

  it('applies the same write when it is within the horizon, or when no horizon is given', async () => {
    const old = write(key('a'), at(NOW - 8 * DAY), true);
    const store = new MemoryStateStore();
    expect(await mergeRecord(store, old, { horizon: tombstoneHorizon(NOW, 9 * DAY) })).toBe('applied');
    expect(await store.get(old.key)).toStrictEqual(old);
    const fresh = write(key('b'), at(NOW - 7 * DAY), true);
    expect(await mergeRecord(store, fresh, { horizon })).toBe('applied');
    expect(await store.get(fresh.key)).toStrictEqual(fresh);
    const unbounded = new MemoryStateStore();
    expect(await mergeRecord(unbounded, old)).toBe('applied');
  });

  it('follows plain last-writer-wins for a key that is stored, however old the write', async () => {
    const store = await storeWith(
      write(key('live'), at(NOW - 30 * DAY), true),
      write(key('gone'), at(NOW - 30 * DAY), false),
      write(key('newer'), at(NOW - 9 * DAY), true),
    );
    const overLive = write(key('live'), at(NOW - 20 * DAY), true);
    expect(await mergeRecord(store, overLive, { horizon })).toBe('applied');
    expect(await store.get(overLive.key)).toStrictEqual(overLive);
    const overTombstone = write(key('gone'), at(NOW - 20 * DAY), true);
    expect(await mergeRecord(store, overTombstone, { horizon })).toBe('applied');
    expect(await store.get(overTombstone.key)).toStrictEqual(overTombstone);
    const older = write(key('newer'), at(NOW - 10 * DAY), false);
    expect(await mergeRecord(store, older, { horizon })).toBe('stale');
    expect((await store.get(older.key))?.version).toBe(at(NOW - 9 * DAY));
  });

  it('never resurrects a deleted resource once its tombstone is collected', async () => {
    const created = write(key('a'), at(NOW - 10 * DAY - 1), true);
    const deleted = write(key('a'), at(NOW - 10 * DAY), false);
    const store = await storeWith(deleted);
    expect(await mergeRecord(store, created, { horizon })).toBe('stale');
    expect(await collectTombstones(store, { now: NOW })).toBe(1);
    // A late relay of the create, after the tombstone is gone.
    expect(await mergeRecord(store, created, { horizon })).toBe('stale');
    expect(await store.get(created.key)).toBeUndefined();
  });

  it('sees a tombstone collected between its read and its write as absent, and refuses', async () => {
    const deleted = write(key('a'), at(NOW - 10 * DAY), false);
    const inner = await storeWith(deleted);
    let raced = false;
    const store: StateStore = Object.assign(Object.create(inner) as StateStore, {
      async put(record: StoredRecord, options?: object) {
        if (!raced) {
          raced = true;
          await inner.purge(deleted.key, deleted.version);
        }
        return inner.put(record, options);
      },
    });
    const later = write(key('a'), at(NOW - 9 * DAY), true);
    expect(await mergeRecord(store, later, { horizon })).toBe('stale');
    expect(raced).toBe(true);
    expect(await inner.get(later.key)).toBeUndefined();
  });

  it('still gives up with ConflictError when the key keeps changing', async () => {
    const store: StateStore = Object.assign(Object.create(new MemoryStateStore()) as StateStore, {
      async put() {
        throw new ConflictError('lost', undefined);
      },
    });
    await expect(mergeRecord(store, write(key('a'), at(NOW), true), { horizon })).rejects.toThrow(
      ConflictError,
    );
  });
});
