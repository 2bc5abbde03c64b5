/**
 * A control plane composed as a cloud composes it, over in-memory adapters:
 * state and blobs in memory, a CA in memory issuing as `cloud`, and a bus
 * that records what is published (the cloud's bus adapter lands later). For
 * the compile and sweep handlers of every cloud.
 *
 * @module
 */

import { expect } from 'vitest';
import {
  type ControlPlane,
  composeControlPlane,
} from '../../functions/control-plane/compose-control-plane.js';
import { peekSnapshot } from '../../shared/contract/signed-snapshot.js';
import { snapshotBlobKey } from '../../shared/distribution/snapshot-blobs.js';
import type { CloudEvent } from '../../shared/events/cloud-event.js';
import type { EventBus } from '../../shared/events/event-bus.js';
import { MemoryJoinTokenStore } from '../../shared/identity/attestation/join-token-store.js';
import { MeshCa } from '../../shared/identity/ca.js';
import { MemoryCaStore } from '../../shared/identity/ca-store.js';
import { MemoryKeyRing } from '../../shared/identity/memory-key-ring.js';
import { UnauthenticatedError } from '../../shared/model/errors.js';
import type { Provider } from '../../shared/model/specs.js';
import { MemoryBlobStore } from '../../shared/storage/memory-blob-store.js';
import { MemoryStateStore } from '../../shared/storage/memory-state-store.js';
import { meshDocs, TD, writer } from './distribution.js';

export interface TestControlPlane {
  readonly plane: ControlPlane;
  readonly store: MemoryStateStore;
  readonly blobs: MemoryBlobStore;
  /** Every event handed to the bus, in order. */
  readonly published: CloudEvent[];
}

/** The plane of `cloud`, with the distribution tests' mesh already stored (and not yet published). */
export async function testControlPlane(cloud: Provider): Promise<TestControlPlane> {
  const store = new MemoryStateStore();
  const blobs = new MemoryBlobStore();
  const ca = await MeshCa.open({
    trustDomain: TD,
    store: new MemoryCaStore(),
    keys: new MemoryKeyRing(),
    providers: [cloud],
  });
  const published: CloudEvent[] = [];
  const bus: EventBus = {
    publish: async (events) => {
      published.push(...events);
    },
    subscribe: () => () => {},
  };
  const plane = composeControlPlane({
    cloud,
    store,
    blobs,
    bus,
    openCa: async () => ca,
    joinTokens: new MemoryJoinTokenStore(),
    authenticate: async () => {
      throw new UnauthenticatedError('no operators in this test');
    },
  });
  await writer(store, cloud).apply(meshDocs());
  return { plane, store, blobs, published };
}

/** The gateways of `meshDocs()`, whose snapshots a full compile writes. */
export const MESH_GATEWAYS = ['aws/aws-1', 'aws/aws-2', 'gcp/gcp-1'];

/** A cloud's two handlers, each driven with that cloud's native event shape. */
export interface CloudHandlers {
  /** Delivers one weft CloudEvent as the cloud's bus would; resolves with the gateways written, if the handler says. */
  compile(plane: ControlPlane, event: CloudEvent): Promise<readonly string[] | undefined>;
  /** Fires the scheduled sweep. */
  sweep(plane: ControlPlane): Promise<void>;
}

/**
 * The walk every cloud's handlers must take: the sweep publishes the stored
 * writes, compile signs and stores every gateway's snapshot from those
 * events, a duplicate delivery writes nothing, and a second sweep finds
 * nothing missed.
 */
export async function expectCompileAndSweep(handlers: CloudHandlers, cloud: Provider): Promise<void> {
  const { plane, blobs, published } = await testControlPlane(cloud);
  await handlers.sweep(plane);
  expect(published).toHaveLength(10);
  const written = new Set<string>();
  for (const event of published) {
    for (const gateway of (await handlers.compile(plane, event)) ?? []) written.add(gateway);
  }
  expect(await blobs.list('snapshots/')).toEqual(MESH_GATEWAYS.map(snapshotBlobKey));
  if (written.size > 0) expect([...written].sort()).toEqual(MESH_GATEWAYS);
  const stored = await blobs.get(snapshotBlobKey(MESH_GATEWAYS[0]!));
  expect(peekSnapshot(stored!.body)).toBeDefined();

  // Delivered twice (every bus here is at-least-once): nothing new to write.
  const before = await blobs.get(snapshotBlobKey(MESH_GATEWAYS[0]!));
  expect((await handlers.compile(plane, published[0]!)) ?? []).toEqual([]);
  expect((await blobs.get(snapshotBlobKey(MESH_GATEWAYS[0]!)))?.etag).toBe(before?.etag);
  // Everything was published: the next sweep finds nothing missed.
  await handlers.sweep(plane);
  expect(published).toHaveLength(10);
}
