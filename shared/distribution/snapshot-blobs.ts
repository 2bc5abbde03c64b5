/**
 * Signed snapshots in the blob store (`snapshots/<environment>/<name>.jws`),
 * written so that a gateway's stored version never moves backwards, whatever
 * order instances and redeliveries write in: every write is a
 * compare-and-set on what was read, and a snapshot that is not newer than
 * the stored one is either the same content (kept, with the stored version)
 * or a sign that the writer's state is stale.
 *
 * @module
 */

import { type CompileResult, nextVersion } from '../compiler/compile.js';
import { peekSnapshot } from '../contract/signed-snapshot.js';
import type { GatewaySnapshot } from '../contract/snapshot.js';
import { ConflictError } from '../model/errors.js';
import type { BlobStore } from '../storage/blob-store.js';

/** The blob holding a gateway's signed snapshot; `gateway` is its key, `<environment>/<name>`. */
export const snapshotBlobKey = (gateway: string) => `snapshots/${gateway}.jws`;
/** The blob holding a gateway's last status report. */
export const statusBlobKey = (gateway: string) => `status/${gateway}.json`;

/** What is known of a stored snapshot. */
export interface StoredSnapshot {
  readonly version: string;
  readonly hash: string;
  readonly etag: string;
}

/**
 * - `fresh`: the caller compiled from a state it has just read in full, so
 *   its content is current: a stored version at or past its own is stepped over.
 * - `warm`: the caller compiled from a state it kept; a stored version at or
 *   past its own means someone compiled newer state, and it answers `stale`.
 */
export type WriteMode = 'fresh' | 'warm';

/** What {@link SnapshotBlobs.store} did. */
export interface StoreResult {
  /** Every gateway's snapshot, with the version it is stored at. */
  readonly snapshots: Map<string, GatewaySnapshot>;
  readonly written: readonly string[];
  readonly removed: readonly string[];
}

/** The same content under another version (the hash leaves the version out). */
export function withVersion(snapshot: GatewaySnapshot, version: string): GatewaySnapshot {
  return version === snapshot.version ? snapshot : Object.freeze({ ...snapshot, version });
}

/** Reads and writes snapshot blobs, remembering what it saw. */
export class SnapshotBlobs {
  readonly #blobs: BlobStore;
  readonly #known = new Map<string, StoredSnapshot | null>();

  constructor(blobs: BlobStore) {
    this.#blobs = blobs;
  }

  /** What is stored for `gateway`, from memory or the blob's header; `null` when nothing. */
  async stored(gateway: string): Promise<StoredSnapshot | null> {
    const known = this.#known.get(gateway);
    if (known !== undefined) return known;
    const blob = await this.#blobs.get(snapshotBlobKey(gateway));
    // An unreadable blob is treated as the oldest possible, so the next write replaces it.
    const header = blob && (peekSnapshot(blob.body) ?? { version: '', hash: '' });
    const info = blob && header ? { version: header.version, hash: header.hash, etag: blob.etag } : null;
    this.#known.set(gateway, info);
    return info;
  }

  /**
   * Stores `snapshot` for `gateway` unless the same content is there already.
   *
   * @returns the snapshot as stored now (its version may be the stored one, or
   *   stepped past it in `fresh` mode) and whether it was written; `stale` in `warm` mode.
   */
  async write(
    gateway: string,
    snapshot: GatewaySnapshot,
    sign: (snapshot: GatewaySnapshot) => Promise<string>,
    mode: WriteMode,
  ): Promise<{ snapshot: GatewaySnapshot; wrote: boolean } | 'stale'> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const stored = await this.stored(gateway);
      if (stored?.hash === snapshot.hash)
        return { snapshot: withVersion(snapshot, stored.version), wrote: false };
      let next = snapshot;
      if (stored && stored.version >= snapshot.version) {
        if (mode === 'warm') return 'stale';
        next = withVersion(snapshot, nextVersion(snapshot.version, stored.version));
      }
      const body = await sign(next);
      try {
        const { etag } = await this.#blobs.put(snapshotBlobKey(gateway), body, {
          ifMatch: stored?.etag ?? null,
        });
        this.#known.set(gateway, { version: next.version, hash: next.hash, etag });
        return { snapshot: next, wrote: true };
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        this.#known.delete(gateway);
      }
    }
    throw new ConflictError(`snapshot of ${gateway}: other writers kept winning; the next event retries`);
  }

  /**
   * Stores a compile's snapshots: the changed ones in `warm` mode, every one
   * in `fresh` mode (nothing is known of the store then); deletes those of
   * removed gateways (`fresh`: every stored one the compile did not produce).
   *
   * @returns the snapshots as stored, or `stale` as soon as one write is (see {@link write}).
   */
  async store(
    result: CompileResult,
    mode: WriteMode,
    sign: (snapshot: GatewaySnapshot) => Promise<string>,
  ): Promise<StoreResult | 'stale'> {
    const snapshots = new Map(result.snapshots);
    const written: string[] = [];
    for (const gateway of mode === 'warm' ? result.changed : result.snapshots.keys()) {
      const out = await this.write(gateway, snapshots.get(gateway)!, sign, mode);
      if (out === 'stale') return out;
      snapshots.set(gateway, out.snapshot);
      if (out.wrote) written.push(gateway);
    }
    const removed = mode === 'warm' ? [...result.removed] : await this.orphans(new Set(snapshots.keys()));
    for (const gateway of removed) await this.remove(gateway);
    return { snapshots, written, removed };
  }

  async remove(gateway: string): Promise<void> {
    await this.#blobs.delete(snapshotBlobKey(gateway));
    this.#known.set(gateway, null);
  }

  /** Gateways with a stored snapshot that are not in `live`. */
  async orphans(live: ReadonlySet<string>): Promise<string[]> {
    const keys = await this.#blobs.list('snapshots/');
    return keys.map((k) => k.slice('snapshots/'.length, -'.jws'.length)).filter((g) => !live.has(g));
  }

  /** Version and hash of every stored snapshot this instance knows of. */
  index(): Record<string, { version: string; hash: string }> {
    const index: Record<string, { version: string; hash: string }> = {};
    for (const [gateway, s] of [...this.#known].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (s) index[gateway] = { version: s.version, hash: s.hash };
    }
    return index;
  }

  /** Forgets what it saw: after an error, nothing remembered can be trusted. */
  forget(): void {
    this.#known.clear();
  }
}
