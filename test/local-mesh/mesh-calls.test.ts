/**
 * Which calls through the mesh `weft up` prints to try: found in the
 * snapshots the compiler makes of the demo mesh (and of variations of it),
 * so a Route or policy change moves, or removes, the printed lines.
 * That they really behave so is `test/e2e/weft-up.test.ts`.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { findMeshCalls } from '../../local-mesh/mesh-calls.js';
import { compileSnapshots } from '../../shared/compiler/compile.js';
import { meshStateFrom } from '../../shared/compiler/mesh-state.js';
import { formatHlc } from '../../shared/model/hlc.js';
import { keyOf, parseResource } from '../../shared/model/resource.js';
import { DEMO_MESH } from '../cli/weft-process.js';

type Doc = { kind: string; metadata: { name: string }; spec: Record<string, unknown> };

const demoDocs = async () =>
  parseAllDocuments(await readFile(DEMO_MESH, 'utf8')).map((d) => d.toJSON() as Doc);

/** The snapshots of `docs`, aws first, as `weft up` lists the demo gateways. */
function snapshots(docs: readonly Doc[]) {
  const records = docs.map((doc, i) => {
    const resource = parseResource(doc);
    const version = formatHlc({ wall: 1_000 + i, counter: 0, node: 'local' });
    return { key: keyOf(resource), version, origin: 'local', updatedAt: '', resource };
  });
  const compiled = compileSnapshots(meshStateFrom(records, { keys: [] }));
  return ['aws/aws-edge', 'gcp/gcp-edge', 'azure/azure-edge'].map((k) => compiled.snapshots.get(k)!);
}

/** The demo with the Route `orders` given `rules`. */
const route = (docs: readonly Doc[], rules: readonly object[]) =>
  docs.map((d) =>
    d.kind === 'Route' && d.metadata.name === 'orders' ? { ...d, spec: { ...d.spec, rules } } : d,
  );

const FRONTEND = 'spiffe://weft.demo/ns/shop/svc/frontend';

describe('findMeshCalls', () => {
  it('the demo: frontend in aws to orders in gcp, allowed; /admin denied by orders-deny-admin', async () => {
    const { allowed, denied } = findMeshCalls(snapshots(await demoDocs()));
    expect(allowed).toMatchObject({
      identity: FRONTEND,
      from: 'aws',
      egress: '127.0.1.1:15001',
      url: 'http://orders.shop.weft.internal/orders/7',
      to: 'gcp',
      decidedBy: 'frontend-to-orders/0',
    });
    expect(denied).toMatchObject({
      identity: FRONTEND,
      egress: '127.0.1.1:15001',
      url: 'http://orders.shop.weft.internal/admin',
      to: 'gcp',
      decidedBy: 'orders-deny-admin/0',
    });
  });

  it('follows the mesh: moved addresses, another target environment', async () => {
    const moved = (await demoDocs()).map(
      (d) => JSON.parse(JSON.stringify(d).replaceAll('127.0.', '127.42.')) as Doc,
    );
    const rule = { backends: [{ environment: 'azure' }] };
    const { allowed, denied } = findMeshCalls(snapshots(route(moved, [rule])));
    expect(allowed).toMatchObject({ egress: '127.42.1.1:15001', to: 'azure' });
    expect(denied).toMatchObject({ to: 'azure', decidedBy: 'orders-deny-admin/0' });
  });

  it('prints nothing where the landing place is a draw, or the call would stay in its own cloud', async () => {
    const split = {
      backends: [
        { environment: 'gcp', weight: 80 },
        { environment: 'azure', weight: 20 },
      ],
    };
    expect(findMeshCalls(snapshots(route(await demoDocs(), [split])))).toEqual({});
    const aws = { backends: [{ environment: 'aws' }] };
    expect(findMeshCalls(snapshots(route(await demoDocs(), [aws])))).toEqual({});
    // Without the Route, orders in aws serves frontend in aws: nothing crosses.
    const noRoute = (await demoDocs()).filter((d) => d.kind !== 'Route');
    expect(findMeshCalls(snapshots(noRoute))).toEqual({});
  });

  it('a weight of zero is no draw; a Route that covers only /orders leaves /admin unroutable', async () => {
    const zero = { backends: [{ environment: 'gcp' }, { environment: 'azure', weight: 0 }] };
    const onlyOrders = { matches: [{ path: { value: '/orders' } }], backends: [{ environment: 'gcp' }] };
    const zeroed = findMeshCalls(snapshots(route(await demoDocs(), [zero])));
    expect(zeroed.allowed?.to).toBe('gcp');
    const narrow = findMeshCalls(snapshots(route(await demoDocs(), [onlyOrders])));
    expect(narrow.allowed?.url).toBe('http://orders.shop.weft.internal/orders/7');
    expect(narrow.denied).toBeUndefined();
  });

  it('no allow policy naming a caller, or no egress address: nothing', async () => {
    const docs = (await demoDocs()).filter((d) => d.metadata.name !== 'frontend-to-orders');
    expect(findMeshCalls(snapshots(docs))).toEqual({});
    expect(findMeshCalls([])).toEqual({});
  });
});
