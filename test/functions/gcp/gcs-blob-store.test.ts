/**
 * GcsBlobStore through the real @google-cloud/storage client against a fake
 * of Cloud Storage's JSON API (test/support/fake-gcs.ts): nothing of GCS
 * runs here, so the fake stands at the SDK's HTTP seam (`apiEndpoint`), with
 * GCS's generation preconditions and 412s, and the SDK makes every request
 * it would make of GCS (multipart uploads, `alt=media` reads, paged lists).
 */
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GcsBlobStore } from '../../../functions/gcp/gcs-blob-store.js';
import { BlobCaStore } from '../../../shared/identity/blob-ca-store.js';
import { ConflictError, UnavailableError } from '../../../shared/model/errors.js';
import { describeBlobStoreContract } from '../../contract/blob-store.js';
import { describeCaStoreContract } from '../../contract/ca-store.js';
import { type FakeGcs, startFakeGcs } from '../../support/fake-gcs.js';
import { freePort } from '../../support/free-port.js';

let gcs: FakeGcs;
let storage: Storage;
let buckets = 0;

beforeAll(async () => {
  vi.stubEnv('METADATA_SERVER_DETECTION', 'none');
  gcs = await startFakeGcs();
  storage = client();
});
afterAll(async () => {
  await gcs?.close();
});

/** Another instance's client: its own connection pool and retry state. */
const client = (options: { retry?: boolean; endpoint?: string } = {}) =>
  new Storage({
    apiEndpoint: options.endpoint ?? gcs.endpoint,
    projectId: 'weft-test',
    ...(options.retry === false && { retryOptions: { autoRetry: false } }),
  });

/** A bucket of its own per test, so every test starts empty. */
function freshBucket(): string {
  const bucket = `weft-blobs-${++buckets}`;
  gcs.createBucket(bucket);
  return bucket;
}

describeBlobStoreContract('GcsBlobStore on a fake GCS JSON API', async () => ({
  blobs: new GcsBlobStore({ storage, bucket: freshBucket() }),
  close: async () => {},
}));

describeBlobStoreContract('GcsBlobStore under a key prefix, one object per list page', async () => ({
  blobs: new GcsBlobStore({ storage, bucket: freshBucket(), keyPrefix: 'weft/', pageSize: 1 }),
  close: async () => {},
}));

describe('GcsBlobStore', () => {
  it('stores the text as the object under the prefix, its generation the ETag, in one multipart upload', async () => {
    const bucket = freshBucket();
    const blobs = new GcsBlobStore({ storage, bucket, keyPrefix: 'weft/' });
    const before = gcs.requests.length;
    const { etag } = await blobs.put('status/gcp/gw-1.json', '{"a":1}', { ifMatch: null });
    expect(gcs.object(bucket, 'weft/status/gcp/gw-1.json')).toStrictEqual({
      body: '{"a":1}',
      generation: etag,
      contentType: 'application/json',
    });
    const uploads = gcs.requests.slice(before);
    expect(uploads).toHaveLength(1);
    expect(uploads[0]).toMatch(/^POST \/upload\/storage\/v1\/b\/weft-blobs-\d+\/o\?uploadType=multipart&/);
    expect(uploads[0]).toContain('ifGenerationMatch=0');
    expect(await blobs.get('status/gcp/gw-1.json')).toStrictEqual({ body: '{"a":1}', etag });
    expect(await new GcsBlobStore({ storage, bucket }).list('')).toStrictEqual(['weft/status/gcp/gw-1.json']);
  });

  it('lets one of two instances win a compare-and-set on the same generation', async () => {
    const bucket = freshBucket();
    const [a, b] = [client(), client()].map((s) => new GcsBlobStore({ storage: s, bucket }));
    const { etag } = await a!.put('compiled/watermark', '0');
    const [ra, rb] = await Promise.allSettled([
      a!.put('compiled/watermark', 'a', { ifMatch: etag }),
      b!.put('compiled/watermark', 'b', { ifMatch: etag }),
    ]);
    const won = [ra, rb].filter((r) => r!.status === 'fulfilled');
    const lost = [ra, rb].filter((r) => r!.status === 'rejected') as PromiseRejectedResult[];
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(ConflictError);
    const winner = ra!.status === 'fulfilled' ? 'a' : 'b';
    expect(await b!.get('compiled/watermark')).toStrictEqual({
      body: winner,
      etag: (won[0] as PromiseFulfilledResult<{ etag: string }>).value.etag,
    });
  });

  it('refuses an ETag that is not a generation without asking GCS', async () => {
    const blobs = new GcsBlobStore({ storage, bucket: freshBucket() });
    await blobs.put('k', 'x');
    const before = gcs.requests.length;
    for (const ifMatch of ['0', '"abc"', '-1', '1.5', ''])
      await expect(blobs.put('k', 'y', { ifMatch }), ifMatch).rejects.toBeInstanceOf(ConflictError);
    expect(gcs.requests.length).toBe(before);
  });

  it('takes an object written by something else, with its generation', async () => {
    const bucket = freshBucket();
    await storage.bucket(bucket).file('compiled/watermark').save('x', { resumable: false });
    const { generation } = gcs.object(bucket, 'compiled/watermark')!;
    const blobs = new GcsBlobStore({ storage, bucket });
    expect(await blobs.get('compiled/watermark')).toStrictEqual({ body: 'x', etag: generation });
    await blobs.put('compiled/watermark', 'y', { ifMatch: generation });
    await expect(blobs.put('compiled/watermark', 'z', { ifMatch: generation })).rejects.toBeInstanceOf(
      ConflictError,
    );
  });

  it('reports a missing bucket as UnavailableError, even where a missing object is not an error', async () => {
    const blobs = new GcsBlobStore({ storage, bucket: 'weft-no-such-bucket' });
    await expect(blobs.get('a')).rejects.toThrow(/bucket weft-no-such-bucket does not exist/);
    await expect(blobs.get('a')).rejects.toBeInstanceOf(UnavailableError);
    await expect(blobs.put('a', 'x')).rejects.toBeInstanceOf(UnavailableError);
    await expect(blobs.put('a', 'x', { ifMatch: null })).rejects.toBeInstanceOf(UnavailableError);
    await expect(blobs.list('')).rejects.toBeInstanceOf(UnavailableError);
    await expect(blobs.delete('a')).rejects.toBeInstanceOf(UnavailableError);
  });

  it('reports GCS failing as UnavailableError', async () => {
    const blobs = new GcsBlobStore({ storage: client({ retry: false }), bucket: freshBucket() });
    gcs.failNext(503);
    await expect(blobs.get('a')).rejects.toThrow(/throttling or failing \(503\)/);
    gcs.failNext(429);
    await expect(blobs.put('a', 'x', { ifMatch: null })).rejects.toBeInstanceOf(UnavailableError);
    gcs.failNext(403);
    await expect(blobs.list('')).rejects.toThrow(/roles\/storage.objectUser/);
  });

  it('reports an unreachable GCS as UnavailableError', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    // Without retries: the SDK retries a refused read for about 15 s before it gives up.
    const blobs = new GcsBlobStore({ storage: client({ endpoint, retry: false }), bucket: 'weft-blobs' });
    await expect(blobs.get('a')).rejects.toThrow(/cannot reach GCS \(ECONNREFUSED\)/);
    await expect(blobs.put('a', 'x', { ifMatch: null })).rejects.toBeInstanceOf(UnavailableError);
    await expect(blobs.put('a', 'x')).rejects.toBeInstanceOf(UnavailableError);
    await expect(blobs.list('')).rejects.toBeInstanceOf(UnavailableError);
    await expect(blobs.delete('a')).rejects.toBeInstanceOf(UnavailableError);
  });

  it('refuses bad options at construction', () => {
    expect(() => new GcsBlobStore({ storage, bucket: '' })).toThrow(TypeError);
    expect(() => new GcsBlobStore({ storage, bucket: 'b', keyPrefix: 'weft' })).toThrow(TypeError);
    expect(() => new GcsBlobStore({ storage, bucket: 'b', keyPrefix: '../' })).toThrow(TypeError);
    expect(() => new GcsBlobStore({ storage, bucket: 'b', pageSize: 1001 })).toThrow(TypeError);
  });
});

describeCaStoreContract('BlobCaStore on GcsBlobStore on a fake GCS', async () => {
  const blobs = new GcsBlobStore({ storage, bucket: freshBucket() });
  return { store: () => new BlobCaStore(blobs), close: async () => {} };
});
