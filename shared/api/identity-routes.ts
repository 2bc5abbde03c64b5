/**
 * The identity endpoints. `POST /v1/join-tokens`, `/v1/svid/jwt/mint` and
 * `/v1/ca/*` (a federated cloud's intermediate) take an operator token (an
 * admin's): the bundle is public, and on `/v1/attest`, `/v1/svid/x509` and
 * `/v1/svid/jwt` the proof in the body is the credential.
 *
 * @module
 */
import type { z } from 'zod';
import { hashJoinToken } from '../identity/attestation/join-token.js';
import {
  attestRequestSchema,
  intermediateInstallRequestSchema,
  joinTokenRequestSchema,
  jwtMintRequestSchema,
  jwtSvidRequestSchema,
  renewX509RequestSchema,
} from '../identity/identity-requests.js';
import type { IdentityService, InstalledIntermediate, IssuedSvids } from '../identity/identity-service.js';
import { NotFoundError } from '../model/errors.js';
import { readIdentityBody } from './body.js';
import type { ApiLogger } from './create-api.js';
import { matchesEtag } from './http-semantics.js';
import { type Authenticator, requireAdmin } from './operator-auth.js';
import type { Handler, Handlers, Router } from './router.js';
import { type ApiRequest, json } from './types.js';

/** What the identity routes need from `createApi`. */
export interface IdentityRouteContext {
  /** `undefined` on a host without a CA: every identity path is then 404. */
  readonly identity: IdentityService | undefined;
  readonly authenticate: Authenticator;
  readonly logger: ApiLogger;
}

/** Only these exact paths: `/v1/bundle/` is not the bundle. */
const STRICT = { strict: true };

const PATHS = [
  '/v1/bundle',
  '/v1/join-tokens',
  '/v1/attest',
  '/v1/svid/x509',
  '/v1/svid/jwt',
  '/v1/svid/jwt/mint',
  '/v1/ca/intermediate-csr',
  '/v1/ca/intermediate',
] as const;

/** Adds the identity endpoints to `router`. */
export function addIdentityRoutes(router: Router, ctx: IdentityRouteContext): void {
  const disabled = (req: ApiRequest): never => {
    throw new NotFoundError(
      `${req.path}: workload identity is not enabled on this control plane (it has no CA); see the README, Identity`,
    );
  };
  const handlers = ctx.identity && identityHandlers(ctx.identity, ctx);
  for (const path of PATHS) router.add(path, handlers?.[path] ?? { '*': disabled }, STRICT);
}

function identityHandlers(
  identity: IdentityService,
  ctx: IdentityRouteContext,
): Record<(typeof PATHS)[number], Handlers> {
  const { logger } = ctx;
  const body = <T extends z.ZodType>(req: ApiRequest, schema: T) =>
    readIdentityBody(req.body, req.headers['content-type'], schema);
  /** The admin the request's operator token names. */
  const admin = async (req: ApiRequest) => {
    const operator = await ctx.authenticate(req.headers.authorization);
    requireAdmin(operator);
    return operator;
  };

  const bundle: Handler = async (req) => {
    const bundle = await identity.bundle();
    const etag = `"${bundle.spiffe_sequence}"`;
    const headers = { etag, 'cache-control': `public, max-age=${bundle.spiffe_refresh_hint}` };
    if (matchesEtag(req.headers['if-none-match'], etag)) return { status: 304, headers, body: '' };
    return json(200, bundle, headers);
  };
  const joinToken: Handler = async (req) => {
    const operator = await admin(req);
    const minted = await identity.createJoinToken(body(req, joinTokenRequestSchema));
    logger.info({
      msg: 'join token minted',
      operator: operator.subject,
      spiffeId: minted.spiffeId,
      expiresAt: minted.expiresAt.toISOString(),
      // The selector attestation logs later, so the two lines can be matched; never the token.
      selector: `join_token:${hashJoinToken(minted.token).slice(0, 16)}`,
    });
    return json(201, { ...minted, expiresAt: minted.expiresAt.toISOString() });
  };
  const attest: Handler = async (req) => {
    const issued = await identity.attest(body(req, attestRequestSchema), req.sourceIp);
    logger.info({ msg: 'workload attested', sourceIp: req.sourceIp, ...audit(issued) });
    return json(200, present(issued));
  };
  const renewX509: Handler = async (req) => {
    const issued = await identity.renewX509(body(req, renewX509RequestSchema), req.sourceIp);
    logger.info({ msg: 'X.509-SVID renewed', sourceIp: req.sourceIp, ...audit(issued) });
    return json(200, present(issued));
  };
  const issueJwt: Handler = async (req) => {
    const jwt = await identity.issueJwt(body(req, jwtSvidRequestSchema), req.sourceIp);
    return json(200, { ...jwt, expiresAt: jwt.expiresAt.toISOString() });
  };
  const mintJwt: Handler = async (req) => {
    const operator = await admin(req);
    const jwt = await identity.mintJwt(body(req, jwtMintRequestSchema));
    const expiresAt = jwt.expiresAt.toISOString();
    // Who minted what, for how long; never the token.
    logger.info({
      msg: 'JWT-SVID minted',
      operator: operator.subject,
      spiffeId: jwt.spiffeId,
      audience: jwt.audience,
      expiresAt,
    });
    return json(200, { ...jwt, expiresAt });
  };
  const intermediateCsr: Handler = async (req) => {
    const operator = await admin(req);
    const { provider, csr } = await identity.intermediateCsr();
    // Who asked for which cloud's CSR; the key never leaves the key ring.
    logger.info({ msg: 'intermediate CSR made', operator: operator.subject, provider });
    return json(200, { provider, csr });
  };
  const installIntermediate: Handler = async (req) => {
    const operator = await admin(req);
    const audit = { operator: operator.subject, provider: identity.provider };
    let installed: InstalledIntermediate;
    try {
      installed = await identity.installIntermediate(body(req, intermediateInstallRequestSchema));
    } catch (error) {
      logger.info({ msg: 'intermediate install refused', ...audit, detail: (error as Error).message });
      throw error;
    }
    const { provider, sequence, recompileError } = installed;
    const notAfter = installed.notAfter.toISOString();
    logger.info({ msg: 'intermediate installed', ...audit, notAfter, sequence });
    if (recompileError !== undefined) {
      logger.error({
        msg: 'compiling snapshots with the new bundle failed; they carry it at the next compile',
        error: String(recompileError),
      });
    }
    return json(200, { provider, notAfter, sequence });
  };

  return {
    '/v1/bundle': { GET: bundle, HEAD: bundle },
    '/v1/join-tokens': { POST: joinToken },
    '/v1/attest': { POST: attest },
    '/v1/svid/x509': { POST: renewX509 },
    '/v1/svid/jwt': { POST: issueJwt },
    '/v1/svid/jwt/mint': { POST: mintJwt },
    '/v1/ca/intermediate-csr': { POST: intermediateCsr },
    '/v1/ca/intermediate': { PUT: installIntermediate },
  };
}

/** The response body of `/v1/attest` and `/v1/svid/x509`. */
function present(issued: IssuedSvids) {
  const { spiffeId, x509Svid, jwtSvid, bundle } = issued;
  return {
    spiffeId,
    x509Svid: { certChain: x509Svid.certChain, expiresAt: x509Svid.expiresAt.toISOString() },
    ...(jwtSvid && {
      jwtSvid: {
        token: jwtSvid.token,
        audience: jwtSvid.audience,
        expiresAt: jwtSvid.expiresAt.toISOString(),
      },
    }),
    bundle,
  };
}

function audit(issued: IssuedSvids) {
  return { spiffeId: issued.spiffeId, selectors: issued.selectors, expiresAt: issued.x509Svid.expiresAt };
}
