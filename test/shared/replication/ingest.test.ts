/**
 * What an ingest refuses: a tampered (record or manifest), replayed, expired, foreign-signed
 * (a key no peer lists, or another peer's key), own-origin or malformed
 * relay event is refused with its reason, counted, and changes nothing; a
 * good one merges, once.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { JwsSigningKey } from '../../../shared/contract/signed-jws.js';
import type { CloudEvent } from '../../../shared/events/cloud-event.js';
import { MemoryKeyRing } from '../../../shared/identity/memory-key-ring.js';
import {
  contentDigest,
  SIGNED_MANIFEST_MEDIA_TYPE,
  signManifest,
} from '../../../shared/identity/signed-manifest.js';
import { signCompactJws } from '../../../shared/identity/signer.js';
import { HybridLogicalClock } from '../../../shared/model/hlc.js';
import type { Federation, RelayPublicKey } from '../../../shared/replication/federation.js';
import {
  RELAY_EVENT_TTL_MS,
  RELAY_JWS_TYPE,
  type RelayRefusal,
  RelayRefusedError,
  relayEvent,
} from '../../../shared/replication/relay-event.js';
import { Replication } from '../../../shared/replication/replication.js';
import { MemoryBlobStore } from '../../../shared/storage/memory-blob-store.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import type { StoredRecord } from '../../../shared/storage/state-store.js';

const NOW = 1_800_000_000_000;
const ring = new MemoryKeyRing();

async function relayKey(name: string): Promise<{ signing: JwsSigningKey; public: RelayPublicKey }> {
  const signer = await ring.open(name);
  const { x, y } = await signer.publicKeyJwk();
  return { signing: { kid: name, signer }, public: { kid: name, kty: 'EC', crv: 'P-256', x: x!, y: y! } };
}

const record = (origin: string, name = 'e1', version = `1799999999000-000000-${origin}`): StoredRecord => ({
  key: { kind: 'Environment', namespace: '', name },
  version,
  origin,
  updatedAt: new Date(NOW - 1000).toISOString(),
  resource: {
    apiVersion: 'weft.dev/v1',
    kind: 'Environment',
    metadata: { name },
    spec: { provider: 'aws', region: 'us-east-1' },
  } as StoredRecord['resource'],
});

describe('ingest of relay events', () => {
  let keys: Record<'aws' | 'gcp' | 'azure' | 'stranger', Awaited<ReturnType<typeof relayKey>>>;
  let store: MemoryStateStore;
  let replication: Replication;
  let merged: StoredRecord[];
  beforeEach(async () => {
    keys = {
      aws: await relayKey('relay-aws'),
      gcp: await relayKey('relay-gcp'),
      azure: await relayKey('relay-azure'),
      stranger: await relayKey('relay-stranger'),
    };
    // The gcp control plane: aws and azure are its peers.
    const federation: Federation = {
      self: 'gcp',
      signingKey: keys.gcp.signing,
      peers: [
        { cloud: 'aws', url: 'http://aws', keys: [keys.aws.public] },
        { cloud: 'azure', url: 'http://azure', keys: [keys.azure.public] },
      ],
    };
    store = new MemoryStateStore();
    merged = [];
    replication = new Replication({
      federation,
      store,
      blobs: new MemoryBlobStore(),
      hlc: new HybridLogicalClock('gcp', () => NOW),
      now: () => NOW,
      onMerged: async (records) => {
        merged.push(...records);
      },
    });
  });

  const from = (cloud: keyof typeof keys, r = record(cloud === 'stranger' ? 'aws' : cloud), at = NOW) =>
    relayEvent(r, { cloud: cloud === 'stranger' ? 'aws' : cloud, signingKey: keys[cloud].signing }, at);

  async function expectRefused(event: unknown, reason: RelayRefusal) {
    const before = await store.changedSince(undefined);
    const counted = replication.stats.refused[reason];
    const error = await replication.ingest.ingest(event).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RelayRefusedError);
    expect((error as RelayRefusedError).reason).toBe(reason);
    expect(replication.stats.refused[reason]).toBe(counted + 1);
    expect(await store.changedSince(undefined)).toEqual(before);
    return error as RelayRefusedError;
  }

  it('merges a peer’s write once, tells compile, and refuses its replay', async () => {
    const event = await from('aws');
    expect(await replication.ingest.ingest(event)).toBe('applied');
    expect((await store.get(record('aws').key))?.version).toBe(record('aws').version);
    expect(merged.map((r) => r.version)).toEqual([record('aws').version]);
    const replay = await expectRefused(event, 'replay');
    expect(replay.status).toBe(409);
    expect(replication.stats.ingested).toEqual({ applied: 1, stale: 0 });
  });

  it('takes the same write signed again as stale, and tells compile nothing', async () => {
    await replication.ingest.ingest(await from('aws'));
    expect(await replication.ingest.ingest(await from('aws'))).toBe('stale');
    expect(merged).toHaveLength(1);
  });

  /** An event's `data` in its two parts: the signed manifest and the record beside it. */
  const split = (data: string) => {
    const end = data.indexOf('\n');
    return { manifest: data.slice(0, end), content: data.slice(end + 1) };
  };

  it('carries the record beside a signed manifest that names it, and nothing large is signed', async () => {
    const event = await from('aws');
    expect(event.datacontenttype).toBe(SIGNED_MANIFEST_MEDIA_TYPE);
    const { manifest, content } = split(event.data!);
    expect(JSON.parse(content)).toEqual(record('aws'));
    const claims = JSON.parse(Buffer.from(manifest.split('.')[1]!, 'base64url').toString());
    expect(claims).toEqual({
      iss: 'aws',
      aud: 'weft-relay',
      iat: NOW / 1000,
      exp: NOW / 1000 + RELAY_EVENT_TTL_MS / 1000,
      jti: expect.any(String),
      sha256: contentDigest(content),
    });
  });

  it('refuses a tampered event: record, manifest or signature changed', async () => {
    const event = await from('aws');
    const { manifest, content } = split(event.data!);
    const changed = JSON.parse(content);
    changed.resource.spec.region = 'eu-west-1';
    await expectRefused({ ...event, data: `${manifest}\n${JSON.stringify(changed)}` }, 'signature');
    await expectRefused({ ...event, data: `${manifest}\n${content} ` }, 'signature');
    // The manifest changed to name the changed record.
    const [h, p, s] = manifest.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const renamed = Buffer.from(
      JSON.stringify({ ...claims, sha256: contentDigest(JSON.stringify(changed)) }),
    ).toString('base64url');
    await expectRefused({ ...event, data: `${h}.${renamed}.${s}\n${JSON.stringify(changed)}` }, 'signature');
    const flipped = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}`;
    await expectRefused({ ...event, data: `${flipped}\n${content}` }, 'signature');
  });

  it('refuses the manifest of one event with the record of another', async () => {
    const mine = split((await from('aws')).data!);
    const theirs = split((await from('aws', record('aws', 'e2'))).data!);
    const event = await from('aws');
    await expectRefused({ ...event, data: `${mine.manifest}\n${theirs.content}` }, 'signature');
    await expectRefused({ ...event, data: `${theirs.manifest}\n${mine.content}` }, 'signature');
  });

  it('refuses an expired event, and one issued in the future', async () => {
    await expectRefused(await from('aws', record('aws'), NOW - RELAY_EVENT_TTL_MS - 1000), 'expired');
    await expectRefused(await from('aws', record('aws'), NOW + 10 * 60_000), 'expired');
  });

  it('refuses a key no peer lists, and a peer’s key used as another peer', async () => {
    await expectRefused(await from('stranger'), 'unknown-key');
    // azure's key, claiming to be aws relaying aws's write.
    const forged = await relayEvent(record('aws'), { cloud: 'aws', signingKey: keys.azure.signing }, NOW);
    await expectRefused(forged, 'unknown-key');
  });

  it('refuses its own writes, however they come back', async () => {
    await expectRefused(await from('gcp', record('gcp')), 'own-origin');
    // A peer relaying a write gcp made.
    await expectRefused(await from('aws', record('gcp')), 'own-origin');
  });

  it('refuses what is not a valid relay event of a valid record', async () => {
    await expectRefused(
      { specversion: '1.0', id: 'x', source: '/x', type: 'other', data: 'a.b.c' },
      'malformed',
    );
    await expectRefused({ ...(await from('aws')), data: 'not-a-jws' }, 'malformed');
    // The manifest alone, and data that is no text.
    const good = await from('aws');
    await expectRefused({ ...good, data: split(good.data!).manifest }, 'malformed');
    await expectRefused({ ...good, data: { record: record('aws') } }, 'malformed');
    const invalid = {
      ...record('aws'),
      resource: {
        apiVersion: 'weft.dev/v1',
        kind: 'Environment',
        metadata: { name: 'e1' },
        spec: { provider: 'mars' },
      },
    };
    await expectRefused(await from('aws', invalid as StoredRecord), 'malformed');
    const misnamed = {
      ...record('aws'),
      key: { kind: 'Environment' as const, namespace: '', name: 'other' },
    };
    await expectRefused(await from('aws', misnamed), 'malformed');
    // aws relaying azure's write: every cloud relays only its own.
    await expectRefused(await from('aws', record('azure')), 'malformed');
    // Right key and claims, wrong typ.
    const claims = {
      iss: 'aws',
      aud: 'weft-relay',
      iat: NOW / 1000,
      exp: NOW / 1000 + 60,
      jti: 'abcdefgh1',
      record: record('aws'),
    };
    const wrongTyp = await signCompactJws(
      keys.aws.signing.signer,
      { kid: 'relay-aws', typ: 'JWT' },
      JSON.stringify(claims),
    );
    const event = await from('aws');
    await expectRefused({ ...event, data: wrongTyp } satisfies CloudEvent<string>, 'malformed');
    // The old form: the whole record signed in one JWS.
    const whole = await signCompactJws(
      keys.aws.signing.signer,
      { kid: 'relay-aws', typ: RELAY_JWS_TYPE },
      JSON.stringify(claims),
    );
    await expectRefused({ ...event, data: whole }, 'malformed');
    const { record: _, ...manifest } = claims;
    const content = JSON.stringify(record('aws'));
    const signed = (typ: string, body: string) =>
      signManifest(keys.aws.signing.signer, { kid: 'relay-aws', typ }, manifest, body);
    await expectRefused({ ...event, data: await signed('JWT', content) }, 'malformed');
    // Right typ and manifest, naming what is not a record.
    await expectRefused({ ...event, data: await signed(RELAY_JWS_TYPE, '[1]') }, 'malformed');
    await expectRefused({ ...event, data: await signed(RELAY_JWS_TYPE, 'not json') }, 'malformed');
    expect(await replication.ingest.ingest({ ...event, data: await signed(RELAY_JWS_TYPE, content) })).toBe(
      'applied',
    );
    expect(RELAY_JWS_TYPE).toBe('weft-relay+jws');
  });

  it('answers a batch one event at a time', async () => {
    const good = await from('aws');
    const results = await replication.ingestBatch([good, good, await from('stranger')]);
    expect(results.map((r) => [r.result, r.reason])).toEqual([
      ['applied', undefined],
      ['refused', 'replay'],
      ['refused', 'unknown-key'],
    ]);
  });
});
