/**
 * The outbox without transactions (DESIGN §2): a write is stored first and
 * published second, and the greatest version published is kept as a
 * watermark (`outbox/watermark` in the blob store). A sweep republishes what
 * the state store holds past it, so a crash between "stored" and "published"
 * loses nothing.
 *
 * Why the sweep looks back a little (`overlapMs`) past the watermark:
 * concurrent writes take their HLC versions before they land, so a write
 * versioned v1 can be stored after one versioned v2 was published and moved
 * the watermark past v1. If the first then dies before publishing, only a
 * sweep that looks behind the watermark finds it. What this publisher
 * published itself is not published again; after a restart the window is
 * republished once, which idempotent consumers shrug off.
 *
 * @module
 */

import { formatHlc, parseHlc } from '../model/hlc.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { StateStore, StoredRecord } from '../storage/state-store.js';
import { advanceWatermark, OUTBOX_WATERMARK, readWatermark } from '../storage/watermark.js';
import type { EventBus } from './event-bus.js';
import { resourceChangedEvent } from './resource-changed.js';

/** What {@link ChangePublisher} publishes from and to. */
export interface ChangePublisherOptions {
  readonly store: StateStore;
  readonly bus: EventBus;
  readonly blobs: BlobStore;
  /** CloudEvents `source` of this control plane, e.g. `/weft/local`. */
  readonly source: string;
  /** How far (HLC wall time) behind the watermark the sweep looks again. @default 30 s */
  readonly overlapMs?: number;
  /** Events per `publish` call during a sweep. @default 100 */
  readonly batchSize?: number;
}

/**
 * @example
 * const publisher = new ChangePublisher({ store, bus, blobs, source: '/weft/local' });
 * await store.put(record, { ifVersion: null });
 * await publisher.publish([record]); // may fail: the sweep publishes it later
 * setInterval(() => publisher.sweep(), 10_000);
 */
export class ChangePublisher {
  readonly #o: Required<ChangePublisherOptions>;
  /** Ids of events published here lately, with their version's wall time, so the sweep skips them. */
  readonly #recent = new Map<string, number>();

  constructor(options: ChangePublisherOptions) {
    this.#o = { overlapMs: 30_000, batchSize: 100, ...options };
  }

  /** Publishes `dev.weft.resource.changed` for writes already stored, then moves the watermark. */
  async publish(records: readonly StoredRecord[]): Promise<void> {
    if (records.length === 0) return;
    const events = records.map((r) => resourceChangedEvent(r, this.#o.source));
    await this.#o.bus.publish(events);
    let greatest = '';
    for (const [i, record] of records.entries()) {
      this.#recent.set(events[i]!.id, wallOf(record.version));
      if (record.version > greatest) greatest = record.version;
    }
    await advanceWatermark(this.#o.blobs, OUTBOX_WATERMARK, { version: greatest });
  }

  /**
   * Republishes every stored write past the watermark (less the overlap)
   * that this publisher has not published.
   *
   * @returns how many events it published.
   */
  async sweep(): Promise<number> {
    const mark = await readWatermark(this.#o.blobs, OUTBOX_WATERMARK);
    const from = mark && lowered(mark.version, this.#o.overlapMs);
    const missed = (await this.#o.store.changedSince(from)).filter(
      (r) => !this.#recent.has(resourceChangedEvent(r, this.#o.source).id),
    );
    for (let i = 0; i < missed.length; i += this.#o.batchSize) {
      await this.publish(missed.slice(i, i + this.#o.batchSize));
    }
    const latest = await readWatermark(this.#o.blobs, OUTBOX_WATERMARK);
    if (latest) {
      const horizon = wallOf(latest.version) - this.#o.overlapMs;
      for (const [id, wall] of this.#recent) if (wall < horizon) this.#recent.delete(id);
    }
    return missed.length;
  }
}

/** The wall-clock part of an HLC version (0 when unparseable). */
function wallOf(version: string): number {
  return parseHlc(version)?.wall ?? 0;
}

/** A version below every version written `ms` before `version`'s wall time. */
function lowered(version: string, ms: number): string {
  // The empty node sorts before every real one at the same wall time and counter.
  return formatHlc({ wall: Math.max(0, wallOf(version) - ms), counter: 0, node: '' });
}
