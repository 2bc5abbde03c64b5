/**
 * The workload-identity use cases behind `/v1/bundle`, `/v1/join-tokens`,
 * `/v1/attest`, `/v1/svid/*` and `/v1/ca/*`: mint a join token, trade a
 * proof of where an agent runs for SVIDs, renew an X.509-SVID and fetch
 * JWT-SVIDs with the current one, (an operator) mint a JWT-SVID outright,
 * or, in a federated mesh, ask for and install this cloud's intermediate.
 * Rules and TTLs come from the stored Mesh on every call, so a stateless
 * function serves the Mesh as it is now.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { isMeshIdentity } from '../model/attestation-rules.js';
import { parseDuration } from '../model/duration.js';
import { UnauthenticatedError, ValidationError } from '../model/errors.js';
import { parseSpiffeId } from '../model/names.js';
import type { Provider } from '../model/specs.js';
import type { AttestationResult, Attestor } from './attestation/attestor.js';
import { createJoinToken } from './attestation/join-token.js';
import { gatewaysAudience } from './audiences.js';
import type { SpiffeBundle } from './bundle.js';
import type { MeshCa } from './ca.js';
import { type IdentityServiceOptions, identityDefaults } from './identity-options.js';
import type {
  AttestRequest,
  IntermediateInstallRequest,
  JoinTokenRequest,
  JwtMintRequest,
  JwtSvidRequest,
  RenewX509Request,
} from './identity-requests.js';
import { issueJwtSvid, type JwtSvid } from './jwt-svid.js';
import { MeshIdentity, type MeshIdentitySettings, MeshStateError } from './mesh-identity.js';
import {
  csrSha256,
  JWT_PROOF_AUDIENCE,
  RENEW_PROOF_AUDIENCE,
  SVID_PROOF_MAX_SKEW_MS,
  type SvidProofAudience,
  verifySvidProof,
} from './svid-proof.js';
import { issueX509Svid, readCsrKey, type X509Svid } from './x509-svid.js';

export type { IdentityServiceOptions } from './identity-options.js';

/** A JWT-SVID and the audience it is for. */
export type AudiencedJwtSvid = JwtSvid & { readonly audience: string };

/** What `/v1/attest` (with `jwtSvid`) and `/v1/svid/x509` (without) return. */
export interface IssuedSvids {
  readonly spiffeId: string;
  readonly x509Svid: X509Svid;
  readonly jwtSvid?: AudiencedJwtSvid;
  readonly bundle: SpiffeBundle;
  /** Why: the attestation's selectors, or the proof that renewed. For the audit log. */
  readonly selectors: readonly string[];
}

/** What `PUT /v1/ca/intermediate` did. */
export interface InstalledIntermediate {
  readonly provider: Provider;
  readonly notAfter: Date;
  /** The bundle's `spiffe_sequence` now. */
  readonly sequence: number;
  /** Why the snapshots were not compiled again (`onAuthorityChanged` threw), if so. For the log. */
  readonly recompileError?: unknown;
}

/** The identity use cases; see the module comment. */
export class IdentityService {
  readonly #o: ReturnType<typeof identityDefaults>;
  readonly #mesh: MeshIdentity;
  readonly #attestors = new Map<string, ReadonlyMap<string, Attestor>>();

  constructor(options: IdentityServiceOptions) {
    this.#o = identityDefaults(options);
    this.#mesh = new MeshIdentity(options.store, options.openCa);
  }

  /** Opens the CA now if a Mesh exists, so a broken key store fails at start-up. @returns its trust domain. */
  async warmUp(): Promise<string | undefined> {
    const settings = await this.#mesh.settings().catch((error: unknown) => {
      if (error instanceof MeshStateError) return undefined;
      throw error;
    });
    if (settings) await this.#mesh.ca(settings.trustDomain);
    return settings?.trustDomain;
  }

  /** The provider whose intermediate and JWT key sign what this control plane issues. */
  get provider(): Provider {
    return this.#o.provider;
  }

  /** The SPIFFE trust bundle of the Mesh's CA. */
  async bundle(): Promise<SpiffeBundle> {
    const { trustDomain } = await this.#mesh.settings();
    return (await this.#mesh.bundle(await this.#mesh.ca(trustDomain))).json;
  }

  /** Mints a one-time join token for a Gateway or Service of the Mesh. */
  async createJoinToken(
    request: JoinTokenRequest,
  ): Promise<{ token: string; spiffeId: string; expiresAt: Date }> {
    const { trustDomain, rules } = await this.#mesh.settings();
    if (!rules.joinToken) {
      throw new MeshStateError('join tokens are off in the Mesh: add spec.attestation.joinToken: {}');
    }
    requireMeshIdentity(request.spiffeId, trustDomain, 'a join token');
    const ttlMs = request.ttl === undefined ? undefined : parseDuration(request.ttl);
    const { token, expiresAt } = await createJoinToken({
      store: this.#o.joinTokens,
      rules,
      spiffeId: request.spiffeId,
      now: this.#o.now(),
      ...(ttlMs !== undefined && { ttlMs }),
    });
    return { token, spiffeId: request.spiffeId, expiresAt };
  }

  /**
   * Mints a JWT-SVID for a Gateway or Service of the Mesh on an operator's
   * say-so, as `spire-server jwt mint` does: for trying the mesh by hand and
   * for scripts. No attestation, so the route must require an admin.
   */
  async mintJwt(request: JwtMintRequest): Promise<AudiencedJwtSvid> {
    const settings = await this.#mesh.settings();
    const { trustDomain, jwtSvidTtlMs } = settings;
    requireMeshIdentity(request.spiffeId, trustDomain, 'a minted JWT-SVID');
    const ttlMs = request.ttl === undefined ? jwtSvidTtlMs : parseDuration(request.ttl);
    if (ttlMs < 10_000 || ttlMs > jwtSvidTtlMs) {
      throw new ValidationError(
        `ttl must be between 10s and the Mesh's jwtSvidTtl (${jwtSvidTtlMs / 1000}s)`,
        [{ pointer: '/ttl', detail: `${request.ttl} is outside 10s..${jwtSvidTtlMs / 1000}s` }],
      );
    }
    const ca = await this.#mesh.ca(trustDomain);
    const audience = request.audience ?? gatewaysAudience(trustDomain);
    return this.#issueJwt({ ...settings, jwtSvidTtlMs: ttlMs }, ca, request.spiffeId, audience);
  }

  /** Attests the caller and issues its X.509-SVID and a JWT-SVID. */
  async attest(request: AttestRequest, sourceIp: string | undefined): Promise<IssuedSvids> {
    await this.#o.attestLimiter.take(sourceIp ?? 'unknown');
    const settings = await this.#mesh.settings();
    const ca = await this.#mesh.ca(settings.trustDomain);
    // Check everything the caller sent before a join token is spent on it.
    await readCsrKey(request.csr);
    const { type, ...proof } = request.attestation;
    const attestor = this.#attestorsFor(settings.trustDomain).get(type);
    if (!attestor)
      throw new UnauthenticatedError(`${type} attestation is not configured on this control plane`);
    let result: AttestationResult;
    try {
      result = await attestor.attest(proof, settings.rules);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const issues = error.issues.map((i) => ({
        ...i,
        pointer: i.pointer.replace(/^\/proof/, '/attestation'),
      }));
      throw new ValidationError(error.message, issues, { cause: error });
    }
    const audience = request.audience ?? gatewaysAudience(settings.trustDomain);
    const [x509Svid, jwtSvid] = await Promise.all([
      this.#issueX509(settings, ca, result.spiffeId, request.csr),
      this.#issueJwt(settings, ca, result.spiffeId, audience),
    ]);
    const { json: bundle } = await this.#mesh.bundle(ca);
    return { spiffeId: result.spiffeId, x509Svid, jwtSvid, bundle, selectors: result.selectors };
  }

  /** Renews an X.509-SVID for the SPIFFE ID of the current one, proven by `request.proof`. */
  async renewX509(request: RenewX509Request, sourceIp: string | undefined): Promise<IssuedSvids> {
    await this.#o.svidLimiter.take(sourceIp ?? 'unknown');
    const settings = await this.#mesh.settings();
    const ca = await this.#mesh.ca(settings.trustDomain);
    const spiffeId = await this.#verifyProof(settings, ca, request.proof, RENEW_PROOF_AUDIENCE, {
      csr_sha256: csrSha256(request.csr),
    });
    const x509Svid = await this.#issueX509(settings, ca, spiffeId, request.csr);
    const { json: bundle } = await this.#mesh.bundle(ca);
    return { spiffeId, x509Svid, bundle, selectors: [`x509_svid:${spiffeId}`] };
  }

  /** Issues a JWT-SVID for the SPIFFE ID of the current X.509-SVID, proven by `request.proof`. */
  async issueJwt(request: JwtSvidRequest, sourceIp: string | undefined): Promise<AudiencedJwtSvid> {
    await this.#o.svidLimiter.take(sourceIp ?? 'unknown');
    const settings = await this.#mesh.settings();
    const ca = await this.#mesh.ca(settings.trustDomain);
    const audience = request.audience ?? gatewaysAudience(settings.trustDomain);
    const spiffeId = await this.#verifyProof(settings, ca, request.proof, JWT_PROOF_AUDIENCE, { audience });
    return this.#issueJwt(settings, ca, spiffeId, audience);
  }

  /**
   * Federated: a CSR for this cloud's next intermediate, of a key made now
   * in its key ring, or of the one still waiting for its certificate.
   *
   * @throws MeshStateError without a Mesh, or when the CA holds its own root.
   */
  async intermediateCsr(): Promise<{ provider: Provider; csr: string }> {
    const ca = await this.#federatedCa('CSRs are');
    return { provider: this.provider, csr: await ca.intermediateCsr(this.provider) };
  }

  /**
   * Federated: installs this cloud's intermediate, signed by the mesh root
   * from its CSR. It issues from now on; the old one stays trusted until it
   * expires. Then the snapshots are compiled again (`onAuthorityChanged`).
   *
   * @throws ValidationError on `/certificate` when it is not the root's, no CA, or not for the pending key.
   */
  async installIntermediate(request: IntermediateInstallRequest): Promise<InstalledIntermediate> {
    const ca = await this.#federatedCa('installed intermediates are');
    const { provider } = this;
    try {
      await ca.installIntermediate(provider, request.certificate);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const issues = [{ pointer: '/certificate', detail: error.message }];
      throw new ValidationError(`certificate refused: ${error.message}`, issues, { cause: error });
    }
    const { certificate } = await ca.issuer(provider);
    const installed = { provider, notAfter: certificate.notAfter, sequence: ca.bundleSequence };
    try {
      await this.#o.onAuthorityChanged();
      return installed;
    } catch (recompileError) {
      return { ...installed, recompileError };
    }
  }

  /** The Mesh's CA, if federated, with what other instances saved (a pending key made elsewhere). */
  async #federatedCa(what: string): Promise<MeshCa> {
    const ca = await this.#mesh.ca((await this.#mesh.settings()).trustDomain);
    if (ca.holdsRoot)
      throw new MeshStateError(`this CA makes its own intermediates; ${what} for a federated mesh`);
    await ca.reload();
    return ca;
  }

  async #verifyProof(
    settings: MeshIdentitySettings,
    ca: MeshCa,
    proof: string,
    purpose: SvidProofAudience,
    claims: Record<string, string>,
  ): Promise<string> {
    const { parsed } = await this.#mesh.bundle(ca);
    const verified = await verifySvidProof(proof, {
      bundle: parsed,
      trustDomain: settings.trustDomain,
      audience: purpose,
      claims,
      now: new Date(this.#o.now()),
    });
    if (!isMeshIdentity(verified.spiffeId))
      throw new UnauthenticatedError('the SVID is not a Gateway or Service');
    // A proof works once: a captured one cannot mint more credentials while it is fresh. Keyed on
    // what was signed, not the signature: an ECDSA signature (r, s) has a twin (r, n - s) that verifies too.
    const signed = proof.slice(0, proof.lastIndexOf('.'));
    const hash = createHash('sha256').update(signed).digest('base64url');
    const until = verified.issuedAt * 1000 + SVID_PROOF_MAX_SKEW_MS + 60_000;
    if (!(await this.#o.replayCache.claim(`svid_proof:${hash}`, until))) {
      throw new UnauthenticatedError('SVID proof refused: it was already used; sign a new one');
    }
    return verified.spiffeId;
  }

  #issueX509(
    settings: MeshIdentitySettings,
    ca: MeshCa,
    spiffeId: string,
    csrPem: string,
  ): Promise<X509Svid> {
    const now = new Date(this.#o.now());
    return issueX509Svid(ca, {
      csrPem,
      spiffeId,
      provider: this.#o.provider,
      ttlMs: settings.x509SvidTtlMs,
      now,
    });
  }

  async #issueJwt(
    settings: MeshIdentitySettings,
    ca: MeshCa,
    spiffeId: string,
    audience: string,
  ): Promise<AudiencedJwtSvid> {
    const now = new Date(this.#o.now());
    const ttlMs = settings.jwtSvidTtlMs;
    const jwt = await issueJwtSvid(ca, { spiffeId, audience, provider: this.#o.provider, ttlMs, now });
    return { ...jwt, audience };
  }

  #attestorsFor(trustDomain: string): ReadonlyMap<string, Attestor> {
    let attestors = this.#attestors.get(trustDomain);
    if (!attestors) {
      attestors = new Map(this.#o.attestors(trustDomain).map((a) => [a.method, a]));
      this.#attestors.set(trustDomain, attestors);
    }
    return attestors;
  }
}

/** @throws ValidationError on `/spiffeId` unless `id` is a Gateway or Service SPIFFE ID in `trustDomain`. */
function requireMeshIdentity(id: string, trustDomain: string, what: string): void {
  if (isMeshIdentity(id) && parseSpiffeId(id)?.trustDomain === trustDomain) return;
  throw new ValidationError(`${what} names a Gateway or Service SPIFFE ID in ${trustDomain}`, [
    { pointer: '/spiffeId', detail: `must be spiffe://${trustDomain}/gw/<env>/<gw> or /ns/<ns>/svc/<svc>` },
  ]);
}
