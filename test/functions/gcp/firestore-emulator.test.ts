/**
 * FirestoreStateStore on Google's Firestore emulator
 * (test/support/gcloud-emulators.ts), through the real SDK: the contract,
 * and what the store relies on Firestore for (commit times as the
 * compare-and-set token, the gRPC codes of a lost race, the size limits).
 * The emulator is emptied before each test. firestore-state-store.test.ts
 * runs the same contract on a fake, which also makes the failures the
 * emulator cannot: an unreachable Firestore (the SDK retries one for minutes
 * before it gives up), a query that needs an index.
 */
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FirestoreStateStore } from '../../../functions/gcp/firestore-state-store.js';
import { ConflictError, PayloadTooLargeError } from '../../../shared/model/errors.js';
import { parseResource } from '../../../shared/model/resource.js';
import type { StoredRecord } from '../../../shared/storage/state-store.js';
import { describeStateStoreContract } from '../../contract/state-store.js';
import { type GcloudEmulator, startFirestoreEmulator } from '../../support/gcloud-emulators.js';

let emulator: GcloudEmulator;
let firestore: Firestore;

beforeAll(async () => {
  vi.stubEnv('METADATA_SERVER_DETECTION', 'none');
  emulator = await startFirestoreEmulator();
  firestore = new Firestore({ projectId: emulator.projectId, host: emulator.host, ssl: false });
}, 60_000);
afterAll(async () => {
  await firestore?.terminate();
  await emulator?.stop();
});

describeStateStoreContract('FirestoreStateStore on the Firestore emulator', async () => {
  await emulator.reset();
  return { store: new FirestoreStateStore({ firestore }), close: async () => {} };
});

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

describe('FirestoreStateStore on the Firestore emulator', () => {
  beforeEach(() => emulator.reset());

  it('lays documents out as documented, tombstones included', async () => {
    const store = new FirestoreStateStore({ firestore });
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
    expect((await doc.get()).data()).toMatchObject({ deleted: true, doc: null, labels: null });
  });

  it('escapes / ~ % in document ids, which Firestore then takes', async () => {
    const store = new FirestoreStateStore({ firestore, collection: 'mesh' });
    const odd = { ...orders, key: { ...orders.key, namespace: 'a/b', name: 'c~d%' } };
    await store.put(odd);
    expect((await firestore.collection('mesh').doc('Service~a%2Fb~c%7Ed%25').get()).exists).toBe(true);
    expect(await store.get(odd.key)).toStrictEqual(odd);
    expect(await store.list('Service', { namespace: 'a/b' })).toStrictEqual([odd]);
  });

  it('turns a write that loses between its read and its precondition into ConflictError (FAILED_PRECONDITION)', async () => {
    const store = new FirestoreStateStore({ firestore });
    await store.put(orders);
    // Each store reads the same update time; the first commit moves it, so the other's precondition fails.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 4 }, (_, i) =>
        new FirestoreStateStore({ firestore }).put(
          { ...orders, version: `000000000200${i}-000000-gcp` },
          { ifVersion: orders.version },
        ),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const current = (await store.get(orders.key))?.version;
    for (const o of outcomes) {
      if (o.status === 'fulfilled') continue;
      const error = o.reason as ConflictError;
      expect(error).toBeInstanceOf(ConflictError);
      expect(error.currentVersion).toBe(current);
      // Lost at the precondition (9), or saw the winner's version at the read (no cause).
      if (error.cause) expect(error.cause).toMatchObject({ code: 9 });
    }
  });

  it('keeps ALREADY_EXISTS as the cause when a create finds a document', async () => {
    const store = new FirestoreStateStore({ firestore });
    await store.put(orders);
    const error = await store.put(orders, { ifAbsent: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).cause).toMatchObject({ code: 6 });
    expect((error as ConflictError).currentVersion).toBe(orders.version);
  });

  it('answers PayloadTooLargeError for a resource over what one field holds (1,048,487 bytes)', async () => {
    const store = new FirestoreStateStore({ firestore });
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
    const huge = { ...orders, key: { ...orders.key, kind: 'AccessPolicy' as const, name: 'huge' } };
    const error = await store.put({ ...huge, resource: policy }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect((error as Error).cause).toMatchObject({ code: 3, message: expect.stringMatching(/longer than/) });
    expect(await store.get(huge.key)).toBeUndefined();
  });
});
