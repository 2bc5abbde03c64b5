/**
 * The `StateStore` contract: what the core relies on, run against the
 * in-memory fake and every adapter. An adapter that passes it can be trusted.
 *
 * @module
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../../shared/model/errors.js';
import { formatHlc, HybridLogicalClock } from '../../shared/model/hlc.js';
import type { ResourceKey } from '../../shared/model/kinds.js';
import { keyOf, parseResource, type Resource } from '../../shared/model/resource.js';
import { parseLabelSelector } from '../../shared/storage/label-selector.js';
import type { StateStore, StoredRecord, WriteStamp } from '../../shared/storage/state-store.js';

/** A fresh, empty store per test, and how to dispose of it. */
export type StateStoreFactory = () => Promise<{ store: StateStore; close(): Promise<void> }>;

/**
 * Defines the contract suite for one `StateStore` implementation.
 *
 * @example
 * describeStateStoreContract('MemoryStateStore', async () => ({ store: new MemoryStateStore(), close: async () => {} }));
 */
export function describeStateStoreContract(name: string, factory: StateStoreFactory): void {
  describe(`StateStore contract: ${name}`, () => {
    let store: StateStore;
    let close: () => Promise<void>;
    const clock = new HybridLogicalClock('contract');
    const stamp = (): WriteStamp => ({
      version: clock.now(),
      origin: 'aws',
      updatedAt: new Date().toISOString(),
    });
    const record = (resource: Resource): StoredRecord => ({ key: keyOf(resource), ...stamp(), resource });

    beforeEach(async () => {
      ({ store, close } = await factory());
    });
    afterEach(async () => {
      await close();
    });

    describe('get and put', () => {
      it('returns undefined for a key never written', async () => {
        expect(await store.get({ kind: 'Service', namespace: 'shop', name: 'nothing' })).toBeUndefined();
      });

      it('round-trips a namespaced record with labels and annotations unchanged', async () => {
        const written = record(service('shop', 'orders', { app: 'orders', 'weft.dev/tier': 'gold' }));
        await store.put(written);
        const read = await store.get(written.key);
        expect(read).toStrictEqual(written);
        expect(read?.resource?.metadata.annotations).toStrictEqual({ 'weft.dev/owner': 'team-orders' });
      });

      it('round-trips a cluster-scoped record (namespace "")', async () => {
        const written = record(environment('aws-east', { provider: 'aws' }));
        expect(written.key.namespace).toBe('');
        await store.put(written);
        expect(await store.get(written.key)).toStrictEqual(written);
      });

      it('keeps kinds, namespaces and names apart', async () => {
        const a = record(service('shop', 'orders'));
        const b = record(service('bank', 'orders'));
        const c = record(workload('shop', 'orders'));
        for (const r of [a, b, c]) await store.put(r);
        expect(await store.get(a.key)).toStrictEqual(a);
        expect(await store.get(b.key)).toStrictEqual(b);
        expect(await store.get(c.key)).toStrictEqual(c);
      });

      it('replaces the record on a later put', async () => {
        const first = record(service('shop', 'orders', { v: '1' }));
        await store.put(first);
        const second = record(service('shop', 'orders', { v: '2' }));
        await store.put(second);
        expect(await store.get(first.key)).toStrictEqual(second);
      });

      it('hands out copies: editing what it returned does not edit the store', async () => {
        const written = record(service('shop', 'orders', { app: 'orders' }));
        await store.put(written);
        const read = await store.get(written.key);
        read!.resource!.metadata.labels!.app = 'changed';
        const [listed] = await store.list('Service');
        listed!.resource!.metadata.name = 'changed';
        expect(await store.get(written.key)).toStrictEqual(written);
      });

      it('refuses a tombstone through put() with TypeError', async () => {
        const tombstone = { key: key('Service', 'shop', 'orders'), ...stamp(), resource: null };
        await expect(store.put(tombstone)).rejects.toThrow(TypeError);
        expect(await store.get(tombstone.key)).toBeUndefined();
      });
    });

    describe('compare-and-set', () => {
      it('puts when ifVersion is the stored version', async () => {
        const first = record(service('shop', 'orders', { v: '1' }));
        await store.put(first);
        const second = record(service('shop', 'orders', { v: '2' }));
        await store.put(second, { ifVersion: first.version });
        expect(await store.get(first.key)).toStrictEqual(second);
      });

      it('throws ConflictError with the current version when ifVersion is stale, and keeps the record', async () => {
        const first = record(service('shop', 'orders', { v: '1' }));
        await store.put(first);
        const second = record(service('shop', 'orders', { v: '2' }));
        await store.put(second);
        const third = record(service('shop', 'orders', { v: '3' }));
        const error = await store.put(third, { ifVersion: first.version }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConflictError);
        expect((error as ConflictError).code).toBe('ERR_CONFLICT');
        expect((error as ConflictError).currentVersion).toBe(second.version);
        expect(await store.get(first.key)).toStrictEqual(second);
      });

      it('throws ConflictError without a current version when ifVersion names a version of a missing key', async () => {
        const r = record(service('shop', 'orders'));
        const error = await store.put(r, { ifVersion: clock.now() }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConflictError);
        expect((error as ConflictError).currentVersion).toBeUndefined();
        expect(await store.get(r.key)).toBeUndefined();
      });

      it('creates with ifVersion null when the key is absent', async () => {
        const r = record(service('shop', 'orders'));
        await store.put(r, { ifVersion: null });
        expect(await store.get(r.key)).toStrictEqual(r);
      });

      it('refuses ifVersion null over a live record', async () => {
        const live = record(service('shop', 'orders', { v: '1' }));
        await store.put(live);
        const error = await store
          .put(record(service('shop', 'orders')), { ifVersion: null })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConflictError);
        expect((error as ConflictError).currentVersion).toBe(live.version);
        expect(await store.get(live.key)).toStrictEqual(live);
      });

      it('re-creates over a tombstone with ifVersion null', async () => {
        const live = record(service('shop', 'orders', { v: '1' }));
        await store.put(live);
        await store.delete(live.key, stamp());
        const again = record(service('shop', 'orders', { v: '2' }));
        await store.put(again, { ifVersion: null });
        expect(await store.get(live.key)).toStrictEqual(again);
      });

      it('matches ifVersion against a tombstone version', async () => {
        const live = record(service('shop', 'orders'));
        await store.put(live);
        const gone = stamp();
        await store.delete(live.key, gone);
        await expect(
          store.put(record(service('shop', 'orders')), { ifVersion: live.version }),
        ).rejects.toThrow(ConflictError);
        const again = record(service('shop', 'orders'));
        await store.put(again, { ifVersion: gone.version });
        expect(await store.get(live.key)).toStrictEqual(again);
      });

      it('with ifAbsent writes only where nothing, not even a tombstone, is stored', async () => {
        const r = record(service('shop', 'orders'));
        await store.put(r, { ifAbsent: true });
        expect(await store.get(r.key)).toStrictEqual(r);
        const overLive = await store
          .put(record(service('shop', 'orders')), { ifAbsent: true })
          .catch((e) => e);
        expect(overLive).toBeInstanceOf(ConflictError);
        expect((overLive as ConflictError).currentVersion).toBe(r.version);
        const gone = stamp();
        await store.delete(r.key, gone);
        const overTombstone = await store
          .put(record(service('shop', 'orders')), { ifAbsent: true })
          .catch((e) => e);
        expect(overTombstone).toBeInstanceOf(ConflictError);
        expect((overTombstone as ConflictError).currentVersion).toBe(gone.version);
        await expect(store.delete(r.key, stamp(), { ifAbsent: true })).rejects.toThrow(ConflictError);
      });

      it('deletes only when ifVersion holds', async () => {
        const live = record(service('shop', 'orders'));
        await store.put(live);
        const error = await store
          .delete(live.key, stamp(), { ifVersion: clock.now() })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConflictError);
        expect((error as ConflictError).currentVersion).toBe(live.version);
        expect(await store.get(live.key)).toStrictEqual(live);
        const gone = stamp();
        await store.delete(live.key, gone, { ifVersion: live.version });
        expect(await store.get(live.key)).toMatchObject({ version: gone.version, resource: null });
      });

      it('refuses a delete with ifVersion null over a live record', async () => {
        const live = record(service('shop', 'orders'));
        await store.put(live);
        await expect(store.delete(live.key, stamp(), { ifVersion: null })).rejects.toThrow(ConflictError);
        expect(await store.get(live.key)).toStrictEqual(live);
      });
    });

    describe('delete', () => {
      it('leaves a tombstone that get and changedSince see and list does not', async () => {
        const live = record(service('shop', 'orders'));
        await store.put(live);
        const gone: WriteStamp = {
          version: clock.now(),
          origin: 'gcp',
          updatedAt: '2030-01-02T03:04:05.000Z',
        };
        await store.delete(live.key, gone);
        const tombstone: StoredRecord = { key: live.key, ...gone, resource: null };
        expect(await store.get(live.key)).toStrictEqual(tombstone);
        expect(await store.list('Service')).toStrictEqual([]);
        expect(await store.changedSince(live.version)).toStrictEqual([tombstone]);
      });

      it('records a delete of a key never written (it may arrive before the create)', async () => {
        const k = key('Route', 'shop', 'orders');
        const gone = stamp();
        await store.delete(k, gone);
        expect(await store.get(k)).toStrictEqual({ key: k, ...gone, resource: null });
      });
    });

    describe('purge', () => {
      it('removes a tombstone at its version: gone from get and changedSince, as if never written', async () => {
        const live = record(service('shop', 'orders'));
        await store.put(live);
        const other = record(service('shop', 'cart'));
        await store.put(other);
        const gone = stamp();
        await store.delete(live.key, gone);
        await store.purge(live.key, gone.version);
        expect(await store.get(live.key)).toBeUndefined();
        expect(await store.changedSince(undefined)).toStrictEqual([other]);
        expect(await store.changedSince(live.version)).toStrictEqual([other]);
        // Truly absent: a create-only write now succeeds.
        const again = record(service('shop', 'orders'));
        await store.put(again, { ifAbsent: true });
        expect(await store.get(live.key)).toStrictEqual(again);
      });

      it('refuses a tombstone at another version with ConflictError, and keeps it', async () => {
        const k = key('Service', 'shop', 'orders');
        const first = stamp();
        await store.delete(k, first);
        const second = stamp();
        await store.delete(k, second);
        const error = await store.purge(k, first.version).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConflictError);
        expect((error as ConflictError).currentVersion).toBe(second.version);
        expect(await store.get(k)).toStrictEqual({ key: k, ...second, resource: null });
      });

      it('never purges a live record, even at its version', async () => {
        const live = record(service('shop', 'orders'));
        await store.put(live);
        const error = await store.purge(live.key, live.version).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConflictError);
        expect((error as ConflictError).currentVersion).toBe(live.version);
        expect(await store.get(live.key)).toStrictEqual(live);
        expect(await store.changedSince(undefined)).toStrictEqual([live]);
      });

      it('refuses a key with nothing stored with ConflictError', async () => {
        const k = key('Route', 'shop', 'nothing');
        const error = await store.purge(k, clock.now()).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConflictError);
        expect((error as ConflictError).currentVersion).toBeUndefined();
        expect(await store.get(k)).toBeUndefined();
      });

      it('lets exactly one of a purge and a re-create over the same tombstone win', async () => {
        for (const n of [0, 1, 2, 3]) {
          const k = key('Service', 'shop', `race-${n}`);
          const gone = stamp();
          await store.delete(k, gone);
          const again = { key: k, ...stamp(), resource: service('shop', `race-${n}`) };
          const racing = [store.purge(k, gone.version), store.put(again, { ifVersion: gone.version })];
          const outcomes = await Promise.allSettled(n % 2 ? racing.reverse() : racing);
          expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
          for (const o of outcomes)
            if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(ConflictError);
          const stored = await store.get(k);
          expect(stored === undefined || stored.version === again.version).toBe(true);
        }
      });
    });

    describe('list', () => {
      it('returns nothing from an empty store', async () => {
        expect(await store.list('Service')).toStrictEqual([]);
      });

      it('returns live records of one kind, sorted by namespace then name', async () => {
        const names: [string, string][] = [
          ['shop', 'orders'],
          ['bank', 'ledger'],
          ['shop', 'cart'],
          ['a-b', 'x'],
          ['a', 'z'],
          ['bank', 'accounts-2'],
          ['bank', 'accounts'],
        ];
        const services = names.map(([ns, n]) => record(service(ns, n)));
        for (const r of services) await store.put(r);
        await store.put(record(workload('shop', 'orders')));
        await store.put(record(environment('aws-east')));
        const listed = await store.list('Service');
        expect(listed.map((r) => `${r.key.namespace}/${r.key.name}`)).toStrictEqual([
          'a/z',
          'a-b/x',
          'bank/accounts',
          'bank/accounts-2',
          'bank/ledger',
          'shop/cart',
          'shop/orders',
        ]);
        expect(listed).toContainEqual(services[0]);
      });

      it('filters by namespace, with "" for cluster-scoped kinds', async () => {
        for (const [ns, n] of [
          ['shop', 'orders'],
          ['shop', 'cart'],
          ['bank', 'ledger'],
          ['shopping', 'basket'],
        ] as const) {
          await store.put(record(service(ns, n)));
        }
        await store.put(record(environment('aws-east')));
        await store.put(record(environment('gcp-west')));
        const shop = await store.list('Service', { namespace: 'shop' });
        expect(shop.map((r) => r.key.name)).toStrictEqual(['cart', 'orders']);
        expect(await store.list('Service', { namespace: 'nowhere' })).toStrictEqual([]);
        expect(await store.list('Service', { namespace: '' })).toStrictEqual([]);
        const envs = await store.list('Environment', { namespace: '' });
        expect(envs.map((r) => r.key.name)).toStrictEqual(['aws-east', 'gcp-west']);
      });

      it('filters by label selector', async () => {
        await store.put(record(service('shop', 'web', { app: 'web', tier: 'front', env: 'prod' })));
        await store.put(record(service('shop', 'db', { app: 'db', tier: 'back', env: 'prod' })));
        await store.put(record(service('shop', 'cache', { app: 'cache', tier: 'back', env: 'stage' })));
        await store.put(record(service('shop', 'bare')));
        const names = async (selector: string, namespace?: string) =>
          (await store.list('Service', { selector: parseLabelSelector(selector), namespace })).map(
            (r) => r.key.name,
          );
        expect(await names('')).toStrictEqual(['bare', 'cache', 'db', 'web']);
        expect(await names('tier=back')).toStrictEqual(['cache', 'db']);
        expect(await names('tier=back,env=prod')).toStrictEqual(['db']);
        expect(await names('env in (stage,dev)')).toStrictEqual(['cache']);
        expect(await names('tier!=back')).toStrictEqual(['bare', 'web']);
        expect(await names('!app')).toStrictEqual(['bare']);
        expect(await names('app', 'shop')).toStrictEqual(['cache', 'db', 'web']);
        expect(await names('app', 'bank')).toStrictEqual([]);
      });
    });

    describe('changedSince', () => {
      it('returns everything, tombstones included, sorted by version when given no version', async () => {
        const a = record(service('shop', 'a'));
        const b = record(environment('aws-east'));
        const c = record(service('shop', 'c'));
        for (const r of [c, a, b]) await store.put(r);
        const gone = stamp();
        await store.delete(b.key, gone);
        const all = await store.changedSince(undefined);
        expect(all).toStrictEqual([a, c, { key: b.key, ...gone, resource: null }].sort(byVersion));
      });

      it('returns only records strictly newer than the version, sorted by version', async () => {
        // Versions written out of order, as records merged from other clouds are.
        const at = (wall: number, node = 'aws') => formatHlc({ wall, counter: 0, node });
        const writes = [
          { ...record(service('shop', 'a')), version: at(3000) },
          { ...record(service('shop', 'b')), version: at(1000) },
          { ...record(service('shop', 'c')), version: at(2000, 'gcp') },
          { ...record(service('shop', 'd')), version: at(2000, 'azure') },
        ];
        for (const w of writes) await store.put(w);
        const names = async (since: string | undefined) =>
          (await store.changedSince(since)).map((r) => r.key.name);
        expect(await names(undefined)).toStrictEqual(['b', 'd', 'c', 'a']);
        expect(await names(at(1000))).toStrictEqual(['d', 'c', 'a']);
        expect(await names(at(2000, 'azure'))).toStrictEqual(['c', 'a']);
        expect(await names(at(2500))).toStrictEqual(['a']);
        expect(await names(at(3000))).toStrictEqual([]);
        expect(await names(at(0))).toStrictEqual(['b', 'd', 'c', 'a']);
      });

      it('shows each key once, at its latest write', async () => {
        const first = record(service('shop', 'orders', { v: '1' }));
        await store.put(first);
        const second = record(service('shop', 'orders', { v: '2' }));
        await store.put(second);
        expect(await store.changedSince(undefined)).toStrictEqual([second]);
        expect(await store.changedSince(first.version)).toStrictEqual([second]);
        expect(await store.changedSince(second.version)).toStrictEqual([]);
      });
    });

    describe('concurrent compare-and-set', () => {
      const racers = 12;

      it('lets exactly one of many puts with the same ifVersion win', async () => {
        const base = record(service('shop', 'orders'));
        await store.put(base);
        const contenders = Array.from({ length: racers }, (_, i) =>
          record(service('shop', 'orders', { n: `${i}` })),
        );
        const outcomes = await Promise.allSettled(
          contenders.map((c) => store.put(c, { ifVersion: base.version })),
        );
        const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [contenders[i]!] : []));
        expect(winners).toHaveLength(1);
        for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(ConflictError);
        expect(await store.get(base.key)).toStrictEqual(winners[0]);
      });

      it('lets exactly one of many creates (ifVersion null, ifAbsent) win', async () => {
        for (const condition of [{ ifVersion: null }, { ifAbsent: true }]) {
          const name = condition.ifVersion === null ? 'by-null' : 'by-absent';
          const contenders = Array.from({ length: racers }, (_, i) =>
            record(service('shop', name, { n: `${i}` })),
          );
          const outcomes = await Promise.allSettled(contenders.map((c) => store.put(c, condition)));
          const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [contenders[i]!] : []));
          expect(winners).toHaveLength(1);
          for (const o of outcomes)
            if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(ConflictError);
          expect(await store.get(key('Service', 'shop', name))).toStrictEqual(winners[0]);
        }
      });

      it('lets exactly one of racing puts and deletes with the same ifVersion win', async () => {
        const base = record(service('shop', 'orders'));
        await store.put(base);
        const outcomes = await Promise.allSettled(
          Array.from({ length: racers }, (_, i) =>
            i % 2
              ? store.put(record(service('shop', 'orders')), { ifVersion: base.version })
              : store.delete(base.key, stamp(), { ifVersion: base.version }),
          ),
        );
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      });
    });

    describe('large documents', () => {
      it('round-trips a document with a ~100 KB spec', async () => {
        const big = record(bigPolicy('shop', 'big', 100_000));
        expect(JSON.stringify(big.resource?.spec).length).toBeGreaterThan(95_000);
        await store.put(big);
        expect(await store.get(big.key)).toStrictEqual(big);
      });

      it('lists and reports changes past 1 MB of documents (paginated reads)', async () => {
        const bigs = Array.from({ length: 12 }, (_, i) =>
          record(bigPolicy('shop', `big-${String(i).padStart(2, '0')}`, 100_000)),
        );
        for (const r of bigs) await store.put(r);
        expect(await store.list('AccessPolicy', { namespace: 'shop' })).toStrictEqual(bigs);
        expect(await store.changedSince(undefined)).toStrictEqual(bigs);
        expect(await store.changedSince(bigs[5]!.version)).toStrictEqual(bigs.slice(6));
      });
    });
  });
}

function key(kind: ResourceKey['kind'], namespace: string, name: string): ResourceKey {
  return { kind, namespace, name };
}

function byVersion(a: StoredRecord, b: StoredRecord): number {
  return a.version < b.version ? -1 : a.version > b.version ? 1 : 0;
}

function service(namespace: string, name: string, labels?: Record<string, string>): Resource {
  return parseResource({
    apiVersion: 'weft.dev/v1',
    kind: 'Service',
    metadata: {
      name,
      namespace,
      ...(labels && { labels }),
      annotations: { 'weft.dev/owner': 'team-orders' },
    },
    spec: {
      protocol: 'http',
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [{ environment: 'aws', address: '10.0.0.1:8080' }],
    },
  });
}

function workload(namespace: string, name: string): Resource {
  return parseResource({
    apiVersion: 'weft.dev/v1',
    kind: 'Workload',
    metadata: { name, namespace },
    spec: { service: name, environment: 'aws', address: '10.0.0.2:8080' },
  });
}

function environment(name: string, labels?: Record<string, string>): Resource {
  return parseResource({
    apiVersion: 'weft.dev/v1',
    kind: 'Environment',
    metadata: labels ? { name, labels } : { name },
    spec: { provider: 'aws', region: 'us-east-1', priority: 10 },
  });
}

/** An AccessPolicy whose spec serialises to about `bytes` bytes. */
function bigPolicy(namespace: string, name: string, bytes: number): Resource {
  const from = Array.from(
    { length: 16 },
    (_, i) => `spiffe://acme.test/ns/team-${i}/svc/caller-${'x'.repeat(60)}-${i}`,
  );
  const ruleBytes = JSON.stringify({ from, methods: ['GET', 'POST'], paths: ['/v1/orders/*'] }).length;
  const rules = Array.from({ length: Math.ceil(bytes / ruleBytes) }, (_, r) => ({
    from,
    methods: ['GET', 'POST'],
    paths: [`/v1/orders/${r}/*`],
  }));
  return parseResource({
    apiVersion: 'weft.dev/v1',
    kind: 'AccessPolicy',
    metadata: { name, namespace, labels: { size: 'big' } },
    spec: { service: 'orders', action: 'allow', rules },
  });
}
