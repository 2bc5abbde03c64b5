/**
 * `POST /v1/ca/intermediate-csr` and `PUT /v1/ca/intermediate` in process:
 * a federated cloud's intermediate asked for and installed through its API
 * (its CA state and keys stay in the cloud), signed by an offline root in
 * between. Only an admin may; a self-rooted CA and a certificate for any
 * other key are refused, and a refusal changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { type ApiLogger, createApi } from '../../../shared/api/create-api.js';
import type { ApiResponse } from '../../../shared/api/types.js';
import { MemoryJoinTokenStore } from '../../../shared/identity/attestation/join-token-store.js';
import { parseBundle } from '../../../shared/identity/bundle.js';
import { MeshCa } from '../../../shared/identity/ca.js';
import { createRootCertificate } from '../../../shared/identity/ca-certificates.js';
import { MemoryCaStore } from '../../../shared/identity/ca-store.js';
import { IdentityService } from '../../../shared/identity/identity-service.js';
import { signIntermediateCsr } from '../../../shared/identity/intermediate-csr.js';
import { MemoryKeyRing } from '../../../shared/identity/memory-key-ring.js';
import { x509 } from '../../../shared/identity/x509.js';
import { HybridLogicalClock } from '../../../shared/model/hlc.js';
import type { Provider } from '../../../shared/model/specs.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import { createTestOperators, foreignAdminToken } from '../../support/api.js';
import { makeCsr } from '../../support/csr.js';
import {
  body,
  createIdentityApiForTest,
  GATEWAY_ID,
  type IssuedBody,
  meshDoc,
  TD,
} from '../../support/identity-api.js';

const CSR = '/v1/ca/intermediate-csr';
const INSTALL = '/v1/ca/intermediate';
const HOUR = 3_600_000;

function problem(res: ApiResponse, status: number): Record<string, unknown> {
  expect(res.status, res.body).toBe(status);
  expect(res.headers['content-type']).toBe('application/problem+json');
  return body(res);
}

/** The operator's root: its key in a key ring no control plane sees. */
async function offlineRoot() {
  const signer = await new MemoryKeyRing().open('root');
  const certificate = await createRootCertificate({
    trustDomain: TD,
    signer,
    now: new Date(),
    ttlMs: 10 * 8760 * HOUR,
  });
  const sign = (csrPem: string, provider: Provider = 'aws') =>
    signIntermediateCsr({
      csrPem,
      provider,
      trustDomain: TD,
      root: { certificate, signer },
      now: new Date(),
      ttlMs: 4 * HOUR,
    });
  return { pem: certificate.toString('pem'), sign };
}

/** The public key a CSR asks for (its signature differs every time: ECDSA). */
const keyOf = async (csrPem: string) =>
  Buffer.from(new x509.Pkcs10CertificateRequest(csrPem).publicKey.rawData).toString('base64');

type Root = Awaited<ReturnType<typeof offlineRoot>>;

/** The API of the aws cloud of a federated mesh: its CA on `root`, no intermediate yet. */
async function federatedCloud(root: Root, onAuthorityChanged?: () => Promise<void>) {
  const operators = await createTestOperators();
  const store = new MemoryStateStore();
  const caStore = new MemoryCaStore();
  const keys = new MemoryKeyRing();
  let opened: Promise<MeshCa> | undefined;
  const openCa = (trustDomain: string) => {
    opened ??= MeshCa.open({
      trustDomain,
      store: caStore,
      keys,
      providers: ['aws'],
      root: { certPem: root.pem },
      intermediateTtlMs: 4 * HOUR,
    });
    return opened;
  };
  const identity = new IdentityService({
    store,
    provider: 'aws',
    openCa,
    joinTokens: new MemoryJoinTokenStore(),
    ...(onAuthorityChanged && { onAuthorityChanged }),
  });
  const logged: Record<string, unknown>[] = [];
  const logger: ApiLogger = {
    info: (e) => logged.push(e),
    error: (e) => logged.push({ ...e, level: 'error' }),
  };
  const api = createApi({
    store,
    hlc: new HybridLogicalClock('aws'),
    authenticate: operators.authenticate,
    logger,
    identity,
  });
  const admin = { authorization: `Bearer ${operators.adminToken}` };
  const call = (method: string, path: string, json?: unknown, headers: Record<string, string> = admin) =>
    api({
      method,
      path,
      query: {},
      headers: { 'content-type': 'application/json', ...headers },
      body: json === undefined ? undefined : typeof json === 'string' ? json : JSON.stringify(json),
      sourceIp: '192.0.2.1',
    });
  const putMesh = async () => expect((await call('PUT', '/v1/meshes/default', meshDoc())).status).toBe(201);
  const sequence = async () =>
    body<{ spiffe_sequence: number }>(await call('GET', '/v1/bundle')).spiffe_sequence;
  const csr = async () => {
    const res = await call('POST', CSR);
    expect(res.status, res.body).toBe(200);
    return body<{ provider: string; csr: string }>(res);
  };
  /** Attests as the gateway with a join token; the answer, whatever it is. */
  const attest = async () => {
    const minted = await call('POST', '/v1/join-tokens', { spiffeId: GATEWAY_ID });
    expect(minted.status, minted.body).toBe(201);
    const { token } = body<{ token: string }>(minted);
    const csrPem = (await makeCsr()).csrPem;
    return call('POST', '/v1/attest', { attestation: { type: 'join_token', token }, csr: csrPem }, {});
  };
  return { call, putMesh, sequence, csr, attest, logged, operators, ca: () => opened! };
}

describe('a federated cloud installing its intermediate through its API', () => {
  it('makes a CSR, installs what the root signed of it, and issues with it from then on', async () => {
    const root = await offlineRoot();
    let recompiled = 0;
    const cloud = await federatedCloud(root, async () => {
      recompiled++;
    });
    await cloud.putMesh();
    // No intermediate yet: nothing issues.
    expect(problem(await cloud.attest(), 422).detail).toMatch(/no aws intermediate is installed yet/);
    const before = await cloud.sequence();

    const asked = await cloud.csr();
    expect(asked.provider).toBe('aws');
    expect(asked.csr).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
    // Asked again before the install: the same pending key.
    expect(await keyOf((await cloud.csr()).csr)).toBe(await keyOf(asked.csr));

    const certificate = await root.sign(asked.csr);
    const res = await cloud.call('PUT', INSTALL, { certificate });
    expect(res.status, res.body).toBe(200);
    const installed = body<{ provider: string; notAfter: string; sequence: number }>(res);
    const cert = new x509.X509Certificate(certificate);
    expect(installed).toEqual({
      provider: 'aws',
      notAfter: cert.notAfter.toISOString(),
      sequence: await cloud.sequence(),
    });
    expect(installed.sequence).toBeGreaterThan(before);
    expect(recompiled).toBe(1);
    const bundle = parseBundle(body(await cloud.call('GET', '/v1/bundle')));
    expect(bundle.x509Authorities.map((a) => a.certificate.serialNumber)).toContain(cert.serialNumber);

    // The new intermediate issues: the SVID's chain is the leaf, then it.
    const attested = await cloud.attest();
    expect(attested.status, attested.body).toBe(200);
    const chain = body<IssuedBody>(attested).x509Svid.certChain;
    expect(new x509.X509Certificate(chain[1]).serialNumber).toBe(cert.serialNumber);

    // A rotation: the next CSR is of a new key.
    expect(await keyOf((await cloud.csr()).csr)).not.toBe(await keyOf(asked.csr));
  });

  it('logs who asked and for which cloud, never the CSR or the certificate', async () => {
    const root = await offlineRoot();
    const cloud = await federatedCloud(root);
    await cloud.putMesh();
    const { csr } = await cloud.csr();
    const certificate = await root.sign(csr);
    expect((await cloud.call('PUT', INSTALL, { certificate })).status).toBe(200);
    const audit = cloud.logged.filter((e) => String(e.msg).startsWith('intermediate'));
    expect(audit).toEqual([
      { msg: 'intermediate CSR made', operator: expect.any(String), provider: 'aws' },
      {
        msg: 'intermediate installed',
        operator: expect.any(String),
        provider: 'aws',
        notAfter: expect.any(String),
        sequence: expect.any(Number),
      },
    ]);
    const text = JSON.stringify(cloud.logged);
    expect(text).not.toContain('BEGIN');
  });

  it('refuses a certificate for another key, of another root, or garbage (422), and changes nothing', async () => {
    const root = await offlineRoot();
    const cloud = await federatedCloud(root);
    await cloud.putMesh();
    const { csr } = await cloud.csr();
    const stranger = await federatedCloud(root);
    await stranger.putMesh();
    const foreign = await root.sign((await stranger.csr()).csr);
    const otherRoot = await (await offlineRoot()).sign(csr);
    const before = await cloud.sequence();
    const cases: [unknown, RegExp][] = [
      [{ certificate: foreign }, /another key than this CA’s pending intermediate key/],
      [{ certificate: otherRoot }, /not signed by this mesh root/],
      [{ certificate: 'not a certificate' }, /not a PEM certificate/],
      [{ certificate: '' }, /./],
      [{}, /./],
    ];
    for (const [req, detail] of cases) {
      const refused = problem(await cloud.call('PUT', INSTALL, req), 422);
      expect([refused.code, refused.field], JSON.stringify(req)).toEqual(['ERR_VALIDATION', '/certificate']);
      expect(refused.detail).toMatch(detail);
    }
    expect(problem(await cloud.call('PUT', INSTALL, { certificate: foreign, more: 1 }), 422).field).toBe(
      '/more',
    );
    problem(await cloud.call('PUT', INSTALL, '{'), 400);
    problem(
      await cloud.call('PUT', INSTALL, 'certificate', {
        authorization: `Bearer ${cloud.operators.adminToken}`,
        'content-type': 'text/plain',
      }),
      415,
    );
    expect(cloud.logged.filter((e) => e.msg === 'intermediate install refused')).toHaveLength(
      cases.length + 3,
    );
    // Nothing changed: the bundle is as it was, nothing issues, and the pending key's own certificate still installs.
    expect(await cloud.sequence()).toBe(before);
    expect(problem(await cloud.attest(), 422).detail).toMatch(/no aws intermediate is installed yet/);
    expect(await keyOf((await cloud.csr()).csr)).toBe(await keyOf(csr));
    expect((await cloud.call('PUT', INSTALL, { certificate: await root.sign(csr) })).status).toBe(200);
  });

  it('refuses an install nobody asked a CSR for', async () => {
    const root = await offlineRoot();
    const cloud = await federatedCloud(root);
    await cloud.putMesh();
    const stranger = await federatedCloud(root);
    await stranger.putMesh();
    const certificate = await root.sign((await stranger.csr()).csr);
    expect(problem(await cloud.call('PUT', INSTALL, { certificate }), 422).detail).toMatch(
      /no aws intermediate was asked for: make its CSR first/,
    );
  });

  it('keeps the install when compiling the snapshots again fails, and logs it', async () => {
    const root = await offlineRoot();
    const cloud = await federatedCloud(root, async () => {
      throw new Error('blob store down');
    });
    await cloud.putMesh();
    const certificate = await root.sign((await cloud.csr()).csr);
    expect((await cloud.call('PUT', INSTALL, { certificate })).status).toBe(200);
    expect(cloud.logged).toContainEqual(
      expect.objectContaining({ level: 'error', error: 'Error: blob store down' }),
    );
    expect((await cloud.attest()).status).toBe(200);
  });

  it('is for admins: 401 without or with a foreign token, 403 for a viewer, 405 for another method', async () => {
    const root = await offlineRoot();
    const cloud = await federatedCloud(root);
    await cloud.putMesh();
    const certificate = await root.sign((await cloud.csr()).csr);
    const viewer = { authorization: `Bearer ${cloud.operators.viewerToken}` };
    const foreign = { authorization: `Bearer ${await foreignAdminToken()}` };
    for (const [method, path, req] of [
      ['POST', CSR, undefined],
      ['PUT', INSTALL, { certificate }],
    ] as const) {
      expect(problem(await cloud.call(method, path, req, {}), 401).detail).toMatch(/needs an operator token/);
      problem(await cloud.call(method, path, req, foreign), 401);
      const refused = problem(await cloud.call(method, path, req, viewer), 403);
      expect(refused.detail).toMatch(/needs role admin/);
    }
    problem(await cloud.call('GET', CSR), 405);
    problem(await cloud.call('POST', INSTALL, { certificate }), 405);
    // None of it installed anything: the admin still can.
    expect((await cloud.call('PUT', INSTALL, { certificate })).status).toBe(200);
  });
});

describe('the intermediate endpoints elsewhere', () => {
  it('answer 409 without a Mesh, saying to apply one', async () => {
    const cloud = await federatedCloud(await offlineRoot());
    for (const res of [
      await cloud.call('POST', CSR),
      await cloud.call('PUT', INSTALL, { certificate: 'x' }),
    ]) {
      expect(problem(res, 409).detail).toMatch(/there is no Mesh: apply one named "default"/);
    }
  });

  it('answer 409 on a CA that holds its own root', async () => {
    const { call, putMesh, caStore } = await createIdentityApiForTest();
    await putMesh();
    await call('GET', '/v1/bundle');
    const state = await caStore.load();
    expect(problem(await call('POST', CSR), 409).detail).toBe(
      'this CA makes its own intermediates; CSRs are for a federated mesh',
    );
    expect(problem(await call('PUT', INSTALL, { certificate: 'x' }), 409).detail).toMatch(
      /this CA makes its own intermediates/,
    );
    expect(await caStore.load()).toEqual(state);
  });

  it('answer 404 on a host without identity, saying so', async () => {
    const { call, putMesh } = await createIdentityApiForTest({ withIdentity: false });
    await putMesh();
    expect(problem(await call('POST', CSR), 404).detail).toMatch(/identity is not enabled/);
    expect(problem(await call('PUT', INSTALL, { certificate: 'x' }), 404).detail).toMatch(
      /identity is not enabled/,
    );
  });

  it('are in the OpenAPI document, with an operator token required', async () => {
    const { call } = await createIdentityApiForTest();
    const doc = body<{ paths: Record<string, Record<string, { security?: unknown[] }>> }>(
      await call('GET', '/v1/openapi.json'),
    );
    expect(doc.paths[CSR]?.post).toBeDefined();
    expect(doc.paths[CSR]?.post?.security).toBeUndefined();
    expect(doc.paths[INSTALL]?.put).toBeDefined();
    expect(doc.paths[INSTALL]?.put?.security).toBeUndefined();
  });
});
