/**
 * What replication did, counted: a cloud's `GET /v1/replication/status`
 * serves it, and each count is also a log line where it happens, so a cloud's
 * log metrics (CloudWatch metric filters, Cloud Logging log-based metrics,
 * Azure Monitor) count the same things.
 *
 * @module
 */
import type { RelayRefusal } from './relay-event.js';

export class ReplicationStats {
  /** Relay events merged (`applied`) or already superseded here (`stale`). */
  readonly ingested = { applied: 0, stale: 0 };
  /** Relay events refused, by reason. */
  readonly refused: Record<RelayRefusal, number> = {
    malformed: 0,
    'unknown-key': 0,
    signature: 0,
    expired: 0,
    'own-origin': 0,
    replay: 0,
  };
  /** Relay deliveries to peers: events a peer took, and batches given up on after the last attempt. */
  readonly relayed = { delivered: 0, failed: 0 };
  /** Anti-entropy: sweeps, requests made, records read (ours and the peers'), records it merged. */
  readonly antiEntropy = { sweeps: 0, requests: 0, itemsRead: 0, applied: 0 };

  toJSON() {
    return {
      ingested: this.ingested,
      refused: this.refused,
      relayed: this.relayed,
      antiEntropy: this.antiEntropy,
    };
  }
}
