/**
 * The `CaStore` port: where the mesh CA keeps its public state (certificates,
 * JWT key ids, bundle sequence). Private keys never pass through it; they
 * stay behind the {@link KeyRing} and are named here only by key id.
 *
 * @module
 */
import type { webcrypto } from 'node:crypto';
import { ConflictError } from '../model/errors.js';
import type { Provider } from '../model/specs.js';

/** One X.509 CA: the root or a provider's intermediate. */
export interface CaCertificateRecord {
  /**
   * Key ring id of the private key. Absent only for a root held offline
   * (a federated mesh: the operator keeps the root key, never a control plane).
   */
  readonly keyId?: string;
  /** `undefined` for the root. */
  readonly provider?: Provider;
  readonly certPem: string;
  /** RFC 3339. */
  readonly notAfter: string;
}

/** One JWT-SVID signing key of a provider. */
export interface JwtKeyRecord {
  readonly keyId: string;
  readonly provider: Provider;
  /** RFC 7638 thumbprint of the public key, used as the JWS `kid`. */
  readonly kid: string;
  readonly publicJwk: webcrypto.JsonWebKey;
  readonly notAfter: string;
  /** RFC 3339; until then the key is in the bundle but does not sign. Absent: active at once. */
  readonly activatesAt?: string;
}

/**
 * Everything the CA persists. Within one provider, the last intermediate and
 * the last JWT key in their lists are the active ones; earlier ones stay
 * trusted until they expire.
 */
export interface CaState {
  readonly version: 1;
  readonly trustDomain: string;
  /** The bundle's `spiffe_sequence`; bumps on every change. */
  readonly sequence: number;
  readonly root: CaCertificateRecord;
  readonly intermediates: readonly CaCertificateRecord[];
  readonly jwtKeys: readonly JwtKeyRecord[];
  /**
   * How many times this CA's own authorities changed (its share of the
   * bundle's sequence). @default `sequence` (a CA from before federation)
   */
  readonly authoritySequence?: number;
  /** Other clouds' authorities, from their verified statements (`authority-statement.ts`). */
  readonly peers?: readonly PeerAuthority[];
  /** Federated: intermediate keys made for a CSR, waiting for their certificate. */
  readonly pending?: readonly { readonly provider: Provider; readonly keyId: string }[];
}

/** One other cloud's published authorities, as its last verified statement said. */
export interface PeerAuthority {
  readonly provider: Provider;
  /** Its own authority sequence: a statement with a greater one replaces this. */
  readonly sequence: number;
  readonly intermediates: readonly { readonly certPem: string; readonly notAfter: string }[];
  readonly jwtKeys: readonly Omit<JwtKeyRecord, 'keyId'>[];
  /** The statement itself (compact JWS), passed on as received. */
  readonly statement: string;
}

/** Loads and compare-and-sets the {@link CaState}. */
export interface CaStore {
  /** The stored state, or `undefined` before the first start. */
  load(): Promise<CaState | undefined>;
  /**
   * Stores `state` if the stored sequence is still `expectedSequence`
   * (`null`: nothing stored yet).
   *
   * @throws ConflictError when another writer got there first.
   */
  save(state: CaState, expectedSequence: number | null): Promise<void>;
}

/** The in-memory {@link CaStore}, for tests. */
export class MemoryCaStore implements CaStore {
  #state: CaState | undefined;

  async load(): Promise<CaState | undefined> {
    return this.#state && structuredClone(this.#state);
  }

  async save(state: CaState, expectedSequence: number | null): Promise<void> {
    checkSequence(this.#state, expectedSequence);
    this.#state = structuredClone(state);
  }
}

/** Shared compare-and-set rule of the {@link CaStore} implementations. */
export function checkSequence(current: CaState | undefined, expectedSequence: number | null): void {
  const actual = current?.sequence ?? null;
  if (actual !== expectedSequence) {
    throw new ConflictError(
      `CA state changed underneath (expected sequence ${expectedSequence}, found ${actual})`,
      actual === null ? undefined : String(actual),
    );
  }
}
