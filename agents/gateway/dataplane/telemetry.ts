/**
 * Every call through the gateway, told three ways at its end: Prometheus
 * counters and a latency histogram (DESIGN §7), one JSON access-log line
 * through pino, and, when an OTLP endpoint is configured, one span for the
 * hop. Nothing here sees a header, so no token can leak into any of them.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { type DataPlaneMetrics, type Direction, type RefusalReason, registerMetrics } from './metrics.js';
import type { ExportSpan, OtlpExporter } from './otlp-exporter.js';
import type { TraceContext } from './trace-context.js';

/** One finished call, as both gateways describe it. */
export interface CallRecord {
  readonly direction: Direction;
  /** The caller's SPIFFE ID, or `unknown` before it is established. */
  readonly source: string;
  /**
   * The service's SPIFFE ID, or `unknown` when the host names none (the host
   * is in `error`: a label must not take whatever Host a caller sends).
   */
  readonly destination: string;
  /** The environment that served (outbound: the one dialled last; inbound: this one); `''` if none. */
  readonly environment: string;
  readonly method: string;
  /** Without the query string, which may carry secrets. */
  readonly path: string;
  readonly status: number;
  /** `performance.now()` when the request arrived. */
  readonly startedAt: number;
  readonly trace: TraceContext;
  /** Inbound: the calling gateway's SPIFFE ID. */
  readonly peer?: string;
  readonly decidedBy?: string;
  /** Outbound: attempts made, retries included. */
  readonly attempts?: number;
  /** What went wrong, for a failure the gateway itself answered. */
  readonly error?: string;
}

/** Options of {@link Telemetry}. */
export interface TelemetryOptions {
  readonly registry: Registry;
  /** Where access lines go. */
  readonly logger: Logger;
  /** Where the rarer event lines (ejections, refusals) go. @default logger */
  readonly eventLogger?: Logger;
  readonly exporter?: OtlpExporter;
}

const epochNanos = (ms: number) => BigInt(Math.round((performance.timeOrigin + ms) * 1000)) * 1000n;

/** Records calls and authorization denials. */
export class Telemetry {
  readonly metrics: DataPlaneMetrics;
  readonly #logger: Logger;
  readonly #events: Logger;
  readonly #exporter: OtlpExporter | undefined;

  constructor(options: TelemetryOptions) {
    this.metrics = registerMetrics(options.registry);
    this.#logger = options.logger;
    this.#events = options.eventLogger ?? options.logger;
    this.#exporter = options.exporter;
  }

  /** Counts, logs and (maybe) exports one finished call. */
  record(call: CallRecord): void {
    const end = performance.now();
    const seconds = (end - call.startedAt) / 1000;
    const labels = {
      source: call.source,
      destination: call.destination,
      environment: call.environment,
      response_code: String(call.status),
      direction: call.direction,
    };
    this.metrics.requests.inc(labels);
    this.metrics.duration.observe(labels, seconds);
    // Field by field, not `{ ...rest }` of the record: the spread cost more than pino's serializing (issue 5).
    // Fields left undefined are left out of the line, as the spread did.
    this.#logger.info(
      {
        direction: call.direction,
        source: call.source,
        destination: call.destination,
        environment: call.environment,
        method: call.method,
        path: call.path,
        status: call.status,
        peer: call.peer,
        decidedBy: call.decidedBy,
        attempts: call.attempts,
        error: call.error,
        durationMs: Math.round(seconds * 1e6) / 1e3,
        traceId: call.trace.traceId,
        spanId: call.trace.spanId,
      },
      'access',
    );
    this.#exporter?.add(toSpan(call, end));
  }

  /** Counts one call refused by policy. */
  denied(labels: { source: string; destination: string; environment: string; decidedBy: string }): void {
    const { decidedBy, ...rest } = labels;
    this.metrics.denied.inc({ ...rest, decided_by: decidedBy });
  }

  /** Counts and logs an environment ejected from a service's rotation. */
  ejected(e: { destination: string; environment: string; forMs: number }): void {
    this.metrics.ejections.inc({ destination: e.destination, environment: e.environment });
    this.#events.warn(e, 'environment ejected after consecutive errors');
  }

  /**
   * Counts a connection the ingress dropped. Logged at debug only: anyone
   * who can reach the port can make these, and a log line each would let
   * them fill the disk.
   */
  refused(reason: RefusalReason, detail: Record<string, unknown>): void {
    this.metrics.refused.inc({ reason });
    this.#events.debug({ reason, ...detail }, 'ingress refused a connection');
  }

  /** Exports what spans are left. */
  async close(): Promise<void> {
    await this.#exporter?.close();
  }
}

function toSpan(call: CallRecord, end: number): ExportSpan {
  const attributes: Record<string, string | number> = {
    'http.request.method': call.method,
    'url.path': call.path,
    'http.response.status_code': call.status,
    'weft.direction': call.direction,
    'weft.source': call.source,
    'weft.destination': call.destination,
    'weft.environment': call.environment,
  };
  if (call.peer) attributes['weft.peer'] = call.peer;
  if (call.decidedBy) attributes['weft.decided_by'] = call.decidedBy;
  if (call.attempts !== undefined) attributes['weft.attempts'] = call.attempts;
  return {
    traceId: call.trace.traceId,
    spanId: call.trace.spanId,
    ...(call.trace.parentSpanId ? { parentSpanId: call.trace.parentSpanId } : {}),
    name: `${call.direction === 'outbound' ? 'egress' : 'ingress'} ${call.method}`,
    kind: call.direction === 'outbound' ? 3 : 2,
    startTimeUnixNano: epochNanos(call.startedAt),
    endTimeUnixNano: epochNanos(end),
    attributes,
    error: call.status >= 500,
  };
}

/**
 * The traces URL from the standard variables: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
 * as is, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`; `undefined` when neither is set.
 */
export function otlpTracesUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
}
