import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../shared/model/errors.js';
import { parseResource } from '../../../shared/model/resource.js';

const doc = (kind: string, spec: unknown, metadata: object = { name: 'x' }) => ({
  apiVersion: 'weft.dev/v1',
  kind,
  metadata,
  spec,
});

/** The issues a document gets, as `pointer: detail` lines. */
function issues(input: unknown): string[] {
  try {
    parseResource(input);
  } catch (error) {
    if (error instanceof ValidationError) return error.issues.map((i) => `${i.pointer}: ${i.detail}`);
    throw error;
  }
  return [];
}

const route = (rules: unknown[]) =>
  doc('Route', { service: 'orders', rules }, { name: 'r', namespace: 'shop' });

describe('parseResource', () => {
  it('accepts a minimal service and puts it in the default namespace', () => {
    const svc = parseResource(doc('Service', { ports: [{ port: 80 }] }, { name: 'web' }));
    expect(svc.metadata.namespace).toBe('default');
  });

  it('drops status: the system writes it, never the operator', () => {
    const env = parseResource({
      ...doc('Environment', { provider: 'aws', region: 'us-east-1' }),
      status: { version: 'x' },
    });
    expect(env).not.toHaveProperty('status');
  });

  it.each([
    ['Upper', 'DNS-1123'],
    ['-lead', 'DNS-1123'],
    ['a'.repeat(64), 'DNS-1123'],
  ])('refuses the name %s', (name, detail) => {
    expect(issues(doc('Environment', { provider: 'aws', region: 'x' }, { name }))[0]).toContain(detail);
  });

  it('points at an unknown field by its path', () => {
    expect(issues(doc('Service', { ports: [{ port: 80, prot: 1 }] }))).toEqual([
      expect.stringMatching(/^\/spec\/ports\/0\/prot: unknown field "prot"/),
    ]);
  });

  it('refuses a namespace on a cluster-scoped kind', () => {
    expect(
      issues(doc('Environment', { provider: 'aws', region: 'x' }, { name: 'a', namespace: 'b' })),
    ).toEqual([expect.stringMatching(/^\/metadata\/namespace: Environment is cluster-scoped/)]);
  });

  it('refuses a bad trust domain and bad SPIFFE IDs in policies', () => {
    expect(issues(doc('Mesh', { trustDomain: 'Bad Domain' }))[0]).toMatch(/^\/spec\/trustDomain/);
    const policy = (from: string[]) =>
      doc(
        'AccessPolicy',
        { service: 'orders', action: 'allow', rules: [{ from }] },
        { name: 'p', namespace: 's' },
      );
    expect(
      issues(policy(['spiffe://acme.test/ns/shop/svc/web', 'spiffe://acme.test/ns/shop/*', '*'])),
    ).toEqual([]);
    for (const bad of [
      'http://acme.test/x',
      'spiffe://ACME/x',
      'spiffe://acme.test/a//b',
      'spiffe://acme.test/../x',
      'spiffe://acme.test/ns*',
    ]) {
      expect(issues(policy([bad]))[0], bad).toMatch(/^\/spec\/rules\/0\/from\/0: must be a SPIFFE ID/);
    }
  });

  it('takes attestation rules in a Mesh, each SPIFFE ID in its trust domain, join tokens at most a day', () => {
    const mesh = (attestation: unknown) => doc('Mesh', { trustDomain: 'acme.test', attestation });
    const gw = 'spiffe://acme.test/gw/aws-us/gw-1';
    expect(
      issues(mesh({ joinToken: { maxTtl: '24h' }, aws: [{ accountId: '123456789012', spiffeId: gw }] })),
    ).toEqual([]);
    expect(
      issues(mesh({ gcp: [{ projectId: 'acme-prod', spiffeId: 'spiffe://other.test/gw/a/b' }] })),
    ).toEqual(['/spec/attestation/gcp/0/spiffeId: must be in trust domain acme.test']);
    expect(issues(mesh({ joinToken: { maxTtl: '25h' } }))).toEqual([
      '/spec/attestation/joinToken/maxTtl: must be between 1s and 24h',
    ]);
    expect(issues(mesh({ joinToken: { maxTtl: '0s' } }))).toHaveLength(1);
    expect(issues(mesh({ aws: [{ accountId: '1', spiffeId: gw }] }))[0]).toMatch(
      /^\/spec\/attestation\/aws\/0\/accountId/,
    );
  });

  it('needs backend weights with a positive sum, each environment once', () => {
    expect(
      issues(
        route([
          {
            backends: [
              { environment: 'aws', weight: 0 },
              { environment: 'gcp', weight: 0 },
            ],
          },
        ]),
      ),
    ).toEqual(['/spec/rules/0/backends: backend weights must add up to more than 0']);
    expect(issues(route([{ backends: [{ environment: 'aws', weight: -1 }] }]))[0]).toMatch(
      /^\/spec\/rules\/0\/backends\/0\/weight/,
    );
    expect(issues(route([{ backends: [{ environment: 'aws' }, { environment: 'aws' }] }]))).toEqual([
      '/spec/rules/0/backends/1/environment: environment aws is listed twice',
    ]);
  });

  it('refuses a match that an earlier rule already takes', () => {
    const m = { path: { type: 'PathPrefix', value: '/api' }, method: 'GET' };
    const shuffled = { method: 'GET', path: { value: '/api', type: 'PathPrefix' } };
    expect(
      issues(
        route([
          { matches: [m], backends: [{ environment: 'aws' }] },
          { matches: [shuffled], backends: [{ environment: 'gcp' }] },
        ]),
      ),
    ).toEqual([
      '/spec/rules/1/matches/0: duplicates the match of rule 0; a request could never reach this one',
    ]);
    expect(
      issues(route([{ backends: [{ environment: 'aws' }] }, { backends: [{ environment: 'gcp' }] }])),
    ).toHaveLength(1);
  });

  it('needs a value on Exact and Prefix header matches', () => {
    const r = route([
      { matches: [{ headers: [{ name: 'x-a', type: 'Prefix' }] }], backends: [{ environment: 'aws' }] },
    ]);
    expect(issues(r)).toEqual(['/spec/rules/0/matches/0/headers/0/value: a Prefix match needs a value']);
  });

  it('checks durations, addresses and ports', () => {
    expect(issues(route([{ backends: [{ environment: 'aws' }], timeout: '10 seconds' }]))[0]).toMatch(
      /timeout must be a duration/,
    );
    expect(issues(doc('Gateway', { environment: 'aws', address: '127.0.0.1:99999' }))[0]).toMatch(
      /^\/spec\/address/,
    );
    expect(issues(doc('Gateway', { environment: 'aws', address: '[::1]:443' }))).toEqual([]);
  });

  it('names apiVersion and kind errors plainly', () => {
    expect(issues({ ...doc('Service', {}), apiVersion: 'v1' })[0]).toBe(
      '/apiVersion: apiVersion must be weft.dev/v1',
    );
    expect(issues(doc('Pod', {}))[0]).toMatch(/^\/kind: kind must be one of Mesh/);
    expect(issues('just a string')).toEqual([': Invalid input: expected object, received string']);
  });
});
