/**
 * Replication between clouds, assembled: the relayer (this cloud's writes
 * out), the ingest (peers' writes in), anti-entropy (repair), the seen
 * `jti`s and the counts, over one store, one clock and one federation
 * (docs/replication.md).
 *
 * @module
 */
import { readGatewayStatus } from '../distribution/gateway-status.js';
import type { CloudEvent } from '../events/cloud-event.js';
import { parseResourceChange, RESOURCE_CHANGED } from '../events/resource-changed.js';
import type { HybridLogicalClock } from '../model/hlc.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { StateStore, StoredRecord } from '../storage/state-store.js';
import { collectTombstones } from '../storage/tombstones.js';
import { AntiEntropy } from './anti-entropy.js';
import type { Federation } from './federation.js';
import { Ingest, type ReplicationLogger } from './ingest.js';
import { RelayRefusedError } from './relay-event.js';
import { Relayer, type RelayerOptions } from './relayer.js';
import { SeenRelays } from './seen-relays.js';
import { ReplicationStats } from './stats.js';
import { type DeliveryResult, httpPeerTransport, type PeerTransport } from './transport.js';

/** How often a sweep also collects tombstones past the horizon. */
const COLLECT_EVERY_MS = 3_600_000;

/** Relay events of one batch ingested at once. */
const INGEST_CONCURRENCY = 8;

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
  /** Federated identity's statements, exchanged on each sweep. @default none exchanged */
  readonly authorities?: AuthorityExchange;
}

const SILENT: ReplicationLogger = { info() {}, warn() {} };

/**
 * Where this cloud's CA meets its peers' (federated identity): its own
 * authority statement to serve, and peers' statements to verify and trust
 * (`identity/authority-statement.ts`).
 */
export interface AuthorityExchange {
  /** This cloud's statement, or `undefined` while it has none (no Mesh, no intermediate yet). */
  own(): Promise<string | undefined>;
  /**
   * Verifies and trusts a peer's statement.
   * @returns whether it changed what this cloud trusts.
   * @throws ValidationError when it does not verify.
   */
  add(statement: string): Promise<boolean>;
}

export class Replication {
  readonly federation: Federation;
  readonly stats = new ReplicationStats();
  readonly ingest: Ingest;
  readonly relayer: Relayer;
  readonly antiEntropy: AntiEntropy;
  readonly seen: SeenRelays;
  readonly authorities: AuthorityExchange | undefined;
  readonly #store: StateStore;
  readonly #now: () => number;
  readonly #transport: PeerTransport;
  readonly #logger: ReplicationLogger;
  readonly #blobs: BlobStore;
  readonly #onMerged: (records: readonly StoredRecord[]) => Promise<void>;

  constructor(o: ReplicationOptions) {
    this.federation = o.federation;
    this.#store = o.store;
    this.#now = o.now ?? Date.now;
    const logger = o.logger ?? SILENT;
    const onMerged = o.onMerged ?? (async () => {});
    const transport = o.transport ?? httpPeerTransport(o.federation, { ...(o.fetch && { fetch: o.fetch }) });
    this.#transport = transport;
    this.#blobs = o.blobs;
    this.#onMerged = onMerged;
    this.#logger = logger;
    this.authorities = o.authorities;
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
    this.antiEntropy = new AntiEntropy({
      ...common,
      store: o.store,
      transport,
      hlc: o.hlc,
      onMerged,
      now: this.#now,
    });
  }

  /**
   * The bus-triggered `relay` use case: reads the writes a batch of change
   * events names and relays those this cloud made. Events of other types,
   * malformed ones, and writes since superseded by a newer one here (that one
   * is relayed by its own event) are skipped. With `peer`, to that peer
   * alone (a cloud runs one relay subscription per peer).
   */
  async relay(events: readonly CloudEvent[], peer?: string): Promise<void> {
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
    await this.relayer.relay(records, peer);
  }

  /**
   * Ingests what `POST /v1/replication/events` received: one relay event, or
   * a batch of at most {@link MAX_RELAY_BATCH}. Each is taken or refused on
   * its own.
   */
  async ingestBatch(events: readonly unknown[]): Promise<DeliveryResult[]> {
    const results: DeliveryResult[] = new Array(events.length);
    const merged: StoredRecord[] = [];
    // A few at a time: each is a verify and a merge of its own key (compare-and-set keeps a shared key safe).
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < events.length; i = next++) {
        const event = events[i];
        const id = typeof (event as { id?: unknown })?.id === 'string' ? (event as { id: string }).id : '';
        try {
          const { result, record } = await this.ingest.merge(event);
          if (result === 'applied') merged.push(record);
          results[i] = { id, result };
        } catch (error) {
          if (!(error instanceof RelayRefusedError)) throw error;
          results[i] = { id, result: 'refused', reason: error.reason };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(INGEST_CONCURRENCY, events.length) }, worker));
    // Once for the batch: one publication for this cloud's compile.
    if (merged.length > 0) await this.#onMerged(merged);
    return results;
  }

  /**
   * The scheduled sweep: anti-entropy with every peer, then each peer's
   * authority statement (a peer that does not answer, or whose statement
   * does not verify, is logged and tried again next time).
   */
  async sweep(): Promise<Awaited<ReturnType<AntiEntropy['sweep']>>> {
    const reports = await this.antiEntropy.sweep();
    if (this.authorities) {
      for (const peer of this.federation.peers) {
        try {
          const statement = await this.#transport.authority(peer);
          if (statement && (await this.authorities.add(statement)))
            this.#logger.info({ msg: 'trusting a peer cloud’s authorities', peer: peer.cloud });
        } catch (error) {
          this.#logger.warn({
            msg: 'no authority statement from a peer',
            peer: peer.cloud,
            error: String((error as Error).message ?? error),
          });
        }
      }
    }
    await this.forgetExpired();
    await this.#collectTombstones();
    return reports;
  }

  #collectedAt = Number.NEGATIVE_INFINITY;

  /** Tombstones past the horizon, collected at most once an hour (they only matter after days). */
  async #collectTombstones(): Promise<void> {
    const now = this.#now();
    if (now - this.#collectedAt < COLLECT_EVERY_MS) return;
    this.#collectedAt = now;
    const collected = await collectTombstones(this.#store, { now });
    if (collected > 0) this.#logger.info({ msg: 'tombstones collected', collected });
  }

  /** The applied versions this cloud's blobs hold for `gateways` (their status reports here). */
  async appliedVersions(gateways: readonly string[]): Promise<Record<string, string>> {
    const found: Record<string, string> = {};
    for (const gateway of gateways) {
      const status = await readGatewayStatus(this.#blobs, gateway).catch(() => undefined);
      if (status?.appliedVersion) found[gateway] = status.appliedVersion;
    }
    return found;
  }

  /**
   * The greatest applied version any peer holds for each of `gateways`, for
   * convergence across clouds; a peer that does not answer counts for nothing.
   */
  async appliedElsewhere(gateways: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const best = new Map<string, string>();
    await Promise.all(
      this.federation.peers.map(async (peer) => {
        const applied = await this.#transport.appliedVersions(peer, gateways).catch(() => ({}));
        for (const [gateway, version] of Object.entries(applied)) {
          if (typeof version === 'string' && (best.get(gateway) ?? '') < version) best.set(gateway, version);
        }
      }),
    );
    return best;
  }

  /** Forgets expired `jti`s; the anti-entropy schedule calls it. */
  forgetExpired(): Promise<number> {
    return this.seen.forgetExpired(this.#now());
  }
}
