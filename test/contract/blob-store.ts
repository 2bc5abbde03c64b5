/**
 * The `BlobStore` contract: what the control plane relies on, run against the
 * in-memory fake and every adapter.
 *
 * @module
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../../shared/model/errors.js';
import type { BlobStore } from '../../shared/storage/blob-store.js';

/** A fresh, empty store per test, and how to dispose of it. */
export type BlobStoreFactory = () => Promise<{ blobs: BlobStore; close(): Promise<void> }>;

/**
 * @example
 * describeBlobStoreContract('MemoryBlobStore', async () => ({ blobs: new MemoryBlobStore(), close: async () => {} }));
 */
export function describeBlobStoreContract(name: string, factory: BlobStoreFactory): void {
  describe(`BlobStore contract: ${name}`, () => {
    let blobs: BlobStore;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ blobs, close } = await factory());
    });
    afterEach(() => close());

    it('returns undefined for a key never written', async () => {
      expect(await blobs.get('snapshots/aws/none.jws')).toBeUndefined();
    });

    it('round-trips UTF-8 text with an ETag that changes on every write', async () => {
      const first = await blobs.put('status/aws/gw-1.json', '{"name":"gw-ü"}');
      expect(await blobs.get('status/aws/gw-1.json')).toStrictEqual({
        body: '{"name":"gw-ü"}',
        etag: first.etag,
      });
      const second = await blobs.put('status/aws/gw-1.json', '{"name":"gw-ü"}');
      expect(second.etag).not.toBe(first.etag);
      expect((await blobs.get('status/aws/gw-1.json'))?.etag).toBe(second.etag);
    });

    it('writes under If-Match only when the ETag is current', async () => {
      const { etag } = await blobs.put('compiled/watermark', 'a');
      const next = await blobs.put('compiled/watermark', 'b', { ifMatch: etag });
      await expect(blobs.put('compiled/watermark', 'c', { ifMatch: etag })).rejects.toBeInstanceOf(
        ConflictError,
      );
      expect(await blobs.get('compiled/watermark')).toStrictEqual({ body: 'b', etag: next.etag });
    });

    it('creates under ifMatch null only when nothing is there', async () => {
      await blobs.put('outbox/watermark', 'first', { ifMatch: null });
      await expect(blobs.put('outbox/watermark', 'second', { ifMatch: null })).rejects.toBeInstanceOf(
        ConflictError,
      );
      await expect(blobs.put('outbox/other', 'x', { ifMatch: '"nope"' })).rejects.toBeInstanceOf(
        ConflictError,
      );
      expect((await blobs.get('outbox/watermark'))?.body).toBe('first');
      expect(await blobs.get('outbox/other')).toBeUndefined();
    });

    it('lets exactly one of several racing conditional writes win', async () => {
      const { etag } = await blobs.put('compiled/watermark', '0');
      const results = await Promise.allSettled(
        ['1', '2', '3', '4'].map((body) => blobs.put('compiled/watermark', body, { ifMatch: etag })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.filter((r) => r.status === 'rejected');
      for (const r of rejected) expect(r.reason).toBeInstanceOf(ConflictError);
    });

    it('lists keys by prefix, sorted, across folders', async () => {
      for (const key of [
        'snapshots/gcp/b.jws',
        'snapshots/aws/z.jws',
        'snapshots/aws/a.jws',
        'status/x.json',
      ])
        await blobs.put(key, key);
      expect(await blobs.list('snapshots/')).toStrictEqual([
        'snapshots/aws/a.jws',
        'snapshots/aws/z.jws',
        'snapshots/gcp/b.jws',
      ]);
      expect(await blobs.list('snapshots/aws/')).toStrictEqual([
        'snapshots/aws/a.jws',
        'snapshots/aws/z.jws',
      ]);
      expect(await blobs.list('nothing/')).toStrictEqual([]);
      expect(await blobs.list('')).toHaveLength(4);
    });

    it('deletes, and deleting what is absent is not an error', async () => {
      await blobs.put('snapshots/aws/a.jws', 'x');
      await blobs.delete('snapshots/aws/a.jws');
      await blobs.delete('snapshots/aws/a.jws');
      expect(await blobs.get('snapshots/aws/a.jws')).toBeUndefined();
      expect(await blobs.list('snapshots/')).toStrictEqual([]);
      // A deleted key can be created again under ifMatch null.
      await blobs.put('snapshots/aws/a.jws', 'y', { ifMatch: null });
    });

    it('refuses keys that are not paths of safe segments', async () => {
      for (const key of ['', '/abs', 'a//b', '../up', 'a/../b', '.hidden', 'a/b/', 'sp ace', 'a\\b']) {
        await expect(blobs.get(key), key).rejects.toBeInstanceOf(TypeError);
        await expect(blobs.put(key, 'x'), key).rejects.toBeInstanceOf(TypeError);
      }
    });
  });
}
