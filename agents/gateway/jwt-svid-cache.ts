/**
 * The JWT-SVID the agent shows the control plane: fetched when first needed,
 * refreshed at half-life (so a token in hand always has half its life left),
 * shared by concurrent callers (one fetch, not one per caller), and kept
 * only in memory: it is short-lived and cheap to fetch again.
 *
 * @module
 */

/** What `POST /v1/svid/jwt` answers. */
export interface FetchedJwtSvid {
  readonly token: string;
  /** ISO 8601. */
  readonly expiresAt: string;
}

/** Options of {@link JwtSvidCache}. */
export interface JwtSvidCacheOptions {
  readonly audience: string;
  readonly now: () => number;
  readonly fetch: (audience: string) => Promise<FetchedJwtSvid>;
  /** Told each new token's expiry (for the expiry metric). */
  readonly onIssued?: (expiresAt: Date) => void;
}

/** Not handed out in its last seconds: it could expire on the way. */
const MARGIN_MS = 5_000;

/** One audience's JWT-SVID. */
export class JwtSvidCache {
  readonly #o: JwtSvidCacheOptions;
  #current: { token: string; expiresAt: number; refreshAt: number } | undefined;
  #pending: Promise<string> | undefined;

  constructor(options: JwtSvidCacheOptions) {
    this.#o = options;
  }

  /** When the token in hand should be replaced; `undefined` before the first. */
  get refreshAt(): number | undefined {
    return this.#current?.refreshAt;
  }

  /** A token good for at least a few more seconds, fetched if needed. */
  token(): Promise<string> {
    const current = this.#current;
    if (current && this.#o.now() < current.expiresAt - MARGIN_MS) return Promise.resolve(current.token);
    return this.#fetch();
  }

  /** Fetches a new token if the one in hand is past half-life. */
  async refreshIfDue(): Promise<void> {
    if (this.#current && this.#o.now() >= this.#current.refreshAt) await this.#fetch();
  }

  /** Forgets the token (the control plane said 401: it may know better than `exp`). */
  invalidate(): void {
    this.#current = undefined;
  }

  #fetch(): Promise<string> {
    this.#pending ??= (async () => {
      try {
        const issuedAt = this.#o.now();
        const { token, expiresAt } = await this.#o.fetch(this.#o.audience);
        const exp = Date.parse(expiresAt);
        if (!Number.isFinite(exp)) throw new TypeError(`JWT-SVID expiresAt is not a date: ${expiresAt}`);
        this.#current = { token, expiresAt: exp, refreshAt: issuedAt + (exp - issuedAt) / 2 };
        this.#o.onIssued?.(new Date(exp));
        return token;
      } finally {
        this.#pending = undefined;
      }
    })();
    return this.#pending;
  }
}
