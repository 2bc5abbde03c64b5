/**
 * Canonical JSON for snapshots: object keys sorted by UTF-16 code unit, no
 * whitespace, numbers and strings as `JSON.stringify` writes them (the RFC
 * 8785 rules for the values a snapshot holds). Equal content is equal bytes,
 * which is what the hash, the ETag and the signature stand on.
 *
 * Snapshots share their sections, deep-frozen by {@link freezeDeep}; a frozen
 * section's text is memoized, so serializing a hundred snapshots that share
 * one egress catalogue writes that catalogue once.
 *
 * @module
 */
import { createHash, type Hash } from 'node:crypto';
import type { GatewaySnapshot, IngressConfig, SnapshotGateway, SnapshotMesh } from './snapshot.js';
import type { EgressService, SnapshotEnvironment, SourceIdentity } from './snapshot-egress.js';

/**
 * Roots that {@link freezeDeep} froze all the way down, with their canonical
 * JSON once written. Only roots: they are the shared sections and entries,
 * and memoizing every small object under them would cost more than it saves.
 */
const sealed = new WeakMap<object, string | undefined>();

/** Freezes `value` and everything under it, and lets its canonical JSON be memoized. */
export function freezeDeep<T>(value: T): T {
  if (value === null || typeof value !== 'object' || sealed.has(value)) return value;
  freezeAll(value);
  sealed.set(value, undefined);
  return value;
}

function freezeAll(value: object): void {
  for (const child of Object.values(value)) {
    if (child !== null && typeof child === 'object' && !sealed.has(child)) freezeAll(child);
  }
  Object.freeze(value);
}

const skipped = (v: unknown) => v === undefined || typeof v === 'function' || typeof v === 'symbol';

/** Canonical JSON of a JSON value (`undefined` at the top is written as `null`). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return skipped(value) ? 'null' : JSON.stringify(value);
  const memo = sealed.get(value);
  if (memo !== undefined) return memo;
  let json: string;
  if (Array.isArray(value)) {
    json = `[${value.map((v) => (skipped(v) ? 'null' : canonicalJson(v))).join(',')}]`;
  } else if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    json = canonicalJson((value as { toJSON: () => unknown }).toJSON());
  } else {
    const record = value as Record<string, unknown>;
    const members: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const v = record[key];
      if (!skipped(v)) members.push(`${JSON.stringify(key)}:${canonicalJson(v)}`);
    }
    json = `{${members.join(',')}}`;
  }
  if (sealed.has(value)) sealed.set(value, json);
  return json;
}

/** The snapshot as it is stored and signed: canonical JSON, `version` and `hash` included. */
export function canonicalSnapshotJson(snapshot: GatewaySnapshot): string {
  return canonicalJson(snapshot);
}

/**
 * What `snapshot.hash` must be: sha256 hex of the canonical JSON of the
 * snapshot without `version` and `hash`. Agents check it on receipt.
 */
export function snapshotHash(snapshot: GatewaySnapshot): string {
  const content = { ...snapshot, version: undefined, hash: undefined };
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

/*
 * The compiler's fast path to the same hash. In key order the content is
 * apiVersion, bundle, egress{environments, services, sourceIdentities},
 * gateway, ingress, kind, mesh: everything up to `sourceIdentities` is the same
 * for every gateway of the mesh, so it is hashed once and the hash state
 * copied per gateway. The tests hold it equal to `snapshotHash`.
 */

/** The hash state after the part of the content every gateway shares. */
export function hashSharedHead(
  bundle: unknown,
  environments: readonly SnapshotEnvironment[],
  services: readonly EgressService[],
): Hash {
  // Part by part: concatenating would copy the large memoized texts for every gateway.
  return createHash('sha256')
    .update('{"apiVersion":"weft.dev/v1","bundle":')
    .update(canonicalJson(bundle))
    .update(',"egress":{"environments":')
    .update(canonicalJson(environments))
    .update(',"services":')
    .update(canonicalJson(services))
    .update(',"sourceIdentities":');
}

/** The content hash of one gateway's snapshot, from the shared head and its own parts. */
export function hashContent(
  head: Hash,
  sourceIdentities: readonly SourceIdentity[],
  gateway: SnapshotGateway,
  ingress: IngressConfig,
  mesh: SnapshotMesh,
): string {
  return head
    .copy()
    .update(canonicalJson(sourceIdentities))
    .update('},"gateway":')
    .update(canonicalJson(gateway))
    .update(',"ingress":')
    .update(canonicalJson(ingress))
    .update(',"kind":"GatewaySnapshot","mesh":')
    .update(canonicalJson(mesh))
    .update('}')
    .digest('hex');
}
