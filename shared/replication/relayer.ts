/**
 * The sending side of relay: each write this cloud made (not those it
 * merged from peers: every cloud relays its own) becomes one signed relay
 * event, delivered to every peer at least once, with a bounded number of
 * tries and doubling waits. It runs on the bus, after the write is stored
 * and answered, so a peer that is down costs the writer nothing; what it
 * gives up on, anti-entropy repairs.
 *
 * @module
 */
import { Backoff, sleep } from '../model/backoff.js';
import { UnavailableError } from '../model/errors.js';
import type { StoredRecord } from '../storage/state-store.js';
import type { Federation, RelayPeer } from './federation.js';
import type { ReplicationLogger } from './ingest.js';
import { relayEvent } from './relay-event.js';
import type { ReplicationStats } from './stats.js';
import type { PeerTransport } from './transport.js';

export interface RelayerOptions {
  readonly federation: Federation;
  readonly transport: PeerTransport;
  readonly stats: ReplicationStats;
  readonly logger: ReplicationLogger;
  /** Tries per peer and batch. @default 4 */
  readonly attempts?: number;
  /** Wait before the second try; doubles, with jitter. @default 200 */
  readonly baseDelayMs?: number;
  /** Most events per delivery. @default 100 */
  readonly batchSize?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export class Relayer {
  readonly #o: Required<RelayerOptions>;

  constructor(options: RelayerOptions) {
    this.#o = {
      attempts: 4,
      baseDelayMs: 200,
      batchSize: 100,
      now: Date.now,
      sleep: (ms) => sleep(ms),
      random: Math.random,
      ...options,
    };
  }

  /**
   * Relays this cloud's own writes among `records` to every peer, or to the
   * one named: a host that gives each peer its own subscription (its own
   * queue) keeps a peer that is down from holding up the others. Never throws.
   */
  async relay(records: readonly StoredRecord[], only?: string): Promise<void> {
    const { federation } = this.#o;
    const own = records.filter((r) => r.origin === federation.self);
    const peers = federation.peers.filter((p) => only === undefined || p.cloud === only);
    if (own.length === 0 || peers.length === 0) return;
    const self = { cloud: federation.self, signingKey: federation.signingKey };
    const events = await Promise.all(own.map((r) => relayEvent(r, self, this.#o.now())));
    await Promise.all(
      peers.map(async (peer) => {
        for (let i = 0; i < events.length; i += this.#o.batchSize) {
          await this.#deliver(peer, events.slice(i, i + this.#o.batchSize));
        }
      }),
    );
  }

  async #deliver(peer: RelayPeer, events: Parameters<PeerTransport['deliver']>[1]): Promise<void> {
    const { stats, logger, attempts } = this.#o;
    const backoff = new Backoff({
      baseMs: this.#o.baseDelayMs,
      capMs: this.#o.baseDelayMs * 8,
      random: this.#o.random,
    });
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const results = await this.#o.transport.deliver(peer, events);
        // A replay means an earlier try got there: delivered, as far as the sender goes.
        const taken = results.filter((r) => r.result !== 'refused' || r.reason === 'replay').length;
        stats.relayed.delivered += taken;
        for (const r of results.filter((x) => x.result === 'refused' && x.reason !== 'replay'))
          logger.warn({ msg: 'relay event refused by peer', peer: peer.cloud, id: r.id, reason: r.reason });
        return;
      } catch (error) {
        const retry = error instanceof UnavailableError && attempt < attempts;
        if (!retry) {
          stats.relayed.failed++;
          logger.warn({
            msg: 'relay gave up; anti-entropy repairs it',
            peer: peer.cloud,
            events: events.length,
            attempts: attempt,
            error: String((error as Error).message ?? error),
          });
          return;
        }
        await this.#o.sleep(backoff.next());
      }
    }
  }
}
