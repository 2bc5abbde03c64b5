/**
 * FirestoreReplayCache on Google's Firestore emulator
 * (test/support/gcloud-emulators.ts), through the real SDK. An unreachable
 * Firestore is made with the fake at the SDK seam (test/support/fake-firestore.ts):
 * the real SDK retries one for minutes before it gives up.
 */
import { Firestore, Timestamp } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { keyDocumentId } from '../../../functions/gcp/firestore-document.js';
import { FirestoreReplayCache } from '../../../functions/gcp/firestore-replay-cache.js';
import { UnavailableError } from '../../../shared/model/errors.js';
import { FakeFirestore } from '../../support/fake-firestore.js';
import { type GcloudEmulator, startFirestoreEmulator } from '../../support/gcloud-emulators.js';

let emulator: GcloudEmulator;
let firestore: Firestore;
let next = 0;
const key = () => `svid_proof:${process.pid}-${++next}`;

beforeAll(async () => {
  vi.stubEnv('METADATA_SERVER_DETECTION', 'none');
  emulator = await startFirestoreEmulator();
  firestore = new Firestore({ projectId: emulator.projectId, host: emulator.host, ssl: false });
}, 60_000);
afterAll(async () => {
  await firestore?.terminate();
  await emulator?.stop();
});

/** Two caches on one collection: what two warm function instances hold. */
const instances = () =>
  [1, 2].map(() => new FirestoreReplayCache({ firestore })) as [FirestoreReplayCache, FirestoreReplayCache];

describe('FirestoreReplayCache on the Firestore emulator', () => {
  it('lets a key be claimed once across instances', async () => {
    const [a, b] = instances();
    const k = key();
    expect(await a.claim(k, Date.now() + 60_000)).toBe(true);
    expect(await b.claim(k, Date.now() + 60_000)).toBe(false);
    expect(await a.claim(k, Date.now() + 60_000)).toBe(false);
    expect(await b.claim(key(), Date.now() + 60_000)).toBe(true);
  });

  it('gives a key to exactly one of many racing claims', async () => {
    const [a, b] = instances();
    const k = key();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).claim(k, Date.now() + 60_000)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('lets an expired claim be made again, by exactly one of two instances racing for it', async () => {
    let now = 1_000_000;
    const [a, b] = [1, 2].map(() => new FirestoreReplayCache({ firestore, now: () => now })) as [
      FirestoreReplayCache,
      FirestoreReplayCache,
    ];
    const k = key();
    expect(await a.claim(k, now + 1000)).toBe(true);
    now += 999;
    expect(await b.claim(k, now + 1000)).toBe(false);
    now += 2;
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).claim(k, now + 1000)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('writes expiresAt (ms) and expireAt (the Timestamp the TTL policy reads)', async () => {
    const k = key();
    await instances()[0].claim(k, 1_900_000_000_123);
    const data = (await firestore.collection('weft-replay').doc(k).get()).data();
    expect(data).toStrictEqual({ expiresAt: 1_900_000_000_123, expireAt: expect.any(Timestamp) });
    expect((data!.expireAt as Timestamp).toMillis()).toBe(1_900_000_000_123);
  });

  it('claims long keys, and keys Firestore refuses as ids, by their hash', async () => {
    const [a, b] = instances();
    const long = `aws_iam:${'x'.repeat(2000)}`;
    expect(await a.claim(long, Date.now() + 60_000)).toBe(true);
    expect(await b.claim(long, Date.now() + 60_000)).toBe(false);
    expect(await b.claim(`${long}y`, Date.now() + 60_000)).toBe(true);
    const slashed = 'gcp_iit:a/b+c==';
    expect(await a.claim(slashed, Date.now() + 60_000)).toBe(true);
    expect(await b.claim(slashed, Date.now() + 60_000)).toBe(false);
    expect((await firestore.collection('weft-replay').doc(keyDocumentId(slashed)).get()).exists).toBe(true);
    expect(keyDocumentId(slashed)).toMatch(/^%[0-9a-f]{64}$/);
  });

  it('fails closed with UnavailableError when Firestore is out of reach (on the fake)', async () => {
    const fake = new FakeFirestore();
    fake.inject = () => FakeFirestore.unavailable();
    const cache = new FirestoreReplayCache({ firestore: fake });
    await expect(cache.claim(key(), Date.now() + 1000)).rejects.toBeInstanceOf(UnavailableError);
  });
});
