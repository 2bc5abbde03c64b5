/**
 * FirestoreRateLimiter on Google's Firestore emulator
 * (test/support/gcloud-emulators.ts), through the real SDK. An unreachable
 * Firestore is made with the fake at the SDK seam (test/support/fake-firestore.ts):
 * the real SDK retries one for minutes before it gives up.
 */
import { Firestore, Timestamp } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FirestoreRateLimiter } from '../../../functions/gcp/firestore-rate-limiter.js';
import { RateLimitedError, UnavailableError } from '../../../shared/model/errors.js';
import { FakeFirestore } from '../../support/fake-firestore.js';
import { type GcloudEmulator, startFirestoreEmulator } from '../../support/gcloud-emulators.js';

let emulator: GcloudEmulator;
let firestore: Firestore;
let next = 0;
const source = () => `198.51.100.${++next}`;

beforeAll(async () => {
  vi.stubEnv('METADATA_SERVER_DETECTION', 'none');
  emulator = await startFirestoreEmulator();
  firestore = new Firestore({ projectId: emulator.projectId, host: emulator.host, ssl: false });
}, 60_000);
afterAll(async () => {
  await firestore?.terminate();
  await emulator?.stop();
});

const limiter = (options: { limit: number; windowMs?: number; now?: () => number; name?: string }) =>
  new FirestoreRateLimiter({ firestore, name: 'attest', windowMs: 60_000, ...options });

describe('FirestoreRateLimiter on the Firestore emulator', () => {
  it('counts a source across instances, and says when to retry', async () => {
    const now = () => 3_600_000 + 15_000;
    const [a, b] = [limiter({ limit: 3, now }), limiter({ limit: 3, now })];
    const ip = source();
    await a.take(ip);
    await b.take(ip);
    await a.take(ip);
    const refused = await b.take(ip).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as RateLimitedError).retryAfterSeconds).toBe(45);
    await a.take(source()); // another source has its own count
  });

  it('lets exactly limit of 20 parallel takes through', async () => {
    const [a, b] = [limiter({ limit: 5 }), limiter({ limit: 5 })];
    const ip = source();
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).take(ip)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(RateLimitedError);
  });

  it('starts over in the next window', async () => {
    let now = 7_200_000;
    const limits = limiter({ limit: 1, now: () => now });
    const ip = source();
    await limits.take(ip);
    await expect(limits.take(ip)).rejects.toBeInstanceOf(RateLimitedError);
    now += 60_000;
    await limits.take(ip);
  });

  it('keeps limiters of different names apart in one collection', async () => {
    const ip = source();
    await limiter({ limit: 1, name: 'attest' }).take(ip);
    await limiter({ limit: 1, name: 'svid' }).take(ip);
    await expect(limiter({ limit: 1, name: 'attest' }).take(ip)).rejects.toBeInstanceOf(RateLimitedError);
  });

  it('writes count and expireAt (the window end, the Timestamp the TTL policy reads)', async () => {
    const ip = source();
    const limits = limiter({ limit: 3, now: () => 3_600_000 + 15_000 });
    await limits.take(ip);
    await limits.take(ip);
    const data = (await firestore.collection('weft-rate-limits').doc(`attest~3600000~${ip}`).get()).data();
    expect(data).toStrictEqual({ count: 2, expireAt: expect.any(Timestamp) });
    expect((data!.expireAt as Timestamp).toMillis()).toBe(3_660_000);
  });

  it('reports Firestore out of reach as UnavailableError (on the fake), and refuses bad options', async () => {
    const fake = new FakeFirestore();
    fake.inject = () => FakeFirestore.unavailable();
    const away = new FirestoreRateLimiter({ firestore: fake, name: 'attest', limit: 1, windowMs: 1000 });
    await expect(away.take(source())).rejects.toBeInstanceOf(UnavailableError);
    expect(() => limiter({ limit: 0 })).toThrow(TypeError);
    expect(() => limiter({ limit: 1, windowMs: 0 })).toThrow(TypeError);
    expect(() => limiter({ limit: 1, name: 'Bad/Name' })).toThrow(TypeError);
  });
});
