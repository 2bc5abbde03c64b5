/**
 * The `JoinTokenStore` contract: a hash, once put, is consumed exactly once,
 * even by racing callers. Run against the in-memory fake and every adapter.
 *
 * @module
 */
import { describe, expect, it } from 'vitest';
import type { JoinTokenStore } from '../../shared/identity/attestation/join-token-store.js';

/** A store per test; hashes are unique per test, so one store may serve them all. */
export type JoinTokenStoreFactory = () => Promise<JoinTokenStore>;

let next = 0;
const hash = () => `hash-${process.pid}-${Date.now()}-${++next}`;
const spiffeId = 'spiffe://acme.test/gw/aws-us/gw-1';

/**
 * Defines the contract suite for one `JoinTokenStore` implementation.
 *
 * @example
 * describeJoinTokenStoreContract('MemoryJoinTokenStore', async () => new MemoryJoinTokenStore());
 */
export function describeJoinTokenStoreContract(name: string, factory: JoinTokenStoreFactory): void {
  describe(`JoinTokenStore contract: ${name}`, () => {
    it('returns what was put, once', async () => {
      const store = await factory();
      const h = hash();
      const entry = { spiffeId, expiresAt: Date.now() + 60_000 };
      await store.put(h, entry);
      expect(await store.consume(h)).toEqual(entry);
      expect(await store.consume(h)).toBeUndefined();
    });

    it('knows nothing of a hash never put', async () => {
      expect(await (await factory()).consume(hash())).toBeUndefined();
    });

    it('gives a hash to exactly one of many racing consumers', async () => {
      const store = await factory();
      const h = hash();
      await store.put(h, { spiffeId, expiresAt: Date.now() + 60_000 });
      const results = await Promise.all(Array.from({ length: 12 }, () => store.consume(h)));
      expect(results.filter((r) => r !== undefined)).toHaveLength(1);
    });

    it('hands back an expired entry, removing it: the attestor says "expired", and it never works again', async () => {
      const store = await factory();
      const h = hash();
      const expiresAt = Date.now() - 1000;
      await store.put(h, { spiffeId, expiresAt });
      expect(await store.consume(h)).toEqual({ spiffeId, expiresAt });
      expect(await store.consume(h)).toBeUndefined();
    });

    it('keeps hashes apart', async () => {
      const store = await factory();
      const [a, b] = [hash(), hash()];
      await store.put(a, { spiffeId, expiresAt: Date.now() + 60_000 });
      await store.put(b, { spiffeId: 'spiffe://acme.test/ns/shop/svc/db', expiresAt: Date.now() + 60_000 });
      expect((await store.consume(b))?.spiffeId).toBe('spiffe://acme.test/ns/shop/svc/db');
      expect((await store.consume(a))?.spiffeId).toBe(spiffeId);
    });
  });
}
