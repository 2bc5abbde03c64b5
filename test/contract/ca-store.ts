/**
 * The `CaStore` contract: the CA's compare-and-set on its bundle sequence,
 * run against the in-memory store, the file store and the blob store.
 *
 * @module
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CaState, CaStore } from '../../shared/identity/ca-store.js';
import { ConflictError } from '../../shared/model/errors.js';

/** Stores over one backend: `store()` is another writer (another instance) on the same state. */
export interface CaStoreHarness {
  store(): CaStore;
  close(): Promise<void>;
}

/** A fresh, empty backend per test. */
export type CaStoreFactory = () => Promise<CaStoreHarness>;

/** A CA state at `sequence`; only its shape matters to a store. */
export function caState(sequence: number, extra: Partial<CaState> = {}): CaState {
  return {
    version: 1,
    trustDomain: 'acme.test',
    sequence,
    authoritySequence: sequence,
    root: {
      keyId: 'root-3fa2c1b0d9e8',
      certPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      notAfter: '2036-01-01T00:00:00.000Z',
    },
    intermediates: [
      {
        keyId: `aws-x509-${sequence}`,
        provider: 'aws',
        certPem: '-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n',
        notAfter: '2031-01-01T00:00:00.000Z',
      },
    ],
    jwtKeys: [
      {
        keyId: 'aws-jwt-1',
        provider: 'aws',
        kid: 'kid-ü',
        publicJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' },
        notAfter: '2031-01-01T00:00:00.000Z',
      },
    ],
    ...extra,
  };
}

/**
 * @example
 * describeCaStoreContract('MemoryCaStore', async () => { const s = new MemoryCaStore(); return { store: () => s, close: async () => {} }; });
 */
export function describeCaStoreContract(name: string, factory: CaStoreFactory): void {
  describe(`CaStore contract: ${name}`, () => {
    let h: CaStoreHarness;
    beforeEach(async () => {
      h = await factory();
    });
    afterEach(() => h.close());

    it('loads nothing before the first save, then what was saved, by any instance', async () => {
      const store = h.store();
      expect(await store.load()).toBeUndefined();
      await store.save(caState(1), null);
      expect(await store.load()).toStrictEqual(caState(1));
      expect(await h.store().load()).toStrictEqual(caState(1));
    });

    it('hands out copies: changing what load returned changes nothing stored', async () => {
      const store = h.store();
      await store.save(caState(1), null);
      const loaded = (await store.load()) as { sequence: number };
      loaded.sequence = 99;
      expect((await store.load())?.sequence).toBe(1);
    });

    it('saves only over the expected sequence', async () => {
      const store = h.store();
      await store.save(caState(1), null);
      await expect(store.save(caState(2), null)).rejects.toBeInstanceOf(ConflictError);
      await expect(store.save(caState(2), 7)).rejects.toBeInstanceOf(ConflictError);
      await store.save(caState(2), 1);
      await expect(h.store().save(caState(3), 1)).rejects.toBeInstanceOf(ConflictError);
      await h.store().save(caState(3, { peers: [] }), 2);
      expect(await store.load()).toStrictEqual(caState(3, { peers: [] }));
    });

    it('refuses a save before anything is stored unless expecting nothing', async () => {
      await expect(h.store().save(caState(1), 0)).rejects.toBeInstanceOf(ConflictError);
      expect(await h.store().load()).toBeUndefined();
    });

    it('lets exactly one of racing writers from the same sequence win', async () => {
      await h.store().save(caState(1), null);
      const writers = [h.store(), h.store(), h.store()];
      const results = await Promise.allSettled(
        writers.map((w, i) => w.save(caState(2, { trustDomain: `t${i}` }), 1)),
      );
      const won = results.findIndex((r) => r.status === 'fulfilled');
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
      expect((await h.store().load())?.trustDomain).toBe(`t${won}`);
    });

    it('lets exactly one of two first starts create the state', async () => {
      const results = await Promise.allSettled([
        h.store().save(caState(1), null),
        h.store().save(caState(1), null),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    });
  });
}
