/**
 * A control plane over the in-memory store for the registration tests, with
 * an Environment named for the registrar's provider (`aws` unless
 * `options.provider` says otherwise) and a Service `shop/orders` stored, a
 * status blob store and a logger that keeps every line.
 */
import { composeControlPlane } from '../../../functions/control-plane/compose-control-plane.js';
import { UnauthenticatedError } from '../../../shared/model/errors.js';
import type { Provider } from '../../../shared/model/specs.js';
import type { ObservedResource } from '../../../shared/registration/observed-resource.js';
import { Registrar, type RegistrarOptions } from '../../../shared/registration/registrar.js';
import { MemoryBlobStore } from '../../../shared/storage/memory-blob-store.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';

export const ARN = 'arn:aws:ec2:us-east-1:123456789012:instance/i-0abc1234def567890';

const REGIONS: Readonly<Partial<Record<Provider, string>>> = { gcp: 'europe-west1', azure: 'westeurope' };

export async function registrationPlane(options: Partial<RegistrarOptions> = {}) {
  const cloud = options.provider ?? 'aws';
  const store = new MemoryStateStore();
  const blobs = new MemoryBlobStore();
  const plane = composeControlPlane({
    cloud,
    store,
    authenticate: async () => {
      throw new UnauthenticatedError('no operators here');
    },
  });
  await plane.resources.put({
    apiVersion: 'weft.dev/v1',
    kind: 'Environment',
    metadata: { name: cloud },
    spec: { provider: cloud, region: REGIONS[cloud] ?? 'us-east-1' },
  });
  await plane.resources.put({
    apiVersion: 'weft.dev/v1',
    kind: 'Service',
    metadata: { name: 'orders', namespace: 'shop' },
    spec: { ports: [{ port: 8080 }] },
  });
  const lines: { level: string; event: Record<string, unknown> }[] = [];
  const logger = {
    info: (event: Record<string, unknown>) => lines.push({ level: 'info', event }),
    warn: (event: Record<string, unknown>) => lines.push({ level: 'warn', event }),
    error: (event: Record<string, unknown>) => lines.push({ level: 'error', event }),
  };
  const registrar = new Registrar({
    provider: cloud,
    writer: plane.resources,
    workloads: store,
    blobs,
    tags: { defaultEnvironment: cloud },
    logger,
    now: () => Date.parse('2026-12-01T12:00:00Z'),
    ...options,
  });
  return { store, blobs, plane, registrar, lines };
}

/** A running, well-tagged instance; `with` overrides. */
export function instance(overrides: Partial<ObservedResource> = {}): ObservedResource {
  return {
    provider: 'aws',
    id: ARN,
    kind: 'ec2-instance',
    tags: { 'weft:service': 'orders', 'weft:namespace': 'shop', 'weft:port': '8080' },
    privateIp: '10.0.1.17',
    state: 'running',
    ...overrides,
  };
}

export const WORKLOAD = { kind: 'Workload', namespace: 'shop', name: 'ec2-i-0abc1234def567890' } as const;
