/**
 * Azure attestation by a managed identity token (SPIRE's `azure_msi`): the
 * agent asks IMDS for a token for the mesh's audience; Entra ID signs it
 * (RS256) and names the tenant (`tid`) and the identity's object ID (`oid`).
 * Keys are fetched per tenant, and only for tenants the Mesh's rules name.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { type JWTPayload, jwtVerify } from 'jose';
import * as z from 'zod';
import { type AttestationRules, resolveSpiffeId } from '../../model/attestation-rules.js';
import { UnauthenticatedError } from '../../model/errors.js';
import {
  type AttestationResult,
  type Attestor,
  jwtRefusal,
  parseProof,
  peekJwtPayload,
  remoteJwks,
} from './attestor.js';
import type { ReplayCache } from './replay-cache.js';

/** `{tenantId}` is replaced by the token's (rule-listed) tenant. */
export const ENTRA_JWKS_URL_TEMPLATE = 'https://login.microsoftonline.com/{tenantId}/discovery/v2.0/keys';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Configuration of {@link AzureMsiAttestor}, fixed at start-up. */
export interface AzureMsiAttestorOptions {
  /** The resource (app ID URI or client ID) the agent requests its token for. */
  readonly audience: string | readonly string[];
  readonly replayCache: ReplayCache;
  /** @default Entra ID's per-tenant keys URL */
  readonly jwksUrlTemplate?: string;
  /** Used to fetch the JWKS. @default globalThis.fetch */
  readonly fetch?: typeof globalThis.fetch;
  /** @default 30 seconds */
  readonly clockSkewMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

const proofSchema = z.strictObject({ token: z.string().min(1).max(16_384) });

/** Attests an agent by its Azure managed identity. */
export class AzureMsiAttestor implements Attestor {
  readonly method = 'azure_msi' as const;
  readonly #o: AzureMsiAttestorOptions;
  readonly #jwks = new Map<string, ReturnType<typeof remoteJwks>>();

  constructor(options: AzureMsiAttestorOptions) {
    if (!options.audience.length) throw new TypeError('AzureMsiAttestor needs an audience');
    if (!(options.jwksUrlTemplate ?? ENTRA_JWKS_URL_TEMPLATE).includes('{tenantId}')) {
      throw new TypeError('jwksUrlTemplate must contain {tenantId}');
    }
    this.#o = options;
  }

  async attest(proof: unknown, rules: AttestationRules): Promise<AttestationResult> {
    const { token } = parseProof(proofSchema, proof, this.method);
    if (!rules.azure?.length) throw new UnauthenticatedError('Azure attestation is not enabled in the Mesh');
    // The tenant picks the keys, so it is read before verification, and only a
    // GUID that a rule names is ever put into a URL.
    const claimed = peekJwtPayload(token)?.tid;
    if (typeof claimed !== 'string' || !GUID.test(claimed))
      throw new UnauthenticatedError('the Azure token has no tenant');
    if (!rules.azure.some((r) => r.tenantId === claimed)) {
      throw new UnauthenticatedError(`no attestation rule in the Mesh admits Azure tenant ${claimed}`);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#keys(claimed), {
        algorithms: ['RS256'],
        issuer: [`https://login.microsoftonline.com/${claimed}/v2.0`, `https://sts.windows.net/${claimed}/`],
        audience: [...(typeof this.#o.audience === 'string' ? [this.#o.audience] : this.#o.audience)],
        clockTolerance: Math.floor((this.#o.clockSkewMs ?? 30_000) / 1000),
        currentDate: new Date((this.#o.now ?? Date.now)()),
        requiredClaims: ['exp', 'tid', 'oid'],
      }));
    } catch (error) {
      throw jwtRefusal('Azure managed identity token', error);
    }
    const { tid, oid } = payload;
    if (tid !== claimed || typeof oid !== 'string' || !GUID.test(oid)) {
      throw new UnauthenticatedError('the Azure token has a bad tid or oid');
    }
    const hash = createHash('sha256').update(token).digest('base64url');
    if (!(await this.#o.replayCache.claim(`azure_msi:${hash}`, payload.exp! * 1000 + 60_000))) {
      throw new UnauthenticatedError('the Azure token was already used');
    }
    const matches = rules.azure
      .filter((r) => r.tenantId === tid && (!r.objectId || r.objectId === oid))
      .map((r) => ({ spiffeId: r.spiffeId, specificity: r.objectId ? 1 : 0 }));
    const selectors = [`azure_msi:tenant:${tid}`, `azure_msi:principal-id:${oid}`];
    if (typeof payload.xms_mirid === 'string') selectors.push(`azure_msi:resource-id:${payload.xms_mirid}`);
    return {
      method: this.method,
      spiffeId: resolveSpiffeId(`Azure identity ${oid} in tenant ${tid}`, matches),
      selectors,
    };
  }

  #keys(tenantId: string): ReturnType<typeof remoteJwks> {
    let jwks = this.#jwks.get(tenantId);
    if (!jwks) {
      const template = this.#o.jwksUrlTemplate ?? ENTRA_JWKS_URL_TEMPLATE;
      jwks = remoteJwks(template.replace('{tenantId}', tenantId), this.#o.fetch);
      this.#jwks.set(tenantId, jwks);
    }
    return jwks;
  }
}
