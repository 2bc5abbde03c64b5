/**
 * The identity endpoints in the OpenAPI document: request bodies from the
 * zod schemas that parse them, responses described by hand (they are built,
 * not parsed).
 *
 * @module
 */
import * as z from 'zod';
import {
  attestRequestSchema,
  intermediateInstallRequestSchema,
  joinTokenRequestSchema,
  jwtMintRequestSchema,
  jwtSvidRequestSchema,
  renewX509RequestSchema,
} from '../identity/identity-requests.js';
import { jsonSchema, problem, ref } from './openapi-parts.js';

const ok = (description: string, schema: object, headers?: object) => ({
  description,
  ...(headers && { headers }),
  content: { 'application/json': { schema } },
});
const body = (name: string) => ({ required: true, content: { 'application/json': { schema: ref(name) } } });

const time = z.string().describe('RFC 3339');
const jwtSvid = z.object({ token: z.string(), audience: z.string(), expiresAt: time });
const issued = (withJwt: boolean) =>
  z.object({
    spiffeId: z.string(),
    x509Svid: z.object({
      certChain: z.array(z.string()).describe('PEM: the leaf, then the intermediate'),
      expiresAt: time,
    }),
    ...(withJwt && { jwtSvid }),
    bundle: z.looseObject({}).describe('The SPIFFE bundle, as GET /v1/bundle serves it'),
  });

const schemas = {
  JoinTokenRequest: joinTokenRequestSchema,
  JoinToken: z.object({
    token: z.string().describe('Shown once; only its hash is kept'),
    spiffeId: z.string(),
    expiresAt: time,
  }),
  AttestRequest: attestRequestSchema,
  Attested: issued(true),
  RenewX509Request: renewX509RequestSchema,
  RenewedX509: issued(false),
  JwtSvidRequest: jwtSvidRequestSchema,
  JwtSvid: jwtSvid.extend({ spiffeId: z.string() }),
  JwtMintRequest: jwtMintRequestSchema,
  IntermediateCsr: z.object({
    provider: z.string().describe("This control plane's cloud: the one `weft ca sign --cloud` names"),
    csr: z.string().describe('PEM PKCS#10 of the pending intermediate key; the same until it is installed'),
  }),
  IntermediateInstallRequest: intermediateInstallRequestSchema,
  IntermediateInstalled: z.object({
    provider: z.string(),
    notAfter: time,
    sequence: z.int().describe("The bundle's spiffe_sequence with it"),
  }),
  SpiffeBundle: z.looseObject({
    keys: z.array(z.looseObject({ use: z.enum(['x509-svid', 'jwt-svid']), kty: z.string() })),
    spiffe_sequence: z.int(),
    spiffe_refresh_hint: z.int(),
  }),
};

const refused = {
  '400': problem('Not JSON'),
  '401': problem('The proof is forged, expired, for another audience, replayed, or maps to no identity'),
  '409': problem('No Mesh "default", or its trust domain is not the CA\'s'),
  '413': problem('Body over 64 KiB'),
  '415': problem('Not application/json'),
  '422': problem('A field is wrong; `field` names it'),
  '429': problem('Too many attempts from this address; see Retry-After'),
};

/** Paths and component schemas of the identity endpoints. */
export function identityOpenApi(): { paths: Record<string, object>; schemas: Record<string, object> } {
  const post = (operationId: string, summary: string, request: string, response: string, status = '200') => ({
    post: {
      operationId,
      summary,
      security: [],
      requestBody: body(request),
      responses: { [status]: ok(summary, ref(response)), ...refused },
    },
  });
  return {
    schemas: Object.fromEntries(Object.entries(schemas).map(([name, s]) => [name, jsonSchema(s)])),
    paths: {
      '/v1/bundle': {
        get: {
          operationId: 'getBundle',
          summary: 'The SPIFFE trust bundle (public)',
          security: [],
          responses: {
            '200': ok('The bundle', ref('SpiffeBundle'), {
              ETag: { schema: { type: 'string' }, description: 'spiffe_sequence' },
              'Cache-Control': { schema: { type: 'string' }, description: 'max-age = spiffe_refresh_hint' },
            }),
            '304': { description: 'Not modified' },
            '409': refused['409'],
          },
        },
      },
      '/v1/join-tokens': {
        post: {
          operationId: 'createJoinToken',
          summary: 'Mint a one-time join token for a Gateway or Service (admin)',
          requestBody: body('JoinTokenRequest'),
          responses: {
            '201': ok('The token', ref('JoinToken')),
            '403': problem('Not an admin'),
            ...refused,
          },
        },
      },
      '/v1/attest': post(
        'attest',
        'Attest and get an X.509-SVID, a JWT-SVID and the bundle',
        'AttestRequest',
        'Attested',
      ),
      '/v1/svid/x509': post(
        'renewX509Svid',
        'Renew the X.509-SVID, proven by the current one',
        'RenewX509Request',
        'RenewedX509',
      ),
      '/v1/svid/jwt': post(
        'issueJwtSvid',
        'A JWT-SVID, proven by the current X.509-SVID',
        'JwtSvidRequest',
        'JwtSvid',
      ),
      '/v1/ca/intermediate-csr': {
        post: {
          operationId: 'createIntermediateCsr',
          summary:
            "A CSR for this cloud's next intermediate, for the offline mesh root to sign (admin; federated mesh; `weft ca csr --server`)",
          responses: {
            '200': ok('The CSR', ref('IntermediateCsr')),
            '401': problem('No operator token, or one that does not verify'),
            '403': problem('Not an admin'),
            '409': problem(
              'No Mesh "default", or this CA holds its own root (it makes its own intermediates)',
            ),
          },
        },
      },
      '/v1/ca/intermediate': {
        put: {
          operationId: 'installIntermediate',
          summary:
            "Install this cloud's intermediate, signed by the mesh root from its CSR; it issues from now on (admin; `weft ca install --server`)",
          requestBody: body('IntermediateInstallRequest'),
          responses: {
            '200': ok('Installed', ref('IntermediateInstalled')),
            ...refused,
            '401': problem('No operator token, or one that does not verify'),
            '403': problem('Not an admin'),
            '409': problem(
              'No Mesh "default", or this CA holds its own root (it makes its own intermediates)',
            ),
            '422': problem(
              'The certificate is not signed by the mesh root, is no CA, is for another key than the pending one, or no CSR was made',
            ),
          },
        },
      },
      '/v1/svid/jwt/mint': {
        post: {
          operationId: 'mintJwtSvid',
          summary: 'Mint a JWT-SVID for a Gateway or Service, no attestation (admin; `weft svid mint`)',
          requestBody: body('JwtMintRequest'),
          responses: {
            '200': ok('The JWT-SVID', ref('JwtSvid')),
            ...refused,
            '401': problem('No operator token, or one that does not verify'),
            '403': problem('Not an admin'),
          },
        },
      },
    },
  };
}
