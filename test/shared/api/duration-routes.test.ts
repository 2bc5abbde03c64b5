import { beforeAll, describe, expect, it } from 'vitest';
import type { ApiResponse } from '../../../shared/api/types.js';
import { createLocalApiForTest } from '../../support/api.js';

const API_VERSION = 'weft.dev/v1';
const route = (name: string, rule: Record<string, unknown>) => ({
  apiVersion: API_VERSION,
  kind: 'Route',
  metadata: { name, namespace: 'shop' },
  spec: { service: 'orders', rules: [{ backends: [{ environment: 'aws' }], ...rule }] },
});
const mesh = (credentials: Record<string, unknown>) => ({
  apiVersion: API_VERSION,
  kind: 'Mesh',
  metadata: { name: 'mesh' },
  spec: { trustDomain: 'acme.test', credentials },
});

function problem(res: ApiResponse): { field: string; detail: string; errors: unknown[] } {
  expect(res.status, res.body).toBe(422);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  return JSON.parse(res.body);
}

describe('duration fields over the API', () => {
  let call: Awaited<ReturnType<typeof createLocalApiForTest>>['call'];

  beforeAll(async () => {
    ({ call } = await createLocalApiForTest());
    const env = { apiVersion: API_VERSION, kind: 'Environment', metadata: { name: 'aws' } };
    const put = await call('PUT', '/v1/environments/aws', {
      ...env,
      spec: { provider: 'aws', region: 'us-east-1' },
    });
    expect(put.status, put.body).toBeLessThan(300);
  });

  it('refuses a Route timeout of 30d with 422 naming the field and its range', async () => {
    const p = problem(await call('PUT', '/v1/routes/shop/long', route('long', { timeout: '30d' })));
    expect(p.field).toBe('/spec/rules/0/timeout');
    expect(p.errors).toEqual([
      {
        pointer: '/spec/rules/0/timeout',
        detail: 'timeout must be between 1ms and 5m, or 0s for no route timeout (got 30d)',
      },
    ]);
    expect(p.detail).toMatch(/timeout must be between 1ms and 5m/);
  });

  it('takes a Route timeout at its maximum, and 0s (no route timeout)', async () => {
    for (const [name, timeout] of [
      ['longest', '5m'],
      ['endless', '0s'],
    ] as const) {
      const res = await call('PUT', `/v1/routes/shop/${name}`, route(name, { timeout }));
      expect(res.status, res.body).toBeLessThan(300);
      const got = await call('GET', `/v1/routes/shop/${name}`);
      expect(JSON.parse(got.body).spec.rules[0].timeout).toBe(timeout);
    }
  });

  it('refuses a per-try timeout of 0s or one longer than the whole call', async () => {
    const zero = route('zero-try', { retries: { attempts: 1, perTryTimeout: '0s' } });
    expect(problem(await call('PUT', '/v1/routes/shop/zero-try', zero)).field).toBe(
      '/spec/rules/0/retries/perTryTimeout',
    );
    const longer = route('longer-try', { timeout: '1s', retries: { attempts: 1, perTryTimeout: '2s' } });
    expect(problem(await call('PUT', '/v1/routes/shop/longer-try', longer)).field).toBe(
      '/spec/rules/0/retries/perTryTimeout',
    );
  });

  it('refuses a Mesh whose SVID TTL is 0s or past what the CA issues', async () => {
    const zero = problem(await call('PUT', '/v1/meshes/mesh', mesh({ x509SvidTtl: '0s' })));
    expect(zero.field).toBe('/spec/credentials/x509SvidTtl');
    expect(zero.errors).toEqual([
      { pointer: '/spec/credentials/x509SvidTtl', detail: 'x509SvidTtl must be between 1m and 24h (got 0s)' },
    ]);
    const long = problem(await call('PUT', '/v1/meshes/mesh', mesh({ jwtSvidTtl: '61m' })));
    expect(long.field).toBe('/spec/credentials/jwtSvidTtl');
    const ok = await call('PUT', '/v1/meshes/mesh', mesh({ x509SvidTtl: '24h', jwtSvidTtl: '1h' }));
    expect(ok.status, ok.body).toBeLessThan(300);
  });
});
