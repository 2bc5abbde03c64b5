import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalHost } from '../../../functions/local/host.js';
import { loadOperatorKey } from '../../../functions/local/operator-key.js';
import { describeApiContract } from '../../contract/api.js';
import { httpCaller } from '../../support/api.js';

const SILENT = { info() {}, error() {} };

describeApiContract('local host (node:http over embedded dynalite)', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'weft-host-'));
  const host = await startLocalHost({ dataDir, logger: SILENT });
  // The host mints only an admin token; a viewer's comes from the same key on disk.
  const viewerToken = await (await loadOperatorKey(dataDir)).mint('test-viewer', 'viewer');
  return {
    call: httpCaller(host.url),
    adminToken: host.adminToken,
    viewerToken,
    close: async () => {
      await host.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});

describe('startLocalHost', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'weft-host-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('writes the admin token and the operator key readable by the owner only', async () => {
    const host = await startLocalHost({ dataDir, logger: SILENT });
    try {
      expect(host.adminTokenFile).toBe(join(dataDir, 'admin-token'));
      expect((await stat(host.adminTokenFile)).mode & 0o777).toBe(0o600);
      expect((await stat(join(dataDir, 'operator-key.jwk'))).mode & 0o777).toBe(0o600);
      expect((await readFile(host.adminTokenFile, 'utf8')).trim()).toBe(host.adminToken);
    } finally {
      await host.close();
    }
  });

  it('resumes from its dataDir: state and the operator key survive a restart', async () => {
    const doc = {
      apiVersion: 'weft.dev/v1',
      kind: 'Environment',
      metadata: { name: 'kept' },
      spec: { provider: 'local', region: 'home' },
    };
    const first = await startLocalHost({ dataDir, logger: SILENT });
    const put = await httpCaller(first.url)('PUT', '/v1/environments/kept', {
      body: JSON.stringify(doc),
      headers: { authorization: `Bearer ${first.adminToken}`, 'content-type': 'application/json' },
    });
    expect(put.status, put.body).toBe(201);
    await first.close();

    const second = await startLocalHost({ dataDir, logger: SILENT });
    try {
      // The token minted by the first run still verifies: the key was reloaded, not regenerated.
      const res = await httpCaller(second.url)('GET', '/v1/environments/kept', {
        headers: { authorization: `Bearer ${first.adminToken}` },
      });
      expect(res.status, res.body).toBe(200);
      expect(res.headers.etag).toBe(put.headers.etag);
    } finally {
      await second.close();
    }
  });

  it('releases its store when the port is taken, so the next start works', async () => {
    const first = await startLocalHost({ dataDir, logger: SILENT });
    const port = Number(new URL(first.url).port);
    const other = await mkdtemp(join(tmpdir(), 'weft-host-busy-'));
    try {
      await expect(startLocalHost({ dataDir: other, port, logger: SILENT })).rejects.toThrow(/EADDRINUSE/);
      const again = await startLocalHost({ dataDir: other, logger: SILENT });
      await again.close();
    } finally {
      await first.close();
      await rm(other, { recursive: true, force: true });
    }
  });
});
