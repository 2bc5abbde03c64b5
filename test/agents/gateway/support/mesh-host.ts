/**
 * The real control plane for agent tests: the local host (`startLocalHost`:
 * dynalite on disk, the CA under its data directory, every write compiled,
 * signed and stored) with a small mesh applied over HTTP, join tokens minted
 * as an operator would, and the signed snapshots it stored, for a stand-in
 * to replay or modify.
 *
 * @module
 */
import { rm } from 'node:fs/promises';
import { newSvidKey } from '../../../../agents/gateway/svid-key.js';
import { type LocalHost, startLocalHost } from '../../../../functions/local/host.js';
import { peekSnapshot, readSnapshot } from '../../../../shared/contract/signed-snapshot.js';
import { type GatewaySnapshot, gatewayKey } from '../../../../shared/contract/snapshot.js';
import { snapshotBlobKey } from '../../../../shared/distribution/snapshot-blobs.js';
import { doc } from '../../../support/distribution.js';
import { tempDir } from '../../../support/temp-dir.js';

export { doc };

export const TD = 'agent.test';
export const ENV = 'aws';
export const GW = 'edge-1';
export const GATEWAY_ID = `spiffe://${TD}/gw/${ENV}/${GW}`;
const SILENT = { info() {}, error() {} };

/** The mesh: one environment, the agent's gateway (with `webhook` if given), one service. */
export function meshDocs(options: { webhook?: string; x509SvidTtl?: string } = {}) {
  return [
    doc('Mesh', 'default', {
      trustDomain: TD,
      attestation: { joinToken: {} },
      ...(options.x509SvidTtl && { credentials: { x509SvidTtl: options.x509SvidTtl, jwtSvidTtl: '1m' } }),
    }),
    doc('Environment', ENV, { provider: 'aws', region: 'us-east-1' }),
    doc('Gateway', GW, {
      environment: ENV,
      address: '127.0.1.1:15443',
      ...(options.webhook && { webhook: options.webhook }),
    }),
    doc('Gateway', 'edge-2', { environment: ENV, address: '127.0.1.2:15443' }),
    doc('Service', 'shop/orders', { ports: [{ port: 8080 }] }),
    doc('Workload', 'shop/orders-1', { service: 'orders', environment: ENV, address: '10.1.0.1:8080' }),
  ];
}

/** An AccessPolicy on `orders`: changing `methods` changes the agent's snapshot. */
export const ordersPolicy = (methods: string[]) =>
  doc('AccessPolicy', 'shop/orders-read', {
    service: 'orders',
    action: 'allow',
    rules: [{ from: [`spiffe://${TD}/ns/shop/*`], methods }],
  });

/** The local host with the mesh, and what tests do with it as an operator. */
export interface MeshHost {
  readonly host: LocalHost;
  readonly url: string;
  readonly dataDir: string;
  /** Applies documents and waits until they are compiled, signed, stored and notified. */
  apply(docs: readonly unknown[]): Promise<void>;
  /** A one-time join token for the agent's gateway. */
  joinToken(spiffeId?: string): Promise<string>;
  /** A gateway's (default: the agent's) signed snapshot as the host stored it, and its payload. */
  signedSnapshot(name?: string): Promise<{ snapshot: GatewaySnapshot; jws: string }>;
  /** The `kid` the host signs with, for forgeries under the right name. */
  kid(): Promise<string>;
  /** A JWT-SVID for a workload: attests with a join token for `spiffeId` (`POST /v1/attest`). */
  workloadJwt(spiffeId: string): Promise<string>;
  /** Stops the control plane (the API and everything behind it); `close` then only cleans up. */
  stop(): Promise<void>;
  /** What the gateway last reported (`GET .../status`, as an operator). */
  status(name?: string): Promise<Record<string, unknown> | undefined>;
  close(): Promise<void>;
}

/** Options of {@link startMeshHost}. */
export interface MeshHostOptions {
  readonly webhook?: string;
  readonly x509SvidTtl?: string;
  /** The documents applied at start. @default `meshDocs(options)` */
  readonly docs?: readonly unknown[];
}

export async function startMeshHost(options: MeshHostOptions = {}): Promise<MeshHost> {
  const dataDir = await tempDir('weft-agent-cp-');
  const host = await startLocalHost({ dataDir, logger: SILENT });
  const admin = { authorization: `Bearer ${host.adminToken}`, 'content-type': 'application/json' };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${host.url}${path}`, {
      method,
      headers: admin,
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text && (JSON.parse(text) as Record<string, unknown>) };
  };
  const post = async (path: string, body: unknown) => {
    const res = await call('POST', path, body);
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as Record<string, unknown>;
  };
  const apply = async (docs: readonly unknown[]) => {
    await post('/v1/apply', docs);
    await host.idle();
  };
  await apply(options.docs ?? meshDocs(options));
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= host.close();
    return stopped;
  };
  const joinToken = async (spiffeId = GATEWAY_ID) =>
    (await post('/v1/join-tokens', { spiffeId })).token as string;
  const signedSnapshot = async (name = GW) => {
    await host.idle();
    const blob = await host.blobs.get(snapshotBlobKey(gatewayKey(ENV, name)));
    if (!blob) throw new Error(`the host stored no snapshot for ${ENV}/${name}`);
    return { snapshot: readSnapshot(blob.body)!, jws: blob.body };
  };
  return {
    host,
    url: host.url,
    dataDir,
    apply,
    joinToken,
    async workloadJwt(spiffeId) {
      const attestation = { type: 'join_token', token: await joinToken(spiffeId) };
      const res = await fetch(`${host.url}/v1/attest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ attestation, csr: (await newSvidKey()).csrPem }),
      });
      const body = (await res.json()) as { jwtSvid?: { token: string } };
      if (!res.ok || !body.jwtSvid) throw new Error(`/v1/attest: ${res.status} ${JSON.stringify(body)}`);
      return body.jwtSvid.token;
    },
    stop,
    signedSnapshot,
    kid: async () => peekSnapshot((await signedSnapshot()).jws)!.kid,
    async status(name = GW) {
      const res = await call('GET', `/v1/gateways/${ENV}/${name}/status`);
      return res.status === 200 ? (res.body as Record<string, unknown>) : undefined;
    },
    async close() {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
