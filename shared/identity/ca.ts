/**
 * The mesh CA: one self-signed root (10 years), and per provider one
 * intermediate (1 year) that issues X.509-SVIDs and one key that signs
 * JWT-SVIDs. Created on first start, persisted through a {@link CaStore}
 * and a {@link KeyRing}. Rotation adds a new key and keeps the old ones
 * trusted until they expire, so nothing already issued breaks.
 *
 * @module
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { ValidationError, WeftError } from '../model/errors.js';
import { PROVIDERS, type Provider } from '../model/specs.js';
import { signAuthorityStatement, verifyAuthorityStatement } from './authority-statement.js';
import { createIntermediateCertificate, createRootCertificate } from './ca-certificates.js';
import type { CaState, CaStore, JwtKeyRecord, PeerAuthority } from './ca-store.js';
import { checkIntermediate, createIntermediateCsr } from './intermediate-csr.js';
import type { KeyRing, Signer } from './signer.js';
import { toPem, x509 } from './x509.js';

const YEAR_MS = 365 * 86_400_000;

/** How {@link MeshCa.open} finds and shapes the CA. */
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
  /**
   * A federated mesh: the root's certificate, its key held offline by the
   * operator (`weft ca init`). The CA then signs no intermediate itself; each
   * comes from a CSR of a key this CA holds ({@link MeshCa.intermediateCsr}),
   * signed with the root elsewhere (`weft ca sign`), and is installed with
   * {@link MeshCa.installIntermediate}. @default none: the CA makes and keeps its own root
   */
  readonly root?: { readonly certPem: string };
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

async function certificateJwk(cert: x509.X509Certificate): Promise<webcrypto.JsonWebKey> {
  return webcrypto.subtle.exportKey('jwk', await cert.publicKey.export());
}

const keyId = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`;
const unexpired = (now: Date) => (r: { notAfter: string }) => Date.parse(r.notAfter) > now.getTime();
const lastOf = <T extends { provider?: Provider }>(list: readonly T[], p: Provider) =>
  list.findLast((r) => r.provider === p);
type Dated = { notAfter: string; provider?: Provider; certPem?: string; kid?: string };
/** Oldest first by expiry, then by provider and content: the same order in every cloud. */
const byAge = (a: Dated, b: Dated) =>
  a.notAfter.localeCompare(b.notAfter) ||
  (a.provider ?? '').localeCompare(b.provider ?? '') ||
  (a.certPem ?? a.kid ?? '').localeCompare(b.certPem ?? b.kid ?? '');

/** The mesh certificate authority. Open with {@link MeshCa.open}. */
export class MeshCa {
  readonly #options: MeshCaOptions;
  #state: CaState;
  readonly #certs = new Map<string, x509.X509Certificate>();
  /** Key ids whose key ring key was checked against the public key on record. */
  readonly #checked = new Set<string>();

  private constructor(options: MeshCaOptions, state: CaState) {
    this.#options = options;
    this.#state = state;
  }

  /**
   * Loads the CA, creating what is missing (root, a provider's intermediate
   * or JWT key) on first start.
   *
   * @throws ValidationError when the stored CA belongs to another trust domain.
   * @throws WeftError `ERR_INTERNAL` when a key in the key ring is not the one on record.
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
      // Federated: the root's certificate only (its key stays with the operator). Else a root of its own.
      let root: CaState['root'];
      if (options.root) {
        const cert = new x509.X509Certificate(options.root.certPem);
        root = { certPem: toPem(cert), notAfter: cert.notAfter.toISOString() };
      } else {
        const signer = await options.keys.open(keyId('root'));
        const ttlMs = options.rootTtlMs ?? 10 * YEAR_MS;
        const cert = await createRootCertificate({ trustDomain: options.trustDomain, signer, now, ttlMs });
        root = { keyId: signer.keyId, certPem: toPem(cert), notAfter: cert.notAfter.toISOString() };
      }
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
      // Without the root key an intermediate is installed, never made here.
      const x509 = !lastOf(ca.#state.intermediates, provider) && ca.holdsRoot;
      const jwt = !lastOf(ca.#state.jwtKeys, provider);
      if (x509 || jwt) await ca.#rotate(provider, { x509, jwt });
    }
    if (ca.#state !== stored) await options.store.save(ca.#state, stored?.sequence ?? null);
    // Fail at start-up, not at the first issuance, when the key ring lost a key.
    const root = ca.root;
    const rootKey = ca.#state.root.keyId;
    if (rootKey) await ca.#openChecked(rootKey, () => certificateJwk(root));
    for (const provider of ca.providers) {
      await ca.jwtSigningKey(provider);
      if (lastOf(ca.#state.intermediates, provider)) await ca.issuer(provider);
    }
    return ca;
  }

  get trustDomain(): string {
    return this.#state.trustDomain;
  }

  /** Providers this CA was opened for. */
  get providers(): readonly Provider[] {
    return this.#options.providers ?? PROVIDERS;
  }

  /** Lifetime of new intermediates and JWT keys. */
  get intermediateTtlMs(): number {
    return this.#options.intermediateTtlMs ?? YEAR_MS;
  }

  /** Bumps on every change of the CA's state (its compare-and-set counter). */
  get sequence(): number {
    return this.#state.sequence;
  }

  /**
   * The bundle's `spiffe_sequence`: this CA's own authority changes plus each
   * peer's, so every cloud that knows the same authorities says the same number.
   */
  get bundleSequence(): number {
    const own = this.#state.authoritySequence ?? this.#state.sequence;
    return own + (this.#state.peers ?? []).reduce((sum, p) => sum + p.sequence, 0);
  }

  /** This CA's own share of {@link bundleSequence}: what its authority statements carry. */
  get authoritySequence(): number {
    return this.#state.authoritySequence ?? this.#state.sequence;
  }

  /** Whether this CA holds the root key (and so makes its own intermediates). */
  get holdsRoot(): boolean {
    return this.#state.root.keyId !== undefined;
  }

  /** Other clouds' authorities this CA trusts, as their statements said. */
  get peers(): readonly PeerAuthority[] {
    return this.#state.peers ?? [];
  }

  get root(): x509.X509Certificate {
    return this.#cert(this.#state.root.certPem);
  }

  /** Root first, then every unexpired intermediate, this CA's and its peers', oldest first. */
  x509Authorities(now = this.now()): x509.X509Certificate[] {
    const peers = this.peers.flatMap((p) => p.intermediates.map((i) => ({ ...i, provider: p.provider })));
    const intermediates = [...this.#state.intermediates, ...peers].filter(unexpired(now)).sort(byAge);
    return [this.#state.root, ...intermediates].map((r) => this.#cert(r.certPem));
  }

  /** Every unexpired JWT-SVID key, this CA's and its peers', oldest first. */
  jwtAuthorities(now = this.now()): readonly Omit<JwtKeyRecord, 'keyId'>[] {
    const peers = this.peers.flatMap((p) => p.jwtKeys);
    return [...this.#state.jwtKeys, ...peers].filter(unexpired(now)).sort(byAge);
  }

  /**
   * The intermediate that issues `provider`'s X.509-SVIDs now.
   *
   * @throws ValidationError when a federated CA has none installed yet.
   */
  async issuer(provider: Provider): Promise<IssuingCa> {
    const installed = lastOf(this.#state.intermediates, provider);
    if (!installed && !this.holdsRoot && this.providers.includes(provider))
      throw new ValidationError(
        `no ${provider} intermediate is installed yet: sign this CA's CSR with the mesh root (weft ca sign) and install it (weft ca install)`,
      );
    const record = this.#require(installed, provider);
    const certificate = this.#cert(record.certPem);
    return {
      provider,
      certificate,
      certPem: record.certPem,
      signer: await this.#openChecked(record.keyId!, () => certificateJwk(certificate)),
    };
  }

  /** The key that signs `provider`'s JWT-SVIDs now. */
  async jwtSigningKey(provider: Provider): Promise<JwtSigningKey> {
    const now = this.now().getTime();
    const active = this.#state.jwtKeys.filter((k) => !k.activatesAt || Date.parse(k.activatesAt) <= now);
    const record = this.#require(lastOf(active, provider), provider);
    const signer = await this.#openChecked(record.keyId, async () => record.publicJwk);
    return { provider, kid: record.kid, notAfter: new Date(record.notAfter), signer };
  }

  /** A JWT key of `provider` published in the bundle but not yet signing, if any. */
  pendingJwtKey(provider: Provider): JwtKeyRecord | undefined {
    const now = this.now().getTime();
    return this.#state.jwtKeys.findLast(
      (k) => k.provider === provider && k.activatesAt !== undefined && Date.parse(k.activatesAt) > now,
    );
  }

  /** New intermediate key and certificate for `provider`; the old stay trusted until they expire. */
  async rotateIntermediate(provider: Provider): Promise<void> {
    await this.#commit(() => this.#rotate(provider, { x509: true, jwt: false }));
  }

  /**
   * New JWT-SVID key for `provider`; the old one stays in the bundle until it
   * expires. With `activateInMs`, the new key is published first and signs
   * only after that delay, so verifiers holding a cached bundle already know
   * its `kid` (SPIRE's prepared key).
   */
  async rotateJwtKey(provider: Provider, options: { activateInMs?: number } = {}): Promise<void> {
    const activateInMs = options.activateInMs ?? 0;
    await this.#commit(() => this.#rotate(provider, { x509: false, jwt: true, activateInMs }));
  }

  /**
   * Federated: a CSR for a new `provider` intermediate, of a key made now in
   * this CA's key ring (kept pending until its certificate is installed).
   * Asking again before installing makes no new key: the CSR is the same key's.
   */
  async intermediateCsr(provider: Provider): Promise<string> {
    let pending = this.#state.pending?.find((p) => p.provider === provider);
    if (!pending) {
      const signer = await this.#options.keys.open(keyId(`${provider}-x509`));
      pending = { provider, keyId: signer.keyId };
      const next = { provider, keyId: signer.keyId };
      await this.#commit(async () => {
        this.#state = {
          ...this.#state,
          sequence: this.#state.sequence + 1,
          pending: [...(this.#state.pending ?? []), next],
        };
      });
    }
    const signer = await this.#options.keys.open(pending.keyId);
    return createIntermediateCsr({ signer, provider, trustDomain: this.trustDomain });
  }

  /**
   * Federated: installs `provider`'s intermediate, signed by the mesh root
   * from this CA's CSR. It becomes the issuing one; earlier ones stay
   * trusted until they expire, so a rotation has no gap.
   *
   * @throws ValidationError when it is not signed by this mesh's root, or not for the pending key.
   */
  async installIntermediate(provider: Provider, certPem: string): Promise<void> {
    const pending = this.#state.pending?.find((p) => p.provider === provider);
    if (!pending) throw new ValidationError(`no ${provider} intermediate was asked for: make its CSR first`);
    const key = await this.#options.keys.open(pending.keyId);
    const cert = await checkIntermediate({ certPem, root: this.root, key, now: this.now() });
    const record = {
      keyId: pending.keyId,
      provider,
      certPem: toPem(cert),
      notAfter: cert.notAfter.toISOString(),
    };
    await this.#commit(async () => {
      this.#state = {
        ...this.#state,
        sequence: this.#state.sequence + 1,
        authoritySequence: this.authoritySequence + 1,
        intermediates: [...this.#state.intermediates.filter(unexpired(this.now())), record],
        pending: (this.#state.pending ?? []).filter((p) => p !== pending),
      };
    });
  }

  /**
   * This CA's authority statement for its peers (`authority-statement.ts`):
   * its own unexpired intermediates and JWT keys, signed by `provider`'s
   * issuing intermediate.
   */
  async authorityStatement(provider: Provider): Promise<string> {
    const now = this.now();
    const issuer = await this.issuer(provider);
    return signAuthorityStatement(
      {
        iss: provider,
        trustDomain: this.trustDomain,
        sequence: this.authoritySequence,
        iat: Math.floor(now.getTime() / 1000),
        intermediates: this.#state.intermediates
          .filter(unexpired(now))
          .map(({ certPem, notAfter }) => ({ certPem, notAfter })),
        jwtKeys: this.#state.jwtKeys.filter(unexpired(now)).map(({ keyId: _, ...k }) => k),
      },
      issuer,
    );
  }

  /**
   * Trusts a peer cloud's authorities, from its verified statement. A
   * statement no newer than the one held (by its sequence) changes nothing.
   *
   * @returns whether the peer's authorities changed.
   * @throws ValidationError when the statement does not verify against this mesh's root.
   */
  async addPeerStatement(jws: string): Promise<boolean> {
    const peer = await verifyAuthorityStatement(jws, this.root, {
      trustDomain: this.trustDomain,
      now: this.now(),
    });
    if (this.providers.includes(peer.provider))
      throw new ValidationError(`authority statement refused: ${peer.provider} is this CA's own`);
    const held = this.peers.find((p) => p.provider === peer.provider);
    if (held && held.sequence >= peer.sequence) return false;
    await this.#commit(async () => {
      this.#state = {
        ...this.#state,
        sequence: this.#state.sequence + 1,
        peers: [...this.peers.filter((p) => p.provider !== peer.provider), peer],
      };
    });
    return true;
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

  async #rotate(
    provider: Provider,
    what: { x509: boolean; jwt: boolean; activateInMs?: number },
  ): Promise<void> {
    const now = this.now();
    const ttlMs = this.#options.intermediateTtlMs ?? YEAR_MS;
    const trustDomain = this.trustDomain;
    let { intermediates, jwtKeys } = this.#state;
    if (what.x509) {
      const rootKey = this.#state.root.keyId;
      if (!rootKey) throw new TypeError('a federated CA installs intermediates; it cannot sign one');
      const signer = await this.#options.keys.open(keyId(`${provider}-x509`));
      const root = this.root;
      const issuer = {
        certificate: root,
        signer: await this.#openChecked(rootKey, () => certificateJwk(root)),
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
      const activatesAt = what.activateInMs
        ? new Date(now.getTime() + what.activateInMs).toISOString()
        : undefined;
      const record: JwtKeyRecord = { keyId: signer.keyId, provider, kid, publicJwk, notAfter };
      jwtKeys = [...jwtKeys.filter(unexpired(now)), activatesAt ? { ...record, activatesAt } : record];
    }
    this.#state = {
      ...this.#state,
      sequence: this.#state.sequence + 1,
      authoritySequence: this.authoritySequence + 1,
      intermediates,
      jwtKeys,
    };
  }

  /**
   * Opens a key ring key and checks it is the key on record: a key ring that
   * lost a key would otherwise hand out a fresh one, and sign certificates
   * that chain to nothing.
   */
  async #openChecked(id: string, expected: () => Promise<webcrypto.JsonWebKey>): Promise<Signer> {
    const signer = await this.#options.keys.open(id);
    if (!this.#checked.has(id)) {
      const [actual, want] = await Promise.all([signer.publicKeyJwk(), expected()]);
      if (actual.x !== want.x || actual.y !== want.y) {
        throw new WeftError(
          'ERR_INTERNAL',
          500,
          `key ${id} does not match the CA state; was the key store lost?`,
        );
      }
      this.#checked.add(id);
    }
    return signer;
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

  /** The CA's clock (`MeshCaOptions.now`). */
  now(): Date {
    return (this.#options.now ?? (() => new Date()))();
  }
}
