/**
 * A cloud's ingest of relay events from its peers: verify (relay-event.ts),
 * refuse a replay, merge last-writer-wins under compare-and-set
 * (`storage/merge.ts`), fold the version into this cloud's clock (so its
 * next local write of the key is newer), and hand what it merged to
 * `onMerged`, which starts this cloud's compile for its own gateways.
 * Whatever is refused is counted and changes nothing.
 *
 * @module
 */
import type { HybridLogicalClock } from '../model/hlc.js';
import { mergeRecord } from '../storage/merge.js';
import type { StateStore, StoredRecord } from '../storage/state-store.js';
import { tombstoneHorizon } from '../storage/tombstones.js';
import type { Federation } from './federation.js';
import { RelayRefusedError, verifyRelayEvent } from './relay-event.js';
import type { SeenRelays } from './seen-relays.js';
import type { ReplicationStats } from './stats.js';

/** Where replication says what it did; JSON lines. */
export interface ReplicationLogger {
  info(event: Record<string, unknown>): void;
  warn(event: Record<string, unknown>): void;
}

export interface IngestOptions {
  readonly federation: Federation;
  readonly store: StateStore;
  readonly seen: SeenRelays;
  readonly hlc: HybridLogicalClock;
  readonly stats: ReplicationStats;
  readonly logger: ReplicationLogger;
  /** Told of every record merged here, after it is stored (this cloud's compile). */
  readonly onMerged: (records: readonly StoredRecord[]) => Promise<void>;
  readonly now: () => number;
}

export type IngestResult = 'applied' | 'stale';

export class Ingest {
  readonly #o: IngestOptions;

  constructor(options: IngestOptions) {
    this.#o = options;
  }

  /**
   * Ingests one relay event.
   *
   * @throws RelayRefusedError when it is refused (counted, nothing changed).
   */
  async ingest(input: unknown): Promise<IngestResult> {
    const { result, record } = await this.merge(input);
    if (result === 'applied') await this.#o.onMerged([record]);
    return result;
  }

  /**
   * Verifies and merges one relay event, without telling `onMerged`: for a
   * batch, which tells it once for all it merged.
   *
   * @throws RelayRefusedError when it is refused (counted, nothing changed).
   */
  async merge(input: unknown): Promise<{ result: IngestResult; record: StoredRecord }> {
    const { stats, logger } = this.#o;
    try {
      const relay = await verifyRelayEvent(input, this.#o.federation, this.#o.now());
      if (await this.#o.seen.has(relay.jti))
        throw new RelayRefusedError('replay', `jti ${relay.jti} from ${relay.from} was ingested before`);
      // Never create from a write older than the tombstone horizon: its key may be a collected delete.
      const result = await mergeRecord(this.#o.store, relay.record, {
        horizon: tombstoneHorizon(this.#o.now()),
      });
      this.#o.hlc.observe(relay.record.version);
      await this.#o.seen.add(relay.jti, relay.expiresAt);
      stats.ingested[result]++;
      return { result, record: relay.record };
    } catch (error) {
      if (error instanceof RelayRefusedError) {
        stats.refused[error.reason]++;
        logger.warn({ msg: 'relay event refused', reason: error.reason, detail: error.message });
      }
      throw error;
    }
  }
}
