/**
 * GCP attestation by an instance identity token (SPIRE's `gcp_iit`): the
 * agent asks its metadata server for an ID token with the mesh's audience
 * and `format=full`; Google signs it (RS256) and names the project,
 * instance and service account.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { type JWTPayload, jwtVerify } from 'jose';
import * as z from 'zod';
import { type AttestationRules, resolveSpiffeId } from '../../model/attestation-rules.js';
import { UnauthenticatedError } from '../../model/errors.js';
import { type AttestationResult, type Attestor, jwtRefusal, parseProof, remoteJwks } from './attestor.js';
import type { ReplayCache } from './replay-cache.js';

/** Where Google publishes the keys that sign instance identity tokens. */
export const GOOGLE_JWKS_URL = 'https://www.googleapis.com/oauth2/v3/certs';
const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];

/** Configuration of {@link GcpIitAttestor}, fixed at start-up. */
export interface GcpIitAttestorOptions {
  /** The audience the agent asked its metadata server for, e.g. `spiffe://acme.test`. */
  readonly audience: string;
  readonly replayCache: ReplayCache;
  /** @default Google's certs URL */
  readonly jwksUrl?: string;
  /** Used to fetch the JWKS. @default globalThis.fetch */
  readonly fetch?: typeof globalThis.fetch;
  /** @default 30 seconds */
  readonly clockSkewMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

const proofSchema = z.strictObject({ token: z.string().min(1).max(8192) });

interface ComputeEngineClaims {
  project_id?: unknown;
  instance_name?: unknown;
  zone?: unknown;
}

/** Attests an agent by the GCE instance it runs on and that instance's service account. */
export class GcpIitAttestor implements Attestor {
  readonly method = 'gcp_iit' as const;
  readonly #o: GcpIitAttestorOptions;
  readonly #jwks: ReturnType<typeof remoteJwks>;

  constructor(options: GcpIitAttestorOptions) {
    if (!options.audience) throw new TypeError('GcpIitAttestor needs an audience');
    this.#o = options;
    this.#jwks = remoteJwks(options.jwksUrl ?? GOOGLE_JWKS_URL, options.fetch);
  }

  async attest(proof: unknown, rules: AttestationRules): Promise<AttestationResult> {
    const { token } = parseProof(proofSchema, proof, this.method);
    if (!rules.gcp?.length) throw new UnauthenticatedError('GCP attestation is not enabled in the Mesh');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#jwks, {
        algorithms: ['RS256'],
        issuer: GOOGLE_ISSUERS,
        audience: this.#o.audience,
        clockTolerance: Math.floor((this.#o.clockSkewMs ?? 30_000) / 1000),
        currentDate: new Date((this.#o.now ?? Date.now)()),
        requiredClaims: ['exp', 'iat', 'sub'],
      }));
    } catch (error) {
      throw jwtRefusal('GCP instance identity token', error);
    }
    const gce = (payload.google as { compute_engine?: ComputeEngineClaims } | undefined)?.compute_engine;
    const projectId = gce?.project_id;
    if (typeof projectId !== 'string') {
      throw new UnauthenticatedError(
        'the GCP token has no compute_engine claims; request it with format=full',
      );
    }
    const email = typeof payload.email === 'string' ? payload.email.toLowerCase() : undefined;
    const hash = createHash('sha256').update(token).digest('base64url');
    if (!(await this.#o.replayCache.claim(`gcp_iit:${hash}`, payload.exp! * 1000 + 60_000))) {
      throw new UnauthenticatedError('the GCP token was already used');
    }
    const matches = rules.gcp
      .filter((r) => r.projectId === projectId)
      .filter((r) => !r.serviceAccount || r.serviceAccount.toLowerCase() === email)
      .map((r) => ({ spiffeId: r.spiffeId, specificity: r.serviceAccount ? 1 : 0 }));
    const selectors = [`gcp_iit:project-id:${projectId}`, `gcp_iit:sa:${email ?? payload.sub}`];
    if (typeof gce?.instance_name === 'string') selectors.push(`gcp_iit:instance-name:${gce.instance_name}`);
    if (typeof gce?.zone === 'string') selectors.push(`gcp_iit:zone:${gce.zone}`);
    return {
      method: this.method,
      spiffeId: resolveSpiffeId(`GCP project ${projectId} as ${email ?? payload.sub}`, matches),
      selectors,
    };
  }
}
