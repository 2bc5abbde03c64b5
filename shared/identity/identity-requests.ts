/**
 * The bodies of the identity endpoints, as zod schemas (which the OpenAPI
 * document reuses) and their limits. The HTTP edge reads them
 * (`readIdentityBody` in `shared/api/body.ts`): JSON only, at most 64 KiB,
 * parsed before anything else happens.
 *
 * @module
 */
import * as z from 'zod';
import { isDuration } from '../model/duration.js';

/** Largest identity request body: a CSR, a proof with its chain, or a cloud token fit easily. */
export const MAX_IDENTITY_BODY_BYTES = 64 * 1024;
/** Largest CSR: a P-256 request is under 1 KiB. */
export const MAX_CSR_CHARS = 8 * 1024;

/** Largest intermediate certificate: a P-256 one is under 1 KiB. */
export const MAX_CERTIFICATE_CHARS = 16 * 1024;

const csr = z.string().min(1).max(MAX_CSR_CHARS, 'a CSR is at most 8 KiB').describe('PEM PKCS#10, EC P-256');
const audience = z.string().min(1).max(512);
const proof = z
  .string()
  .min(1)
  .max(16_384)
  .describe('Compact JWS by the current X.509-SVID key; see the README, Identity');

/** `POST /v1/join-tokens`. */
export const joinTokenRequestSchema = z.strictObject({
  spiffeId: z.string().max(2048).describe('A Gateway or Service SPIFFE ID in the mesh trust domain'),
  ttl: z
    .string()
    .refine(isDuration, 'must be a duration such as 10m')
    .optional()
    .describe("Default 10m; at most the Mesh's attestation.joinToken.maxTtl (default 1h)"),
});

/** Attestation methods, named as SPIRE names its node attestors. */
export const ATTESTATION_TYPES = ['join_token', 'aws_iam', 'gcp_iit', 'azure_msi'] as const;

/** `POST /v1/attest`: the method's proof under `attestation`, beside its `type`. */
export const attestRequestSchema = z.strictObject({
  attestation: z
    .looseObject({ type: z.enum(ATTESTATION_TYPES) })
    .describe(
      "`type` and that method's proof: join_token {token}; aws_iam {url, headers, body}; gcp_iit and azure_msi {token}",
    ),
  csr,
  audience: audience.optional().describe('Of the JWT-SVID. Default: spiffe://<td>/gateways'),
});

/** `POST /v1/svid/x509`. */
export const renewX509RequestSchema = z.strictObject({
  csr: csr.describe('The new key; the proof binds its SHA-256 (csr_sha256)'),
  proof,
});

/** `POST /v1/svid/jwt`. */
export const jwtSvidRequestSchema = z.strictObject({
  audience: audience.optional().describe('Default: spiffe://<td>/gateways; the proof binds it (audience)'),
  proof,
});

/** `POST /v1/svid/jwt/mint`: an operator's JWT-SVID for any Gateway or Service (SPIRE's `jwt mint`). */
export const jwtMintRequestSchema = z.strictObject({
  spiffeId: z.string().max(2048).describe('A Gateway or Service SPIFFE ID in the mesh trust domain'),
  audience: audience.optional().describe('Default: spiffe://<td>/gateways, what the egress gateways accept'),
  ttl: z
    .string()
    .refine(isDuration, 'must be a duration such as 5m')
    .optional()
    .describe("Default and maximum: the Mesh's credentials.jwtSvidTtl (default 5m)"),
});

/** `PUT /v1/ca/intermediate`: a federated cloud's intermediate, signed by the mesh root from its CSR. */
export const intermediateInstallRequestSchema = z.strictObject({
  certificate: z
    .string()
    .min(1)
    .max(MAX_CERTIFICATE_CHARS, 'a certificate is at most 16 KiB')
    .describe("PEM X.509: the mesh root's signature on this cloud's CSR (weft ca sign)"),
});

/** Parsed request bodies. */
export type JoinTokenRequest = z.infer<typeof joinTokenRequestSchema>;
export type AttestRequest = z.infer<typeof attestRequestSchema>;
export type RenewX509Request = z.infer<typeof renewX509RequestSchema>;
export type JwtSvidRequest = z.infer<typeof jwtSvidRequestSchema>;
export type JwtMintRequest = z.infer<typeof jwtMintRequestSchema>;
export type IntermediateInstallRequest = z.infer<typeof intermediateInstallRequestSchema>;
