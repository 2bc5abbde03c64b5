/**
 * The data plane's Prometheus metrics, named as DESIGN §7 has them. Labels
 * carry SPIFFE IDs, bounded by the mesh's services, never paths or trace ids.
 * Registering twice on one registry reuses the metrics (two data planes, or
 * an agent that reloads, share the series).
 *
 * @module
 */
import { Counter, Histogram, type Registry } from 'prom-client';

/** `inbound`: ingress, from another gateway to a local endpoint. `outbound`: egress, from a local workload. */
export type Direction = 'inbound' | 'outbound';

export const REQUEST_LABELS = ['source', 'destination', 'environment', 'response_code', 'direction'] as const;
export const DENIED_LABELS = ['source', 'destination', 'environment', 'decided_by'] as const;
export type RequestLabel = (typeof REQUEST_LABELS)[number];
export type DeniedLabel = (typeof DENIED_LABELS)[number];
export const EJECTION_LABELS = ['destination', 'environment'] as const;
/**
 * Why the ingress dropped a connection before reading a request:
 * `not-tls` (plain TCP or HTTP), `tls-version` (below 1.3),
 * `no-client-certificate`, `untrusted-certificate` (not from the bundle),
 * `not-a-gateway` (a mesh SVID, but a workload's), `handshake` (anything else).
 */
export type RefusalReason =
  | 'not-tls'
  | 'tls-version'
  | 'no-client-certificate'
  | 'untrusted-certificate'
  | 'not-a-gateway'
  | 'handshake';

/** The metrics one data plane writes. */
export interface DataPlaneMetrics {
  readonly requests: Counter<RequestLabel>;
  readonly duration: Histogram<RequestLabel>;
  readonly denied: Counter<DeniedLabel>;
  readonly ejections: Counter<(typeof EJECTION_LABELS)[number]>;
  readonly refused: Counter<'reason'>;
}

// Sub-millisecond to the default route timeout: a mesh hop is fast when it works and slow when it does not.
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30];

function reuse<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** Registers (or finds) the metrics on `registry`. */
export function registerMetrics(registry: Registry): DataPlaneMetrics {
  const registers = [registry];
  return {
    requests: reuse(
      registry,
      'weft_requests_total',
      () =>
        new Counter({
          name: 'weft_requests_total',
          help: 'Calls through the gateway, by caller, service, serving environment, status and direction.',
          labelNames: REQUEST_LABELS,
          registers,
        }),
    ),
    duration: reuse(
      registry,
      'weft_request_duration_seconds',
      () =>
        new Histogram({
          name: 'weft_request_duration_seconds',
          help: 'Time from the request arriving at the gateway to the last byte of the answer.',
          labelNames: REQUEST_LABELS,
          buckets: BUCKETS,
          registers,
        }),
    ),
    denied: reuse(
      registry,
      'weft_authz_denied_total',
      () =>
        new Counter({
          name: 'weft_authz_denied_total',
          help: 'Calls the ingress refused by authorization policy, by the rule that decided.',
          labelNames: DENIED_LABELS,
          registers,
        }),
    ),
    ejections: reuse(
      registry,
      'weft_outlier_ejections_total',
      () =>
        new Counter({
          name: 'weft_outlier_ejections_total',
          help: 'Environments the egress took out of rotation for a service after consecutive errors.',
          labelNames: EJECTION_LABELS,
          registers,
        }),
    ),
    refused: reuse(
      registry,
      'weft_ingress_refused_total',
      () =>
        new Counter({
          name: 'weft_ingress_refused_total',
          help: 'Connections the ingress dropped before reading a request, by reason.',
          labelNames: ['reason'],
          registers,
        }),
    ),
  };
}
