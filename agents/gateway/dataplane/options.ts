/**
 * The data plane's public shape: what the agent's control loop hands in and
 * what it gets back. See `data-plane.ts` for the behaviour.
 *
 * @module
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { GatewaySnapshot } from '../../../shared/contract/snapshot.js';
import type { DataPlaneLimits } from './context.js';
import type { Credentials } from './credentials.js';
import type { EndpointPoolOptions } from './endpoint-pools.js';
import type { TransportOptions } from './transport.js';
import type { Random } from './weighted.js';

/** Options of `createDataPlane`. */
export interface DataPlaneOptions {
  /** The environment this gateway serves; snapshots for another are refused. */
  readonly environment: string;
  readonly gatewayName: string;
  /** The current SVID and bundle: read at creation, and by `updateCredentials()` without an argument. */
  readonly credentials: () => Credentials;
  /** The current snapshot: read at creation, and by `applySnapshot()` without an argument. */
  readonly snapshot: () => GatewaySnapshot;
  /** Where the metrics go (the agent's admin `/metrics`). @default a new registry */
  readonly registry?: Registry;
  /** The data plane's own events, and access lines unless `accessLogger` is set. @default pino to stdout */
  readonly logger?: Logger;
  /**
   * One line per call per hop. The agent hands in a buffered one
   * (`access-log.ts`): a synchronous write per call costs more than the rest
   * of the call's logging put together. @default `logger`
   */
  readonly accessLogger?: Logger;
  /**
   * OTLP/HTTP traces URL (`.../v1/traces`).
   * @default from `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`; none: no spans
   */
  readonly otlpTracesUrl?: string;
  /** For weighted choice across environments. @default Math.random */
  readonly random?: Random;
  /** For outlier ejection and retry budgets. @default Date.now */
  readonly now?: () => number;
  readonly limits?: Partial<DataPlaneLimits>;
  /** Pools to remote gateways. */
  readonly transport?: TransportOptions;
  /** Pools to local endpoints. */
  readonly endpoints?: EndpointPoolOptions;
  /** How long `close()` lets calls in flight finish. @default 5_000 */
  readonly drainMs?: number;
}

/** Where `listen` binds; each defaults from the snapshot's gateway. */
export interface ListenAddresses {
  /** @default snapshot.gateway.address */
  readonly ingressAddress?: string;
  /** @default snapshot.gateway.egressAddress, else `127.0.0.1:15001` */
  readonly egressAddress?: string;
}

/** The addresses actually bound (a port 0 resolved). */
export interface BoundAddresses {
  readonly ingress: string;
  readonly egress: string;
}

/** A running (or ready to run) gateway data plane. */
export interface DataPlane {
  /**
   * Swaps in a snapshot (default: `options.snapshot()`) for every call that
   * starts from now on. Calls under way finish on the one they started with.
   *
   * @throws ValidationError when the snapshot is for another gateway.
   */
  applySnapshot(snapshot?: GatewaySnapshot): void;
  /**
   * Swaps in credentials (default: `options.credentials()`): new handshakes on
   * the ingress use them at once, new outbound calls go through new pools, and
   * the old pools close once their calls finish. Nothing in flight is dropped.
   *
   * @throws ValidationError for unusable credentials or an SVID for another
   *   gateway; the old credentials stay.
   */
  updateCredentials(credentials?: Credentials): void;
  /** Binds both listeners. @throws TypeError when already listening. */
  listen(addresses?: ListenAddresses): Promise<BoundAddresses>;
  /** Bound addresses, once listening. */
  readonly addresses: BoundAddresses | undefined;
  /** Stops both listeners, drains calls in flight (up to `drainMs`), closes every pool, flushes spans. */
  close(): Promise<void>;
}
