/**
 * Snapshots an agent must refuse: a real one with its content changed under
 * the original signed manifest, and keys the agent's trust bundle does not hold
 * (a foreign CA's, optionally under the trusted key's `kid`).
 *
 * @module
 */
import { snapshotHash } from '../../../../shared/contract/canonical.js';
import type { JwsSigningKey } from '../../../../shared/contract/signed-jws.js';
import type { GatewaySnapshot } from '../../../../shared/contract/snapshot.js';
import { MeshCa } from '../../../../shared/identity/ca.js';
import { MemoryCaStore } from '../../../../shared/identity/ca-store.js';
import { MemoryKeyRing } from '../../../../shared/identity/memory-key-ring.js';
import { formatHlc, parseHlc } from '../../../../shared/model/hlc.js';
import { TD } from './mesh-host.js';

/** The same signed snapshot with one rule widened in its content; the signed manifest untouched. */
export function tamper(signed: string): string {
  const end = signed.indexOf('\n');
  const text = signed.slice(end + 1);
  const forged = text.replace('"defaultAction":"deny"', '"defaultAction":"allow"');
  if (end < 0 || forged === text) throw new Error('nothing to tamper with');
  return `${signed.slice(0, end)}\n${forged}`;
}

/**
 * What an attacker with a key of their own would send: the snapshot opened
 * up (`defaultAction: allow`), a newer version, a correct hash. Only the
 * signature can give it away.
 */
export function forge(snapshot: GatewaySnapshot): GatewaySnapshot {
  const hlc = parseHlc(snapshot.version)!;
  const opened = { ...snapshot, mesh: { ...snapshot.mesh, defaultAction: 'allow' as const } };
  const version = formatHlc({ ...hlc, wall: hlc.wall + 1 });
  return { ...opened, version, hash: snapshotHash(opened) };
}

/** A signing key of another CA for the same trust domain; `kid` to pose as a trusted key. */
export async function foreignKey(kid?: string): Promise<JwsSigningKey> {
  const ca = await MeshCa.open({
    trustDomain: TD,
    store: new MemoryCaStore(),
    keys: new MemoryKeyRing(),
    providers: ['local'],
  });
  const key = await ca.jwtSigningKey('local');
  return { kid: kid ?? key.kid, signer: key.signer };
}
