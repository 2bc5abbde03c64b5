/**
 * What the egress and ingress handlers share: the current snapshot,
 * credentials-bound parts (transport, verifier) and state that outlives a
 * snapshot (outlier ejections, retry budgets). Accessors, not fields, so a
 * handler reads the current value at the moment it needs it and a swap
 * never tears one call.
 *
 * @module
 */
import type { Logger } from 'pino';
import type { JwtSvidVerifier } from '../../../shared/identity/jwt-svid.js';
import type { EndpointPools } from './endpoint-pools.js';
import type { OutlierDetector } from './outlier.js';
import type { RetryBudget } from './retry-budget.js';
import type { SnapshotIndex } from './snapshot-index.js';
import type { Telemetry } from './telemetry.js';
import type { GatewayTransport } from './transport.js';
import type { Random } from './weighted.js';

/** Limits on what a call may ask of the gateway. */
export interface DataPlaneLimits {
  /** Request bodies are read whole (so retries can resend them) up to this. @default 8 MiB */
  readonly maxRequestBodyBytes: number;
  /** Ingress: budget for a local endpoint to answer when the egress sent none. @default 15_000 */
  readonly ingressTimeoutMs: number;
  /** A calling gateway may not ask the ingress to wait longer than this. @default 300_000 */
  readonly maxIngressTimeoutMs: number;
}

/** The data plane as its handlers see it. */
export interface DataPlaneContext {
  readonly environment: string;
  readonly gatewayName: string;
  index(): SnapshotIndex;
  transport(): GatewayTransport;
  verifier(): JwtSvidVerifier;
  readonly endpoints: EndpointPools;
  readonly outliers: OutlierDetector;
  /** The retry budget of one egress service (by host). */
  retryBudget(service: string): RetryBudget;
  readonly telemetry: Telemetry;
  readonly random: Random;
  readonly logger: Logger;
  readonly limits: DataPlaneLimits;
}

/** Remaining budget the egress hands the ingress, so both give up together. */
export const TIMEOUT_HEADER = 'x-weft-timeout-ms';
