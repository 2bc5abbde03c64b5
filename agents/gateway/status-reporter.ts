/**
 * `applied vN`: what the agent tells the control plane after something it
 * reports changed (a snapshot applied or refused, the X.509-SVID rotated)
 * and once after start. Convergence (`GET /v1/changes/{v}/convergence`)
 * counts these. A report that fails stays pending and goes with the next
 * sync that reaches the control plane; reports are not sent on every poll,
 * which would be a write per gateway per 30 s for nothing.
 *
 * @module
 */
import type { AppliedConfig } from './applied-config.js';
import type { ControlPlaneApi, GatewayPath } from './control-plane-client.js';
import { type Logger, reason } from './log.js';

/** What reporting needs from the credentials. */
export interface StatusCredentials {
  controlPlaneToken(): Promise<string>;
  current(): { readonly expiresAt: Date };
}

/** Options of {@link StatusReporter}. */
export interface StatusReporterOptions {
  readonly client: ControlPlaneApi;
  readonly credentials: StatusCredentials;
  readonly gateway: GatewayPath;
  readonly logger: Logger;
  readonly applied: AppliedConfig;
  readonly refused: () => number;
}

/** Sends `POST /v1/gateways/{env}/{name}/status` when there is news. */
export class StatusReporter {
  readonly #o: StatusReporterOptions;
  /** Something changed since the last report that got through. */
  pending = true;

  constructor(options: StatusReporterOptions) {
    this.#o = options;
  }

  /** Reports if something is pending; a failure is logged and leaves it pending. */
  async reportIfPending(): Promise<void> {
    if (!this.pending) return;
    const { client, credentials, gateway, logger, applied } = this.#o;
    const snapshot = applied.current?.snapshot;
    const report = {
      appliedVersion: snapshot?.version ?? null,
      appliedHash: snapshot?.hash ?? null,
      refused: this.#o.refused(),
      x509ExpiresAt: credentials.current().expiresAt.toISOString(),
    };
    this.pending = false;
    try {
      await client.reportStatus(gateway, await credentials.controlPlaneToken(), report);
      logger.debug(report, 'status reported');
    } catch (error) {
      this.pending = true;
      logger.warn({ why: reason(error) }, 'status report failed; it goes with the next sync');
    }
  }
}
