/**
 * fast-check arbitraries for random mesh states: every document is valid by
 * the kind's schema (each goes through `parseResource`), names come from a
 * small universe so services, workloads, policies and routes collide and
 * refer to each other, and references sometimes name an environment or a
 * service that does not exist.
 *
 * @module
 */
import fc from 'fast-check';
import { applyRecords, type MeshState } from '../../shared/compiler/mesh-state.js';
import { formatHlc } from '../../shared/model/hlc.js';
import type { ResourceKey } from '../../shared/model/kinds.js';
import { parseResource, type Resource } from '../../shared/model/resource.js';
import { PROVIDERS } from '../../shared/model/specs.js';
import type { StoredRecord } from '../../shared/storage/state-store.js';

export const ENVIRONMENTS = ['aws', 'gcp', 'azure', 'edge'] as const;
/** Environments references may name: one of them never exists. */
const ENV_REFS = [...ENVIRONMENTS, 'ghost'] as const;
const NAMESPACES = ['shop', 'bank'] as const;
const SERVICES = ['orders', 'users', 'pay'] as const;
const SVC_REFS = [...SERVICES, 'ghost'] as const;
const TRUST_DOMAINS = ['acme.test', 'corp.example'] as const;

const namespaced = (kind: ResourceKey['kind'], names: readonly string[]) =>
  NAMESPACES.flatMap((namespace) => names.map((name) => ({ kind, namespace, name })));

/** Every key a random state may hold. */
export const UNIVERSE: readonly ResourceKey[] = [
  { kind: 'Mesh', namespace: '', name: 'mesh' },
  ...ENVIRONMENTS.map((name) => ({ kind: 'Environment' as const, namespace: '', name })),
  ...['gw-a', 'gw-b', 'gw-c', 'gw-d'].map((name) => ({ kind: 'Gateway' as const, namespace: '', name })),
  ...namespaced('Service', SERVICES),
  ...namespaced('Workload', ['w0', 'w1', 'w2', 'w3', 'w4']),
  ...namespaced('AccessPolicy', ['p0', 'p1']),
  ...namespaced('Route', ['r0', 'r1']),
];

const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const address = fc.constantFrom('10.0.0.1:8080', '10.0.0.2:8080', 'orders.local:9000', '[fd00::1]:80');
const env = fc.constantFrom(...ENV_REFS);
const header = fc.record({
  name: fc.constantFrom('X-Team', 'x-team', 'accept'),
  type: opt(fc.constantFrom('Exact' as const, 'Prefix' as const, 'Present' as const)),
  value: fc.constantFrom('a', 'b'),
});
// Within each field's range (shared/model/duration-ranges.ts DURATION_RANGES); perTryTimeout at most any timeout.
const timeout = fc.constantFrom('0s', '250ms', '2s', '1m', '5m');
const perTryTimeout = fc.constantFrom('100ms', '250ms');
const ttl = fc.constantFrom('1m', '5m', '1h');
const ejection = fc.constantFrom('1s', '2s', '1m');

const SPECS = {
  Mesh: () =>
    fc.record({
      trustDomain: fc.constantFrom(...TRUST_DOMAINS),
      meshDomain: opt(fc.constantFrom('weft.internal', 'mesh.example')),
      defaultAction: opt(fc.constantFrom('allow', 'deny')),
      credentials: opt(fc.record({ x509SvidTtl: opt(ttl), jwtSvidTtl: opt(ttl) })),
      identity: opt(fc.record({ allowSourceAddress: opt(fc.boolean()) })),
    }),
  Environment: () =>
    fc.record({
      provider: fc.constantFrom(...PROVIDERS),
      region: fc.constantFrom('us-east-1', 'europe-west1'),
      zone: opt(fc.constantFrom('a', 'b')),
      priority: opt(fc.integer({ min: 0, max: 200 })),
    }),
  Gateway: () =>
    fc.record({
      environment: env,
      address: fc.constantFrom('gw1.example:8443', '10.9.0.1:8443'),
      egressAddress: opt(fc.constantFrom('127.0.0.1:15001')),
      webhook: opt(fc.constantFrom('https://gw.example/hook', 'http://10.9.0.1/notify')),
    }),
  Service: () =>
    fc.record({
      protocol: opt(fc.constantFrom('http', 'http2', 'grpc', 'tcp')),
      ports: fc.array(
        fc.record({
          name: opt(fc.constantFrom('http', 'admin')),
          port: fc.constantFrom(80, 8080),
          targetPort: opt(fc.constantFrom(80, 9090)),
        }),
        { minLength: 1, maxLength: 2 },
      ),
      endpoints: opt(
        fc.array(fc.record({ environment: env, address, weight: opt(fc.integer({ min: 0, max: 3 })) }), {
          maxLength: 3,
        }),
      ),
    }),
  Workload: () =>
    fc.record({
      service: fc.constantFrom(...SVC_REFS),
      environment: env,
      address,
      weight: opt(fc.integer({ min: 0, max: 3 })),
      sourceAddresses: opt(fc.subarray(['10.1.0.1', '10.1.0.2', 'fe80::1', 'FE80::1'])),
    }),
  AccessPolicy: () =>
    fc.record({
      service: fc.constantFrom(...SVC_REFS),
      action: fc.constantFrom('allow', 'deny'),
      rules: fc.array(
        fc.record({
          from: fc.subarray(['*', 'spiffe://acme.test/ns/shop/*', 'spiffe://acme.test/ns/bank/svc/pay'], {
            minLength: 1,
          }),
          methods: opt(fc.subarray(['GET', 'POST', 'DELETE'])),
          paths: opt(fc.subarray(['/a', '/b*'])),
          headers: opt(fc.array(header, { maxLength: 2 })),
        }),
        { minLength: 1, maxLength: 2 },
      ),
    }),
  Route: () =>
    fc.record({
      service: fc.constantFrom(...SVC_REFS),
      rules: fc
        .integer({ min: 1, max: 3 })
        .chain((n) => fc.tuple(...Array.from({ length: n }, (_, r) => routeRule(r, r === n - 1)))),
      outlierDetection: opt(
        fc.record({
          consecutiveErrors: opt(fc.integer({ min: 1, max: 9 })),
          baseEjectionTime: opt(ejection),
          maxEjectionPercent: opt(fc.integer({ min: 0, max: 100 })),
        }),
      ),
    }),
} as const;

/**
 * Rule `r` of a route. Its matches name paths under `/r<r>`, and only the last
 * rule may match everything, so no two rules' matches are equal.
 */
function routeRule(r: number, last: boolean) {
  const match = (suffix: string) =>
    fc.record({
      path: fc.record({
        type: opt(fc.constantFrom('Exact' as const, 'PathPrefix' as const)),
        value: fc.constant(`/r${r}${suffix}`),
      }),
      method: opt(fc.constantFrom('GET' as const, 'PUT' as const)),
      headers: opt(fc.array(header, { maxLength: 1 })),
    });
  return fc.record({
    matches: (last ? opt : <T>(a: fc.Arbitrary<T>) => a)(
      fc.oneof(fc.tuple(match('')), fc.tuple(match('/a'), match('/b'))),
    ),
    backends: fc.uniqueArray(fc.record({ environment: env, weight: opt(fc.integer({ min: 1, max: 5 })) }), {
      minLength: 1,
      maxLength: 3,
      selector: (b) => b.environment,
    }),
    timeout: opt(timeout),
    retries: opt(
      fc.record({
        attempts: fc.integer({ min: 0, max: 3 }),
        perTryTimeout: opt(perTryTimeout),
        retryOn: opt(fc.subarray(['5xx', 'reset', 'connect-failure'])),
      }),
    ),
    failover: opt(fc.uniqueArray(env, { maxLength: 3 })),
  });
}

/** A valid document at `key`. */
export function resourceArb(key: ResourceKey): fc.Arbitrary<Resource> {
  const metadata = { name: key.name, ...(key.namespace && { namespace: key.namespace }) };
  return (SPECS[key.kind]() as fc.Arbitrary<unknown>).map((spec) =>
    parseResource({ apiVersion: 'weft.dev/v1', kind: key.kind, metadata, spec: stripUndefined(spec) }),
  );
}

/** Drops the `undefined` members `fc.option` leaves, so documents look as an operator writes them. */
function stripUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripUndefined);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, stripUndefined(v)]),
  );
}

/** A stored record: a live write of `resource`, or a tombstone when it is `null`. */
export function recordOf(key: ResourceKey, resource: Resource | null, wall: number): StoredRecord {
  const version = formatHlc({ wall, counter: 0, node: 'aws' });
  return { key, version, origin: 'aws', updatedAt: new Date(wall).toISOString(), resource };
}

const BUNDLES = [
  null,
  { spiffe_sequence: 1, keys: [{ kty: 'EC', use: 'x509-svid' }] },
  { spiffe_sequence: 2, keys: [] },
];
export const bundleArb = fc.constantFrom(...BUNDLES);

/** One write at `key`: a new document (more often) or a tombstone. */
export const writeAt = (key: ResourceKey): fc.Arbitrary<Resource | null> =>
  fc.oneof({ arbitrary: resourceArb(key), weight: 4 }, { arbitrary: fc.constant(null), weight: 1 });

/** How much likelier a live record is than a tombstone or nothing: the kinds others hang on are likelier. */
const PRESENCE: Partial<Record<ResourceKey['kind'], number>> = { Environment: 8, Gateway: 6, Service: 6 };

/**
 * The records of a random state: each key of the universe absent, live or a
 * tombstone, with versions from 1 to 1000 ms; the Mesh is there nine times in ten.
 */
export const recordsArb: fc.Arbitrary<StoredRecord[]> = fc
  .tuple(
    ...UNIVERSE.map((key) =>
      fc.tuple(
        key.kind === 'Mesh'
          ? fc.oneof(
              { arbitrary: resourceArb(key), weight: 9 },
              { arbitrary: fc.constant(undefined), weight: 1 },
            )
          : fc.oneof(
              { arbitrary: resourceArb(key), weight: PRESENCE[key.kind] ?? 3 },
              fc.constant(null),
              fc.constant(undefined),
            ),
        fc.integer({ min: 1, max: 1000 }),
      ),
    ),
  )
  .map((entries) =>
    entries.flatMap(([resource, wall], i) =>
      resource === undefined ? [] : [recordOf(UNIVERSE[i]!, resource, wall)],
    ),
  );

/** One change to a state: a write at a key of the universe, or a new trust bundle. */
export type MeshChange =
  | { readonly key: ResourceKey; readonly resource: Resource | null }
  | { readonly bundle: unknown };

export const changeArb: fc.Arbitrary<MeshChange> = fc.oneof(
  {
    arbitrary: fc
      .constantFrom(...UNIVERSE)
      .chain((key) => writeAt(key).map((resource) => ({ key, resource }))),
    weight: 9,
  },
  { arbitrary: bundleArb.map((bundle) => ({ bundle })), weight: 1 },
);

/**
 * `state` after `change`, written at `wall` ms (past every version in it),
 * and the keys to tell `compileIncremental`.
 */
export function applyChange(
  state: MeshState,
  change: MeshChange,
  wall: number,
): { state: MeshState; keys: ResourceKey[] } {
  if ('bundle' in change) return { state: { ...state, bundle: change.bundle }, keys: [] };
  return { state: applyRecords(state, [recordOf(change.key, change.resource, wall)]), keys: [change.key] };
}
