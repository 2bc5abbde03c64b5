/**
 * Nothing weft signs is larger than AWS KMS signs (`MessageType: RAW`, at
 * most 4096 bytes). Every key below, the operator's root included, lives in
 * a key ring that stands in for KMS at its narrowest seam: a message past
 * the limit is refused as KMS refuses it, and the largest message of each
 * use is recorded. Two federated control planes (aws, gcp) on that ring then
 * do everything that signs: install and rotate intermediates, exchange
 * authority statements, compile and sign a snapshot of a 200-service mesh,
 * notify its gateway, issue X.509- and JWT-SVIDs, relay a record with large
 * annotations, and authenticate a peer; each result is verified. Large
 * content travels beside small signed manifests (`signed-manifest.ts`).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ControlPlane,
  composeControlPlane,
} from '../../../functions/control-plane/compose-control-plane.js';
import { verifyNotification } from '../../../shared/contract/signed-notification.js';
import { peekSnapshot, signSnapshot, verifySnapshot } from '../../../shared/contract/signed-snapshot.js';
import type { GatewaySnapshot } from '../../../shared/contract/snapshot.js';
import { snapshotBlobKey } from '../../../shared/distribution/snapshot-blobs.js';
import { resourceChangedEvent } from '../../../shared/events/resource-changed.js';
import { MemoryJoinTokenStore } from '../../../shared/identity/attestation/join-token-store.js';
import { buildBundle, parseBundle } from '../../../shared/identity/bundle.js';
import { MeshCa } from '../../../shared/identity/ca.js';
import { createRootCertificate } from '../../../shared/identity/ca-certificates.js';
import { MemoryCaStore } from '../../../shared/identity/ca-store.js';
import { signIntermediateCsr } from '../../../shared/identity/intermediate-csr.js';
import { issueJwtSvid, JwtSvidVerifier } from '../../../shared/identity/jwt-svid.js';
import { MemoryKeyRing } from '../../../shared/identity/memory-key-ring.js';
import { namesContent, signManifest, splitManifest } from '../../../shared/identity/signed-manifest.js';
import {
  type KeyRing,
  KMS_MAX_MESSAGE_BYTES,
  type Signer,
  signCompactJws,
} from '../../../shared/identity/signer.js';
import { x509 } from '../../../shared/identity/x509.js';
import { issueX509Svid } from '../../../shared/identity/x509-svid.js';
import { UnauthenticatedError, WeftError } from '../../../shared/model/errors.js';
import type { Provider } from '../../../shared/model/specs.js';
import type { Federation, RelayPublicKey } from '../../../shared/replication/federation.js';
import { authenticatePeer, peerAuthorization } from '../../../shared/replication/peer-auth.js';
import { verifyRelayEvent } from '../../../shared/replication/relay-event.js';
import type { DeliveryResult, PeerTransport } from '../../../shared/replication/transport.js';
import { MemoryBlobStore } from '../../../shared/storage/memory-blob-store.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import type { StoredRecord } from '../../../shared/storage/state-store.js';
import { makeCsr } from '../../support/csr.js';
import { doc, TD, writer } from '../../support/distribution.js';

const HOUR = 3_600_000;
const CLOUDS = ['aws', 'gcp'] as const;
type Cloud = (typeof CLOUDS)[number];

/**
 * What a message is, for the record: a JWS signing input by its `typ`, or
 * DER (a certificate's TBS or a CSR's info) by the key that signs it.
 */
function useOf(keyId: string, message: Uint8Array): string {
  const kind = ['root', 'x509', 'jwt', 'relay'].find((k) => keyId.includes(k)) ?? keyId;
  if (message[0] === 0x30) return `X.509 DER by ${kind}`;
  const text = new TextDecoder().decode(message);
  const { typ } = JSON.parse(Buffer.from(text.slice(0, text.indexOf('.')), 'base64url').toString());
  return `JWS ${typ} by ${kind}`;
}

/** A key ring that signs as AWS KMS does: at most 4096 bytes, or a refusal; the largest message per use kept. */
class KmsStandInKeyRing implements KeyRing {
  readonly largest = new Map<string, number>();
  readonly refused: string[] = [];
  readonly #keys = new MemoryKeyRing({ maxMessageBytes: KMS_MAX_MESSAGE_BYTES });

  async open(keyId: string): Promise<Signer> {
    const key = await this.#keys.open(keyId);
    const ring = this;
    return {
      keyId: key.keyId,
      algorithm: key.algorithm,
      ...(key.maxMessageBytes !== undefined && { maxMessageBytes: key.maxMessageBytes }),
      publicKeyJwk: () => key.publicKeyJwk(),
      async sign(message) {
        const use = useOf(keyId, message);
        ring.largest.set(use, Math.max(ring.largest.get(use) ?? 0, message.length));
        // Whatever the caller checked: KMS itself refuses a longer message.
        if (message.length > KMS_MAX_MESSAGE_BYTES) {
          ring.refused.push(`${use}: ${message.length} bytes`);
          throw new WeftError('ERR_INTERNAL', 500, `KMS: message of ${message.length} bytes is too long`);
        }
        return key.sign(message);
      },
    };
  }
}

describe('signed manifests', () => {
  it('sign a small manifest however large the content, and name the content exactly', async () => {
    const ring = new KmsStandInKeyRing();
    const signer = await ring.open('big');
    const content = JSON.stringify({ blob: 'x'.repeat(1024 * 1024) });
    // The content itself is more than the key signs...
    await expect(signCompactJws(signer, { typ: 'test+jws' }, content)).rejects.toMatchObject({
      code: 'ERR_INTERNAL',
    });
    // ...so it is named: the signer sees the manifest only.
    const text = await signManifest(signer, { typ: 'test+jws' }, { n: 1 }, content);
    expect([...ring.largest.values()].every((n) => n < 256)).toBe(true);
    const parts = splitManifest(text)!;
    expect(parts.content).toBe(content);
    const claims = JSON.parse(Buffer.from(parts.jws.split('.')[1]!, 'base64url').toString());
    expect(namesContent(claims, parts.content)).toBe(true);
    expect(namesContent(claims, `${content.slice(0, -2)}y}`)).toBe(false);
    expect(namesContent({}, content)).toBe(false);
    expect(ring.refused).toEqual([]);
  });

  it('split only what has a compact JWS before its first newline', () => {
    expect(splitManifest('a.b.c\n{"x":"1\\n2"}\nmore')).toStrictEqual({
      jws: 'a.b.c',
      content: '{"x":"1\\n2"}\nmore',
    });
    expect(splitManifest('a.b.c\n')).toStrictEqual({ jws: 'a.b.c', content: '' });
    for (const text of [
      'a.b.c',
      '\na.b.c',
      'a.b\n{}',
      'a.b.c.d\n{}',
      `${'a'.repeat(20_000)}.b.c\n{}`,
      42,
      null,
    ])
      expect(splitManifest(text)).toBeUndefined();
  });

  it('refuse claims that would hide the name', async () => {
    const signer = await new KmsStandInKeyRing().open('k');
    await expect(signManifest(signer, {}, { sha256: 'mine' }, '')).rejects.toThrow(TypeError);
  });
});

describe('a control plane whose every key signs as AWS KMS does', () => {
  const ring = new KmsStandInKeyRing();
  const cas = {} as Record<Cloud, MeshCa>;
  const planes = {} as Record<Cloud, ControlPlane>;
  const stores = {} as Record<Cloud, MemoryStateStore>;
  const blobs = new MemoryBlobStore();
  const relayKeys = {} as Record<Cloud, { kid: string; signer: Signer; public: RelayPublicKey }>;
  const notifications: string[] = [];
  const delivered: DeliveryResult[] = [];
  const relayed: unknown[] = [];
  let root: { certificate: x509.X509Certificate; signer: Signer };

  const federationOf = (cloud: Cloud): Federation => ({
    self: cloud,
    signingKey: relayKeys[cloud],
    peers: CLOUDS.filter((c) => c !== cloud).map((c) => ({
      cloud: c,
      url: `http://${c}.test`,
      keys: [relayKeys[c].public],
    })),
  });

  /** Peers in this process: deliveries go straight to the peer's ingest. */
  const transport: PeerTransport = {
    async deliver(peer, events) {
      relayed.push(...events);
      const results = await planes[peer.cloud as Cloud].replication!.ingestBatch(events);
      delivered.push(...results);
      return results;
    },
    digest: async () => ({}) as never,
    buckets: async () => [],
    appliedVersions: async () => ({}),
    authority: async (peer) => planes[peer.cloud as Cloud].replication!.authorities!.own(),
  };

  /** The operator signs a cloud's intermediate from its CSR, with the root in KMS as well. */
  async function install(cloud: Cloud): Promise<void> {
    const csrPem = await cas[cloud].intermediateCsr(cloud);
    const certPem = await signIntermediateCsr({
      csrPem,
      provider: cloud,
      trustDomain: TD,
      root,
      now: new Date(),
      ttlMs: 24 * HOUR,
    });
    await cas[cloud].installIntermediate(cloud, certPem);
  }

  beforeAll(async () => {
    const rootSigner = await ring.open('root-operator');
    const now = new Date();
    root = {
      signer: rootSigner,
      certificate: await createRootCertificate({
        trustDomain: TD,
        signer: rootSigner,
        now,
        ttlMs: 8760 * HOUR,
      }),
    };
    for (const cloud of CLOUDS) {
      const signer = await ring.open(`relay-${cloud}`);
      const { x, y } = await signer.publicKeyJwk();
      const kid = `relay-${cloud}`;
      relayKeys[cloud] = { kid, signer, public: { kid, kty: 'EC', crv: 'P-256', x: x!, y: y! } };
    }
    for (const cloud of CLOUDS) {
      cas[cloud] = await MeshCa.open({
        trustDomain: TD,
        store: new MemoryCaStore(),
        keys: ring,
        providers: [cloud as Provider],
        root: { certPem: root.certificate.toString('pem') },
        intermediateTtlMs: 24 * HOUR,
      });
      await install(cloud);
      stores[cloud] = new MemoryStateStore();
      planes[cloud] = composeControlPlane({
        cloud,
        store: stores[cloud],
        blobs: cloud === 'aws' ? blobs : new MemoryBlobStore(),
        openCa: async () => cas[cloud],
        joinTokens: new MemoryJoinTokenStore(),
        authenticate: async () => {
          throw new UnauthenticatedError('no operators here');
        },
        federation: federationOf(cloud),
        peerTransport: transport,
        fetch: async (_url, init) => {
          notifications.push(String(init?.body));
          return new Response(null, { status: 204 });
        },
      });
      // Both need a Mesh to exchange statements (it names the trust domain).
      await writer(stores[cloud], cloud).apply([doc('Mesh', 'default', { trustDomain: TD })]);
    }
  });

  it('rotates aws to three intermediates and three JWT keys, and gcp trusts them all from its statement', async () => {
    await install('aws');
    await install('aws');
    await cas.aws.rotateJwtKey('aws');
    await cas.aws.rotateJwtKey('aws');
    const statement = await planes.aws.replication!.authorities!.own();
    expect(statement, 'aws has a statement to give').toBeDefined();
    expect(Buffer.byteLength(splitManifest(statement)!.content)).toBeGreaterThan(KMS_MAX_MESSAGE_BYTES / 2);
    expect(await planes.gcp.replication!.authorities!.add(statement!)).toBe(true);
    const peer = cas.gcp.peers.find((p) => p.provider === 'aws')!;
    expect(peer.intermediates).toHaveLength(3);
    expect(peer.jwtKeys).toHaveLength(3);
    expect(await cas.aws.addPeerStatement((await planes.gcp.replication!.authorities!.own())!)).toBe(true);
  });

  it('compiles and signs a snapshot of a 200-service mesh, and the gateway verifies it and its notification', async () => {
    const services = Array.from({ length: 200 }, (_, i) => [
      doc('Service', `shop/svc-${i}`, { ports: [{ port: 8000 + i }] }),
      doc('Workload', `shop/svc-${i}-gcp`, {
        service: `svc-${i}`,
        environment: 'gcp',
        address: `10.2.${Math.floor(i / 200)}.${(i % 200) + 1}:${8000 + i}`,
      }),
    ]);
    await writer(stores.aws, 'aws').apply([
      doc('Environment', 'aws', { provider: 'aws', region: 'us-east-1' }),
      doc('Environment', 'gcp', { provider: 'gcp', region: 'europe-west1' }),
      doc('Gateway', 'aws-1', {
        environment: 'aws',
        address: '127.0.1.1:15443',
        webhook: 'https://gw.test/notify',
      }),
      doc('Gateway', 'gcp-1', { environment: 'gcp', address: '127.0.2.1:15443' }),
      ...services.flat(),
    ]);
    const report = await planes.aws.compileAll();
    expect(report?.written).toContain('aws/aws-1');
    await planes.aws.idle();
    const stored = (await blobs.get(snapshotBlobKey('aws/aws-1')))!.body;
    const spiffeId = `spiffe://${TD}/gw/aws/aws-1`;
    // The agent's bundle: gcp's, which carries aws's rotated keys from its statement.
    const bundle = parseBundle(await buildBundle(cas.gcp));
    const snapshot: GatewaySnapshot = await verifySnapshot(stored, bundle, { expectedSpiffeId: spiffeId });
    expect(snapshot.egress.services.length).toBeGreaterThanOrEqual(200);
    expect(Buffer.byteLength(splitManifest(stored)!.content)).toBeGreaterThan(16 * KMS_MAX_MESSAGE_BYTES);
    expect(peekSnapshot(stored)).toMatchObject({ version: snapshot.version, hash: snapshot.hash });
    expect(notifications).toHaveLength(1);
    const note = await verifyNotification(notifications[0]!, bundle, { expectedSpiffeId: spiffeId });
    expect(note).toMatchObject({ version: snapshot.version, hash: snapshot.hash });
    // Re-signed as a cloud serves it after a failover (served-version.ts): the same way.
    const again = await signSnapshot(
      { ...snapshot, version: `${snapshot.version.slice(0, -3)}gcp` },
      {
        kid: (await cas.aws.jwtSigningKey('aws')).kid,
        signer: (await cas.aws.jwtSigningKey('aws')).signer,
      },
    );
    expect((await verifySnapshot(again, bundle, { expectedSpiffeId: spiffeId })).hash).toBe(snapshot.hash);
  });

  it('issues X.509- and JWT-SVIDs that verify across the clouds', async () => {
    const spiffeId = `spiffe://${TD}/gw/aws/aws-1`;
    const svid = await issueX509Svid(cas.aws, {
      csrPem: (await makeCsr()).csrPem,
      spiffeId,
      provider: 'aws',
    });
    const [leaf, issuer] = svid.certChain.map((pem) => new x509.X509Certificate(pem));
    expect(await leaf!.verify({ publicKey: issuer!.publicKey })).toBe(true);
    expect(await issuer!.verify({ publicKey: root.certificate.publicKey })).toBe(true);
    const pems = parseBundle(await buildBundle(cas.gcp)).x509Authorities.map((a) => a.pem);
    expect(pems).toContain(svid.certChain[1]);
    const audience = `spiffe://${TD}/control-plane`;
    const jwt = await issueJwtSvid(cas.aws, { spiffeId, audience, provider: 'aws' });
    const verifier = new JwtSvidVerifier({ bundle: parseBundle(await buildBundle(cas.gcp)) });
    await expect(verifier.verify(jwt.token, audience)).resolves.toMatchObject({ spiffeId });
  });

  it('relays a record with large annotations, which the peer verifies and merges', async () => {
    const annotations = Object.fromEntries(
      Array.from({ length: 16 }, (_, i) => [`weft.dev/note-${i}`, String(i).repeat(4000).slice(0, 4000)]),
    );
    const document = {
      apiVersion: 'weft.dev/v1',
      kind: 'Service',
      metadata: { name: 'annotated', namespace: 'shop', annotations },
      spec: { ports: [{ port: 7000 }] },
    };
    const { record } = await planes.aws.resources.put(document);
    await planes.aws.relay([resourceChangedEvent(record, '/weft/aws')]);
    expect(delivered.map((d) => d.result)).toEqual(['applied']);
    const merged: StoredRecord | undefined = await stores.gcp.get(record.key);
    expect(merged?.version).toBe(record.version);
    expect(merged?.resource).toEqual(record.resource);
    const data = (relayed[0] as { data: string }).data;
    expect(Buffer.byteLength(splitManifest(data)!.content)).toBeGreaterThan(8 * KMS_MAX_MESSAGE_BYTES);
    // What the ingest checked, checked again: the record is the one signed.
    const verified = await verifyRelayEvent(relayed[0], federationOf('gcp'));
    expect(verified.record).toEqual(record);
  });

  it('authenticates a peer by its relay key', async () => {
    const gcp = federationOf('gcp');
    const header = await peerAuthorization(federationOf('aws'), federationOf('aws').peers[0]!);
    expect((await authenticatePeer(header, gcp)).cloud).toBe('aws');
  });

  it('sent no signer a message longer than 4096 bytes, for any use', () => {
    expect(ring.refused).toEqual([]);
    const uses = Object.fromEntries(ring.largest);
    for (const use of [
      'X.509 DER by root', // intermediate certificates (and the root's own)
      'X.509 DER by x509', // intermediate CSRs and X.509-SVIDs
      'JWS weft-authority+jws by x509',
      'JWS weft-snapshot+jws by jwt',
      'JWS weft-notify+jws by jwt',
      'JWS JWT by jwt', // JWT-SVIDs
      'JWS weft-relay+jws by relay',
      'JWS weft-peer+jwt by relay',
    ])
      expect(uses[use], use).toBeGreaterThan(0);
    for (const [use, bytes] of ring.largest) expect(bytes, use).toBeLessThanOrEqual(KMS_MAX_MESSAGE_BYTES);
  });
});
