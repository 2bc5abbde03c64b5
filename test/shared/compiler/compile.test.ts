import { describe, expect, it } from 'vitest';
import { compileIncremental, compileSnapshots } from '../../../shared/compiler/compile.js';
import { applyRecords, meshStateFrom } from '../../../shared/compiler/mesh-state.js';
import { snapshotHash } from '../../../shared/contract/canonical.js';
import type { GatewaySnapshot } from '../../../shared/contract/snapshot.js';
import { formatHlc } from '../../../shared/model/hlc.js';
import type { ResourceKey } from '../../../shared/model/kinds.js';
import { keyOf, parseResource } from '../../../shared/model/resource.js';
import type { StoredRecord } from '../../../shared/storage/state-store.js';

const at = (wall: number) => formatHlc({ wall, counter: 0, node: 'aws' });

/** A stored write of the document `kind name spec` at `wall` ms; `ns/name` for namespaced kinds. */
function write(kind: string, name: string, spec: object, wall = 1): StoredRecord {
  const [namespace, short] = name.includes('/') ? name.split('/') : [undefined, name];
  const metadata = { name: short, ...(namespace && { namespace }) };
  const resource = parseResource({ apiVersion: 'weft.dev/v1', kind, metadata, spec });
  return { key: keyOf(resource), version: at(wall), origin: 'aws', updatedAt: '', resource };
}

const tombstone = (key: ResourceKey, wall: number): StoredRecord => ({
  key,
  version: at(wall),
  origin: 'aws',
  updatedAt: '',
  resource: null,
});

const MESH = write('Mesh', 'mesh', { trustDomain: 'acme.test' });
/** Two environments with three gateways, a third gateway in an environment that does not exist. */
const RECORDS: StoredRecord[] = [
  MESH,
  write('Environment', 'aws', { provider: 'aws', region: 'us-east-1', priority: 10 }),
  write('Environment', 'gcp', { provider: 'gcp', region: 'europe-west1', zone: 'b' }),
  write('Gateway', 'aws-1', {
    environment: 'aws',
    address: '127.0.1.1:15443',
    egressAddress: '127.0.1.1:15001',
  }),
  write('Gateway', 'aws-2', { environment: 'aws', address: '127.0.1.2:15443' }),
  write('Gateway', 'gcp-1', { environment: 'gcp', address: '127.0.2.1:15443' }),
  write('Gateway', 'mars-1', { environment: 'mars', address: '127.0.9.1:15443' }),
  write('Service', 'shop/orders', {
    ports: [{ name: 'http', port: 8080 }],
    endpoints: [{ environment: 'gcp', address: '10.2.0.9:8080', weight: 2 }],
  }),
  write('Service', 'shop/users', { protocol: 'grpc', ports: [{ port: 9000, targetPort: 9090 }] }),
  write('Service', 'bank/ledger', { ports: [{ port: 80 }] }),
  write('Workload', 'shop/orders-a', {
    service: 'orders',
    environment: 'aws',
    address: '10.1.0.1:8080',
    sourceAddresses: ['10.1.0.1'],
  }),
  write('Workload', 'shop/orders-b', { service: 'orders', environment: 'gcp', address: '10.2.0.1:8080' }),
  write('Workload', 'shop/orders-m', { service: 'orders', environment: 'mars', address: '10.9.0.1:8080' }),
  write('Workload', 'shop/users-a', {
    service: 'users',
    environment: 'aws',
    address: '10.1.0.2:9090',
    weight: 3,
    sourceAddresses: ['10.1.0.2', '10.1.0.1'],
  }),
  write('AccessPolicy', 'shop/orders-allow', {
    service: 'orders',
    action: 'allow',
    rules: [
      { from: ['spiffe://acme.test/ns/shop/*'], methods: ['GET'], headers: [{ name: 'X-Team', value: 'a' }] },
    ],
  }),
  write('AccessPolicy', 'shop/users-deny', {
    service: 'users',
    action: 'deny',
    rules: [{ from: ['*'], paths: [] }],
  }),
  write('Route', 'shop/orders-canary', {
    service: 'orders',
    rules: [
      {
        matches: [{ path: { value: '/v2' }, headers: [{ name: 'X-Canary', type: 'Present' }] }],
        backends: [
          { environment: 'gcp', weight: 10 },
          { environment: 'mars', weight: 5 },
          { environment: 'aws', weight: 90 },
        ],
        retries: { attempts: 2 },
        failover: ['mars', 'gcp'],
      },
      { backends: [{ environment: 'mars' }], timeout: '2s' },
    ],
  }),
  write('Route', 'shop/orders-base', {
    service: 'orders',
    rules: [{ matches: [{ method: 'POST' }], backends: [{ environment: 'aws' }] }],
    outlierDetection: { consecutiveErrors: 3 },
  }),
];

const compile = (records = RECORDS, previous?: ReadonlyMap<string, GatewaySnapshot>) =>
  compileSnapshots(meshStateFrom(records, { keys: [] }), previous);
const snapshot = (key: string, records = RECORDS) => compile(records).snapshots.get(key)!;
const ingress = (s: GatewaySnapshot, name: string) => s.ingress.services.find((x) => x.name === name);
const egress = (s: GatewaySnapshot, name: string) => s.egress.services.find((x) => x.name === name)!;

describe('compileSnapshots', () => {
  it('compiles one snapshot per gateway whose environment exists, and says why the others get none', () => {
    const result = compile();
    expect([...result.snapshots.keys()]).toEqual(['aws/aws-1', 'aws/aws-2', 'gcp/gcp-1']);
    expect(result.changed).toEqual(['aws/aws-1', 'aws/aws-2', 'gcp/gcp-1']);
    expect(result.skipped).toEqual([{ gateway: 'mars-1', reason: 'Environment mars does not exist' }]);
    expect(result.snapshots.get('aws/aws-1')!.gateway).toEqual({
      name: 'aws-1',
      environment: 'aws',
      spiffeId: 'spiffe://acme.test/gw/aws/aws-1',
      address: '127.0.1.1:15443',
      egressAddress: '127.0.1.1:15001',
    });
  });

  it('applies the Mesh defaults and passes the bundle through', () => {
    const s = snapshot('gcp/gcp-1');
    expect(s.mesh).toEqual({
      trustDomain: 'acme.test',
      meshDomain: 'weft.internal',
      defaultAction: 'deny',
      allowSourceAddress: false,
      x509SvidTtlMs: 3_600_000,
      jwtSvidTtlMs: 300_000,
    });
    expect(s.bundle).toEqual({ keys: [] });
    expect(s.egress.sourceIdentities).toEqual([]);
  });

  it("holds in ingress only its environment's endpoints, and only services that have some there", () => {
    const aws = snapshot('aws/aws-1');
    expect(aws.ingress.services.map((s) => `${s.namespace}/${s.name}`)).toEqual([
      'shop/orders',
      'shop/users',
    ]);
    expect(ingress(aws, 'orders')).toMatchObject({
      spiffeId: 'spiffe://acme.test/ns/shop/svc/orders',
      host: 'orders.shop.weft.internal',
      protocol: 'http',
      ports: [{ name: 'http', port: 8080, targetPort: 8080 }],
      endpoints: [{ address: '10.1.0.1:8080', weight: 1 }],
    });
    expect(ingress(aws, 'users')).toMatchObject({
      protocol: 'grpc',
      ports: [{ port: 9000, targetPort: 9090 }],
      endpoints: [{ address: '10.1.0.2:9090', weight: 3 }],
    });
    const gcp = snapshot('gcp/gcp-1');
    expect(gcp.ingress.services.map((s) => s.name)).toEqual(['orders']);
    expect(ingress(gcp, 'orders')!.endpoints).toEqual([
      { address: '10.2.0.1:8080', weight: 1 },
      { address: '10.2.0.9:8080', weight: 2 },
    ]);
  });

  it('attaches each AccessPolicy to its own service, normalized', () => {
    const aws = snapshot('aws/aws-1');
    expect(ingress(aws, 'orders')!.authorization.policies).toEqual([
      {
        name: 'orders-allow',
        action: 'allow',
        rules: [
          {
            from: ['spiffe://acme.test/ns/shop/*'],
            methods: ['GET'],
            headers: [{ name: 'x-team', type: 'Exact', value: 'a' }],
          },
        ],
      },
    ]);
    // `paths: []` is no condition, as when absent.
    expect(ingress(aws, 'users')!.authorization.policies).toEqual([
      { name: 'users-deny', action: 'deny', rules: [{ from: ['*'] }] },
    ]);
  });

  it('compiles routes in Route-name order with defaults, dropping environments that do not exist', () => {
    const orders = egress(snapshot('aws/aws-2'), 'orders');
    expect(orders.environments).toEqual(['aws', 'gcp']);
    expect(orders.routes).toEqual([
      {
        route: 'orders-base',
        matches: [{ method: 'POST', headers: [] }],
        backends: [{ environment: 'aws', weight: 1 }],
        timeoutMs: 15_000,
        retries: { attempts: 0, perTryTimeoutMs: 15_000, retryOn: [] },
        failover: [],
      },
      {
        route: 'orders-canary',
        matches: [
          { path: { type: 'PathPrefix', value: '/v2' }, headers: [{ name: 'x-canary', type: 'Present' }] },
        ],
        backends: [
          { environment: 'aws', weight: 90 },
          { environment: 'gcp', weight: 10 },
        ],
        timeoutMs: 15_000,
        retries: { attempts: 2, perTryTimeoutMs: 15_000, retryOn: ['connect-failure', 'reset'] },
        failover: ['gcp'],
      },
      {
        route: 'orders-canary',
        matches: [{ headers: [] }],
        backends: [],
        timeoutMs: 2000,
        retries: { attempts: 0, perTryTimeoutMs: 2000, retryOn: [] },
        failover: [],
      },
    ]);
    expect(orders.outlierDetection).toEqual({
      consecutiveErrors: 3,
      baseEjectionMs: 30_000,
      maxEjectionPercent: 100,
    });
    const ledger = egress(snapshot('aws/aws-2'), 'ledger');
    expect(ledger).toMatchObject({ host: 'ledger.bank.weft.internal', environments: [], routes: [] });
    expect(ledger.outlierDetection).toEqual({
      consecutiveErrors: 5,
      baseEjectionMs: 30_000,
      maxEjectionPercent: 100,
    });
  });

  it('shares one egress catalogue and environment list between all gateways', () => {
    const { snapshots } = compile();
    const [a, b, c] = [...snapshots.values()];
    expect(a!.egress.services).toBe(c!.egress.services);
    expect(a!.egress).toBe(b!.egress);
    expect(a!.egress.environments).toEqual([
      {
        name: 'aws',
        provider: 'aws',
        region: 'us-east-1',
        priority: 10,
        gateways: [
          { name: 'aws-1', spiffeId: 'spiffe://acme.test/gw/aws/aws-1', address: '127.0.1.1:15443' },
          { name: 'aws-2', spiffeId: 'spiffe://acme.test/gw/aws/aws-2', address: '127.0.1.2:15443' },
        ],
      },
      {
        name: 'gcp',
        provider: 'gcp',
        region: 'europe-west1',
        zone: 'b',
        priority: 100,
        gateways: [
          { name: 'gcp-1', spiffeId: 'spiffe://acme.test/gw/gcp/gcp-1', address: '127.0.2.1:15443' },
        ],
      },
    ]);
    expect(Object.isFrozen(a!.egress.services[0]!.routes)).toBe(true);
  });

  it('leaves drained environments (all weight 0) out of the catalogue but lists their endpoints', () => {
    const records = [
      ...RECORDS,
      write(
        'Workload',
        'shop/orders-b',
        { service: 'orders', environment: 'gcp', address: '10.2.0.1:8080', weight: 0 },
        2,
      ),
    ];
    const drained = records.map((r) =>
      r.key.name === 'orders' && r.key.kind === 'Service'
        ? write('Service', 'shop/orders', { ports: [{ port: 8080 }] })
        : r,
    );
    const s = snapshot('gcp/gcp-1', drained);
    expect(egress(s, 'orders').environments).toEqual(['aws']);
    expect(ingress(s, 'orders')!.endpoints).toEqual([{ address: '10.2.0.1:8080', weight: 0 }]);
  });

  it('maps source addresses to identities only when the Mesh allows it, and drops contested ones', () => {
    const allow = write('Mesh', 'mesh', { trustDomain: 'acme.test', identity: { allowSourceAddress: true } });
    const records = RECORDS.map((r) => (r === MESH ? allow : r));
    expect(snapshot('aws/aws-1', records).egress.sourceIdentities).toEqual([
      { address: '10.1.0.2', spiffeId: 'spiffe://acme.test/ns/shop/svc/users' },
    ]);
    expect(snapshot('gcp/gcp-1', records).egress.sourceIdentities).toEqual([]);
  });

  it("drops a deleted service's source identities and brings them back with it", () => {
    const allow = write('Mesh', 'mesh', { trustDomain: 'acme.test', identity: { allowSourceAddress: true } });
    const records = RECORDS.map((r) => (r === MESH ? allow : r));
    const first = compile(records);
    const users = { kind: 'Service', namespace: 'shop', name: 'users' } as const;
    const deleted = applyRecords(meshStateFrom(records, { keys: [] }), [tombstone(users, 5)]);
    const second = compileIncremental(deleted, first, [users]);
    // 10.1.0.1 is no longer contested: only orders claims it now.
    expect(second.snapshots.get('aws/aws-1')!.egress.sourceIdentities).toEqual([
      { address: '10.1.0.1', spiffeId: 'spiffe://acme.test/ns/shop/svc/orders' },
    ]);
    const back = records.find((r) => r.key.name === 'users' && r.key.kind === 'Service')!;
    const third = compileIncremental(applyRecords(deleted, [{ ...back, version: at(6) }]), second, [users]);
    expect(third.snapshots.get('aws/aws-1')!.egress.sourceIdentities).toEqual(
      first.snapshots.get('aws/aws-1')!.egress.sourceIdentities,
    );
  });

  it('compiles nothing, and removes nothing, without exactly one Mesh', () => {
    const previous = compile().snapshots;
    const none = compile(
      RECORDS.filter((r) => r !== MESH),
      previous,
    );
    expect(none).toMatchObject({
      changed: [],
      removed: [],
      reason: expect.stringMatching(/^no Mesh resource/),
    });
    expect(none.snapshots.size).toBe(0);
    const two = compile([...RECORDS, write('Mesh', 'other', { trustDomain: 'other.test' })]);
    expect(two.reason).toBe('2 Mesh resources (mesh, other): delete all but one');
  });
});

describe('versions', () => {
  it('stamps every snapshot with the state version, and changes only the content a write reaches', () => {
    const first = compile();
    expect([...first.snapshots.values()].map((s) => s.version)).toEqual([at(1), at(1), at(1)]);
    // A webhook is not in any snapshot: the same content, nothing to push, but the state's version.
    const webhook = write(
      'Gateway',
      'aws-2',
      { environment: 'aws', address: '127.0.1.2:15443', webhook: 'https://x.example/' },
      5,
    );
    const state = applyRecords(meshStateFrom(RECORDS, { keys: [] }), [webhook]);
    const second = compileIncremental(state, first, [webhook.key]);
    expect(second.changed).toEqual([]);
    const kept = second.snapshots.get('aws/aws-2')!;
    expect(kept).toEqual({ ...first.snapshots.get('aws/aws-2'), version: at(5) });
    expect(Object.isFrozen(kept)).toBe(true);
    // A policy change reaches only the environments where its service has endpoints.
    const policy = write(
      'AccessPolicy',
      'shop/users-deny',
      { service: 'users', action: 'deny', rules: [{ from: ['spiffe://acme.test/ns/bank/*'] }] },
      7,
    );
    const third = compileIncremental(applyRecords(state, [policy]), second, [policy.key]);
    expect(third.changed).toEqual(['aws/aws-1', 'aws/aws-2']);
    expect(third.snapshots.get('aws/aws-1')!.version).toBe(at(7));
    expect(third.snapshots.get('gcp/gcp-1')!.version).toBe(at(7));
    expect(third.snapshots.get('gcp/gcp-1')!.hash).toBe(first.snapshots.get('gcp/gcp-1')!.hash);
  });

  it('keeps the snapshot object of unchanged content when the state version did not move', () => {
    const first = compile();
    const again = compile(RECORDS, first.snapshots);
    expect(again.changed).toEqual([]);
    for (const [key, s] of again.snapshots) expect(s).toBe(first.snapshots.get(key));
  });

  it('counts a delete: the state version includes tombstones', () => {
    const first = compile();
    const gone = tombstone({ kind: 'AccessPolicy', namespace: 'shop', name: 'users-deny' }, 9);
    const state = applyRecords(meshStateFrom(RECORDS, { keys: [] }), [gone]);
    expect(state.stateVersion).toBe(at(9));
    const next = compileIncremental(state, first, [gone.key]);
    expect(next.changed).toEqual(['aws/aws-1', 'aws/aws-2']);
    expect(next.snapshots.get('aws/aws-1')!.version).toBe(at(9));
  });

  it('moves past the previous version when the state stands behind it (a restored store)', () => {
    const ahead = compile(RECORDS.map((r) => ({ ...r, version: at(50) })));
    const behind = compile(
      RECORDS.filter((r) => r.key.name !== 'users-deny'),
      ahead.snapshots,
    );
    expect(behind.changed).toEqual(['aws/aws-1', 'aws/aws-2']);
    expect(behind.snapshots.get('aws/aws-1')!.version).toBe(formatHlc({ wall: 50, counter: 1, node: 'aws' }));
  });

  it('reports a moved gateway as removed at its old key and changed at its new one', () => {
    const first = compile();
    const moved = write('Gateway', 'aws-2', { environment: 'gcp', address: '127.0.1.2:15443' }, 3);
    const next = compileIncremental(applyRecords(meshStateFrom(RECORDS, { keys: [] }), [moved]), first, [
      moved.key,
    ]);
    expect(next.removed).toEqual(['aws/aws-2']);
    expect(next.changed).toEqual(['aws/aws-1', 'gcp/aws-2', 'gcp/gcp-1']);
    for (const s of next.snapshots.values()) expect(s.hash).toBe(snapshotHash(s));
  });
});
