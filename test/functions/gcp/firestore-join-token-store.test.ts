/**
 * FirestoreJoinTokenStore on Google's Firestore emulator
 * (test/support/gcloud-emulators.ts), through the real SDK. An unreachable
 * Firestore is made with the fake at the SDK seam (test/support/fake-firestore.ts):
 * the real SDK retries one for minutes before it gives up.
 */
import { Firestore, Timestamp } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FirestoreJoinTokenStore } from '../../../functions/gcp/firestore-join-token-store.js';
import { ConflictError, UnavailableError } from '../../../shared/model/errors.js';
import { describeJoinTokenStoreContract } from '../../contract/join-token-store.js';
import { FakeFirestore } from '../../support/fake-firestore.js';
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

describeJoinTokenStoreContract(
  'FirestoreJoinTokenStore on the Firestore emulator',
  async () => new FirestoreJoinTokenStore({ firestore }),
);

const entry = { spiffeId: 'spiffe://acme.test/gw/gcp-eu/gw-1', expiresAt: 1_900_000_000_123 };

describe('FirestoreJoinTokenStore', () => {
  it('writes spiffeId, expiresAt (ms) and expireAt (the Timestamp the TTL policy reads), under the hash', async () => {
    await new FirestoreJoinTokenStore({ firestore }).put('layout-hash', entry);
    const data = (await firestore.collection('weft-join-tokens').doc('layout-hash').get()).data();
    expect(data).toStrictEqual({ ...entry, expireAt: expect.any(Timestamp) });
    expect((data!.expireAt as Timestamp).toMillis()).toBe(entry.expiresAt);
  });

  it('refuses a hash stored twice with ConflictError, keeping the first', async () => {
    const tokens = new FirestoreJoinTokenStore({ firestore, collection: 'tokens' });
    await tokens.put('twice', entry);
    const error = await tokens
      .put('twice', { ...entry, spiffeId: 'spiffe://acme.test/gw/x/y' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).cause).toMatchObject({ code: 6 });
    expect(await tokens.consume('twice')).toStrictEqual(entry);
  });

  it('takes any string as a hash, even one Firestore refuses as a document id', async () => {
    const tokens = new FirestoreJoinTokenStore({ firestore });
    for (const hash of ['a/b', '.', '__x__', 'x'.repeat(2000)]) await tokens.put(hash, entry);
    for (const hash of ['a/b', '.', '__x__', 'x'.repeat(2000)])
      expect(await tokens.consume(hash)).toStrictEqual(entry);
    expect(await tokens.consume('x'.repeat(1999))).toBeUndefined();
  });

  it('reports Firestore out of reach as UnavailableError (on the fake)', async () => {
    const fake = new FakeFirestore();
    fake.inject = () => FakeFirestore.unavailable();
    const tokens = new FirestoreJoinTokenStore({ firestore: fake });
    await expect(tokens.consume('x')).rejects.toBeInstanceOf(UnavailableError);
    await expect(tokens.put('x', entry)).rejects.toBeInstanceOf(UnavailableError);
    expect(() => new FirestoreJoinTokenStore({ firestore: fake, collection: 'a/b' })).toThrow(TypeError);
  });
});
