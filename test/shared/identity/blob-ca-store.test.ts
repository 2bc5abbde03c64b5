import { describe, expect, it } from 'vitest';
import { BlobCaStore, CA_STATE_BLOB } from '../../../shared/identity/blob-ca-store.js';
import { ConflictError, WeftError } from '../../../shared/model/errors.js';
import type { BlobStore } from '../../../shared/storage/blob-store.js';
import { MemoryBlobStore } from '../../../shared/storage/memory-blob-store.js';
import { caState, describeCaStoreContract } from '../../contract/ca-store.js';

describeCaStoreContract('BlobCaStore on MemoryBlobStore', async () => {
  const blobs = new MemoryBlobStore();
  return { store: () => new BlobCaStore(blobs), close: async () => {} };
});

describe('BlobCaStore', () => {
  it('keeps the state as JSON at ca/state.json, or the key it is given', async () => {
    const blobs = new MemoryBlobStore();
    await new BlobCaStore(blobs).save(caState(1), null);
    expect(CA_STATE_BLOB).toBe('ca/state.json');
    expect(JSON.parse((await blobs.get('ca/state.json'))!.body)).toStrictEqual(caState(1));
    await new BlobCaStore(blobs, { key: 'ca/other.json' }).save(caState(5), null);
    expect(await blobs.list('ca/')).toStrictEqual(['ca/other.json', 'ca/state.json']);
    expect(() => new BlobCaStore(blobs, { key: '../x' })).toThrow(TypeError);
  });

  it('loses to a writer that saved between its read and its write', async () => {
    const blobs = new MemoryBlobStore();
    const store = new BlobCaStore(blobs);
    await store.save(caState(1), null);
    // Another instance saves once this one has read the sequence: the ETag no longer matches.
    let raced = false;
    const racing: BlobStore = {
      get: async (key) => {
        const blob = await blobs.get(key);
        if (!raced) {
          raced = true;
          await new BlobCaStore(blobs).save(caState(2, { trustDomain: 'other' }), 1);
        }
        return blob;
      },
      put: (key, body, options) => blobs.put(key, body, options),
      list: (prefix) => blobs.list(prefix),
      delete: (key) => blobs.delete(key),
    };
    await expect(new BlobCaStore(racing).save(caState(2), 1)).rejects.toBeInstanceOf(ConflictError);
    expect((await store.load())?.trustDomain).toBe('other');
  });

  it('says so when the blob is not a CA state', async () => {
    const blobs = new MemoryBlobStore();
    await blobs.put(CA_STATE_BLOB, 'not json');
    await expect(new BlobCaStore(blobs).load()).rejects.toThrow(WeftError);
    await blobs.put(CA_STATE_BLOB, '{"version":2,"sequence":1}');
    await expect(new BlobCaStore(blobs).load()).rejects.toThrow(/unreadable/);
  });
});
