import { beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../../shared/api/create-api.js';
import type { ApiResponse } from '../../../shared/api/types.js';
import { verifySnapshot } from '../../../shared/contract/signed-snapshot.js';
import { Distributor } from '../../../shared/distribution/distribute.js';
import { caAuthority, meshTrust } from '../../../shared/distribution/mesh-authority.js';
import { resourceChangedEvent } from '../../../shared/events/resource-changed.js';
import { controlPlaneAudience, gatewaysAudience } from '../../../shared/identity/audiences.js';
import type { ParsedBundle } from '../../../shared/identity/bundle.js';
import type { MeshCa } from '../../../shared/identity/ca.js';
import { issueJwtSvid } from '../../../shared/identity/jwt-svid.js';
import { SIGNED_MANIFEST_MEDIA_TYPE } from '../../../shared/identity/signed-manifest.js';
import { HybridLogicalClock } from '../../../shared/model/hlc.js';
import { MemoryBlobStore } from '../../../shared/storage/memory-blob-store.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import type { StoredRecord } from '../../../shared/storage/state-store.js';
import { createTestOperators } from '../../support/api.js';
import { memoryCa, meshDocs, ordersPolicy, TD } from '../../support/distribution.js';

const GCP = `spiffe://${TD}/gw/gcp/gcp-1`;
const AWS = `spiffe://${TD}/gw/aws/aws-1`;

let ca: MeshCa;
let bundle: ParsedBundle;
let call: (
  method: string,
  path: string,
  headers?: Record<string, string>,
  body?: unknown,
) => Promise<ApiResponse>;
let admin: Record<string, string>;
let viewer: Record<string, string>;
let distributor: Distributor;
const writes: StoredRecord[][] = [];

const svid = async (spiffeId: string, audience = controlPlaneAudience(TD), from = ca) => ({
  authorization: `Bearer ${(await issueJwtSvid(from, { spiffeId, audience, provider: 'local' })).token}`,
});
const json = (res: ApiResponse) => JSON.parse(res.body);

beforeAll(async () => {
  ({ ca, bundle } = await memoryCa());
  const store = new MemoryStateStore();
  const blobs = new MemoryBlobStore();
  const authority = caAuthority(async () => ca, 'local');
  distributor = new Distributor({ store, blobs, authority });
  const operators = await createTestOperators();
  admin = { authorization: `Bearer ${operators.adminToken}` };
  viewer = { authorization: `Bearer ${operators.viewerToken}` };
  const api = createApi({
    store,
    hlc: new HybridLogicalClock('local'),
    authenticate: operators.authenticate,
    distribution: { blobs, trust: meshTrust(store, authority), authority },
    onWrite: async (records) => {
      writes.push([...records]);
      await distributor.handle(records.map((r) => resourceChangedEvent(r, '/weft/local')));
    },
  });
  call = (method, url, headers = {}, body) =>
    api({
      method,
      path: url.split('?')[0]!,
      query: Object.fromEntries(new URLSearchParams(url.split('?')[1] ?? '')),
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const res = await call('POST', '/v1/apply', admin, meshDocs());
  expect(res.status, res.body).toBe(200);
});

describe('GET /v1/gateways/{env}/{name}/snapshot', () => {
  it('serves the signed snapshot as a signed manifest with its hash as ETag and its version', async () => {
    const res = await call('GET', '/v1/gateways/gcp/gcp-1/snapshot', await svid(GCP));
    expect(res.status, res.body).toBe(200);
    expect(res.headers['content-type']).toBe(SIGNED_MANIFEST_MEDIA_TYPE);
    const snapshot = await verifySnapshot(res.body, bundle, { expectedSpiffeId: GCP });
    expect(res.headers.etag).toBe(`"${snapshot.hash}"`);
    expect(res.headers['x-weft-version']).toBe(snapshot.version);
  });

  it('answers 304 to the current ETag, 200 to an old one', async () => {
    const auth = await svid(GCP);
    const { headers } = await call('GET', '/v1/gateways/gcp/gcp-1/snapshot', auth);
    const same = await call('GET', '/v1/gateways/gcp/gcp-1/snapshot', {
      ...auth,
      'if-none-match': headers.etag!,
    });
    expect([same.status, same.body, same.headers.etag]).toStrictEqual([304, '', headers.etag]);
    const weak = await call('GET', '/v1/gateways/gcp/gcp-1/snapshot', {
      ...auth,
      'if-none-match': `"x", W/${headers.etag}`,
    });
    expect(weak.status).toBe(304);
    const old = await call('GET', '/v1/gateways/gcp/gcp-1/snapshot', { ...auth, 'if-none-match': '"0000"' });
    expect(old.status).toBe(200);
  });

  it('serves unchanged content at the newest state version, re-signed (stored as it was)', async () => {
    const first = await call('GET', '/v1/gateways/gcp/gcp-1/snapshot', await svid(GCP));
    const before = await verifySnapshot(first.body, bundle, { expectedSpiffeId: GCP });
    // A write that changes no gateway's content: the stored snapshots keep their versions.
    const env = meshDocs().find((d) => d.kind === 'Environment' && d.metadata.name === 'aws')!;
    const relabeled = { ...env, metadata: { ...env.metadata, labels: { tier: 'gold' } } };
    const put = await call('PUT', '/v1/environments/aws', admin, relabeled);
    expect(put.status, put.body).toBe(200);
    const version = json(put).status.version as string;
    const again = await call('GET', '/v1/gateways/gcp/gcp-1/snapshot', await svid(GCP));
    const now = await verifySnapshot(again.body, bundle, { expectedSpiffeId: GCP });
    expect(now.hash, 'a label is not in any snapshot').toBe(before.hash);
    expect(now.version).toBe(version);
    expect(now.version > before.version).toBe(true);
    expect(again.headers['x-weft-version']).toBe(version);
    expect(again.headers.etag).toBe(first.headers.etag);
    const cached = await call('GET', '/v1/gateways/gcp/gcp-1/snapshot', {
      ...(await svid(GCP)),
      'if-none-match': first.headers.etag!,
    });
    expect([cached.status, cached.headers['x-weft-version']]).toEqual([304, version]);
  });

  it("answers 403 to another gateway's JWT-SVID", async () => {
    const res = await call('GET', '/v1/gateways/gcp/gcp-1/snapshot', await svid(AWS));
    expect(res.status).toBe(403);
    expect(json(res).detail).toContain(AWS);
    const service = await call(
      'GET',
      '/v1/gateways/gcp/gcp-1/snapshot',
      await svid(`spiffe://${TD}/ns/shop/svc/orders`),
    );
    expect(service.status).toBe(403);
  });

  it('answers 401 to no token, an operator token, a token for another audience, and a foreign CA', async () => {
    const foreign = (await memoryCa()).ca;
    for (const headers of [
      {},
      admin,
      { authorization: 'Basic abc' },
      await svid(GCP, gatewaysAudience(TD)),
      await svid(GCP, controlPlaneAudience(TD), foreign),
    ]) {
      const res = await call('GET', '/v1/gateways/gcp/gcp-1/snapshot', headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="weft"');
    }
  });

  it('answers 404 when nothing was compiled for the gateway, and 405 to a write', async () => {
    const res = await call(
      'GET',
      '/v1/gateways/aws/aws-9/snapshot',
      await svid(`spiffe://${TD}/gw/aws/aws-9`),
    );
    expect(res.status).toBe(404);
    const put = await call('PUT', '/v1/gateways/gcp/gcp-1/snapshot', await svid(GCP));
    expect(put.status).toBe(405);
  });
});

describe('/v1/gateways/{env}/{name}/status', () => {
  it('stores what the gateway reports (nulls as "none yet"), and shows it to operators', async () => {
    const early = await call(
      'POST',
      '/v1/gateways/aws/aws-2/status',
      await svid(`spiffe://${TD}/gw/aws/aws-2`),
      {
        appliedVersion: null,
        appliedHash: null,
        refused: 0,
        x509ExpiresAt: null,
      },
    );
    expect(early.status, early.body).toBe(204);
    const report = {
      appliedVersion: '1700000000000-000000-local',
      appliedHash: 'a'.repeat(64),
      refused: 2,
      x509ExpiresAt: '2030-01-01T00:00:00Z',
    };
    const res = await call('POST', '/v1/gateways/aws/aws-1/status', await svid(AWS), {
      ...report,
      future: 'field',
    });
    expect([res.status, res.body]).toStrictEqual([204, '']);
    const read = await call('GET', '/v1/gateways/aws/aws-1/status', viewer);
    expect(read.status).toBe(200);
    expect(json(read)).toStrictEqual({ ...report, gateway: AWS, reportedAt: expect.any(String) });
    expect(json(await call('GET', '/v1/gateways/aws/aws-2/status', viewer))).toStrictEqual({
      refused: 0,
      gateway: `spiffe://${TD}/gw/aws/aws-2`,
      reportedAt: expect.any(String),
    });
  });

  it('refuses bad fields (422), non-JSON (400/415), operators posting (401) and other gateways (403)', async () => {
    const bad = await call('POST', '/v1/gateways/aws/aws-1/status', await svid(AWS), {
      appliedVersion: 'v7',
    });
    expect([bad.status, json(bad).field]).toStrictEqual([422, '/appliedVersion']);
    const notJson = await call('POST', '/v1/gateways/aws/aws-1/status', {
      ...(await svid(AWS)),
      'content-type': 'application/json',
    });
    expect(notJson.status).toBe(400);
    const yaml = await call(
      'POST',
      '/v1/gateways/aws/aws-1/status',
      { ...(await svid(AWS)), 'content-type': 'text/plain' },
      {},
    );
    expect(yaml.status).toBe(415);
    expect((await call('POST', '/v1/gateways/aws/aws-1/status', admin, {})).status).toBe(401);
    expect((await call('POST', '/v1/gateways/aws/aws-1/status', await svid(GCP), {})).status).toBe(403);
  });

  it('needs an operator to read, and says when a gateway never reported', async () => {
    expect((await call('GET', '/v1/gateways/aws/aws-1/status', await svid(AWS))).status).toBe(401);
    expect((await call('GET', '/v1/gateways/gcp/nobody/status', viewer)).status).toBe(404);
  });
});

describe('GET /v1/changes/{version}/convergence', () => {
  it('counts the gateways a change targets and those that applied it', async () => {
    const before = await call('GET', '/v1/gateways/gcp/gcp-1/snapshot', await svid(GCP));
    const put = await call('PUT', '/v1/accesspolicies/shop/orders-read', admin, ordersPolicy(['GET']));
    expect(put.status, put.body).toBe(201);
    const version = json(put).status.version as string;
    const report = (v: string | null, id = GCP, path = 'gcp/gcp-1') =>
      svid(id).then((auth) => call('POST', `/v1/gateways/${path}/status`, auth, { appliedVersion: v }));
    await report(before.headers['x-weft-version']!);
    const lagging = json(await call('GET', `/v1/changes/${version}/convergence`, viewer));
    expect(lagging).toStrictEqual({
      version,
      compiled: true,
      compiledVersion: version,
      targeted: 1,
      applied: 0,
      lagging: [{ gateway: 'gcp/gcp-1', appliedVersion: before.headers['x-weft-version'] }],
    });
    await report(version);
    const done = json(await call('GET', `/v1/changes/${version}/convergence`, admin));
    expect(done).toMatchObject({ compiled: true, targeted: 1, applied: 1, lagging: [] });
    // A version from the future: not compiled, nothing targeted yet.
    const ahead = json(await call('GET', '/v1/changes/9999999999999-000000-local/convergence', viewer));
    expect(ahead).toMatchObject({ compiled: false, targeted: 0, applied: 0 });
  });

  it('needs an operator and a version', async () => {
    expect((await call('GET', '/v1/changes/1700000000000-000000-local/convergence')).status).toBe(401);
    const bad = await call('GET', '/v1/changes/latest/convergence', viewer);
    expect([bad.status, json(bad).field]).toStrictEqual([422, '/version']);
    expect((await call('GET', '/v1/changes/%E0%A4%A/convergence', viewer)).status).toBe(422);
  });
});

describe('createApi hooks', () => {
  it('hands every stored write to onWrite, and none that changed nothing', async () => {
    writes.length = 0;
    const doc = ordersPolicy(['GET', 'PUT']);
    expect((await call('PUT', '/v1/accesspolicies/shop/orders-read', admin, doc)).status).toBe(200);
    expect((await call('PUT', '/v1/accesspolicies/shop/orders-read', admin, doc)).status).toBe(200);
    expect((await call('POST', '/v1/apply?dryRun=true', admin, [doc])).status).toBe(200);
    expect((await call('DELETE', '/v1/accesspolicies/shop/orders-read', admin)).status).toBe(200);
    expect(writes.map((w) => w.map((r) => [r.key.name, r.resource === null]))).toStrictEqual([
      [['orders-read', false]],
      [['orders-read', true]],
    ]);
  });

  it('answers the write even when onWrite fails, and 404 on distribution paths when it is off', async () => {
    const operators = await createTestOperators();
    const errors: unknown[] = [];
    const api = createApi({
      store: new MemoryStateStore(),
      hlc: new HybridLogicalClock('local'),
      authenticate: operators.authenticate,
      logger: { info() {}, error: (e) => errors.push(e) },
      onWrite: async () => Promise.reject(new Error('bus down')),
    });
    const headers = { authorization: `Bearer ${operators.adminToken}`, 'content-type': 'application/json' };
    const put = await api({
      method: 'PUT',
      path: '/v1/meshes/default',
      query: {},
      headers,
      body: JSON.stringify(meshDocs()[0]),
    });
    expect(put.status, put.body).toBe(201);
    expect(errors).toMatchObject([{ msg: expect.stringMatching(/sweep/), error: 'Error: bus down' }]);
    const off = await api({ method: 'GET', path: '/v1/gateways/aws/aws-1/snapshot', query: {}, headers });
    expect([off.status, JSON.parse(off.body).detail]).toStrictEqual([
      404,
      expect.stringMatching(/not enabled/),
    ]);
  });

  it('lists the distribution endpoints in the OpenAPI document', async () => {
    const doc = json(await call('GET', '/v1/openapi.json'));
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/gateways/{environment}/{name}/snapshot',
        '/v1/gateways/{environment}/{name}/status',
        '/v1/changes/{version}/convergence',
      ]),
    );
    expect(doc.components.securitySchemes.gatewaySvid).toMatchObject({ scheme: 'bearer' });
  });
});
