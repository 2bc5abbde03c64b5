/**
 * Spans over OTLP/HTTP (JSON) through the OpenTelemetry JS SDK: its
 * `BatchSpanProcessor` and `OTLPTraceExporter` (`otlp-pipeline.ts`). The SDK
 * is what the operators of Istio, Linkerd and Envoy expect: the standard
 * `OTEL_EXPORTER_OTLP_*` endpoint, headers and timeout, `OTEL_SERVICE_NAME`,
 * `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_BSP_*` mean what they mean everywhere,
 * and the wire format, retries and `Retry-After` are the SDK's, not ours.
 *
 * The SDK is imported lazily, when the first `OtlpExporter` is built (only
 * when an endpoint is configured), so an agent without OTLP loads none of it;
 * spans recorded while it loads wait in the same bounded queue. Nothing here
 * touches the process-wide OpenTelemetry globals: the provider is private and
 * never registered. Never in the request path: `add` is synchronous and
 * O(1); spans beyond the queue are dropped and counted, and so is a batch
 * the collector does not take, which `onError` is told about.
 *
 * @module
 */
import type { OtlpPipeline, OtlpPipelineOptions } from './otlp-pipeline.js';

/** One finished span. */
export interface ExportSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  /** OTLP `SpanKind`: 2 server (ingress), 3 client (egress). */
  readonly kind: 2 | 3;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly attributes: Readonly<Record<string, string | number>>;
  readonly error: boolean;
}

/** Options of {@link OtlpExporter}; an option left out falls back to its `OTEL_*` variable, then to the default. */
export interface OtlpExporterOptions {
  /** The full traces URL, e.g. `http://collector:4318/v1/traces`. */
  readonly url: string;
  /**
   * Resource attributes: `service.name` and the gateway's identity.
   * `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` override them.
   */
  readonly resource: Readonly<Record<string, string>>;
  /** Sent with every export, over `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_EXPORTER_OTLP_TRACES_HEADERS`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** `OTEL_BSP_MAX_QUEUE_SIZE`. @default 2048 */
  readonly maxQueue?: number;
  /** `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`. @default 512 */
  readonly maxBatch?: number;
  /** `OTEL_BSP_SCHEDULE_DELAY`. @default 1000 */
  readonly intervalMs?: number;
  /**
   * Per export: the HTTP request, retries included (`OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`,
   * `OTEL_EXPORTER_OTLP_TIMEOUT`), and the processor's wait for it (`OTEL_BSP_EXPORT_TIMEOUT`).
   * @default 5000
   */
  readonly timeoutMs?: number;
  /** Told about failed exports (the caller logs them). */
  readonly onError?: (error: unknown) => void;
}

/** A positive number from the environment, as the SDK reads one; `undefined` when unset or not one. */
const envNumber = (...names: string[]): number | undefined => {
  for (const name of names) {
    const raw = process.env[name]?.trim();
    const value = raw ? Number(raw) : Number.NaN;
    if (Number.isFinite(value) && value > 0) return value;
  }
  return undefined;
};

/**
 * Batches spans and exports them in the background.
 *
 * @example
 * const exporter = new OtlpExporter({ url: 'http://collector:4318/v1/traces', resource: { 'service.name': 'weft-gateway' } });
 * exporter.add(span); // from the request path: never waits
 * await exporter.close(); // at shutdown: exports what is left
 */
export class OtlpExporter {
  readonly #maxQueue: number;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #loading: Promise<OtlpPipeline | undefined>;
  #pipeline: OtlpPipeline | undefined;
  /** Spans added while the SDK loads. */
  #waiting: ExportSpan[] | undefined = [];
  /** Spans added and not yet handed to the exporter: the bound of the queue. */
  #queued = 0;
  #dropped = 0;
  #closed = false;

  /** @throws TypeError when `url` is not an `http:` or `https:` URL (bad configuration fails at start-up). */
  constructor(options: OtlpExporterOptions) {
    if (!/^https?:$/.test(URL.parse(options.url)?.protocol ?? ''))
      throw new TypeError(`the OTLP traces URL ${options.url} is not an http: or https: URL`);
    this.#onError = options.onError;
    const settings: OtlpPipelineOptions = {
      url: options.url,
      resource: options.resource,
      ...(options.headers ? { headers: options.headers } : {}),
      maxQueue: options.maxQueue ?? envNumber('OTEL_BSP_MAX_QUEUE_SIZE') ?? 2048,
      maxBatch: options.maxBatch ?? envNumber('OTEL_BSP_MAX_EXPORT_BATCH_SIZE') ?? 512,
      intervalMs: options.intervalMs ?? envNumber('OTEL_BSP_SCHEDULE_DELAY') ?? 1000,
      exportTimeoutMs: options.timeoutMs ?? envNumber('OTEL_BSP_EXPORT_TIMEOUT') ?? 5000,
      requestTimeoutMs:
        options.timeoutMs ??
        envNumber('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT') ??
        5000,
      onTaken: (count) => {
        this.#queued -= count;
      },
      onFailed: (count, error) => this.#fail(count, error),
    };
    this.#maxQueue = settings.maxQueue;
    this.#loading = import('./otlp-pipeline.js')
      .then(({ createOtlpPipeline }) => createOtlpPipeline(settings))
      .then(
        (pipeline) => {
          this.#pipeline = pipeline;
          const waiting = this.#waiting ?? [];
          this.#waiting = undefined;
          for (const span of waiting) this.#record(pipeline, span);
          return pipeline;
        },
        (error: unknown) => {
          this.#waiting = undefined;
          this.#fail(this.#queued, error);
          this.#queued = 0;
          return undefined;
        },
      );
  }

  /** Spans dropped because the queue was full, the exporter closed, or an export failed. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Queues a span; O(1), never waits, never throws. */
  add(span: ExportSpan): void {
    // Past close, or once the SDK failed to load, there is nowhere for a span to go.
    if (this.#closed || this.#queued >= this.#maxQueue || (!this.#pipeline && !this.#waiting)) {
      this.#dropped += 1;
      return;
    }
    this.#queued += 1;
    if (this.#pipeline) this.#record(this.#pipeline, span);
    else this.#waiting?.push(span);
  }

  /** Exports what is queued; resolves when it is exported or its export failed (`onError` was told). */
  async flush(): Promise<void> {
    await (await this.#loading)?.flush().catch(() => undefined);
  }

  /** Exports what is left and stops; later spans are dropped. */
  async close(): Promise<void> {
    this.#closed = true;
    await (await this.#loading)?.shutdown().catch(() => undefined);
  }

  #record(pipeline: OtlpPipeline, span: ExportSpan): void {
    try {
      pipeline.record(span);
    } catch (error) {
      this.#queued -= 1;
      this.#fail(1, error);
    }
  }

  #fail(count: number, error: unknown): void {
    this.#dropped += count;
    this.#onError?.(error);
  }
}
