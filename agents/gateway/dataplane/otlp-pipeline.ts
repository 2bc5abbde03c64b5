/**
 * The OpenTelemetry SDK half of {@link OtlpExporter}, imported only when an
 * OTLP endpoint is configured: a provider of its own (never registered as
 * the global one), a batch span processor, and the OTLP/HTTP JSON exporter.
 * The data plane has already chosen every id, so the provider's
 * {@link IdGenerator} hands back the ids of the span being recorded and the
 * parent comes in as a remote span context: what is exported is exactly the
 * `traceparent` chain the hops propagated.
 *
 * @module
 */
import {
  type Attributes,
  type HrTime,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  type IdGenerator,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import type { ExportSpan, OtlpExporter } from './otlp-exporter.js';

/** What {@link OtlpExporter} resolved from its options and the `OTEL_*` variables. */
export interface OtlpPipelineOptions {
  readonly url: string;
  readonly resource: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly maxQueue: number;
  readonly maxBatch: number;
  readonly intervalMs: number;
  /** How long the processor waits for one export. */
  readonly exportTimeoutMs: number;
  /** How long the exporter spends on one batch, retries included. */
  readonly requestTimeoutMs: number;
  /** A batch left the processor's queue for the exporter. */
  readonly onTaken: (count: number) => void;
  /** A batch the collector did not take. */
  readonly onFailed: (count: number, error: unknown) => void;
}

/** A started pipeline. */
export interface OtlpPipeline {
  /** Records one finished span; synchronous, no I/O. */
  record(span: ExportSpan): void;
  /** Exports what is queued; rejects if an export failed. */
  flush(): Promise<void>;
  /** Exports what is queued and stops; rejects if an export failed. */
  shutdown(): Promise<void>;
}

/** Gives the tracer the ids the data plane already chose. */
class GivenIds implements IdGenerator {
  traceId = '';
  spanId = '';
  generateTraceId(): string {
    return this.traceId;
  }
  generateSpanId(): string {
    return this.spanId;
  }
}

/** Tells the caller what left the queue and what the collector refused, then answers as the SDK's exporter did. */
class ReportingExporter implements SpanExporter {
  readonly #inner: SpanExporter;
  readonly #options: OtlpPipelineOptions;

  constructor(inner: SpanExporter, options: OtlpPipelineOptions) {
    this.#inner = inner;
    this.#options = options;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.#options.onTaken(spans.length);
    this.#inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS)
        this.#options.onFailed(spans.length, result.error ?? new Error('span export failed'));
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}

const hrTime = (nanos: bigint): HrTime => [Number(nanos / 1_000_000_000n), Number(nanos % 1_000_000_000n)];

/** Starts the provider, processor and exporter; throws on a URL the exporter cannot parse. */
export function createOtlpPipeline(options: OtlpPipelineOptions): OtlpPipeline {
  const exporter = new OTLPTraceExporter({
    url: options.url,
    ...(options.headers ? { headers: { ...options.headers } } : {}),
    timeoutMillis: options.requestTimeoutMs,
  });
  const ids = new GivenIds();
  const provider = new BasicTracerProvider({
    // Later merges win: the SDK's own attributes, then the gateway's, then OTEL_SERVICE_NAME and
    // OTEL_RESOURCE_ATTRIBUTES, as the SDK's NodeSDK orders them.
    resource: defaultResource()
      .merge(resourceFromAttributes(options.resource))
      .merge(detectResources({ detectors: [envDetector] })),
    idGenerator: ids,
    // Every hop is exported, whatever the caller's sampled flag (DESIGN §7).
    sampler: new AlwaysOnSampler(),
    spanProcessors: [
      new BatchSpanProcessor(new ReportingExporter(exporter, options), {
        maxQueueSize: options.maxQueue,
        maxExportBatchSize: options.maxBatch,
        scheduledDelayMillis: options.intervalMs,
        exportTimeoutMillis: options.exportTimeoutMs,
      }),
    ],
  });
  const tracer = provider.getTracer('weft.gateway.dataplane');

  return {
    record(span) {
      ids.traceId = span.traceId;
      ids.spanId = span.spanId;
      const parent = span.parentSpanId
        ? trace.setSpanContext(ROOT_CONTEXT, {
            traceId: span.traceId,
            spanId: span.parentSpanId,
            traceFlags: TraceFlags.SAMPLED,
            isRemote: true,
          })
        : ROOT_CONTEXT;
      const started = tracer.startSpan(
        span.name,
        {
          kind: span.kind === 2 ? SpanKind.SERVER : SpanKind.CLIENT,
          startTime: hrTime(span.startTimeUnixNano),
          attributes: span.attributes as Attributes,
        },
        parent,
      );
      // ERROR for server faults only, as the HTTP semantic conventions say.
      if (span.error) started.setStatus({ code: SpanStatusCode.ERROR });
      started.end(hrTime(span.endTimeUnixNano));
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
