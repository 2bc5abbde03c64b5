/**
 * What replication did, counted: a cloud's `GET /v1/replication/status`
 * serves it as JSON and `GET /v1/replication/metrics` as Prometheus text, and each count is also a log line where it happens, so a cloud's
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

  /** The counts in the Prometheus text format (`GET /v1/replication/metrics`). */
  toPrometheus(cloud: string): string {
    const lines: string[] = [];
    const family = (name: string, help: string, samples: [Record<string, string>, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      for (const [labels, value] of samples) {
        const text = Object.entries({ cloud, ...labels })
          .map(([k, v]) => `${k}="${v}"`)
          .join(',');
        lines.push(`${name}{${text}} ${value}`);
      }
    };
    family(
      'weft_relay_ingested_total',
      'Relay events from peers merged (applied) or already superseded here (stale).',
      Object.entries(this.ingested).map(([result, n]) => [{ result }, n]),
    );
    family(
      'weft_relay_refused_total',
      'Relay events from peers refused, by reason; a refused event changes nothing.',
      Object.entries(this.refused).map(([reason, n]) => [{ reason }, n]),
    );
    family('weft_relay_delivered_total', 'Relay events of this cloud a peer took.', [
      [{}, this.relayed.delivered],
    ]);
    family(
      'weft_relay_given_up_total',
      'Relay batches given up on after the last try (anti-entropy repairs them).',
      [[{}, this.relayed.failed]],
    );
    family('weft_anti_entropy_sweeps_total', 'Anti-entropy sweeps over every peer.', [
      [{}, this.antiEntropy.sweeps],
    ]);
    family('weft_anti_entropy_requests_total', 'Requests anti-entropy made to peers.', [
      [{}, this.antiEntropy.requests],
    ]);
    family('weft_anti_entropy_records_read_total', 'Records anti-entropy read: its own and those pulled.', [
      [{}, this.antiEntropy.itemsRead],
    ]);
    family('weft_anti_entropy_applied_total', 'Records anti-entropy merged here.', [
      [{}, this.antiEntropy.applied],
    ]);
    return `${lines.join('\n')}\n`;
  }

  toJSON() {
    return {
      ingested: this.ingested,
      refused: this.refused,
      relayed: this.relayed,
      antiEntropy: this.antiEntropy,
    };
  }
}
