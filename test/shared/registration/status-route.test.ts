import { describe, expect, it } from 'vitest';
import { createApi } from '../../../shared/api/create-api.js';
import { HybridLogicalClock } from '../../../shared/model/hlc.js';
import {
  MAX_RECENT,
  readRegistrationStatus,
  recordRegistration,
  registrationStatusKey,
} from '../../../shared/registration/registration-status.js';
import type { BlobStore } from '../../../shared/storage/blob-store.js';
import { MemoryBlobStore } from '../../../shared/storage/memory-blob-store.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import { createTestOperators } from '../../support/api.js';

const problem = (n: number) => ({
  at: '2026-12-01T12:00:00.000Z',
  type: 'rejected' as const,
  resource: `arn:aws:ec2:us-east-1:123456789012:instance/i-${String(n).padStart(8, '0')}`,
  reason: 'weft:port is missing',
});

describe('the registration status document', () => {
  it('adds up totals and keeps the newest problems', async () => {
    const blobs = new MemoryBlobStore();
    await recordRegistration(blobs, 'aws', { totals: { registered: 2 }, problems: [problem(1)] });
    await recordRegistration(blobs, 'aws', {
      totals: { rejected: 60 },
      problems: Array.from({ length: 60 }, (_, i) => problem(i + 2)),
    });
    const status = await readRegistrationStatus(blobs, 'aws');
    expect(status?.totals).toEqual({ registered: 2, updated: 0, removed: 0, rejected: 60, conflicts: 0 });
    expect(status?.recent).toHaveLength(MAX_RECENT);
    expect(status?.recent[0]?.resource).toBe(problem(61).resource);
    expect(status?.lastEventAt).toBeDefined();
  });

  it('loses no count to a concurrent writer (compare-and-set on the ETag)', async () => {
    const blobs = new MemoryBlobStore();
    await Promise.all(
      Array.from({ length: 6 }, () =>
        recordRegistration(blobs, 'aws', { totals: { removed: 1 }, problems: [] }),
      ),
    );
    expect((await readRegistrationStatus(blobs, 'aws'))?.totals.removed).toBe(6);
  });

  it('retries when it loses the race, and replaces a document it cannot read', async () => {
    const inner = new MemoryBlobStore();
    await inner.put(registrationStatusKey('aws'), '{not json');
    let raced = false;
    const racing: BlobStore = {
      get: (key) => inner.get(key),
      list: (prefix) => inner.list(prefix),
      delete: (key) => inner.delete(key),
      put: async (key, body, options) => {
        if (!raced) {
          raced = true;
          await inner.put(key, '{"someone":"else"}');
        }
        return inner.put(key, body, options);
      },
    };
    await recordRegistration(racing, 'aws', { totals: { updated: 1 }, problems: [] });
    expect((await readRegistrationStatus(inner, 'aws'))?.totals.updated).toBe(1);
  });
});

describe('GET /v1/registration', () => {
  async function api(registration?: { blobs: BlobStore }) {
    const { authenticate, viewerToken } = await createTestOperators();
    const call = createApi({
      store: new MemoryStateStore(),
      hlc: new HybridLogicalClock('aws'),
      authenticate,
      ...(registration && { registration }),
    });
    const get = (token?: string) =>
      call({
        method: 'GET',
        path: '/v1/registration',
        query: {},
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    return { get, viewerToken };
  }

  it('shows a viewer every provider’s counts and recent problems', async () => {
    const blobs = new MemoryBlobStore();
    await recordRegistration(blobs, 'aws', { totals: { rejected: 1 }, problems: [problem(1)] });
    const { get, viewerToken } = await api({ blobs });
    const res = await get(viewerToken);
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body);
    expect(body.providers).toHaveLength(1);
    expect(body.providers[0]).toMatchObject({
      provider: 'aws',
      totals: { rejected: 1 },
      recent: [{ type: 'rejected', reason: 'weft:port is missing' }],
    });
  });

  it('answers an empty list before any registrar ran, and 401 without a token', async () => {
    const { get, viewerToken } = await api({ blobs: new MemoryBlobStore() });
    expect(JSON.parse((await get(viewerToken)).body)).toEqual({ providers: [] });
    expect((await get()).status).toBe(401);
  });

  it('answers 404 saying registration is off when the API has no registration option', async () => {
    const { get, viewerToken } = await api();
    const res = await get(viewerToken);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body).detail).toMatch(/registration from cloud tags is not enabled/);
  });

  it('is in the OpenAPI document', async () => {
    const { authenticate } = await createTestOperators();
    const call = createApi({
      store: new MemoryStateStore(),
      hlc: new HybridLogicalClock('aws'),
      authenticate,
    });
    const doc = JSON.parse(
      (await call({ method: 'GET', path: '/v1/openapi.json', query: {}, headers: {} })).body,
    );
    expect(doc.paths['/v1/registration'].get.operationId).toBe('getRegistration');
    expect(doc.components.schemas.RegistrationStatus).toBeTypeOf('object');
  });
});
