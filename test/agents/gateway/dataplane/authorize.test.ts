import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AuthzRequest, authorize } from '../../../../agents/gateway/dataplane/authorize.js';
import type {
  AuthorizationPolicy,
  AuthorizationRule,
  HeaderMatch,
  HttpMethod,
} from '../../../../shared/contract/snapshot.js';

const TD = 'spiffe://acme.test';
const IDS = [`${TD}/ns/shop/svc/frontend`, `${TD}/ns/shop/svc/reports`, `${TD}/ns/ops/svc/admin`];
const METHODS: HttpMethod[] = ['GET', 'POST', 'DELETE'];
const PATHS = ['/', '/orders', '/orders/1', '/admin', '/admin/users'];

// An oracle written apart from the implementation: the rule semantics, spelled out plainly.
function oracleMatches(rule: AuthorizationRule, r: AuthzRequest): boolean {
  const idOk = rule.from.some((p) =>
    p === '*'
      ? true
      : p.endsWith('/*')
        ? r.sourceIdentity.startsWith(p.slice(0, -1))
        : p === r.sourceIdentity,
  );
  const methodOk = rule.methods === undefined || rule.methods.includes(r.method as HttpMethod);
  const pathOk =
    rule.paths === undefined ||
    rule.paths.some((p) => (p.endsWith('*') ? r.path.startsWith(p.slice(0, -1)) : p === r.path));
  const headersOk = (rule.headers ?? []).every((h) => {
    const v = r.headers[h.name] as string | undefined;
    if (v === undefined) return false;
    return h.type === 'Present'
      ? true
      : h.type === 'Prefix'
        ? v.startsWith(h.value ?? '')
        : v === (h.value ?? '');
  });
  return idOk && methodOk && pathOk && headersOk;
}

const pattern = fc.oneof(
  fc.constantFrom(...IDS),
  fc.constantFrom('*', `${TD}/ns/shop/*`, `${TD}/ns/ops/*`, `${TD}/*`),
);
const headerMatch: fc.Arbitrary<HeaderMatch> = fc.record({
  name: fc.constantFrom('x-tenant', 'x-debug'),
  type: fc.constantFrom('Exact' as const, 'Prefix' as const, 'Present' as const),
  value: fc.constantFrom('a', 'ab', ''),
});
const rule: fc.Arbitrary<AuthorizationRule> = fc.record(
  {
    from: fc.array(pattern, { minLength: 1, maxLength: 3 }),
    methods: fc.subarray(METHODS, { minLength: 1 }),
    paths: fc.array(fc.constantFrom('/orders', '/orders*', '/admin/*', '/', '/*'), {
      minLength: 1,
      maxLength: 2,
    }),
    headers: fc.array(headerMatch, { maxLength: 2 }),
  },
  { requiredKeys: ['from'] },
);
const policy: fc.Arbitrary<AuthorizationPolicy> = fc.record({
  name: fc.constantFrom('p-a', 'p-b', 'p-c', 'p-d'),
  action: fc.constantFrom('allow' as const, 'deny' as const),
  rules: fc.array(rule, { minLength: 1, maxLength: 3 }),
});
const request: fc.Arbitrary<AuthzRequest> = fc.record({
  sourceIdentity: fc.constantFrom(...IDS),
  method: fc.constantFrom(...METHODS),
  path: fc.constantFrom(...PATHS),
  headers: fc.record({ 'x-tenant': fc.constantFrom('a', 'ab', 'b') }, { requiredKeys: [] }),
});
const policies = fc.array(policy, { maxLength: 5 });
const action = fc.constantFrom('allow' as const, 'deny' as const);

const anyMatch = (ps: readonly AuthorizationPolicy[], act: string, r: AuthzRequest) =>
  ps.some((p) => p.action === act && p.rules.some((x) => oracleMatches(x, r)));

describe('authorize', () => {
  it('deny wins: any matching deny rule denies, whatever allows', () => {
    fc.assert(
      fc.property(request, policies, action, (r, ps, def) => {
        const decision = authorize(r, ps, def);
        if (anyMatch(ps, 'deny', r)) expect(decision.allowed).toBe(false);
      }),
    );
  });

  it('allows only when an allow rule matches (or by an allow default when nothing matches)', () => {
    fc.assert(
      fc.property(request, policies, action, (r, ps, def) => {
        const decision = authorize(r, ps, def);
        const expected = anyMatch(ps, 'deny', r) ? false : anyMatch(ps, 'allow', r) ? true : def === 'allow';
        expect(decision.allowed).toBe(expected);
      }),
    );
  });

  it('denies by default: with the default deny and no allow rule matching, nothing passes', () => {
    fc.assert(
      fc.property(request, policies, (r, ps) => {
        fc.pre(!anyMatch(ps, 'allow', r));
        expect(authorize(r, ps, 'deny')).toEqual({
          allowed: false,
          decidedBy: anyMatch(ps, 'deny', r) ? expect.any(String) : 'default',
        });
      }),
    );
  });

  it('names the first matching rule of the deciding action as <policy>/<index>', () => {
    fc.assert(
      fc.property(request, policies, action, (r, ps, def) => {
        const { allowed, decidedBy } = authorize(r, ps, def);
        if (decidedBy === 'default') {
          expect(anyMatch(ps, 'deny', r) || anyMatch(ps, 'allow', r)).toBe(false);
          return;
        }
        const act = allowed ? 'allow' : 'deny';
        const first = ps
          .filter((p) => p.action === act)
          .flatMap((p) => p.rules.map((x, i) => ({ id: `${p.name}/${i}`, hit: oracleMatches(x, r) })))
          .find((x) => x.hit);
        expect(decidedBy).toBe(first?.id);
      }),
    );
  });

  it('reads identity patterns, methods, paths and headers as documented', () => {
    const allow = (ruleOf: AuthorizationRule): AuthorizationPolicy[] => [
      { name: 'p', action: 'allow', rules: [ruleOf] },
    ];
    const req = (over: Partial<AuthzRequest> = {}): AuthzRequest => ({
      sourceIdentity: IDS[0]!,
      method: 'GET',
      path: '/orders/1',
      headers: {},
      ...over,
    });
    const ok = (r: AuthorizationRule, over?: Partial<AuthzRequest>) =>
      authorize(req(over), allow(r), 'deny').allowed;
    expect(ok({ from: [`${TD}/ns/shop/*`] })).toBe(true);
    expect(ok({ from: [`${TD}/ns/ops/*`] })).toBe(false);
    expect(ok({ from: ['*'], methods: ['POST'] })).toBe(false);
    expect(ok({ from: ['*'], paths: ['/orders/*'] })).toBe(true);
    expect(ok({ from: ['*'], paths: ['/orders'] })).toBe(false);
    expect(ok({ from: ['*'], paths: ['/ord*'] })).toBe(true);
    const tenant: HeaderMatch = { name: 'x-tenant', type: 'Prefix', value: 'acme' };
    expect(ok({ from: ['*'], headers: [tenant] }, { headers: { 'x-tenant': 'acme-eu' } })).toBe(true);
    expect(ok({ from: ['*'], headers: [tenant] }, { headers: { 'x-tenant': 'other' } })).toBe(false);
    expect(
      ok({ from: ['*'], headers: [{ name: 'x-debug', type: 'Present' }] }, { headers: { 'x-debug': '' } }),
    ).toBe(true);
    expect(authorize(req(), [], 'allow')).toEqual({ allowed: true, decidedBy: 'default' });
  });
});
