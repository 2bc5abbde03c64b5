import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyRecords, meshStateFrom } from '../../../shared/compiler/mesh-state.js';
import { formatHlc } from '../../../shared/model/hlc.js';
import { parseResource } from '../../../shared/model/resource.js';
import type { StoredRecord } from '../../../shared/storage/state-store.js';

const at = (wall: number) => formatHlc({ wall, counter: 0, node: 'gcp' });

function service(name: string, wall: number, port = 80): StoredRecord {
  const resource = parseResource({
    apiVersion: 'weft.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop' },
    spec: { ports: [{ port }] },
  });
  return {
    key: { kind: 'Service', namespace: 'shop', name },
    version: at(wall),
    origin: 'gcp',
    updatedAt: '',
    resource,
  };
}

const tombstone = (name: string, wall: number): StoredRecord => ({ ...service(name, wall), resource: null });

describe('meshStateFrom', () => {
  it('leaves tombstones out of the resources but counts them in stateVersion', () => {
    const state = meshStateFrom([service('orders', 3), tombstone('users', 7)], { keys: [] });
    expect([...state.resources.Service.keys()]).toEqual(['shop/orders']);
    expect(state.stateVersion).toBe(at(7));
    expect(state.bundle).toEqual({ keys: [] });
    expect(meshStateFrom([]).stateVersion).toBe('');
  });

  it('keeps the newest write of each key, whatever the order', () => {
    const writes = [
      service('orders', 1, 81),
      tombstone('orders', 2),
      service('orders', 3, 83),
      service('users', 2),
    ];
    fc.assert(
      fc.property(fc.shuffledSubarray(writes, { minLength: writes.length }), (order) => {
        const state = meshStateFrom(order);
        expect(state.resources.Service.get('shop/orders')?.spec.ports).toEqual([{ port: 83 }]);
        expect(state.resources.Service.has('shop/users')).toBe(true);
        expect(state.stateVersion).toBe(at(3));
      }),
    );
  });
});

describe('applyRecords', () => {
  it('copies only the kinds it touches and leaves the state it was given alone', () => {
    const before = meshStateFrom([service('orders', 1)]);
    const after = applyRecords(before, [tombstone('orders', 4)]);
    expect(before.resources.Service.has('shop/orders')).toBe(true);
    expect(after.resources.Service.has('shop/orders')).toBe(false);
    expect(after.resources.Workload).toBe(before.resources.Workload);
    expect(after.stateVersion).toBe(at(4));
  });
});
