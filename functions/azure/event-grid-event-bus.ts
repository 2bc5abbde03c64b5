/**
 * The `EventBus` on an Event Grid custom topic in the CloudEvents 1.0 schema.
 * Each weft CloudEvent is sent as it is, one element of the batch array:
 * `id`, `source`, `type`, `time`, `subject`, `datacontenttype`,
 * `dataschema`, `data` and extensions, nothing added, nothing changed, so
 * Event Grid pushes to the functions exactly what was published.
 *
 * That takes one step past the SDK. Its `send` rewrites a CloudEvent on the
 * way: it adds `time` and `datacontenttype` when absent, rewrites `time`
 * as milliseconds in UTC (`toISOString()`, losing offset and precision), refuses `data` that is a string, number or boolean
 * ("must be of type object") and sends an array as an object with keys
 * "0", "1"... (@azure/eventgrid 5.12). So each event goes to `send` as a bare
 * envelope carrying its exact JSON in one extension attribute, and a policy
 * this bus adds to the client's pipeline, after serialization and before
 * the retries and the credential, swaps the body for those exact JSON
 * texts. The SDK still authenticates (key or Entra token), retries and maps
 * errors; the bytes counted against Event Grid's limits are the bytes sent
 * (but for the `traceparent` extension the SDK's tracing policy adds to each
 * event, about 70 bytes, when a tracer is configured).
 *
 * Event Grid takes at most 1 MB per request, and per event: batches are cut
 * to fit, and an event that cannot fit is refused before anything is sent.
 * Azure does not say whether that MB is 10^6 or 2^20 bytes; weft counts 10^6,
 * which holds either way. A request Event Grid refuses with a transient
 * failure (throttling, 5xx, no answer) is sent again with backoff, a
 * bounded number of times, after the client's own retries.
 *
 * Delivery is Event Grid's: subscriptions on the topic push to the
 * functions' webhooks, so there is no in-process `subscribe` on Azure.
 *
 * @module
 */
import type { EventGridPublisherClient, SendCloudEventInput } from '@azure/eventgrid';
import { type CloudEvent, parseCloudEvent } from '../../shared/events/cloud-event.js';
import type { EventBus, EventHandler, Unsubscribe } from '../../shared/events/event-bus.js';
import { Backoff, sleep } from '../../shared/model/backoff.js';
import { PayloadTooLargeError, UnavailableError, ValidationError } from '../../shared/model/errors.js';

/** Most bytes of one publish request, the JSON array of events, and so of one event in it: 1 MB, read as 10^6. */
export const EVENT_GRID_MAX_BYTES = 1_000_000;

/** The extension attribute that carries an event's exact JSON from `send` to the body policy; never on the wire. */
const WIRE_ATTRIBUTE = 'weftwire';
const WIRE_POLICY = 'weftExactCloudEventsBody';
const BATCH_CONTENT_TYPE = 'application/cloudevents-batch+json; charset=utf-8';

/** Configuration of {@link EventGridEventBus}. */
export interface EventGridEventBusOptions {
  /**
   * A client for the topic (`WEFT_EVENT_GRID_ENDPOINT`) in the CloudEvents
   * schema, with the topic key (`WEFT_EVENT_GRID_KEY`) or a managed identity.
   * The bus adds one policy to its pipeline (see the module comment).
   */
  readonly client: EventGridPublisherClient<'CloudEvent'>;
  /** Times a request Event Grid fails transiently is sent in all. @default 4 */
  readonly maxAttempts?: number;
  /** Backoff between those attempts. @default { baseMs: 100, capMs: 2000 } */
  readonly retryDelay?: { readonly baseMs: number; readonly capMs: number };
}

/**
 * @example
 * const client = new EventGridPublisherClient(process.env.WEFT_EVENT_GRID_ENDPOINT!, 'CloudEvent', new DefaultAzureCredential());
 * const bus = new EventGridEventBus({ client });
 * await bus.publish([resourceChanged(record)]);
 */
export class EventGridEventBus implements EventBus {
  readonly #client: EventGridPublisherClient<'CloudEvent'>;
  readonly #maxAttempts: number;
  readonly #delay: { readonly baseMs: number; readonly capMs: number };

  constructor(options: EventGridEventBusOptions) {
    if (!options.client) throw new TypeError('EventGridEventBus needs an EventGridPublisherClient');
    this.#client = options.client;
    this.#maxAttempts = options.maxAttempts ?? 4;
    if (!Number.isInteger(this.#maxAttempts) || this.#maxAttempts < 1)
      throw new TypeError('maxAttempts must be a positive integer');
    this.#delay = options.retryDelay ?? { baseMs: 100, capMs: 2000 };
    installExactBody(options.client);
  }

  /**
   * Checks every event first, so a batch with one bad event puts none on the bus.
   *
   * @throws ValidationError when an event is not a valid CloudEvent (pointers start with its index).
   * @throws PayloadTooLargeError when an event is over Event Grid's 1 MB.
   * @throws UnavailableError when Event Grid cannot be reached, refuses the credentials, has no such
   *   topic, or still fails after the retries (earlier requests of the batch may be on the topic then:
   *   publishing again is safe, consumers are idempotent).
   */
  async publish(events: readonly CloudEvent[]): Promise<void> {
    const sized = events.map((event, i) => wire(event, i));
    for (const chunk of chunks(sized)) await this.#send(chunk);
  }

  /** @throws TypeError always: on Azure, Event Grid subscriptions deliver events to the functions. */
  subscribe(type: string, _handler: EventHandler): Unsubscribe {
    throw new TypeError(
      `EventGridEventBus cannot subscribe to ${type} in process: on Azure an Event Grid subscription on ` +
        `the topic (CloudEvents schema) pushes ${type} to a function's webhook (the deployment makes the subscriptions)`,
    );
  }

  async #send(chunk: readonly Wire[]): Promise<void> {
    const backoff = new Backoff(this.#delay);
    const envelopes = chunk.map(
      (w): SendCloudEventInput<unknown> => ({
        id: w.id,
        source: w.source,
        type: w.type,
        extensionAttributes: { [WIRE_ATTRIBUTE]: w.json },
      }),
    );
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#client.send(envelopes);
        return;
      } catch (error) {
        const transient = isTransient(error);
        if (!transient || attempt >= this.#maxAttempts) throw this.#unavailable(error, transient && attempt);
      }
      await sleep(backoff.next());
    }
  }

  #unavailable(error: unknown, attempts: number | false): unknown {
    if (!isRestError(error)) return error;
    const topic = this.#client.endpointUrl;
    const status = error.statusCode;
    const what = error.code ?? status ?? error.message;
    if (attempts) {
      const reach = status === undefined ? 'could not reach' : 'is throttling or failing on';
      return new UnavailableError(
        `weft ${reach} Event Grid topic ${topic} (${what}) ${attempts} times: retry later`,
        { cause: error },
      );
    }
    if (status === 401 || status === 403) {
      return new UnavailableError(
        `Event Grid topic ${topic} refused the credentials (${what}): check WEFT_EVENT_GRID_KEY, or the identity's EventGrid Data Sender role`,
        { cause: error },
      );
    }
    if (status === 404) {
      return new UnavailableError(`Event Grid topic ${topic} does not exist: deploy the Azure resources`, {
        cause: error,
      });
    }
    if (status === 413) {
      return new PayloadTooLargeError(`Event Grid topic ${topic} refused a request as too large`, {
        cause: error,
      });
    }
    return error;
  }
}

/** An event as sent: its exact JSON, that JSON's size, and the envelope `send` requires. */
interface Wire {
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly json: string;
  readonly bytes: number;
}

function wire(event: CloudEvent, index: number): Wire {
  let checked: CloudEvent;
  try {
    checked = parseCloudEvent(event);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const issues = error.issues.map((i) => ({ ...i, pointer: `/${index}${i.pointer}` }));
    throw new ValidationError(`event ${index}: ${error.message}`, issues, { cause: error });
  }
  if (WIRE_ATTRIBUTE in checked) {
    throw new ValidationError(`event ${index}: ${WIRE_ATTRIBUTE} is weft's own attribute on Event Grid`, [
      { pointer: `/${index}/${WIRE_ATTRIBUTE}`, detail: 'reserved' },
    ]);
  }
  const json = JSON.stringify(checked);
  const bytes = Buffer.byteLength(json, 'utf8');
  // Alone in a request, an event still pays the array's brackets.
  if (bytes + 2 > EVENT_GRID_MAX_BYTES) {
    throw new PayloadTooLargeError(
      `event ${index} (${checked.type} ${checked.id}) is ${bytes} bytes of JSON; Event Grid takes at most ` +
        `${EVENT_GRID_MAX_BYTES} a request: put large content in the blob store and send its key`,
    );
  }
  return { id: checked.id, source: checked.source, type: checked.type, json, bytes };
}

/** Consecutive runs whose JSON array (`[`, the events, a `,` between each, `]`) is at most 1 MB. */
function* chunks(events: readonly Wire[]): Generator<Wire[]> {
  let chunk: Wire[] = [];
  let bytes = 2;
  for (const event of events) {
    if (chunk.length > 0 && bytes + 1 + event.bytes > EVENT_GRID_MAX_BYTES) {
      yield chunk;
      chunk = [];
      bytes = 2;
    }
    bytes += (chunk.length > 0 ? 1 : 0) + event.bytes;
    chunk.push(event);
  }
  if (chunk.length > 0) yield chunk;
}

/** The parts of `@azure/core-rest-pipeline`'s pipeline and request this bus touches. */
interface PipelineLike {
  addPolicy(policy: PolicyLike): void;
  getOrderedPolicies(): readonly { readonly name: string }[];
}
interface PolicyLike {
  readonly name: string;
  sendRequest(request: RequestLike, next: (request: RequestLike) => Promise<unknown>): Promise<unknown>;
}
interface RequestLike {
  body?: unknown;
  readonly headers: { get(name: string): string | undefined };
}

/**
 * Adds the policy that sends each event's exact JSON (see the module
 * comment) to the client's pipeline, once. The SDK does not expose the
 * pipeline of a client it built, so this reaches its generated client.
 *
 * @throws TypeError when the client is not shaped as @azure/eventgrid 5 builds it.
 */
function installExactBody(client: EventGridPublisherClient<'CloudEvent'>): void {
  const pipeline = (client as unknown as { client?: { pipeline?: Partial<PipelineLike> } }).client?.pipeline;
  if (typeof pipeline?.addPolicy !== 'function' || typeof pipeline.getOrderedPolicies !== 'function') {
    throw new TypeError(
      'EventGridEventBus needs an EventGridPublisherClient of @azure/eventgrid 5 (its pipeline was not found)',
    );
  }
  if (pipeline.getOrderedPolicies().some((p) => p.name === WIRE_POLICY)) return;
  // No phase: after the Serialize phase (the body is JSON text by then), before Retry and Sign.
  pipeline.addPolicy({
    name: WIRE_POLICY,
    sendRequest(request, next) {
      if (request.headers.get('Content-Type') === BATCH_CONTENT_TYPE && typeof request.body === 'string') {
        const items: unknown = JSON.parse(request.body);
        const exact = Array.isArray(items)
          ? items.map((item) => (item as Record<string, unknown> | null)?.[WIRE_ATTRIBUTE])
          : [];
        // Only this bus's sends carry the attribute; anyone else's go as the SDK made them.
        if (exact.length > 0 && exact.every((json) => typeof json === 'string'))
          request.body = `[${exact.join(',')}]`;
      }
      return next(request);
    },
  });
}

interface RestErrorLike extends Error {
  readonly statusCode?: number;
  readonly code?: string;
}

/** The SDK's `RestError`, by name, as `@azure/core-rest-pipeline`'s own `isRestError` tells it. */
function isRestError(error: unknown): error is RestErrorLike {
  return error instanceof Error && error.name === 'RestError';
}

/** No answer (refused, reset, timed out), 408, 429 or a 5xx: worth sending again. */
function isTransient(error: unknown): boolean {
  if (!isRestError(error)) return false;
  const status = error.statusCode;
  return status === undefined || status === 408 || status === 429 || status >= 500;
}
