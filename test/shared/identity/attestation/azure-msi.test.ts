import { describe, expect, it } from 'vitest';
import { AzureMsiAttestor } from '../../../../shared/identity/attestation/azure-msi.js';
import { MemoryReplayCache } from '../../../../shared/identity/attestation/replay-cache.js';
import type { AttestationRules } from '../../../../shared/model/attestation-rules.js';
import { UnauthenticatedError } from '../../../../shared/model/errors.js';
import { startJwksServer } from '../../../support/http.js';
import { createTokenIssuer } from '../../../support/token-issuer.js';

const audience = 'api://weft-mesh';
const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const otherTenant = '0b0b0b0b-0000-4000-8000-000000000000';
const identity = '6f1b3c2a-1111-4222-8333-944455556666';
const gateway = 'spiffe://acme.test/gw/azure-we/gw-1';
const anyInTenant = 'spiffe://acme.test/ns/shop/svc/cart';
const rules: AttestationRules = {
  azure: [
    { tenantId: tenant, objectId: identity, spiffeId: gateway },
    { tenantId: tenant, spiffeId: anyInTenant },
  ],
};

describe('AzureMsiAttestor', async () => {
  const entra = await createTokenIssuer();
  const jwksServer = await startJwksServer(() => entra.jwks());
  const attestor = () =>
    new AzureMsiAttestor({
      audience,
      replayCache: new MemoryReplayCache(),
      jwksUrlTemplate: `${jwksServer.url}/{tenantId}/discovery/v2.0/keys`,
    });
  const claims = (over: Record<string, unknown> = {}) => ({
    iss: `https://login.microsoftonline.com/${tenant}/v2.0`,
    aud: audience,
    tid: tenant,
    oid: identity,
    sub: identity,
    xms_mirid:
      '/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/gw',
    ...over,
  });

  it('maps a tenant and object ID, with v2 or v1 issuers, fetching that tenant’s keys', async () => {
    const result = await attestor().attest({ token: await entra.sign(claims()) }, rules);
    expect(result.spiffeId).toBe(gateway);
    expect(result.selectors).toContain(`azure_msi:principal-id:${identity}`);
    const v1 = await entra.sign(claims({ iss: `https://sts.windows.net/${tenant}/`, oid: otherTenant }));
    expect((await attestor().attest({ token: v1 }, rules)).spiffeId).toBe(anyInTenant);
    expect(jwksServer.requests.at(-1)).toBe(`GET /${tenant}/discovery/v2.0/keys`);
  });

  it('refuses a forged token', async () => {
    const forger = await createTokenIssuer(entra.kid);
    await expect(attestor().attest({ token: await forger.sign(claims()) }, rules)).rejects.toThrow(
      /signature/,
    );
  });

  it('refuses an expired token', async () => {
    const iat = Math.floor(Date.now() / 1000) - 7200;
    await expect(
      attestor().attest({ token: await entra.sign(claims({ iat, exp: iat + 3600 })) }, rules),
    ).rejects.toThrow(/expired/);
  });

  it('refuses another audience, and an issuer of another tenant', async () => {
    await expect(
      attestor().attest({ token: await entra.sign(claims({ aud: 'api://other' })) }, rules),
    ).rejects.toThrow(/another audience/);
    const crossTenant = await entra.sign(
      claims({ iss: `https://login.microsoftonline.com/${otherTenant}/v2.0` }),
    );
    await expect(attestor().attest({ token: crossTenant }, rules)).rejects.toThrow(/iss/);
  });

  it('refuses a replayed token', async () => {
    const a = attestor();
    const token = await entra.sign(claims());
    await a.attest({ token }, rules);
    await expect(a.attest({ token }, rules)).rejects.toThrow(/already used/);
  });

  it('refuses an unlisted tenant without fetching any keys', async () => {
    const before = jwksServer.requests.length;
    const stranger = await entra.sign(
      claims({ tid: otherTenant, iss: `https://login.microsoftonline.com/${otherTenant}/v2.0` }),
    );
    await expect(attestor().attest({ token: stranger }, rules)).rejects.toThrow(/no attestation rule/);
    const pathy = await entra.sign(claims({ tid: '../../evil' }));
    await expect(attestor().attest({ token: pathy }, rules)).rejects.toThrow(UnauthenticatedError);
    expect(jwksServer.requests.length).toBe(before);
  });

  it('refuses an unmapped identity and a Mesh without Azure rules', async () => {
    const only: AttestationRules = {
      azure: [{ tenantId: tenant, objectId: otherTenant, spiffeId: gateway }],
    };
    await expect(attestor().attest({ token: await entra.sign(claims()) }, only)).rejects.toThrow(
      /no attestation rule/,
    );
    await expect(attestor().attest({ token: await entra.sign(claims()) }, {})).rejects.toThrow(/not enabled/);
  });
});
