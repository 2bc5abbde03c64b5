import { beforeEach, describe, expect, it } from 'vitest';
import { verifyNotification } from '../../../shared/contract/signed-notification.js';
import { peekSnapshot, signSnapshot, verifySnapshot } from '../../../shared/contract/signed-snapshot.js';
import { type DistributeReport, Distributor } from '../../../shared/distribution/distribute.js';
import { caAuthority } from '../../../shared/distribution/mesh-authority.js';
import { Notifier } from '../../../shared/distribution/notifier.js';
import { snapshotBlobKey } from '../../../shared/distribution/snapshot-blobs.js';
import { resourceChangedEvent } from '../../../shared/events/resource-changed.js';
import type { ParsedBundle } from '../../../shared/identity/bundle.js';
import type { MeshCa } from '../../../shared/identity/ca.js';
import type { WriteResult } from '../../../shared/resources/resource-service.js';
import type { BlobStore } from '../../../shared/storage/blob-store.js';
import { MemoryBlobStore } from '../../../shared/storage/memory-blob-store.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import {
  COMPILED_WATERMARK,
  type CompiledWatermark,
  readWatermark,
} from '../../../shared/storage/watermark.js';
import { doc, memoryCa, meshDocs, ordersPolicy, TD, writer } from '../../support/distribution.js';

const GATEWAYS = ['aws/aws-1', 'aws/aws-2', 'gcp/gcp-1'];
const events = (results: readonly WriteResult[]) =>
  results.map((r) => resourceChangedEvent(r.record, '/weft/local'));
const spiffe = (gateway: string) => `spiffe://${TD}/gw/${gateway}`;

let store: MemoryStateStore;
let blobs: BlobStore;
let ca: MeshCa;
let bundle: ParsedBundle;
let w: ReturnType<typeof writer>;

function distributor(options: { notifier?: Notifier } = {}) {
  return new Distributor({ store, blobs, authority: caAuthority(async () => ca, 'local'), ...options });
}

async function stored(gateway: string) {
  const blob = await blobs.get(snapshotBlobKey(gateway));
  return blob && { ...peekSnapshot(blob.body)!, etag: blob.etag, jws: blob.body };
}

beforeEach(async () => {
  store = new MemoryStateStore();
  blobs = new MemoryBlobStore();
  ({ ca, bundle } = await memoryCa());
  w = writer(store);
});

describe('Distributor', () => {
  it('without a Mesh compiles nothing, says why, and still moves the watermark', async () => {
    const d = distributor();
    await w.apply([doc('Environment', 'aws', { provider: 'aws', region: 'us-east-1' })]);
    const report = await d.compileAll();
    expect(report.reason).toMatch(/no Mesh/);
    expect(await blobs.list('snapshots/')).toStrictEqual([]);
    expect(await readWatermark(blobs, COMPILED_WATERMARK)).toMatchObject({ version: report.stateVersion });
  });

  it('signs and stores a snapshot per gateway, each verifiable by that gateway only', async () => {
    const d = distributor();
    await d.compileAll();
    const applied = await w.apply(meshDocs());
    const report = (await d.handle(events(applied))) as DistributeReport;
    expect(report.written).toStrictEqual(GATEWAYS);
    expect(await blobs.list('snapshots/')).toStrictEqual(GATEWAYS.map(snapshotBlobKey));
    for (const gateway of GATEWAYS) {
      const { jws } = (await stored(gateway))!;
      const snapshot = await verifySnapshot(jws, bundle, { expectedSpiffeId: spiffe(gateway) });
      expect(snapshot.version).toBe(report.stateVersion);
      // The trust bundle travels in the snapshot.
      expect((snapshot.bundle as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
    }
    const mark = await readWatermark<CompiledWatermark>(blobs, COMPILED_WATERMARK);
    expect(mark?.version).toBe(
      applied
        .map((r) => r.record.version)
        .sort()
        .at(-1),
    );
    expect(Object.keys(mark!.snapshots)).toStrictEqual(GATEWAYS);
  });

  it('on a policy change re-signs only the affected gateway', async () => {
    const d = distributor();
    await w.apply(meshDocs());
    await d.compileAll();
    const before = Object.fromEntries(await Promise.all(GATEWAYS.map(async (g) => [g, await stored(g)])));
    const [policy] = await w.apply([ordersPolicy(['GET'])]);
    const report = await d.handle(events([policy!]));
    // orders has endpoints in gcp only: only gcp's ingress carries its policies.
    expect(report).toMatchObject({ written: ['gcp/gcp-1'], removed: [], full: false });
    expect((await stored('gcp/gcp-1'))?.version).toBe(policy!.record.version);
    for (const g of ['aws/aws-1', 'aws/aws-2']) expect((await stored(g))?.etag).toBe(before[g]?.etag);
  });

  it('shrugs off duplicated and old events: nothing is read, nothing written', async () => {
    const d = distributor();
    const applied = await w.apply(meshDocs());
    await d.handle(events(applied));
    const [policy] = await w.apply([ordersPolicy(['GET'])]);
    await d.handle(events([policy!]));
    const etags = await Promise.all(GATEWAYS.map(async (g) => (await stored(g))?.etag));
    expect(await d.handle([...events(applied), ...events([policy!]), ...events([policy!])])).toBeUndefined();
    expect(await Promise.all(GATEWAYS.map(async (g) => (await stored(g))?.etag))).toStrictEqual(etags);
  });

  it("deletes a removed gateway's snapshot, and forgets it in the watermark", async () => {
    const d = distributor();
    await w.apply(meshDocs());
    await d.compileAll();
    const gone = await w.delete('Gateway', 'aws-2');
    const report = await d.handle(events([gone]));
    expect(report?.removed).toStrictEqual(['aws/aws-2']);
    expect(await blobs.get(snapshotBlobKey('aws/aws-2'))).toBeUndefined();
    const mark = await readWatermark<CompiledWatermark>(blobs, COMPILED_WATERMARK);
    expect(Object.keys(mark!.snapshots)).toStrictEqual(['aws/aws-1', 'gcp/gcp-1']);
  });

  it('a cold instance keeps what is stored when nothing changed, and deletes orphans', async () => {
    await w.apply(meshDocs());
    await distributor().compileAll();
    const versions = await Promise.all(GATEWAYS.map(async (g) => (await stored(g))?.version));
    await blobs.put(snapshotBlobKey('old/gone'), 'left over');
    const report = await distributor().compileAll();
    expect(report).toMatchObject({ written: [], removed: ['old/gone'], full: true });
    expect(await Promise.all(GATEWAYS.map(async (g) => (await stored(g))?.version))).toStrictEqual(versions);
  });

  it('an instance that started without a Mesh cleans up left-over snapshots once one comes', async () => {
    const d = distributor();
    await d.compileAll();
    await blobs.put(snapshotBlobKey('old/gone'), 'left over');
    const report = await d.handle(events(await w.apply(meshDocs())));
    expect(report).toMatchObject({ written: GATEWAYS, removed: ['old/gone'], full: true });
  });

  it('picks up a write that landed after a newer one was compiled', async () => {
    const d = distributor();
    await w.apply(meshDocs());
    await d.compileAll();
    // Versioned before the compiled state, stored after it: changedSince cannot see it; its event names it.
    const late = await writer(new MemoryStateStore(), 'aaa').apply([ordersPolicy(['PUT'])]);
    const record = { ...late[0]!.record, version: '0000000000001-000000-aaa' };
    await store.put(record);
    const report = await d.handle([resourceChangedEvent(record, '/weft/aaa')]);
    expect(report?.written).toStrictEqual(['gcp/gcp-1']);
    const { jws } = (await stored('gcp/gcp-1'))!;
    const snapshot = await verifySnapshot(jws, bundle, { expectedSpiffeId: spiffe('gcp/gcp-1') });
    expect(snapshot.ingress.services.find((s) => s.name === 'orders')?.authorization.policies).toHaveLength(
      1,
    );
  });

  it('never writes a version at or below a stored one: it re-reads and steps past it', async () => {
    const d = distributor();
    await w.apply(meshDocs());
    await d.compileAll();
    // Another instance (or a store restored from a backup) left a snapshot from far ahead.
    const ahead = '9999999999999-000000-zzz';
    const { jws } = (await stored('gcp/gcp-1'))!;
    const foreign = await verifySnapshot(jws, bundle, { expectedSpiffeId: spiffe('gcp/gcp-1') });
    const key = await ca.jwtSigningKey('local');
    await blobs.put(
      snapshotBlobKey('gcp/gcp-1'),
      await signSnapshot({ ...foreign, version: ahead, hash: 'f'.repeat(64) }, key),
    );
    const [policy] = await w.apply([ordersPolicy(['GET'])]);
    const report = await d.handle(events([policy!]));
    expect(report?.full).toBe(true);
    const now = (await stored('gcp/gcp-1'))!;
    expect(now.version > ahead).toBe(true);
    await verifySnapshot(now.jws, bundle, { expectedSpiffeId: spiffe('gcp/gcp-1'), appliedVersion: ahead });
  });

  it('notifies the webhooks of the gateways it wrote, with a verifiable notification', async () => {
    const posts: { url: string; type: string | null; body: string }[] = [];
    const fetch = (async (url: string, init: RequestInit) => {
      posts.push({ url, type: new Headers(init.headers).get('content-type'), body: String(init.body) });
      return new Response(null, { status: 204 });
    }) as unknown as typeof globalThis.fetch;
    const notifier = new Notifier({ fetch });
    const d = distributor({ notifier });
    await w.apply(meshDocs({ 'gcp-1': 'http://127.0.0.1:9/gcp-1', 'aws-1': 'http://127.0.0.1:9/aws-1' }));
    await d.compileAll();
    await notifier.idle();
    expect(posts.map((p) => p.url).sort()).toStrictEqual([
      'http://127.0.0.1:9/aws-1',
      'http://127.0.0.1:9/gcp-1',
    ]);
    posts.length = 0;
    const [policy] = await w.apply([ordersPolicy(['GET'])]);
    await d.handle(events([policy!]));
    await notifier.idle();
    expect(posts).toHaveLength(1);
    expect(posts[0]?.type).toBe('application/jose');
    const note = await verifyNotification(posts[0]!.body, bundle, { expectedSpiffeId: spiffe('gcp/gcp-1') });
    expect(note).toMatchObject({ version: policy!.record.version, hash: (await stored('gcp/gcp-1'))?.hash });
  });

  it('keeps the last snapshots when the Mesh goes away', async () => {
    const d = distributor();
    await w.apply(meshDocs());
    await d.compileAll();
    const gone = await store.get({ kind: 'Mesh', namespace: '', name: 'default' });
    await store.delete(gone!.key, { version: '9999999999999-000000-local', origin: 'local', updatedAt: '' });
    const report = await d.handle([resourceChangedEvent((await store.get(gone!.key))!, '/weft/local')]);
    expect(report?.reason).toMatch(/no Mesh/);
    expect(await blobs.list('snapshots/')).toHaveLength(3);
  });
});
