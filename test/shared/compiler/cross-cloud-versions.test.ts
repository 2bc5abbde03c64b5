/**
 * Issue 11 item 5: two control planes (one per cloud) holding the same
 * desired state must compile the same snapshot for a gateway, version and
 * hash, whichever cloud compiles it and whatever it compiled before, or an
 * agent failing over between them sees a version go backwards.
 *
 * The hash depends on the desired state (and the shared trust bundle) only,
 * and so does the version: every snapshot is at the store's greatest HLC
 * version, warm or cold (see `shared/compiler/snapshot-version.ts`).
 */
import { describe, expect, it } from 'vitest';
import { compileIncremental, compileSnapshots } from '../../../shared/compiler/compile.js';
import { applyRecords, meshStateFrom } from '../../../shared/compiler/mesh-state.js';
import { formatHlc } from '../../../shared/model/hlc.js';
import { keyOf, parseResource } from '../../../shared/model/resource.js';
import type { StoredRecord } from '../../../shared/storage/state-store.js';

const BUNDLE = { keys: [{ kty: 'EC', use: 'x509-svid' }], spiffe_sequence: 1 };

function write(kind: string, name: string, spec: object, wall: number, origin = 'aws'): StoredRecord {
  const [namespace, short] = name.includes('/') ? name.split('/') : [undefined, name];
  const metadata = { name: short, ...(namespace && { namespace }) };
  const resource = parseResource({ apiVersion: 'weft.dev/v1', kind, metadata, spec });
  const version = formatHlc({ wall, counter: 0, node: origin });
  return { key: keyOf(resource), version, origin, updatedAt: '', resource };
}

/** Written at three clouds (the HLC node says which). */
const RECORDS: StoredRecord[] = [
  write('Mesh', 'mesh', { trustDomain: 'acme.test' }, 1, 'aws'),
  write('Environment', 'aws', { provider: 'aws', region: 'us-east-1' }, 2, 'aws'),
  write('Environment', 'gcp', { provider: 'gcp', region: 'europe-west1' }, 3, 'gcp'),
  write('Gateway', 'aws-1', { environment: 'aws', address: '127.0.1.1:15443' }, 4, 'aws'),
  write('Gateway', 'gcp-1', { environment: 'gcp', address: '127.0.2.1:15443' }, 5, 'gcp'),
  write('Service', 'shop/orders', { ports: [{ port: 8080 }] }, 6, 'azure'),
  write('Workload', 'shop/orders-a', { service: 'orders', environment: 'gcp', address: '10.2.0.1:8080' }, 7),
];
/** A later write that does not change aws-1's snapshot: a Gateway of an Environment that does not exist. */
const UNRELATED = write('Gateway', 'mars-1', { environment: 'mars', address: '127.0.9.1:15443' }, 20, 'gcp');

const versionAndHash = (s: { version: string; hash: string } | undefined) => s && [s.version, s.hash];

describe('snapshots compiled by two clouds from the same store', () => {
  it('are byte-identical (version and hash) for a cold compile, in any record order', () => {
    const a = compileSnapshots(meshStateFrom(RECORDS, BUNDLE));
    const b = compileSnapshots(meshStateFrom([...RECORDS].reverse(), structuredClone(BUNDLE)));
    for (const key of ['aws/aws-1', 'gcp/gcp-1']) {
      expect(JSON.stringify(b.snapshots.get(key))).toBe(JSON.stringify(a.snapshots.get(key)));
    }
    // The version is the desired state's greatest HLC version, not the compiling cloud's clock.
    expect(a.snapshots.get('aws/aws-1')?.version).toBe(RECORDS.at(-1)!.version);
  });

  it('have the same hash whatever the history, so the ETag (the hash) matches across clouds', () => {
    const warm = compileIncremental(
      applyRecords(meshStateFrom(RECORDS, BUNDLE), [UNRELATED]),
      compileSnapshots(meshStateFrom(RECORDS, BUNDLE)),
      [UNRELATED.key],
    );
    const cold = compileSnapshots(meshStateFrom([...RECORDS, UNRELATED], BUNDLE));
    expect(warm.snapshots.get('aws/aws-1')?.hash).toBe(cold.snapshots.get('aws/aws-1')?.hash);
  });

  it('differ with another trust bundle: the clouds must serve one federated bundle', () => {
    const a = compileSnapshots(meshStateFrom(RECORDS, BUNDLE));
    const b = compileSnapshots(meshStateFrom(RECORDS, { ...BUNDLE, spiffe_sequence: 2 }));
    expect(b.snapshots.get('aws/aws-1')?.hash).not.toBe(a.snapshots.get('aws/aws-1')?.hash);
  });

  // Was a known gap (issue 11 item 5): a warm compile kept the version an
  // unchanged gateway had (7, the state it was first compiled from), a cold
  // one took the store's greatest (20, the unrelated write). Now both say 20.
  it('have the same version whatever the history (a warm cloud and a cold one)', () => {
    const warm = compileIncremental(
      applyRecords(meshStateFrom(RECORDS, BUNDLE), [UNRELATED]),
      compileSnapshots(meshStateFrom(RECORDS, BUNDLE)),
      [UNRELATED.key],
    );
    const cold = compileSnapshots(meshStateFrom([...RECORDS, UNRELATED], BUNDLE));
    expect(versionAndHash(warm.snapshots.get('aws/aws-1'))).toEqual(
      versionAndHash(cold.snapshots.get('aws/aws-1')),
    );
    expect(warm.snapshots.get('aws/aws-1')?.version).toBe(UNRELATED.version);
    // Nothing to push: the content is the same.
    expect(warm.changed).toEqual([]);
  });

  // Why the unrelated write must move the version: the store cannot tell it
  // from a write that moved a gateway out of an existing environment, which
  // changes every gateway's environment list.
  it('move a gateway forward past an intermediate state the other cloud never saw', () => {
    const between = write('Gateway', 'mars-1', { environment: 'gcp', address: '127.0.9.1:15443' }, 10, 'gcp');
    // Cloud A saw mars-1 in gcp, then moved to mars; cloud B's replica jumped straight to mars.
    const a1 = compileSnapshots(meshStateFrom([...RECORDS, between], BUNDLE));
    const a2 = compileIncremental(
      applyRecords(meshStateFrom([...RECORDS, between], BUNDLE), [UNRELATED]),
      a1,
      [UNRELATED.key],
    );
    const b = compileIncremental(
      applyRecords(meshStateFrom(RECORDS, BUNDLE), [UNRELATED]),
      compileSnapshots(meshStateFrom(RECORDS, BUNDLE)),
      [UNRELATED.key],
    );
    const applied = a1.snapshots.get('aws/aws-1')!;
    const fromB = b.snapshots.get('aws/aws-1')!;
    expect(fromB.hash).not.toBe(applied.hash);
    expect(fromB.version > applied.version).toBe(true);
    expect(versionAndHash(fromB)).toEqual(versionAndHash(a2.snapshots.get('aws/aws-1')));
  });
});
