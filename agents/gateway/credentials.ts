/**
 * The agent's credentials while it runs: the X.509-SVID, rotated at
 * half-life with a new key each time (proven by the current one, via
 * `POST /v1/svid/x509`); the JWT-SVID it shows the control plane (audience
 * `spiffe://<td>/control-plane`), refreshed at half-life via
 * `POST /v1/svid/jwt`; and the trust bundle, which only moves to a greater
 * `spiffe_sequence`. A failed rotation is retried with capped backoff until
 * the SVID expires; only then is the agent unready, and it says that a new
 * join token is needed. Keys and tokens are never logged or sent anywhere but
 * to the control plane's SVID endpoints (the key: nowhere at all).
 *
 * @module
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { controlPlaneAudience } from '../../shared/identity/audiences.js';
import type { ParsedBundle } from '../../shared/identity/bundle.js';
import { Backoff } from '../../shared/model/backoff.js';
import type { Identity } from './bootstrap.js';
import { remedy } from './bootstrap.js';
import type { ControlPlaneApi, GatewayPath } from './control-plane-client.js';
import type { DataFiles } from './data-files.js';
import { ControlPlaneUnavailableError } from './errors.js';
import { JwtSvidCache } from './jwt-svid-cache.js';
import { type Logger, reason } from './log.js';
import type { AgentMetrics } from './metrics.js';
import { type CurrentSvid, checkRenewed, fetchJwtSvid, renewX509Svid } from './svid-renewal.js';
import { saveBundle, saveSvid } from './svid-store.js';
import { type NewerBundle, newerBundle } from './trust-bundle.js';

/** What the data plane needs for mTLS (the shape its `Credentials` takes). */
export interface CurrentCredentials {
  readonly keyPem: string;
  readonly certChainPem: readonly string[];
  readonly bundle: ParsedBundle;
  readonly spiffeId: string;
  readonly expiresAt: Date;
}

/** Options of {@link AgentCredentials}. */
export interface AgentCredentialsOptions {
  readonly client: ControlPlaneApi;
  readonly files: DataFiles;
  readonly gateway: GatewayPath;
  readonly logger: Logger;
  readonly metrics: AgentMetrics;
  /** @default Date.now; tests move it to make rotation due */
  readonly now?: () => number;
  /** Retries of a failed rotation. @default 1 s doubling to 30 s */
  readonly retry?: { readonly baseMs: number; readonly capMs: number };
}

/** The running agent's identity. Start it with {@link AgentCredentials.start}. */
export class AgentCredentials {
  readonly #o: AgentCredentialsOptions;
  readonly #now: () => number;
  readonly #backoff: Backoff;
  readonly #jwt: JwtSvidCache;
  readonly #listeners = new Set<(c: CurrentCredentials) => void>();
  #id: Identity;
  #key: KeyObject;
  #retryAt: number;
  #expiredLogged = false;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #closed = false;

  constructor(identity: Identity, options: AgentCredentialsOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#backoff = new Backoff(options.retry ?? { baseMs: 1_000, capMs: 30_000 });
    this.#id = identity;
    this.#key = createPrivateKey(identity.keyPem);
    this.#retryAt = identity.svid.renewAt.getTime();
    this.#jwt = new JwtSvidCache({
      audience: controlPlaneAudience(identity.svid.trustDomain),
      now: this.#now,
      fetch: (audience) => fetchJwtSvid(this.#o.client, this.#svid(), audience),
      onIssued: (expiresAt) => this.#o.metrics.credentialExpiry('jwt-svid', expiresAt),
    });
    options.metrics.credentialExpiry('x509-svid', identity.svid.expiresAt);
  }

  get spiffeId(): string {
    return this.#id.svid.spiffeId;
  }

  get trustDomain(): string {
    return this.#id.svid.trustDomain;
  }

  get bundle(): ParsedBundle {
    return this.#id.bundle;
  }

  current(): CurrentCredentials {
    const { keyPem, certChain, bundle, svid } = this.#id;
    return { keyPem, certChainPem: certChain, bundle, spiffeId: svid.spiffeId, expiresAt: svid.expiresAt };
  }

  /** Why the agent cannot serve with these credentials, or `undefined` when it can. */
  unready(): string | undefined {
    const { expiresAt } = this.#id.svid;
    if (this.#now() < expiresAt.getTime()) return undefined;
    return `the X.509-SVID expired at ${expiresAt.toISOString()}; ${remedy(this.trustDomain, this.#o.gateway)}`;
  }

  /** A JWT-SVID for the control plane's API (cached until half-life). */
  controlPlaneToken(): Promise<string> {
    return this.#jwt.token();
  }

  /** Drops the cached JWT-SVID: the control plane answered 401 to it. */
  invalidateControlPlaneToken(): void {
    this.#jwt.invalidate();
  }

  /** Called with the new credentials after a rotation or a bundle update. @returns unsubscribe. */
  onChange(listener: (c: CurrentCredentials) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Adopts `bundle` if its `spiffe_sequence` is greater (see `trust-bundle.ts`),
   * persists it and tells the subscribers.
   *
   * @returns whether it was adopted.
   */
  async offerBundle(bundle: unknown, source: string): Promise<boolean> {
    let newer: NewerBundle | undefined;
    try {
      newer = newerBundle(this.#id.bundle, bundle);
    } catch (error) {
      this.#o.logger.warn({ source, why: reason(error) }, 'trust bundle ignored: malformed');
      return false;
    }
    if (!newer) return false;
    await saveBundle(this.#o.files, newer.json);
    this.#id = { ...this.#id, bundle: newer.parsed, bundleJson: newer.json };
    this.#o.logger.info({ source, sequence: newer.parsed.sequence }, 'trust bundle updated');
    this.#emit();
    return true;
  }

  /** Arms the rotation timer. */
  start(): void {
    this.#arm();
  }

  /** Does whatever is due now: X.509 rotation (or its retry), the JWT-SVID refresh. */
  tick(): Promise<void> {
    this.#ticking ??= this.#tick().finally(() => {
      this.#ticking = undefined;
      this.#arm();
    });
    return this.#ticking;
  }

  /** Stops the timers; a rotation under way finishes. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#ticking;
  }

  async #tick(): Promise<void> {
    const now = this.#now();
    const expired = now >= this.#id.svid.expiresAt.getTime();
    if (expired && !this.#expiredLogged) {
      this.#expiredLogged = true;
      this.#o.logger.error({ why: this.unready() }, 'X.509-SVID expired: not renewing');
    }
    if (!expired && now >= this.#retryAt) {
      try {
        await this.rotate();
        this.#backoff.reset();
      } catch (error) {
        if (this.#closed) return; // cut short by shutdown
        const delay = (error as ControlPlaneUnavailableError).retryAfterMs ?? this.#backoff.next();
        this.#retryAt = now + delay;
        const level = error instanceof ControlPlaneUnavailableError ? 'warn' : 'error';
        this.#o.logger[level](
          { why: reason(error), retryInMs: delay },
          'X.509-SVID rotation failed; retrying',
        );
      }
    }
    if (!expired)
      await this.#jwt.refreshIfDue().catch((error: unknown) => {
        this.#o.logger.warn(
          { why: reason(error) },
          'JWT-SVID refresh failed; the current one is kept while valid',
        );
      });
  }

  /** Rotates the X.509-SVID now: a new key, a CSR, a proof by the current key. */
  async rotate(): Promise<void> {
    const renewed = await renewX509Svid(this.#o.client, this.#svid());
    await this.offerBundle(renewed.issued.bundle, 'X.509-SVID renewal');
    const svid = await checkRenewed(renewed, this.#id.bundle, this.#o.gateway, new Date(this.#now()));
    const { fresh, issued } = renewed;
    await saveSvid(this.#o.files, fresh.keyPem, issued.x509Svid.certChain);
    this.#id = { ...this.#id, keyPem: fresh.keyPem, certChain: issued.x509Svid.certChain, svid };
    this.#key = fresh.key;
    this.#retryAt = svid.renewAt.getTime();
    this.#o.metrics.credentialExpiry('x509-svid', svid.expiresAt);
    this.#o.logger.info({ spiffeId: svid.spiffeId, expiresAt: svid.expiresAt }, 'X.509-SVID rotated');
    this.#emit();
  }

  #svid(): CurrentSvid {
    return { key: this.#key, certChain: this.#id.certChain };
  }

  #arm(): void {
    clearTimeout(this.#timer);
    if (this.#closed || this.#expiredLogged) return;
    // Expiry is a due time too: the agent says it needs a join token when it happens, not later.
    const due = Math.min(this.#retryAt, this.#jwt.refreshAt ?? Infinity, this.#id.svid.expiresAt.getTime());
    // Capped, so a clock jump (suspend, NTP step) is noticed within a minute.
    const delay = Math.max(0, Math.min(due - this.#now(), 60_000));
    this.#timer = setTimeout(() => void this.tick(), delay);
    this.#timer.unref();
  }

  #emit(): void {
    const current = this.current();
    for (const listener of this.#listeners) listener(current);
  }
}
