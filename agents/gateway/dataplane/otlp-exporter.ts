/**
 * Spans over OTLP/HTTP with the JSON encoding, written by hand: one POST of
 * `ExportTraceServiceRequest` to `<endpoint>/v1/traces` per batch. The
 * OpenTelemetry SDK would bring a context manager, a provider and a dozen
 * packages for what is, in a proxy that already has the trace context in
 * hand, a queue and a timer. Bounded and never in the request path: spans
 * beyond the queue are dropped and counted, a failed export is dropped, and
 * only one export is in flight at a time.
 *
 * @module
 */
import { request } from 'undici';

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

/** Options of {@link OtlpExporter}. */
export interface OtlpExporterOptions {
  /** The full traces URL, e.g. `http://collector:4318/v1/traces`. */
  readonly url: string;
  /** Resource attributes: `service.name` and the gateway's identity. */
  readonly resource: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** @default 2048 */
  readonly maxQueue?: number;
  /** @default 512 */
  readonly maxBatch?: number;
  /** @default 1000 */
  readonly intervalMs?: number;
  /** @default 5000 */
  readonly timeoutMs?: number;
  /** Told about failed exports (the caller logs them). */
  readonly onError?: (error: unknown) => void;
}

const attr = (key: string, value: string | number) =>
  typeof value === 'number' && Number.isInteger(value)
    ? { key, value: { intValue: String(value) } }
    : { key, value: { stringValue: String(value) } };

/** Batches spans and exports them in the background. */
export class OtlpExporter {
  readonly #options: OtlpExporterOptions;
  readonly #queue: ExportSpan[] = [];
  readonly #timer: NodeJS.Timeout;
  #inFlight: Promise<void> | undefined;
  #dropped = 0;

  constructor(options: OtlpExporterOptions) {
    this.#options = options;
    this.#timer = setInterval(() => void this.flush(), options.intervalMs ?? 1000);
    this.#timer.unref();
  }

  /** Spans dropped because the queue was full or an export failed. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Queues a span; O(1), never waits. */
  add(span: ExportSpan): void {
    if (this.#queue.length >= (this.#options.maxQueue ?? 2048)) {
      this.#dropped += 1;
      return;
    }
    this.#queue.push(span);
    if (this.#queue.length >= (this.#options.maxBatch ?? 512) && !this.#inFlight) void this.flush();
  }

  /** Exports what is queued, one batch at a time; resolves when the queue is empty or an export failed. */
  async flush(): Promise<void> {
    while (this.#inFlight) await this.#inFlight;
    while (this.#queue.length > 0) {
      const run = this.#export(this.#queue.splice(0, this.#options.maxBatch ?? 512));
      this.#inFlight = run.then(() => undefined);
      const ok = await run;
      this.#inFlight = undefined;
      if (!ok) return;
    }
  }

  /** Stops the timer and exports what is left. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  async #export(batch: readonly ExportSpan[]): Promise<boolean> {
    const { url, resource, headers, timeoutMs = 5000 } = this.#options;
    const body = JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: Object.entries(resource).map(([k, v]) => attr(k, v)) },
          scopeSpans: [{ scope: { name: 'weft.gateway.dataplane' }, spans: batch.map(toOtlp) }],
        },
      ],
    });
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      await res.body.dump();
      if (res.statusCode >= 300) throw new Error(`OTLP collector answered ${res.statusCode}`);
      return true;
    } catch (error) {
      this.#dropped += batch.length;
      this.#options.onError?.(error);
      return false;
    }
  }
}

function toOtlp(span: ExportSpan) {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
    name: span.name,
    kind: span.kind,
    startTimeUnixNano: span.startTimeUnixNano.toString(),
    endTimeUnixNano: span.endTimeUnixNano.toString(),
    attributes: Object.entries(span.attributes).map(([k, v]) => attr(k, v)),
    // STATUS_CODE_ERROR for server faults only, as the HTTP semantic conventions say.
    status: { code: span.error ? 2 : 0 },
  };
}
