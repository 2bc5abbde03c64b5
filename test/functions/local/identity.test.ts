/**
 * Workload identity on the local host over real HTTP: an operator mints a
 * join token, an agent attests with a CSR, verifies what it got with openssl
 * and the JWT-SVID verifier against `GET /v1/bundle`, then renews and
 * fetches JWT-SVIDs by proof. The CA is created (three hours back-dated)
 * before the host starts, so the host must pick it up from its data dir, and
 * the test can hold an SVID that has expired since.
 */
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalHost, startLocalHost } from '../../../functions/local/host.js';
import { loadOperatorKey } from '../../../functions/local/operator-key.js';
import { parseBundle } from '../../../shared/identity/bundle.js';
import { MeshCa } from '../../../shared/identity/ca.js';
import { FileCaStore } from '../../../shared/identity/file-ca-store.js';
import { FileKeyRing } from '../../../shared/identity/file-key-signer.js';
import { JwtSvidVerifier } from '../../../shared/identity/jwt-svid.js';
import {
  createSvidProof,
  csrSha256,
  JWT_PROOF_AUDIENCE,
  RENEW_PROOF_AUDIENCE,
} from '../../../shared/identity/svid-proof.js';
import { x509 } from '../../../shared/identity/x509.js';
import { issueX509Svid } from '../../../shared/identity/x509-svid.js';
import { httpCaller, type TargetResponse } from '../../support/api.js';
import { makeCsr } from '../../support/csr.js';
import { GATEWAY_ID, type IssuedBody, meshDoc, TD } from '../../support/identity-api.js';
import { openTestCa } from '../../support/mesh-ca.js';
import { opensslVerify } from '../../support/openssl.js';
import { tempDir } from '../../support/temp-dir.js';

const SILENT = { info() {}, error() {} };
const run = promisify(execFile);
const json = <T = Record<string, unknown>>(res: TargetResponse) => JSON.parse(res.body) as T;

describe('workload identity on the local host', () => {
  let dataDir: string;
  let host: LocalHost;
  let ca: MeshCa;
  let call: ReturnType<typeof httpCaller>;
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    call('POST', path, {
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
    });
  const admin = () => ({ authorization: `Bearer ${host.adminToken}` });
  const joinToken = async () =>
    json<{ token: string }>(await post('/v1/join-tokens', { spiffeId: GATEWAY_ID }, admin())).token;
  const attest = async (token: string) => {
    const { csrPem, keyPem } = await makeCsr();
    const res = await post('/v1/attest', { attestation: { type: 'join_token', token }, csr: csrPem });
    return { res, keyPem, issued: json<IssuedBody>(res) };
  };
  const renew = async (keyPem: string, certChain: readonly string[], iat?: number) => {
    const { csrPem } = await makeCsr();
    const proof = await createSvidProof(keyPem, certChain, {
      aud: RENEW_PROOF_AUDIENCE,
      csr_sha256: csrSha256(csrPem),
      ...(iat !== undefined && { iat }),
    });
    return post('/v1/svid/x509', { csr: csrPem, proof });
  };

  beforeAll(async () => {
    dataDir = await tempDir('weft-identity-');
    const options = {
      trustDomain: TD,
      store: new FileCaStore(dataDir),
      keys: new FileKeyRing(dataDir),
      providers: ['local' as const],
    };
    ca = await MeshCa.open({ ...options, now: () => new Date(Date.now() - 3 * 3_600_000) });
    host = await startLocalHost({ dataDir, logger: SILENT });
    call = httpCaller(host.url);
  });
  afterAll(async () => {
    await host?.close();
  });

  it('answers 409 until a Mesh exists', async () => {
    const res = await call('GET', '/v1/bundle');
    expect(res.status).toBe(409);
    expect(json(res).detail).toMatch(/there is no Mesh/);
    const put = await call('PUT', '/v1/meshes/default', {
      body: JSON.stringify(meshDoc()),
      headers: { ...admin(), 'content-type': 'application/json' },
    });
    expect(put.status, put.body).toBe(201);
  });

  it('keeps the CA and its keys readable by the owner only', async () => {
    for (const dir of ['ca', 'keys']) expect((await stat(join(dataDir, dir))).mode & 0o777).toBe(0o700);
    expect((await stat(join(dataDir, 'ca', 'state.json'))).mode & 0o777).toBe(0o600);
    const { stdout } = await run('find', [join(dataDir, 'keys'), '-type', 'f', '-perm', '/077']);
    expect(stdout).toBe('');
  });

  it('mints join tokens for admins only', async () => {
    const viewer = await (await loadOperatorKey(dataDir)).mint('test-viewer', 'viewer');
    const res = await post(
      '/v1/join-tokens',
      { spiffeId: GATEWAY_ID },
      { authorization: `Bearer ${viewer}` },
    );
    expect(res.status).toBe(403);
    expect(json(res).code).toBe('ERR_FORBIDDEN');
  });

  it('attests once per token; the SVIDs verify with openssl and the JWT-SVID verifier against GET /v1/bundle', async () => {
    const token = await joinToken();
    const { res, issued } = await attest(token);
    expect(res.status, res.body).toBe(200);
    const [leafPem, intermediatePem] = issued.x509Svid.certChain;
    const leaf = new x509.X509Certificate(leafPem);
    expect(leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([
      { type: 'url', value: GATEWAY_ID },
    ]);
    expect(leaf.notAfter.getTime() - Date.now()).toBeLessThanOrEqual(3_600_000);
    // curl, as an operator would fetch the bundle.
    const { stdout } = await run('curl', ['-sS', '--fail', `${host.url}/v1/bundle`]);
    const bundle = parseBundle(stdout);
    const root = bundle.x509Authorities.find((a) => a.certificate.subject === a.certificate.issuer)!;
    expect(root.pem).toBe(`${ca.root.toString('pem')}\n`);
    const verdict = await opensslVerify(
      await tempDir(),
      { root: root.pem, intermediate: intermediatePem, leaf: leafPem },
      { purpose: 'sslclient' },
    );
    expect(verdict.output).toContain('OK');
    const verifier = new JwtSvidVerifier({ bundle, trustDomain: TD });
    const jwt = issued.jwtSvid!;
    expect((await verifier.verify(jwt.token, `spiffe://${TD}/gateways`)).spiffeId).toBe(GATEWAY_ID);
    await expect(verifier.verify(jwt.token, 'spiffe://acme.test/elsewhere')).rejects.toThrow(/aud/);
    const again = await attest(token);
    expect(again.res.status).toBe(401);
    expect(again.res.headers['content-type']).toBe('application/problem+json');
  });

  it('renews with a proof of the current SVID, and refuses a wrong key, an expired chain, a foreign CA, a stale iat', async () => {
    const { keyPem, issued } = await attest(await joinToken());
    const chain = issued.x509Svid.certChain;
    const renewed = await renew(keyPem, chain);
    expect(renewed.status, renewed.body).toBe(200);
    expect(json<IssuedBody>(renewed).spiffeId).toBe(GATEWAY_ID);
    const renewedLeaf = new x509.X509Certificate(json<IssuedBody>(renewed).x509Svid.certChain[0]);
    expect(renewedLeaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.items[0]?.value).toBe(
      GATEWAY_ID,
    );

    const other = await makeCsr();
    expect((await renew(other.keyPem, chain)).status).toBe(401);
    const now = new Date(Date.now() - 2 * 3_600_000);
    const expired = await issueX509Svid(ca, {
      csrPem: other.csrPem,
      spiffeId: GATEWAY_ID,
      provider: 'local',
      now,
    });
    expect(json(await renew(other.keyPem, expired.certChain)).detail).toMatch(/expired/);
    const foreign = await issueX509Svid((await openTestCa({ providers: ['local'] })).ca, {
      csrPem: other.csrPem,
      spiffeId: GATEWAY_ID,
      provider: 'local',
    });
    expect((await renew(other.keyPem, foreign.certChain)).status).toBe(401);
    expect((await renew(keyPem, chain, Math.floor(Date.now() / 1000) - 600)).status).toBe(401);
  });

  it('issues JWT-SVIDs by proof', async () => {
    const { keyPem, issued } = await attest(await joinToken());
    const audience = 'spiffe://acme.test/ns/shop/svc/db';
    const proof = await createSvidProof(keyPem, issued.x509Svid.certChain, {
      aud: JWT_PROOF_AUDIENCE,
      audience,
    });
    const res = await post('/v1/svid/jwt', { audience, proof });
    expect(res.status, res.body).toBe(200);
    const bundle = parseBundle((await call('GET', '/v1/bundle')).body);
    const verified = await new JwtSvidVerifier({ bundle }).verify(
      json<{ token: string }>(res).token,
      audience,
    );
    expect(verified.spiffeId).toBe(GATEWAY_ID);
  });

  it('keeps the CA and unspent join tokens across a restart', async () => {
    const token = await joinToken();
    const before = (await call('GET', '/v1/bundle')).body;
    await host.close();
    host = await startLocalHost({ dataDir, logger: SILENT });
    call = httpCaller(host.url);
    expect((await call('GET', '/v1/bundle')).body).toBe(before);
    expect((await attest(token)).res.status).toBe(200);
  });
});

describe('the local host rate limit', () => {
  it('answers 429 with Retry-After past the attest limit', async () => {
    const dataDir = await tempDir('weft-identity-');
    const host = await startLocalHost({
      dataDir,
      logger: SILENT,
      attestRateLimit: { limit: 2, windowMs: 60_000 },
    });
    try {
      const call = httpCaller(host.url);
      const attest = () =>
        call('POST', '/v1/attest', {
          body: JSON.stringify({ attestation: { type: 'join_token', token: 'x' }, csr: 'x' }),
          headers: { 'content-type': 'application/json' },
        });
      expect((await attest()).status).toBe(409); // no Mesh, but the attempt counts
      expect((await attest()).status).toBe(409);
      const res = await attest();
      expect(res.status).toBe(429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await host.close();
    }
  });
});
