import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../../functions/aws/s3-blob-store.js';
import { BlobCaStore } from '../../../shared/identity/blob-ca-store.js';
import { ConflictError, UnavailableError } from '../../../shared/model/errors.js';
import { describeBlobStoreContract } from '../../contract/blob-store.js';
import { describeCaStoreContract } from '../../contract/ca-store.js';
import { type Moto, startMoto } from '../../support/moto.js';

let moto: Moto;
let s3: S3Client;
let buckets = 0;

beforeAll(async () => {
  moto = await startMoto();
  s3 = new S3Client(moto.clientConfig);
});
afterAll(async () => {
  s3?.destroy();
  await moto?.stop();
});

/** A bucket of its own per test, so every test starts empty without resetting moto. */
async function freshBucket(): Promise<string> {
  const bucket = `weft-blobs-${++buckets}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

describeBlobStoreContract('S3BlobStore on moto', async () => ({
  blobs: new S3BlobStore({ client: s3, bucket: await freshBucket() }),
  close: async () => {},
}));

describeBlobStoreContract('S3BlobStore on moto, under a key prefix, one key per list page', async () => ({
  blobs: new S3BlobStore({ client: s3, bucket: await freshBucket(), keyPrefix: 'weft/', pageSize: 1 }),
  close: async () => {},
}));

describe('S3BlobStore', () => {
  it('relies on S3 conditional writes, which moto 5.2 implements (If-Match, If-None-Match: *)', async () => {
    const Bucket = await freshBucket();
    const first = await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'a', IfNoneMatch: '*' }));
    await expect(
      s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'b', IfNoneMatch: '*' })),
    ).rejects.toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'b', IfMatch: first.ETag }));
    await expect(
      s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'c', IfMatch: first.ETag })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
  });

  it('stores the text as the object body under the prefix, and an ETag of its own per write', async () => {
    const bucket = await freshBucket();
    const blobs = new S3BlobStore({ client: s3, bucket, keyPrefix: 'weft/' });
    const { etag } = await blobs.put('status/aws/gw-1.json', '{"a":1}');
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'weft/status/aws/gw-1.json' }));
    expect(await object.Body?.transformToString()).toBe('{"a":1}');
    expect(object.ContentType).toBe('application/json');
    // S3's ETag is the body's MD5; ours adds the write id that makes it new on every write.
    expect(etag.startsWith(object.ETag!.slice(0, -1))).toBe(true);
    expect(await new S3BlobStore({ client: s3, bucket }).list('')).toStrictEqual([
      'weft/status/aws/gw-1.json',
    ]);
  });

  it('takes an object written by something else, with S3 its own ETag', async () => {
    const Bucket = await freshBucket();
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'compiled/watermark', Body: 'x' }));
    const blobs = new S3BlobStore({ client: s3, bucket: Bucket });
    expect(await blobs.get('compiled/watermark')).toStrictEqual({ body: 'x', etag: put.ETag });
    await blobs.put('compiled/watermark', 'y', { ifMatch: put.ETag! });
    await expect(blobs.put('compiled/watermark', 'z', { ifMatch: put.ETag! })).rejects.toBeInstanceOf(
      ConflictError,
    );
  });

  it('reports a missing bucket as UnavailableError', async () => {
    const blobs = new S3BlobStore({ client: s3, bucket: 'weft-no-such-bucket' });
    await expect(blobs.get('a')).rejects.toBeInstanceOf(UnavailableError);
    await expect(blobs.put('a', 'x')).rejects.toBeInstanceOf(UnavailableError);
    await expect(blobs.list('')).rejects.toBeInstanceOf(UnavailableError);
  });

  it('refuses bad options at construction', () => {
    expect(() => new S3BlobStore({ client: s3, bucket: '' })).toThrow(TypeError);
    expect(() => new S3BlobStore({ client: s3, bucket: 'b', keyPrefix: 'weft' })).toThrow(TypeError);
    expect(() => new S3BlobStore({ client: s3, bucket: 'b', keyPrefix: '../' })).toThrow(TypeError);
    expect(() => new S3BlobStore({ client: s3, bucket: 'b', pageSize: 0 })).toThrow(TypeError);
  });
});

describeCaStoreContract('BlobCaStore on S3BlobStore on moto', async () => {
  const blobs = new S3BlobStore({ client: s3, bucket: await freshBucket() });
  return { store: () => new BlobCaStore(blobs), close: async () => {} };
});
