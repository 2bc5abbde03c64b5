/**
 * The mesh CA: one self-signed root (10 years), and per provider one
 * intermediate (1 year) that issues X.509-SVIDs and one key that signs
 * JWT-SVIDs. Created on first start, persisted through a {@link CaStore}
 * and a {@link KeyRing}. Rotation adds a new key and keeps the old ones
 * trusted until they expire, so nothing already issued breaks.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { ValidationError } from '../model/errors.js';
import { PROVIDERS, type Provider } from '../model/specs.js';
import { createIntermediateCertificate, createRootCertificate } from './ca-certificates.js';
import type { CaState, CaStore, JwtKeyRecord } from './ca-store.js';
import type { KeyRing, Signer } from './signer.js';
import { toPem, x509 } from './x509.js';

const YEAR_MS = 365 * 86_400_000;

export interface MeshCaOptions {
  readonly trustDomain: string;
  readonly store: CaStore;
  readonly keys: KeyRing;
  /** Providers that get an intermediate and a JWT key. @default all five */
  readonly providers?: readonly Provider[];
  /** @default 10 years */
  readonly rootTtlMs?: number;
  /** Lifetime of intermediates and JWT-SVID keys. @default 1 year */
  readonly intermediateTtlMs?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** A provider's active X.509 issuer. */
export interface IssuingCa {
  readonly provider: Provider;
  readonly certificate: x509.X509Certificate;
  readonly certPem: string;
  readonly signer: Signer;
}

/** A provider's active JWT-SVID key. */
export interface JwtSigningKey {
  readonly provider: Provider;
  readonly kid: string;
  readonly notAfter: Date;
  readonly signer: Signer;
}

const keyId = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`;
const unexpired = (now: Date) => (r: { notAfter: string }) => Date.parse(r.notAfter) > now.getTime();
const lastOf = <T extends { provider?: Provider }>(list: readonly T[], p: Provider) =>
  list.findLast((r) => r.provider === p);

/** The mesh certificate authority. Open with {@link MeshCa.open}. */
export class MeshCa {
  readonly #options: MeshCaOptions;
  #state: CaState;
  readonly #certs = new Map<string, x509.X509Certificate>();

  private constructor(options: MeshCaOptions, state: CaState) {
    this.#options = options;
    this.#state = state;
  }

  /**
   * Loads the CA, creating what is missing (root, a provider's intermediate
   * or JWT key) on first start.
   *
   * @throws ValidationError when the stored CA belongs to another trust domain.
   */
  static async open(options: MeshCaOptions): Promise<MeshCa> {
    const stored = await options.store.load();
    if (stored && stored.trustDomain !== options.trustDomain) {
      throw new ValidationError(
        `the CA in the store is for trust domain ${stored.trustDomain}, not ${options.trustDomain}`,
      );
    }
    const now = (options.now ?? (() => new Date()))();
    let state = stored;
    if (!state) {
      const signer = await options.keys.open(keyId('root'));
      const ttlMs = options.rootTtlMs ?? 10 * YEAR_MS;
      const cert = await createRootCertificate({ trustDomain: options.trustDomain, signer, now, ttlMs });
      const root = { keyId: signer.keyId, certPem: toPem(cert), notAfter: cert.notAfter.toISOString() };
      state = {
        version: 1,
        trustDomain: options.trustDomain,
        sequence: 0,
        root,
        intermediates: [],
        jwtKeys: [],
      };
    }
    const ca = new MeshCa(options, state);
    for (const provider of options.providers ?? PROVIDERS) {
      const x509 = !lastOf(ca.#state.intermediates, provider);
      const jwt = !lastOf(ca.#state.jwtKeys, provider);
      if (x509 || jwt) await ca.#rotate(provider, { x509, jwt });
    }
    if (ca.#state !== stored) await options.store.save(ca.#state, stored?.sequence ?? null);
    return ca;
  }

  get trustDomain(): string {
    return this.#state.trustDomain;
  }

  /** Bumps whenever keys are added; the bundle's `spiffe_sequence`. */
  get sequence(): number {
    return this.#state.sequence;
  }

  get root(): x509.X509Certificate {
    return this.#cert(this.#state.root.certPem);
  }

  /** Root first, then every unexpired intermediate, oldest first. */
  x509Authorities(now = this.#now()): x509.X509Certificate[] {
    return [this.#state.root, ...this.#state.intermediates.filter(unexpired(now))].map((r) =>
      this.#cert(r.certPem),
    );
  }

  /** Every unexpired JWT-SVID key, oldest first. */
  jwtAuthorities(now = this.#now()): readonly JwtKeyRecord[] {
    return this.#state.jwtKeys.filter(unexpired(now));
  }

  /** The intermediate that issues `provider`'s X.509-SVIDs now. */
  async issuer(provider: Provider): Promise<IssuingCa> {
    const record = this.#require(lastOf(this.#state.intermediates, provider), provider);
    const certificate = this.#cert(record.certPem);
    return {
      provider,
      certificate,
      certPem: record.certPem,
      signer: await this.#options.keys.open(record.keyId),
    };
  }

  /** The key that signs `provider`'s JWT-SVIDs now. */
  async jwtSigningKey(provider: Provider): Promise<JwtSigningKey> {
    const record = this.#require(lastOf(this.#state.jwtKeys, provider), provider);
    const signer = await this.#options.keys.open(record.keyId);
    return { provider, kid: record.kid, notAfter: new Date(record.notAfter), signer };
  }

  /** New intermediate key and certificate for `provider`; the old stay trusted until they expire. */
  async rotateIntermediate(provider: Provider): Promise<void> {
    await this.#commit(() => this.#rotate(provider, { x509: true, jwt: false }));
  }

  /** New JWT-SVID key for `provider`; the old one stays in the bundle until it expires. */
  async rotateJwtKey(provider: Provider): Promise<void> {
    await this.#commit(() => this.#rotate(provider, { x509: false, jwt: true }));
  }

  /** Picks up changes another instance saved. */
  async reload(): Promise<void> {
    this.#state = (await this.#options.store.load()) ?? this.#state;
  }

  async #commit(change: () => Promise<void>): Promise<void> {
    const before = this.#state;
    await change();
    try {
      await this.#options.store.save(this.#state, before.sequence);
    } catch (error) {
      this.#state = before;
      throw error;
    }
  }

  async #rotate(provider: Provider, what: { x509: boolean; jwt: boolean }): Promise<void> {
    const now = this.#now();
    const ttlMs = this.#options.intermediateTtlMs ?? YEAR_MS;
    const trustDomain = this.trustDomain;
    let { intermediates, jwtKeys } = this.#state;
    if (what.x509) {
      const signer = await this.#options.keys.open(keyId(`${provider}-x509`));
      const issuer = {
        certificate: this.root,
        signer: await this.#options.keys.open(this.#state.root.keyId),
      };
      const cert = await createIntermediateCertificate({ trustDomain, signer, now, ttlMs, provider, issuer });
      const record = {
        keyId: signer.keyId,
        provider,
        certPem: toPem(cert),
        notAfter: cert.notAfter.toISOString(),
      };
      intermediates = [...intermediates.filter(unexpired(now)), record];
    }
    if (what.jwt) {
      const signer = await this.#options.keys.open(keyId(`${provider}-jwt`));
      const publicJwk = await signer.publicKeyJwk();
      const kid = await calculateJwkThumbprint(publicJwk as Parameters<typeof calculateJwkThumbprint>[0]);
      const notAfter = new Date(Math.min(now.getTime() + ttlMs, this.root.notAfter.getTime())).toISOString();
      jwtKeys = [
        ...jwtKeys.filter(unexpired(now)),
        { keyId: signer.keyId, provider, kid, publicJwk, notAfter },
      ];
    }
    this.#state = { ...this.#state, sequence: this.#state.sequence + 1, intermediates, jwtKeys };
  }

  #require<T>(record: T | undefined, provider: Provider): T {
    if (!record)
      throw new TypeError(`the CA has no keys for provider ${provider}; list it in MeshCaOptions.providers`);
    return record;
  }

  #cert(pem: string): x509.X509Certificate {
    let cert = this.#certs.get(pem);
    if (!cert) {
      cert = new x509.X509Certificate(pem);
      this.#certs.set(pem, cert);
    }
    return cert;
  }

  #now(): Date {
    return (this.#options.now ?? (() => new Date()))();
  }
}
