/**
 * What the identity endpoints need from the stored Mesh: its trust domain,
 * attestation rules and credential TTLs, and the CA of that trust domain,
 * opened once and kept. A CA belongs to one trust domain for life, so when
 * the Mesh's trust domain changes under a running control plane, issuing
 * stops with a clear problem rather than minting SVIDs nobody trusts.
 *
 * @module
 */
import type { AttestationRules } from '../model/attestation-rules.js';
import { parseDuration } from '../model/duration.js';
import { ConflictError, ValidationError } from '../model/errors.js';
import type { MeshSpec } from '../model/specs.js';
import type { StateStore } from '../storage/state-store.js';
import { buildBundle, type ParsedBundle, parseBundle, type SpiffeBundle } from './bundle.js';
import type { MeshCa } from './ca.js';
import { JWT_SVID_MAX_TTL_MS } from './jwt-svid.js';
import { X509_SVID_MAX_TTL_MS } from './x509-svid.js';

/** The Mesh every identity endpoint reads: `/v1/meshes/default`. */
export const IDENTITY_MESH = { kind: 'Mesh', namespace: '', name: 'default' } as const;
/** How long a built bundle is served before it is rebuilt (expired keys drop out then). */
const BUNDLE_CACHE_MS = 30_000;

/** The stored state does not allow issuing: no Mesh, join tokens off, or a trust domain the CA is not for. */
export class MeshStateError extends ConflictError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, undefined, options);
    this.name = 'MeshStateError';
  }
}

/** The identity settings of the stored Mesh, defaults applied. */
export interface MeshIdentitySettings {
  readonly trustDomain: string;
  readonly rules: AttestationRules;
  readonly x509SvidTtlMs: number;
  readonly jwtSvidTtlMs: number;
}

const clamp = (ms: number, min: number, max: number) => Math.min(Math.max(ms, min), max);

/** Reads the Mesh, and opens and caches the CA of its trust domain. */
export class MeshIdentity {
  readonly #store: StateStore;
  readonly #openCa: (trustDomain: string) => Promise<MeshCa>;
  #ca: { trustDomain: string; ca: Promise<MeshCa> } | undefined;
  #bundle:
    | { ca: MeshCa; sequence: number; builtAt: number; json: SpiffeBundle; parsed: ParsedBundle }
    | undefined;

  constructor(store: StateStore, openCa: (trustDomain: string) => Promise<MeshCa>) {
    this.#store = store;
    this.#openCa = openCa;
  }

  /**
   * The Mesh's identity settings. TTLs outside what the CA issues (X.509 1 min
   * to 24 h, JWT 10 s to 1 h) are clamped into that range.
   *
   * @throws MeshStateError when there is no Mesh `default`.
   */
  async settings(): Promise<MeshIdentitySettings> {
    const record = await this.#store.get(IDENTITY_MESH);
    if (!record?.resource) {
      throw new MeshStateError(
        'there is no Mesh: apply one named "default" (PUT /v1/meshes/default) with spec.trustDomain and spec.attestation',
      );
    }
    const spec = record.resource.spec as MeshSpec;
    const ttl = (text: string | undefined, fallback: string) => parseDuration(text ?? fallback);
    return {
      trustDomain: spec.trustDomain,
      rules: spec.attestation ?? {},
      x509SvidTtlMs: clamp(ttl(spec.credentials?.x509SvidTtl, '1h'), 60_000, X509_SVID_MAX_TTL_MS),
      jwtSvidTtlMs: clamp(ttl(spec.credentials?.jwtSvidTtl, '5m'), 10_000, JWT_SVID_MAX_TTL_MS),
    };
  }

  /**
   * The CA of `trustDomain`, created on first use.
   *
   * @throws MeshStateError when the CA on record belongs to another trust domain.
   */
  async ca(trustDomain: string): Promise<MeshCa> {
    if (this.#ca?.trustDomain !== trustDomain) {
      const opening = this.#openCa(trustDomain).catch((error: unknown) => {
        if (this.#ca?.ca === opening) this.#ca = undefined;
        if (!(error instanceof ValidationError)) throw error;
        throw new MeshStateError(
          `the Mesh's trust domain is ${trustDomain}, but ${error.message}. A CA serves one trust domain for ` +
            'life: put the old trustDomain back, or move the CA state and keys aside and restart (every agent must then attest again)',
          { cause: error },
        );
      });
      this.#ca = { trustDomain, ca: opening };
    }
    return this.#ca.ca;
  }

  /** The trust bundle of `ca`, rebuilt when its sequence moves or every 30 s. */
  async bundle(ca: MeshCa): Promise<{ json: SpiffeBundle; parsed: ParsedBundle }> {
    const now = Date.now();
    const cached = this.#bundle;
    if (cached?.ca === ca && cached.sequence === ca.sequence && now - cached.builtAt < BUNDLE_CACHE_MS) {
      return cached;
    }
    const json = await buildBundle(ca);
    this.#bundle = { ca, sequence: json.spiffe_sequence, builtAt: now, json, parsed: parseBundle(json) };
    return this.#bundle;
  }
}
