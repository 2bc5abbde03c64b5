import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConflictError, UnavailableError } from '../../../shared/model/errors.js';
import { compareHlc, formatHlc } from '../../../shared/model/hlc.js';
import type { ResourceKey } from '../../../shared/model/kinds.js';
import { parseResource } from '../../../shared/model/resource.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import { mergeRecord } from '../../../shared/storage/merge.js';
import type { StateStore, StoredRecord } from '../../../shared/storage/state-store.js';

const KEYS: readonly ResourceKey[] = [
  { kind: 'Service', namespace: 'shop', name: 'orders' },
  { kind: 'Service', namespace: 'bank', name: 'orders' },
  { kind: 'Environment', namespace: '', name: 'aws-east' },
];

function write(key: ResourceKey, version: string, live: boolean, mark = 'x'): StoredRecord {
  const origin = version.slice(version.lastIndexOf('-') + 1);
  const updatedAt = new Date(Number(version.slice(0, 13))).toISOString();
  if (!live) return { key, version, origin, updatedAt, resource: null };
  const metadata = { name: key.name, ...(key.namespace && { namespace: key.namespace }), labels: { mark } };
  const resource =
    key.kind === 'Service'
      ? parseResource({
          apiVersion: 'weft.dev/v1',
          kind: 'Service',
          metadata,
          spec: { ports: [{ port: 80 }] },
        })
      : parseResource({
          apiVersion: 'weft.dev/v1',
          kind: key.kind,
          metadata,
          spec: { provider: 'aws', region: 'r1' },
        });
  return { key, version, origin, updatedAt, resource };
}

const v = (wall: number, node = 'aws', counter = 0) => formatHlc({ wall, counter, node });

/** Writes with unique versions (as HLC guarantees), as a set in no particular order. */
const writeSet = fc
  .uniqueArray(
    fc.record({
      key: fc.integer({ min: 0, max: KEYS.length - 1 }),
      wall: fc.integer({ min: 1, max: 30 }),
      counter: fc.integer({ min: 0, max: 2 }),
      node: fc.constantFrom('aws', 'gcp', 'azure'),
      live: fc.boolean(),
      mark: fc.stringMatching(/^[a-z]{1,3}$/),
    }),
    { minLength: 1, maxLength: 25, selector: (w) => `${w.wall}/${w.counter}/${w.node}` },
  )
  .map((ws) => ws.map((w) => write(KEYS[w.key]!, v(w.wall, w.node, w.counter), w.live, w.mark)));

/** The set, each write delivered one or more times, in any order. */
const deliveries = writeSet.chain((writes) =>
  fc
    .array(fc.integer({ min: 0, max: writes.length - 1 }), { maxLength: 20 })
    .chain((dups) =>
      fc.shuffledSubarray([...writes, ...dups.map((i) => writes[i]!)], {
        minLength: writes.length + dups.length,
      }),
    )
    .map((order) => ({ writes, order })),
);

const inVersionOrder = (writes: readonly StoredRecord[]) =>
  [...writes].sort((a, b) => compareHlc(a.version, b.version));

/** Each key at its newest write: what any delivery must converge to. */
function expectedState(writes: readonly StoredRecord[]): StoredRecord[] {
  const newest = new Map<string, StoredRecord>();
  for (const w of inVersionOrder(writes)) newest.set(JSON.stringify(w.key), w);
  return inVersionOrder([...newest.values()]);
}

describe('mergeRecord', () => {
  it('applies a write to an empty key, and a newer one over it', async () => {
    const store = new MemoryStateStore();
    const older = write(KEYS[0]!, v(1), true, 'a');
    const newer = write(KEYS[0]!, v(2), true, 'b');
    expect(await mergeRecord(store, older)).toBe('applied');
    expect(await mergeRecord(store, newer)).toBe('applied');
    expect(await store.get(KEYS[0]!)).toStrictEqual(newer);
  });

  it('keeps the stored record when the incoming one is older or the same', async () => {
    const store = new MemoryStateStore();
    const newer = write(KEYS[0]!, v(2), true, 'b');
    await mergeRecord(store, newer);
    expect(await mergeRecord(store, write(KEYS[0]!, v(1), true, 'a'))).toBe('stale');
    expect(await mergeRecord(store, newer)).toBe('stale');
    expect(await store.get(KEYS[0]!)).toStrictEqual(newer);
  });

  it('lets a newer delete win, and never resurrects a record with an older write', async () => {
    const store = new MemoryStateStore();
    const tombstone = write(KEYS[0]!, v(5, 'gcp'), false);
    expect(await mergeRecord(store, write(KEYS[0]!, v(4), true))).toBe('applied');
    expect(await mergeRecord(store, tombstone)).toBe('applied');
    expect(await mergeRecord(store, write(KEYS[0]!, v(5, 'aws'), true))).toBe('stale');
    expect(await store.get(KEYS[0]!)).toStrictEqual(tombstone);
    const recreated = write(KEYS[0]!, v(6), true);
    expect(await mergeRecord(store, recreated)).toBe('applied');
    expect(await store.get(KEYS[0]!)).toStrictEqual(recreated);
  });

  it('records a delete that arrives before its create, and then refuses the create', async () => {
    const store = new MemoryStateStore();
    const tombstone = write(KEYS[2]!, v(9), false);
    expect(await mergeRecord(store, tombstone)).toBe('applied');
    expect(await mergeRecord(store, write(KEYS[2]!, v(3), true))).toBe('stale');
    expect(await store.list('Environment')).toStrictEqual([]);
  });

  it('reads again after losing a compare-and-set, and stops when the winner is newer', async () => {
    const inner = new MemoryStateStore();
    const rival = write(KEYS[0]!, v(7), true, 'rival');
    let raced = false;
    const store: StateStore = Object.assign(Object.create(inner) as StateStore, {
      async put(record: StoredRecord, options?: object) {
        if (!raced) {
          raced = true;
          await inner.put(rival);
        }
        return inner.put(record, options);
      },
    });
    expect(await mergeRecord(store, write(KEYS[0]!, v(3), true))).toBe('stale');
    expect(await inner.get(KEYS[0]!)).toStrictEqual(rival);
  });

  it('gives up with ConflictError after five lost compare-and-sets', async () => {
    const inner = new MemoryStateStore();
    let attempts = 0;
    const store: StateStore = Object.assign(Object.create(inner) as StateStore, {
      async put() {
        attempts++;
        throw new ConflictError('lost', undefined);
      },
    });
    const error = await mergeRecord(store, write(KEYS[0]!, v(3), true)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).cause).toBeInstanceOf(ConflictError);
    expect(attempts).toBe(5);
  });

  it('passes other errors through untouched', async () => {
    const down = new UnavailableError('store down');
    const store: StateStore = Object.assign(Object.create(new MemoryStateStore()) as StateStore, {
      async get() {
        throw down;
      },
    });
    await expect(mergeRecord(store, write(KEYS[0]!, v(3), true))).rejects.toBe(down);
  });

  it('converges to the same state for any delivery order with duplicates (property)', async () => {
    await fc.assert(
      fc.asyncProperty(deliveries, async ({ writes, order }) => {
        const shuffled = new MemoryStateStore();
        for (const w of order) await mergeRecord(shuffled, w);
        const sorted = new MemoryStateStore();
        const results = [];
        for (const w of inVersionOrder(writes)) results.push(await mergeRecord(sorted, w));
        expect(results.every((r) => r === 'applied')).toBe(true);
        expect(await shuffled.changedSince(undefined)).toStrictEqual(await sorted.changedSince(undefined));
        expect(await shuffled.changedSince(undefined)).toStrictEqual(expectedState(writes));
      }),
    );
  });

  it('is idempotent: delivering everything again changes nothing (property)', async () => {
    await fc.assert(
      fc.asyncProperty(deliveries, async ({ order }) => {
        const store = new MemoryStateStore();
        for (const w of order) await mergeRecord(store, w);
        const before = await store.changedSince(undefined);
        for (const w of order) expect(await mergeRecord(store, w)).toBe('stale');
        expect(await store.changedSince(undefined)).toStrictEqual(before);
      }),
    );
  });

  it('converges when deliveries race each other, whatever the interleaving (property)', async () => {
    await fc.assert(
      fc.asyncProperty(deliveries, fc.scheduler(), async ({ writes, order }, s) => {
        const inner = new MemoryStateStore();
        // Every store call completes when the scheduler says, so merges interleave between read and write.
        const store: StateStore = {
          get: s.scheduleFunction((k) => inner.get(k)),
          put: s.scheduleFunction((r, o) => inner.put(r, o)),
          delete: s.scheduleFunction((k, w, o) => inner.delete(k, w, o)),
          purge: (k, ifVersion) => inner.purge(k, ifVersion),
          list: (kind, o) => inner.list(kind, o),
          changedSince: (since) => inner.changedSince(since),
        };
        const merges = Promise.all(order.map((w) => mergeRecord(store, w)));
        await s.waitFor(merges);
        expect(await inner.changedSince(undefined)).toStrictEqual(expectedState(writes));
      }),
    );
  });
});
