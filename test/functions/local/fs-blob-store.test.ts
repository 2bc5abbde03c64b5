import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../../functions/local/fs-blob-store.js';
import { describeBlobStoreContract } from '../../contract/blob-store.js';
import { tempDir } from '../../support/temp-dir.js';

describeBlobStoreContract('FsBlobStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-blobs-'));
  return {
    blobs: new FsBlobStore(join(dir, 'blobs')),
    close: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('FsBlobStore', () => {
  it('writes files 0600 in directories 0700, and leaves no temp file behind', async () => {
    const root = join(await tempDir('weft-blobs-'), 'blobs');
    const blobs = new FsBlobStore(root);
    await blobs.put('snapshots/aws/gw-1.jws', 'a.b.c');
    await blobs.put('snapshots/aws/gw-1.jws', 'd.e.f');
    expect((await stat(join(root, 'snapshots/aws/gw-1.jws'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(root, 'snapshots/aws'))).mode & 0o777).toBe(0o700);
    expect((await stat(root)).mode & 0o777).toBe(0o700);
    expect(await readdir(join(root, '.tmp'))).toStrictEqual([]);
    expect(await blobs.list('')).toStrictEqual(['snapshots/aws/gw-1.jws']);
  });

  it('keeps its ETags across instances on the same directory (a restart)', async () => {
    const root = join(await tempDir('weft-blobs-'), 'blobs');
    const { etag } = await new FsBlobStore(root).put('compiled/watermark', '{}');
    const again = new FsBlobStore(root);
    expect((await again.get('compiled/watermark'))?.etag).toBe(etag);
    await again.put('compiled/watermark', '{"v":1}', { ifMatch: etag });
  });
});
