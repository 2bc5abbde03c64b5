/**
 * Test helpers for config distribution: a small mesh written through the
 * resource service (two environments, three gateways, two services), an
 * in-memory CA, and a parsed bundle to verify against.
 *
 * @module
 */

import { buildBundle, type ParsedBundle, parseBundle } from '../../shared/identity/bundle.js';
import { MeshCa } from '../../shared/identity/ca.js';
import { MemoryCaStore } from '../../shared/identity/ca-store.js';
import { MemoryKeyRing } from '../../shared/identity/memory-key-ring.js';
import { HybridLogicalClock } from '../../shared/model/hlc.js';
import { ResourceService, type WriteResult } from '../../shared/resources/resource-service.js';
import type { StateStore } from '../../shared/storage/state-store.js';

export const TD = 'acme.test';

/** A document of `kind`; `ns/name` names a namespaced one. */
export function doc(kind: string, name: string, spec: object) {
  const [namespace, short] = name.includes('/') ? name.split('/') : [undefined, name];
  return {
    apiVersion: 'weft.dev/v1',
    kind,
    metadata: { name: short, ...(namespace && { namespace }) },
    spec,
  };
}

/** The mesh the distribution tests start from; `webhooks` gives gateways a `spec.webhook`. */
export function meshDocs(webhooks: Record<string, string> = {}) {
  const gateway = (name: string, environment: string, address: string) =>
    doc('Gateway', name, { environment, address, ...(webhooks[name] && { webhook: webhooks[name] }) });
  return [
    doc('Mesh', 'default', { trustDomain: TD, attestation: { joinToken: {} } }),
    doc('Environment', 'aws', { provider: 'aws', region: 'us-east-1' }),
    doc('Environment', 'gcp', { provider: 'gcp', region: 'europe-west1' }),
    gateway('aws-1', 'aws', '127.0.1.1:15443'),
    gateway('aws-2', 'aws', '127.0.1.2:15443'),
    gateway('gcp-1', 'gcp', '127.0.2.1:15443'),
    doc('Service', 'shop/orders', { ports: [{ port: 8080 }] }),
    doc('Service', 'shop/users', { ports: [{ port: 9000 }] }),
    doc('Workload', 'shop/orders-gcp', { service: 'orders', environment: 'gcp', address: '10.2.0.1:8080' }),
    doc('Workload', 'shop/users-aws', { service: 'users', environment: 'aws', address: '10.1.0.1:9000' }),
  ];
}

/** A policy on `orders`, which only its environment's (gcp) ingress carries. */
export const ordersPolicy = (methods: string[]) =>
  doc('AccessPolicy', 'shop/orders-read', {
    service: 'orders',
    action: 'allow',
    rules: [{ from: [`spiffe://${TD}/ns/shop/*`], methods }],
  });

/** Writes documents as the API does (HLC versions, validation). */
export function writer(store: StateStore, node = 'local') {
  const service = new ResourceService({ store, hlc: new HybridLogicalClock(node) });
  return {
    apply: (docs: readonly unknown[]): Promise<WriteResult[]> => service.apply(docs),
    delete: (kind: 'Gateway' | 'Service' | 'AccessPolicy', name: string, namespace = '') =>
      service.delete({ kind, namespace, name }),
  };
}

/** An in-memory CA for `TD` with the `local` provider, and its bundle. */
export async function memoryCa(): Promise<{ ca: MeshCa; bundle: ParsedBundle }> {
  const ca = await MeshCa.open({
    trustDomain: TD,
    store: new MemoryCaStore(),
    keys: new MemoryKeyRing(),
    providers: ['local'],
  });
  return { ca, bundle: parseBundle(await buildBundle(ca)) };
}
