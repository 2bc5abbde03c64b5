/**
 * A snapshot arranged for lookups on the hot path: services by the host
 * callers use, environments by name, source identities by address. Built
 * once per applied snapshot and swapped in whole, so a call sees one
 * snapshot from start to end.
 *
 * @module
 */
import type {
  EgressService,
  GatewaySnapshot,
  IngressService,
  SnapshotEnvironment,
} from '../../../shared/contract/snapshot.js';
import { gatewaysAudience } from '../../../shared/identity/audiences.js';
import { defaultEnvironmentOrder } from './choose-environment.js';

/** An applied snapshot and its lookup tables. */
export interface SnapshotIndex {
  readonly snapshot: GatewaySnapshot;
  /** Egress services by `<name>.<namespace>.<meshDomain>`. */
  readonly egress: ReadonlyMap<string, EgressService>;
  /** The services with endpoints here, by the same host. */
  readonly ingress: ReadonlyMap<string, IngressService>;
  readonly environments: ReadonlyMap<string, SnapshotEnvironment>;
  /** Per egress host, the order calls take when no Route applies. */
  readonly defaultOrder: ReadonlyMap<string, readonly string[]>;
  /** Caller SPIFFE IDs by source IP, empty unless the Mesh allows identity by address. */
  readonly sourceIdentities: ReadonlyMap<string, string>;
  /** What workload JWT-SVIDs must be made out to: `spiffe://<td>/gateways`. */
  readonly audience: string;
}

/** Indexes `snapshot` for its gateway. */
export function indexSnapshot(snapshot: GatewaySnapshot): SnapshotIndex {
  const own = snapshot.gateway.environment;
  const environments = new Map(snapshot.egress.environments.map((e) => [e.name, e]));
  const egress = new Map(snapshot.egress.services.map((s) => [s.host.toLowerCase(), s]));
  const defaultOrder = new Map(
    [...egress].map(([host, s]) => [host, defaultEnvironmentOrder(s, own, environments)]),
  );
  const sourceIdentities = new Map(
    snapshot.mesh.allowSourceAddress
      ? snapshot.egress.sourceIdentities.map((s) => [s.address.toLowerCase(), s.spiffeId])
      : [],
  );
  return {
    snapshot,
    egress,
    ingress: new Map(snapshot.ingress.services.map((s) => [s.host.toLowerCase(), s])),
    environments,
    defaultOrder,
    sourceIdentities,
    audience: gatewaysAudience(snapshot.mesh.trustDomain),
  };
}

/**
 * The host part of a Host header or URL authority, lowercased, without port
 * or trailing dot: `Orders.Shop.weft.internal.:8080` is `orders.shop.weft.internal`.
 */
export function hostName(authority: string | undefined): string {
  if (!authority) return '';
  let host = authority.trim().toLowerCase();
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  if (colon !== -1) host = host.slice(0, colon);
  return host.endsWith('.') ? host.slice(0, -1) : host;
}
