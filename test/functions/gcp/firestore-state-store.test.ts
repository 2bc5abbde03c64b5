// Firestore is mocked here, at the narrowest seam the adapter has (the slice
// of the SDK in functions/gcp/firestore-client.ts): the same contract runs on
// Google's Firestore emulator in firestore-emulator.test.ts, and this fake
// stays for speed and for the failures the emulator cannot make (Firestore
// out of reach, which the SDK retries for minutes; a query needing an index).
// The fake keeps what the compare-and-set relies on (commit times,
// preconditions, gRPC codes); firestore-client.test.ts checks that the real
// SDK accepts every call made.
import { describe, expect, it } from 'vitest';
import { FirestoreStateStore } from '../../../functions/gcp/firestore-state-store.js';
import { ConflictError, PayloadTooLargeError, UnavailableError } from '../../../shared/model/errors.js';
import { parseResource } from '../../../shared/model/resource.js';
import type { StoredRecord } from '../../../shared/storage/state-store.js';
import { describeStateStoreContract } from '../../contract/state-store.js';
import { FakeFirestore, FakeFirestoreError } from '../../support/fake-firestore.js';

function freshStore() {
  const firestore = new FakeFirestore();
  return { store: new FirestoreStateStore({ firestore }), firestore, close: async () => {} };
}

describeStateStoreContract('FirestoreStateStore on a fake Firestore', async () => freshStore());

const orders: StoredRecord = {
  key: { kind: 'Service', namespace: 'shop', name: 'orders' },
  version: '0000000001000-000000-gcp',
  origin: 'gcp',
  updatedAt: '2030-01-01T00:00:00.000Z',
  resource: parseResource({
    apiVersion: 'weft.dev/v1',
    kind: 'Service',
    metadata: { name: 'orders', namespace: 'shop', labels: { app: 'orders', 'weft.dev/tier': 'gold' } },
    spec: { ports: [{ port: 8080 }] },
  }),
};

describe('FirestoreStateStore', () => {
  it('lays documents out as documented (id kind~namespace~name; key, version, origin, updatedAt, deleted, doc, labels)', async () => {
    const { store, firestore } = freshStore();
    await store.put(orders);
    const doc = firestore.collection('weft-state').doc('Service~shop~orders');
    expect((await doc.get()).data()).toStrictEqual({
      kind: 'Service',
      namespace: 'shop',
      name: 'orders',
      version: orders.version,
      origin: 'gcp',
      updatedAt: orders.updatedAt,
      deleted: false,
      doc: JSON.stringify(orders.resource),
      labels: { app: 'orders', 'weft.dev/tier': 'gold' },
    });
    await store.delete(orders.key, { ...orders, version: '0000000002000-000000-aws', origin: 'aws' });
    expect((await doc.get()).data()).toMatchObject({
      version: '0000000002000-000000-aws',
      deleted: true,
      doc: null,
      labels: null,
    });
  });

  it('uses the collection it is given, and escapes / ~ % in document ids', async () => {
    const firestore = new FakeFirestore();
    const store = new FirestoreStateStore({ firestore, collection: 'mesh' });
    const odd = { ...orders, key: { ...orders.key, namespace: 'a/b', name: 'c~d%' } };
    await store.put(odd);
    expect((await firestore.collection('mesh').doc('Service~a%2Fb~c%7Ed%25').get()).exists).toBe(true);
    expect(await store.get(odd.key)).toStrictEqual(odd);
    expect(() => new FirestoreStateStore({ firestore, collection: 'a/b' })).toThrow(TypeError);
  });

  it('turns a write that loses between its read and its precondition into ConflictError (FAILED_PRECONDITION as cause)', async () => {
    const { store, firestore } = freshStore();
    await store.put(orders);
    const rival = { ...orders, version: '0000000003000-000000-aws' };
    // Both read the same updateTime; whichever writes first moves it, and the other's precondition fails.
    const [mine, theirs] = await Promise.allSettled([
      store.put({ ...orders, version: '0000000002000-000000-gcp' }, { ifVersion: orders.version }),
      new FirestoreStateStore({ firestore }).put(rival, { ifVersion: orders.version }),
    ]);
    const lost = [mine, theirs].filter((o) => o.status === 'rejected');
    expect(lost).toHaveLength(1);
    const error = (lost[0] as PromiseRejectedResult).reason as ConflictError;
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.cause).toMatchObject({ code: 9 });
    expect(error.currentVersion).toBe((await store.get(orders.key))?.version);
  });

  it('keeps ALREADY_EXISTS as the cause when a create finds a document', async () => {
    const { store } = freshStore();
    await store.put(orders);
    const error = await store.put(orders, { ifAbsent: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).cause).toBeInstanceOf(FakeFirestoreError);
    expect((error as ConflictError).cause).toMatchObject({ code: 6 });
    expect((error as ConflictError).currentVersion).toBe(orders.version);
  });

  it('refuses ifVersion together with ifAbsent as a programming error', async () => {
    const { store } = freshStore();
    await expect(store.put(orders, { ifVersion: null, ifAbsent: true })).rejects.toThrow(TypeError);
  });

  it('answers PayloadTooLargeError for a document over 1 MiB', async () => {
    const { store } = freshStore();
    const from = Array.from(
      { length: 3 },
      (_, i) => `spiffe://acme.test/ns/shop/svc/${'x'.repeat(2000)}${i}`,
    );
    const policy = parseResource({
      apiVersion: 'weft.dev/v1',
      kind: 'AccessPolicy',
      metadata: { name: 'huge', namespace: 'shop' },
      spec: { service: 'orders', action: 'allow', rules: Array.from({ length: 250 }, () => ({ from })) },
    });
    const huge = {
      ...orders,
      key: { ...orders.key, kind: 'AccessPolicy' as const, name: 'huge' },
      resource: policy,
    };
    await expect(store.put(huge)).rejects.toThrow(PayloadTooLargeError);
    expect(await store.get(huge.key)).toBeUndefined();
  });

  it('answers UnavailableError when Firestore cannot be reached', async () => {
    const { store, firestore } = freshStore();
    firestore.inject = () => FakeFirestore.unavailable();
    for (const call of [
      () => store.get(orders.key),
      () => store.put(orders),
      () => store.changedSince(undefined),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as Error).message).toMatch(/cannot reach Firestore \(14 UNAVAILABLE/);
      expect((error as Error).cause).toBeInstanceOf(FakeFirestoreError);
    }
  });

  it('says which index to create when a query needs one (FAILED_PRECONDITION on a read)', async () => {
    const { store, firestore } = freshStore();
    firestore.inject = (call) =>
      call === 'query'
        ? new FakeFirestoreError(
            9,
            'FAILED_PRECONDITION',
            'The query requires an index. You can create it here: …',
          )
        : undefined;
    await expect(store.list('Service')).rejects.toThrow(/create the index it names/);
  });

  it('refuses documents it did not write instead of misreading them', async () => {
    const { store, firestore } = freshStore();
    await firestore.collection('weft-state').doc('odd').set({ kind: 'Service', version: 'x' });
    await expect(store.changedSince(undefined)).rejects.toThrow(/not a weft record \(no deleted\)/);
  });
});
