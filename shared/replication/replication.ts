/**
 * Replication between clouds, assembled: the relayer (this cloud's writes
 * out), the ingest (peers' writes in), anti-entropy (repair), the seen
 * `jti`s and the counts, over one store, one clock and one federation
 * (docs/replication.md).
 *
 * @module
 */
import type { CloudEvent } from '../events/cloud-event.js';
import { parseResourceChange, RESOURCE_CHANGED } from '../events/resource-changed.js';
import type { HybridLogicalClock } from '../model/hlc.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { StateStore, StoredRecord } from '../storage/state-store.js';
import { AntiEntropy } from './anti-entropy.js';
import type { Federation } from './federation.js';
import { Ingest, type ReplicationLogger } from './ingest.js';
import { RelayRefusedError } from './relay-event.js';
import { Relayer, type RelayerOptions } from './relayer.js';
import { SeenRelays } from './seen-relays.js';
import { ReplicationStats } from './stats.js';
import { type DeliveryResult, httpPeerTransport, type PeerTransport } from './transport.js';

/** Most relay events one `POST /v1/replication/events` takes. */
export const MAX_RELAY_BATCH = 100;

export interface ReplicationOptions {
  readonly federation: Federation;
  readonly store: StateStore;
  readonly blobs: BlobStore;
  /** This cloud's clock: the API's, so a local write after a merge is newer. */
  readonly hlc: HybridLogicalClock;
  /** @default HTTP with `fetch` */
  readonly transport?: PeerTransport;
  readonly fetch?: typeof fetch;
  /** Told of records merged from peers, once stored: this cloud's compile. @default nothing */
  readonly onMerged?: (records: readonly StoredRecord[]) => Promise<void>;
  readonly logger?: ReplicationLogger;
  readonly now?: () => number;
  /** Delivery tries and waits. */
  readonly relay?: Pick<RelayerOptions, 'attempts' | 'baseDelayMs' | 'sleep' | 'random'>;
}

const SILENT: ReplicationLogger = { info() {}, warn() {} };

export class Replication {
  readonly federation: Federation;
  readonly stats = new ReplicationStats();
  readonly ingest: Ingest;
  readonly relayer: Relayer;
  readonly antiEntropy: AntiEntropy;
  readonly seen: SeenRelays;
  readonly #store: StateStore;
  readonly #now: () => number;

  constructor(o: ReplicationOptions) {
    this.federation = o.federation;
    this.#store = o.store;
    this.#now = o.now ?? Date.now;
    const logger = o.logger ?? SILENT;
    const onMerged = o.onMerged ?? (async () => {});
    const transport = o.transport ?? httpPeerTransport(o.federation, { ...(o.fetch && { fetch: o.fetch }) });
    const common = { federation: o.federation, stats: this.stats, logger };
    this.seen = new SeenRelays(o.blobs);
    this.ingest = new Ingest({
      ...common,
      store: o.store,
      seen: this.seen,
      hlc: o.hlc,
      onMerged,
      now: this.#now,
    });
    this.relayer = new Relayer({ ...common, transport, now: this.#now, ...o.relay });
    this.antiEntropy = new AntiEntropy({ ...common, store: o.store, transport, hlc: o.hlc, onMerged });
  }

  /**
   * The bus-triggered `relay` use case: reads the writes a batch of change
   * events names and relays those this cloud made. Events of other types,
   * malformed ones, and writes since superseded by a newer one here (that one
   * is relayed by its own event) are skipped.
   */
  async relay(events: readonly CloudEvent[]): Promise<void> {
    const records: StoredRecord[] = [];
    for (const event of events) {
      if (event.type !== RESOURCE_CHANGED) continue;
      let change: ReturnType<typeof parseResourceChange>;
      try {
        change = parseResourceChange(event);
      } catch {
        continue;
      }
      if (change.origin !== this.federation.self) continue;
      const record = await this.#store.get(change.key);
      if (record && record.version === change.version) records.push(record);
    }
    await this.relayer.relay(records);
  }

  /**
   * Ingests what `POST /v1/replication/events` received: one relay event, or
   * a batch of at most {@link MAX_RELAY_BATCH}. Each is taken or refused on
   * its own.
   */
  async ingestBatch(events: readonly unknown[]): Promise<DeliveryResult[]> {
    const results: DeliveryResult[] = [];
    for (const event of events) {
      const id = typeof (event as { id?: unknown })?.id === 'string' ? (event as { id: string }).id : '';
      try {
        results.push({ id, result: await this.ingest.ingest(event) });
      } catch (error) {
        if (!(error instanceof RelayRefusedError)) throw error;
        results.push({ id, result: 'refused', reason: error.reason });
      }
    }
    return results;
  }

  /** Forgets expired `jti`s; the anti-entropy schedule calls it. */
  forgetExpired(): Promise<number> {
    return this.seen.forgetExpired(this.#now());
  }
}
