/**
 * Anti-entropy: the scheduled sweep that repairs whatever relay missed (an
 * event dropped, a cloud down for an hour, a partition). For each peer it
 * reads the peer's digest (one request), compares it with its own (one read
 * of its state), and pulls the records of the buckets that differ (one
 * request per 64 buckets, one read of the peer's state each), merging each
 * last-writer-wins. Both sides pull, so
 * a sweep at each cloud heals both directions; repeated, it converges.
 *
 * Cost per sweep and peer: 1 + ceil(differing buckets / 64) requests;
 * records read: all of its own, all of the peer's for its digest and again
 * for each records request, and the records of the differing buckets on the
 * wire. docs/replication.md has the figures.
 *
 * @module
 */

import type { HybridLogicalClock } from '../model/hlc.js';
import { mergeRecord } from '../storage/merge.js';
import type { StateStore, StoredRecord } from '../storage/state-store.js';
import { tombstoneHorizon } from '../storage/tombstones.js';
import { type BucketId, bucketOf, type Digest, differingBuckets, digestOf, isBucketId } from './digest.js';
import type { Federation, RelayPeer } from './federation.js';
import type { ReplicationLogger } from './ingest.js';
import { checkedRecord, RelayRefusedError, storedRecordSchema } from './relay-event.js';
import type { ReplicationStats } from './stats.js';
import { MAX_BUCKETS_PER_READ, type PeerTransport } from './transport.js';

export interface AntiEntropyOptions {
  readonly federation: Federation;
  readonly store: StateStore;
  readonly transport: PeerTransport;
  readonly hlc: HybridLogicalClock;
  readonly stats: ReplicationStats;
  readonly logger: ReplicationLogger;
  readonly onMerged: (records: readonly StoredRecord[]) => Promise<void>;
  readonly now: () => number;
}

/** What one sweep did with one peer. */
export interface SweepReport {
  readonly peer: string;
  readonly reached: boolean;
  readonly requests: number;
  /** Records read: ours (for the digest), and those of the buckets pulled. */
  readonly itemsRead: number;
  readonly buckets: number;
  readonly applied: number;
}

export class AntiEntropy {
  readonly #o: AntiEntropyOptions;

  constructor(options: AntiEntropyOptions) {
    this.#o = options;
  }

  /** This cloud's digest: what a peer compares with. */
  async digest(): Promise<Digest> {
    return digestOf(await this.#o.store.changedSince(undefined)).digest;
  }

  /**
   * The records of some buckets, tombstones included: one read of the state
   * for all of them.
   *
   * @throws TypeError for a malformed bucket id (the route checks them first).
   */
  async buckets(ids: readonly BucketId[]): Promise<StoredRecord[]> {
    for (const id of ids) if (!isBucketId(id)) throw new TypeError(`not a bucket: ${id}`);
    const wanted = new Set(ids);
    return (await this.#o.store.changedSince(undefined)).filter((r) => wanted.has(bucketOf(r.key)));
  }

  /** One sweep over every peer; a peer that does not answer is skipped (the next sweep tries again). */
  async sweep(): Promise<SweepReport[]> {
    const reports: SweepReport[] = [];
    for (const peer of this.#o.federation.peers) reports.push(await this.#sweepPeer(peer));
    this.#o.stats.antiEntropy.sweeps++;
    return reports;
  }

  async #sweepPeer(peer: RelayPeer): Promise<SweepReport> {
    const { store, transport, stats, logger } = this.#o;
    let requests = 0;
    let itemsRead = 0;
    let applied = 0;
    const count = () => {
      stats.antiEntropy.requests += requests;
      stats.antiEntropy.itemsRead += itemsRead;
      stats.antiEntropy.applied += applied;
    };
    try {
      requests++;
      const theirs = await transport.digest(peer);
      const ours = await store.changedSince(undefined);
      itemsRead += ours.length;
      const differing = differingBuckets(digestOf(ours).digest, theirs);
      // A record older than the tombstone horizon never creates a key: it may be a collected delete.
      const horizon = tombstoneHorizon(this.#o.now());
      const merged: StoredRecord[] = [];
      for (let i = 0; i < differing.length; i += MAX_BUCKETS_PER_READ) {
        requests++;
        const page = await transport.buckets(peer, differing.slice(i, i + MAX_BUCKETS_PER_READ));
        itemsRead += page.length;
        for (const raw of page) {
          const record = this.#check(raw, peer);
          if (!record) continue;
          if ((await mergeRecord(store, record, { horizon })) === 'applied') {
            this.#o.hlc.observe(record.version);
            merged.push(record);
          }
        }
      }
      applied = merged.length;
      if (merged.length > 0) await this.#o.onMerged(merged);
      count();
      if (applied > 0)
        logger.info({ msg: 'anti-entropy repaired', peer: peer.cloud, applied, buckets: differing.length });
      return { peer: peer.cloud, reached: true, requests, itemsRead, buckets: differing.length, applied };
    } catch (error) {
      count();
      logger.warn({
        msg: 'anti-entropy could not sweep a peer',
        peer: peer.cloud,
        error: String((error as Error).message ?? error),
      });
      return { peer: peer.cloud, reached: false, requests, itemsRead, buckets: 0, applied };
    }
  }

  /** A peer's record as this API would store it, or `undefined` (logged) when it is not one. */
  #check(raw: unknown, peer: RelayPeer): StoredRecord | undefined {
    const parsed = storedRecordSchema.safeParse(raw);
    try {
      if (!parsed.success)
        throw new RelayRefusedError('malformed', parsed.error.issues[0]?.message ?? 'invalid');
      return checkedRecord(parsed.data);
    } catch (error) {
      this.#o.logger.warn({
        msg: 'anti-entropy skipped a record',
        peer: peer.cloud,
        detail: (error as Error).message,
      });
      return undefined;
    }
  }
}
