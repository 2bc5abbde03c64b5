import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localCaOpener } from '../../../functions/local/ca.js';
import { type LocalHost, startLocalHost } from '../../../functions/local/host.js';
import { verifyNotification } from '../../../shared/contract/signed-notification.js';
import { verifySnapshot } from '../../../shared/contract/signed-snapshot.js';
import { controlPlaneAudience } from '../../../shared/identity/audiences.js';
import { type ParsedBundle, parseBundle } from '../../../shared/identity/bundle.js';
import { issueJwtSvid } from '../../../shared/identity/jwt-svid.js';
import { SIGNED_MANIFEST_MEDIA_TYPE } from '../../../shared/identity/signed-manifest.js';
import { parseResource } from '../../../shared/model/resource.js';
import { httpCaller } from '../../support/api.js';
import { meshDocs, ordersPolicy, TD } from '../../support/distribution.js';
import { startHttpServer } from '../../support/http.js';
import { tempDir } from '../../support/temp-dir.js';

const SILENT = { info() {}, error() {} };
const GATEWAYS = ['aws/aws-1', 'aws/aws-2', 'gcp/gcp-1'] as const;

let dataDir: string;
let host: LocalHost;
let bundle: ParsedBundle;
const notifications: { type: string | undefined; body: string }[] = [];
let webhookUrl: string;

const call = (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
  httpCaller(host.url)(method, path, {
    headers: { authorization: `Bearer ${host.adminToken}`, 'content-type': 'application/json', ...headers },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });

/** A gateway's JWT-SVID for the control plane, minted by the host's own CA files. */
async function bearer(gateway: string): Promise<Record<string, string>> {
  const ca = await localCaOpener(dataDir)(TD);
  const spiffeId = `spiffe://${TD}/gw/${gateway}`;
  const { token } = await issueJwtSvid(ca, {
    spiffeId,
    audience: controlPlaneAudience(TD),
    provider: 'local',
  });
  return { authorization: `Bearer ${token}` };
}

async function snapshotOf(gateway: string, headers: Record<string, string> = {}) {
  return call('GET', `/v1/gateways/${gateway}/snapshot`, { ...(await bearer(gateway)), ...headers });
}

beforeAll(async () => {
  dataDir = await tempDir('weft-distribution-');
  const hook = await startHttpServer((req, body, res) => {
    notifications.push({ type: req.headers['content-type'], body });
    res.writeHead(204);
    res.end();
  });
  webhookUrl = `${hook.url}/weft/notify`;
  host = await startLocalHost({ dataDir, logger: SILENT, sweepIntervalMs: 100 });
});
afterAll(() => host?.close());

describe('config distribution on the local host', () => {
  it('compiles, signs and serves a snapshot per gateway once a mesh is applied', async () => {
    const res = await call('POST', '/v1/apply', {}, meshDocs({ 'gcp-1': webhookUrl }));
    expect(res.status, res.body).toBe(200);
    await host.idle();
    bundle = parseBundle((await call('GET', '/v1/bundle')).body);
    for (const gateway of GATEWAYS) {
      const got = await snapshotOf(gateway);
      expect(got.status, got.body).toBe(200);
      expect(got.headers['content-type']).toBe(SIGNED_MANIFEST_MEDIA_TYPE);
      const snapshot = await verifySnapshot(got.body, bundle, {
        expectedSpiffeId: `spiffe://${TD}/gw/${gateway}`,
      });
      expect(got.headers.etag).toBe(`"${snapshot.hash}"`);
    }
    expect(await host.blobs.list('snapshots/')).toStrictEqual(GATEWAYS.map((g) => `snapshots/${g}.jws`));
  });

  it('re-signs only the affected gateway on a policy change, and notifies its webhook', async () => {
    const before = Object.fromEntries(
      await Promise.all(GATEWAYS.map(async (g) => [g, (await snapshotOf(g)).headers.etag!] as const)),
    );
    notifications.length = 0;
    const put = await call('PUT', '/v1/accesspolicies/shop/orders-read', {}, ordersPolicy(['GET']));
    expect(put.status, put.body).toBe(201);
    const version = JSON.parse(put.body).status.version as string;
    await host.idle();

    for (const gateway of ['aws/aws-1', 'aws/aws-2'])
      expect((await snapshotOf(gateway, { 'if-none-match': before[gateway]! })).status).toBe(304);
    const changed = await snapshotOf('gcp/gcp-1', { 'if-none-match': before['gcp/gcp-1']! });
    expect(changed.status).toBe(200);
    expect(changed.headers['x-weft-version']).toBe(version);

    expect(notifications).toHaveLength(1);
    expect(notifications[0]?.type).toBe('application/jose');
    const note = await verifyNotification(notifications[0]!.body, bundle, {
      expectedSpiffeId: `spiffe://${TD}/gw/gcp/gcp-1`,
    });
    expect(note).toMatchObject({ version, hash: changed.headers.etag!.slice(1, -1) });

    const converged = JSON.parse((await call('GET', `/v1/changes/${version}/convergence`)).body);
    expect(converged).toMatchObject({ compiled: true, targeted: 1, applied: 0 });
  });

  it('compiles a write whose publication was lost, once the sweep finds it', async () => {
    const { etag } = (await snapshotOf('gcp/gcp-1')).headers;
    // Stored behind the API's back: as if the host died between the write and its publication.
    const current = await host.store.get({ kind: 'AccessPolicy', namespace: 'shop', name: 'orders-read' });
    const resource = parseResource(ordersPolicy(['GET', 'POST']));
    const version = `${String(Date.now() + 1000).padStart(13, '0')}-000000-local`;
    await host.store.put({ ...current!, version, resource }, { ifVersion: current!.version });
    await expect
      .poll(async () => (await snapshotOf('gcp/gcp-1', { 'if-none-match': etag! })).status, { timeout: 5000 })
      .toBe(200);
    expect((await snapshotOf('gcp/gcp-1')).headers['x-weft-version']).toBe(version);
  });

  it('keeps the snapshots as they are across a restart', async () => {
    const etags = await Promise.all(GATEWAYS.map(async (g) => (await snapshotOf(g)).headers.etag));
    const files = await Promise.all(
      GATEWAYS.map(async (g) => (await host.blobs.get(`snapshots/${g}.jws`))?.etag),
    );
    await host.close();
    host = await startLocalHost({ dataDir, logger: SILENT });
    expect(await Promise.all(GATEWAYS.map(async (g) => (await snapshotOf(g)).headers.etag))).toStrictEqual(
      etags,
    );
    // Not even rewritten: the cold compile found every stored snapshot current.
    expect(
      await Promise.all(GATEWAYS.map(async (g) => (await host.blobs.get(`snapshots/${g}.jws`))?.etag)),
    ).toStrictEqual(files);
  });
});
