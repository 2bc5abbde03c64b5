/**
 * The delivery check every push-triggered function runs: Google-signed
 * and Entra-signed tokens, minted here from a local JWKS (the emulators
 * and fakes send none), and the shared-secret mode.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createPushAuthenticator,
  EVENT_GRID_APP_ID,
  entraPushAuth,
  googlePushAuth,
  type PushAuthenticator,
  requireEventGridCaller,
  sharedSecretAuth,
} from '../../../functions/control-plane/push-auth.js';
import { UnauthenticatedError } from '../../../shared/model/errors.js';
import { createTokenIssuer, type TokenIssuer } from '../../support/token-issuer.js';

const AUDIENCE = 'https://europe-west1-acme.cloudfunctions.net/weftCompile';
const PUSH_SA = 'weft-push@acme.iam.gserviceaccount.com';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe('Google push deliveries', () => {
  let issuer: TokenIssuer;
  let check: PushAuthenticator;
  const claims = () => ({
    iss: 'https://accounts.google.com',
    aud: AUDIENCE,
    email: PUSH_SA,
    email_verified: true,
    sub: '1234567890',
  });
  beforeAll(async () => {
    issuer = await createTokenIssuer();
    check = createPushAuthenticator(
      googlePushAuth({ audiences: [AUDIENCE], serviceAccount: PUSH_SA, jwks: issuer.jwks() }),
    );
  });

  it('accepts a token Google signed for the audience and the push service account', async () => {
    const payload = await check(bearer(await issuer.sign(claims())));
    expect(payload.email).toBe(PUSH_SA);
  });

  it.each([
    ['no token', async () => ({ headers: {} }), /Authorization: Bearer/],
    [
      'another audience',
      async () => bearer(await issuer.sign({ ...claims(), aud: 'https://x' })),
      /audience/,
    ],
    [
      'another service account',
      async () => bearer(await issuer.sign({ ...claims(), email: 'e@x' })),
      /email/,
    ],
    [
      'an unverified email',
      async () => bearer(await issuer.sign({ ...claims(), email_verified: false })),
      /email_verified/,
    ],
    ['another issuer', async () => bearer(await issuer.sign({ ...claims(), iss: 'https://evil' })), /iss/],
    [
      'an expired token',
      async () => bearer(await issuer.sign({ ...claims(), iat: 1_000_000, exp: 1_000_060 })),
      /expired/,
    ],
    [
      'a token signed by another key',
      async () => bearer(await (await createTokenIssuer()).sign(claims())),
      /signature/,
    ],
  ])('refuses %s with 401', async (_name, request, message) => {
    const refusal = await check(await request()).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(UnauthenticatedError);
    expect((refusal as Error).message).toMatch(message);
  });
});

describe('Event Grid deliveries with Entra ID', () => {
  let issuer: TokenIssuer;
  let check: PushAuthenticator;
  const claims = (extra: Record<string, unknown> = {}) => ({
    iss: `https://sts.windows.net/${TENANT}/`,
    aud: 'api://weft-push',
    tid: TENANT,
    appid: EVENT_GRID_APP_ID,
    ...extra,
  });
  beforeAll(async () => {
    issuer = await createTokenIssuer();
    check = requireEventGridCaller(
      createPushAuthenticator(
        entraPushAuth({ tenantId: TENANT, audiences: ['api://weft-push'], jwks: issuer.jwks() }),
      ),
    );
  });

  it('accepts Event Grid v1 and v2 tokens of the tenant', async () => {
    await expect(check(bearer(await issuer.sign(claims())))).resolves.toMatchObject({ tid: TENANT });
    const v2 = claims({
      iss: `https://login.microsoftonline.com/${TENANT}/v2.0`,
      appid: undefined,
      azp: EVENT_GRID_APP_ID,
    });
    await expect(check(bearer(await issuer.sign(v2)))).resolves.toMatchObject({ azp: EVENT_GRID_APP_ID });
  });

  it('refuses a token of another caller or tenant', async () => {
    const otherApp = await issuer.sign(claims({ appid: '00000000-0000-0000-0000-000000000001' }));
    await expect(check(bearer(otherApp))).rejects.toThrow(/not issued to Event Grid/);
    const otherTenant = await issuer.sign(claims({ tid: '00000000-0000-0000-0000-000000000002' }));
    await expect(check(bearer(otherTenant))).rejects.toThrow(/tid/);
  });
});

describe('shared-secret deliveries', () => {
  const secret = 'a'.repeat(40);
  const check = sharedSecretAuth('X-Weft-Delivery-Secret', secret);

  it('accepts the secret and refuses anything else', async () => {
    await expect(check({ headers: { 'x-weft-delivery-secret': secret } })).resolves.toEqual({});
    await expect(check({ headers: { 'x-weft-delivery-secret': `${secret}x` } })).rejects.toThrow(
      UnauthenticatedError,
    );
    await expect(check({ headers: {} })).rejects.toThrow(/X-Weft-Delivery-Secret is wrong/);
  });

  it('refuses a short secret at start-up', () => {
    expect(() => sharedSecretAuth('x', 'short')).toThrow(/at least 32/);
  });
});
