/**
 * The relay events an ingest has merged, by `jti`, until they expire: what
 * refuses a replay. Kept in the blob store (`replication/seen/<jti>`,
 * written create-only), so every instance of a cloud's ingest function sees
 * the same set, across cold starts. A `jti` is recorded after its merge, so
 * a delivery that failed half-way can be retried; a duplicate that races the
 * first merges idempotently, which is harmless.
 *
 * @module
 */
import { ConflictError } from '../model/errors.js';
import type { BlobStore } from '../storage/blob-store.js';

const PREFIX = 'replication/seen/';

export class SeenRelays {
  readonly #blobs: BlobStore;

  constructor(blobs: BlobStore) {
    this.#blobs = blobs;
  }

  /** Whether `jti` was recorded (and has not been forgotten yet). */
  async has(jti: string): Promise<boolean> {
    return (await this.#blobs.get(PREFIX + jti)) !== undefined;
  }

  /** Records `jti` until `expiresAt` (ms); recording it twice is no error. */
  async add(jti: string, expiresAt: number): Promise<void> {
    try {
      await this.#blobs.put(PREFIX + jti, JSON.stringify({ expiresAt }), { ifMatch: null });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }

  /**
   * Forgets the `jti`s whose events have expired: an expired event is
   * refused as expired anyway, so its `jti` needs no keeping.
   *
   * @returns how many it forgot.
   */
  async forgetExpired(now: number): Promise<number> {
    let forgotten = 0;
    for (const key of await this.#blobs.list(PREFIX)) {
      const blob = await this.#blobs.get(key);
      const expiresAt = blob ? (JSON.parse(blob.body) as { expiresAt?: number }).expiresAt : undefined;
      if (expiresAt === undefined || expiresAt <= now) {
        await this.#blobs.delete(key);
        forgotten++;
      }
    }
    return forgotten;
  }
}
