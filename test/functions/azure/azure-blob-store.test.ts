/** AzureBlobStore on azurite's Blob service: the BlobStore contract, races, and what it stores. */
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureBlobStore } from '../../../functions/azure/azure-blob-store.js';
import { BlobCaStore } from '../../../shared/identity/blob-ca-store.js';
import { ConflictError, UnavailableError } from '../../../shared/model/errors.js';
import { describeBlobStoreContract } from '../../contract/blob-store.js';
import { describeCaStoreContract } from '../../contract/ca-store.js';
import { type AzuriteBlob, startAzuriteBlob } from '../../support/azurite.js';

let azurite: AzuriteBlob;
let containers = 0;

beforeAll(async () => {
  azurite = await startAzuriteBlob();
});
afterAll(async () => {
  await azurite?.stop();
});

/** A container of its own per test, so every test starts empty without restarting azurite. */
async function freshContainer() {
  const container = azurite.container(`weft-blobs-${++containers}`);
  await container.create();
  return container;
}

describeBlobStoreContract('AzureBlobStore on azurite', async () => ({
  blobs: new AzureBlobStore({ container: await freshContainer() }),
  close: async () => {},
}));

describeBlobStoreContract(
  'AzureBlobStore on azurite, under a key prefix, one name per list page',
  async () => ({
    blobs: new AzureBlobStore({ container: await freshContainer(), keyPrefix: 'weft/', pageSize: 1 }),
    close: async () => {},
  }),
);

describe('AzureBlobStore', () => {
  it('lets exactly one of two instances create a blob under ifMatch null, then win a CAS on it', async () => {
    const container = await freshContainer();
    const [a, b] = [new AzureBlobStore({ container }), new AzureBlobStore({ container })];
    const created = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).put('outbox/watermark', `${i}`, { ifMatch: null })),
    );
    expect(created.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of created) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
    const { etag } = (await a.get('outbox/watermark'))!;
    const updated = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? a : b).put('outbox/watermark', `u${i}`, { ifMatch: etag }),
      ),
    );
    const won = updated.findIndex((r) => r.status === 'fulfilled');
    expect(updated.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await b.get('outbox/watermark'))?.body).toBe(`u${won}`);
  });

  it('stores the text as the blob under the prefix, with a content type, its ETag being the blob ETag', async () => {
    const container = await freshContainer();
    const { etag } = await new AzureBlobStore({ container, keyPrefix: 'weft/' }).put(
      'status/aws/gw-1.json',
      '{"a":"ü"}',
    );
    const blob = container.getBlockBlobClient('weft/status/aws/gw-1.json');
    const properties = await blob.getProperties();
    expect(properties.etag).toBe(etag);
    expect(properties.contentType).toBe('application/json');
    expect((await blob.downloadToBuffer()).toString('utf8')).toBe('{"a":"ü"}');
    expect(await new AzureBlobStore({ container }).list('')).toStrictEqual(['weft/status/aws/gw-1.json']);
  });

  it('takes a blob written by something else, with its ETag', async () => {
    const container = await freshContainer();
    const put = await container.getBlockBlobClient('compiled/watermark').upload('x', 1);
    const blobs = new AzureBlobStore({ container });
    expect(await blobs.get('compiled/watermark')).toStrictEqual({ body: 'x', etag: put.etag });
    await blobs.put('compiled/watermark', 'y', { ifMatch: put.etag! });
    await expect(blobs.put('compiled/watermark', 'z', { ifMatch: put.etag! })).rejects.toBeInstanceOf(
      ConflictError,
    );
  });

  it('reports a missing container as UnavailableError naming it', async () => {
    const blobs = new AzureBlobStore({ container: azurite.container('weft-no-such-container') });
    for (const call of [
      () => blobs.get('a'),
      () => blobs.put('a', 'x'),
      () => blobs.list(''),
      () => blobs.delete('a'),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as Error).message).toContain('weft-no-such-container does not exist');
    }
  });

  it('reports an unreachable Blob service as UnavailableError', async () => {
    const stopped = await startAzuriteBlob();
    await stopped.stop();
    const blobs = new AzureBlobStore({ container: stopped.container('weft') });
    const error = await blobs.get('compiled/watermark').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(/cannot reach Azure Blob storage \(ECONNREFUSED\)/);
    await expect(blobs.put('a', 'x', { ifMatch: null })).rejects.toBeInstanceOf(UnavailableError);
  });

  it('reports refused credentials as UnavailableError', async () => {
    const wrongKey = azurite.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${'A'.repeat(86)}==`);
    const service = BlobServiceClient.fromConnectionString(wrongKey, { retryOptions: { maxTries: 1 } });
    const blobs = new AzureBlobStore({
      container: service.getContainerClient((await freshContainer()).containerName),
    });
    const error = await blobs.get('a').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(/refused the credentials/);
  });

  it('refuses bad options at construction', () => {
    const container = azurite.container('weft');
    expect(() => new AzureBlobStore({ container: undefined as never })).toThrow(TypeError);
    expect(() => new AzureBlobStore({ container, keyPrefix: 'weft' })).toThrow(TypeError);
    expect(() => new AzureBlobStore({ container, keyPrefix: '../' })).toThrow(TypeError);
    expect(() => new AzureBlobStore({ container, pageSize: 0 })).toThrow(TypeError);
  });
});

describeCaStoreContract('BlobCaStore on AzureBlobStore on azurite', async () => {
  const blobs = new AzureBlobStore({ container: await freshContainer() });
  return { store: () => new BlobCaStore(blobs), close: async () => {} };
});
