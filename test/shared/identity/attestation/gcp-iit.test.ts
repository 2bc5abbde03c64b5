import { describe, expect, it } from 'vitest';
import { GcpIitAttestor } from '../../../../shared/identity/attestation/gcp-iit.js';
import { MemoryReplayCache } from '../../../../shared/identity/attestation/replay-cache.js';
import type { AttestationRules } from '../../../../shared/model/attestation-rules.js';
import { UnauthenticatedError, ValidationError } from '../../../../shared/model/errors.js';
import { startJwksServer } from '../../../support/http.js';
import { createTokenIssuer } from '../../../support/token-issuer.js';

const audience = 'spiffe://acme.test';
const gateway = 'spiffe://acme.test/gw/gcp-eu/gw-1';
const service = 'spiffe://acme.test/ns/shop/svc/cart';
const sa = 'gateway@shop-prod.iam.gserviceaccount.com';
const rules: AttestationRules = {
  gcp: [
    { projectId: 'shop-prod', serviceAccount: sa, spiffeId: gateway },
    { projectId: 'shop-prod', spiffeId: service },
  ],
};

describe('GcpIitAttestor', async () => {
  const google = await createTokenIssuer();
  const jwksServer = await startJwksServer(() => google.jwks());
  const attestor = () =>
    new GcpIitAttestor({
      audience,
      replayCache: new MemoryReplayCache(),
      jwksUrl: `${jwksServer.url}/oauth2/v3/certs`,
    });
  const claims = (over: Record<string, unknown> = {}) => ({
    iss: 'https://accounts.google.com',
    aud: audience,
    sub: '104857600000000000001',
    email: sa,
    email_verified: true,
    google: { compute_engine: { project_id: 'shop-prod', instance_name: 'gw-1', zone: 'europe-west1-b' } },
    ...over,
  });

  it('maps a project and service account to a SPIFFE ID', async () => {
    const result = await attestor().attest({ token: await google.sign(claims()) }, rules);
    expect(result).toEqual({
      method: 'gcp_iit',
      spiffeId: gateway,
      selectors: [
        `gcp_iit:project-id:shop-prod`,
        `gcp_iit:sa:${sa}`,
        'gcp_iit:instance-name:gw-1',
        'gcp_iit:zone:europe-west1-b',
      ],
    });
    const other = await google.sign(claims({ email: 'batch@shop-prod.iam.gserviceaccount.com' }));
    expect((await attestor().attest({ token: other }, rules)).spiffeId).toBe(service);
  });

  it('refuses a token signed by another key under the same kid', async () => {
    const forger = await createTokenIssuer(google.kid);
    await expect(attestor().attest({ token: await forger.sign(claims()) }, rules)).rejects.toThrow(
      /signature/,
    );
  });

  it('refuses an expired token', async () => {
    const iat = Math.floor(Date.now() / 1000) - 7200;
    const token = await google.sign(claims({ iat, exp: iat + 3600 }));
    await expect(attestor().attest({ token }, rules)).rejects.toThrow(/expired/);
  });

  it('refuses a token for another audience or from another issuer', async () => {
    const wrongAud = await google.sign(claims({ aud: 'https://other.example' }));
    await expect(attestor().attest({ token: wrongAud }, rules)).rejects.toThrow(/another audience/);
    const wrongIss = await google.sign(claims({ iss: 'https://evil.example' }));
    await expect(attestor().attest({ token: wrongIss }, rules)).rejects.toThrow(/iss/);
  });

  it('refuses a replayed token', async () => {
    const a = attestor();
    const token = await google.sign(claims());
    await a.attest({ token }, rules);
    await expect(a.attest({ token }, rules)).rejects.toThrow(/already used/);
  });

  it('refuses unmapped projects, tokens without compute_engine claims, and a Mesh without GCP rules', async () => {
    const stranger = await google.sign(claims({ google: { compute_engine: { project_id: 'other-proj' } } }));
    await expect(attestor().attest({ token: stranger }, rules)).rejects.toThrow(/no attestation rule/);
    const thin = await google.sign(claims({ google: undefined }));
    await expect(attestor().attest({ token: thin }, rules)).rejects.toThrow(/format=full/);
    await expect(attestor().attest({ token: await google.sign(claims()) }, {})).rejects.toThrow(
      /not enabled/,
    );
  });

  it('refuses other algorithms and malformed proofs', async () => {
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.`;
    await expect(attestor().attest({ token: unsigned }, rules)).rejects.toThrow(UnauthenticatedError);
    await expect(attestor().attest({ token: 'garbage' }, rules)).rejects.toThrow(UnauthenticatedError);
    await expect(attestor().attest({}, rules)).rejects.toThrow(ValidationError);
  });
});
