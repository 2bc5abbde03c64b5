/**
 * The `JoinTokenStore` port. It sees only SHA-256 hashes of join tokens, so
 * a leaked store cannot be used to join. `consume` must be atomic (a
 * conditional delete in a cloud store) so that a token works once.
 *
 * @module
 */

/** What a join token is good for. */
export interface JoinTokenEntry {
  readonly spiffeId: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

/** Stores join-token hashes; see the module comment. */
export interface JoinTokenStore {
  /** Records a token hash (base64url SHA-256). */
  put(hash: string, entry: JoinTokenEntry): Promise<void>;
  /** Removes and returns the entry in one step; `undefined` when absent (never issued, or used). */
  consume(hash: string): Promise<JoinTokenEntry | undefined>;
}

/** The in-memory {@link JoinTokenStore}; drops expired hashes as it goes. */
export class MemoryJoinTokenStore implements JoinTokenStore {
  readonly #entries = new Map<string, JoinTokenEntry>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async put(hash: string, entry: JoinTokenEntry): Promise<void> {
    const now = this.#now();
    for (const [h, e] of this.#entries) if (e.expiresAt <= now) this.#entries.delete(h);
    this.#entries.set(hash, { ...entry });
  }

  async consume(hash: string): Promise<JoinTokenEntry | undefined> {
    const entry = this.#entries.get(hash);
    this.#entries.delete(hash);
    return entry;
  }

  /** Hashes currently held (for tests). */
  get size(): number {
    return this.#entries.size;
  }
}
