/**
 * The `EventBus` on EventBridge. Each CloudEvent is one `PutEvents` entry,
 * in structured mode: `Source` is `dev.weft.aws`, `DetailType` the event's
 * `type` (what rules match), and `Detail` the whole CloudEvent as JSON,
 * which the functions read back from `event.detail`. Entries go ten to a
 * request and under EventBridge's 256 KB; entries EventBridge reports as
 * failed are sent again with backoff, a bounded number of times.
 *
 * Delivery is EventBridge's: rules invoke the functions, so there is no
 * in-process `subscribe` on AWS.
 *
 * @module
 */
import {
  type EventBridgeClient,
  EventBridgeServiceException,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { type CloudEvent, parseCloudEvent } from '../../shared/events/cloud-event.js';
import type { EventBus, EventHandler, Unsubscribe } from '../../shared/events/event-bus.js';
import { Backoff, sleep } from '../../shared/model/backoff.js';
import { PayloadTooLargeError, UnavailableError, ValidationError } from '../../shared/model/errors.js';
import { unreachable } from './aws-errors.js';
import { WEFT_EVENT_SOURCE } from './environment.js';

/** Most entries in one `PutEvents` request. */
export const PUT_EVENTS_MAX_ENTRIES = 10;
/** Most bytes of entries in one `PutEvents` request (and so in one entry): 256 KB. */
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;
/**
 * What each entry is counted for beyond the documented sum of its fields:
 * EventBridge also counts "the necessary characters and keys of the JSON
 * representation", so weft keeps a margin rather than meet a refusal.
 */
const ENTRY_MARGIN_BYTES = 256;

/** Configuration of {@link EventBridgeEventBus}. */
export interface EventBridgeEventBusOptions {
  readonly client: EventBridgeClient;
  /** `WEFT_EVENT_BUS_NAME`: the construct's bus (a name or ARN). */
  readonly busName: string;
  /** Times an entry EventBridge reports as failed is sent in all. @default 4 */
  readonly maxAttempts?: number;
  /** Backoff between those attempts. @default { baseMs: 100, capMs: 2000 } */
  readonly retryDelay?: { readonly baseMs: number; readonly capMs: number };
}

/**
 * @example
 * const bus = new EventBridgeEventBus({ client: new EventBridgeClient({}), busName: process.env.WEFT_EVENT_BUS_NAME! });
 * await bus.publish([resourceChanged(record)]);
 */
export class EventBridgeEventBus implements EventBus {
  readonly #client: EventBridgeClient;
  readonly #bus: string;
  readonly #maxAttempts: number;
  readonly #delay: { readonly baseMs: number; readonly capMs: number };

  constructor(options: EventBridgeEventBusOptions) {
    if (!options.busName) throw new TypeError('EventBridgeEventBus needs a busName');
    this.#client = options.client;
    this.#bus = options.busName;
    this.#maxAttempts = options.maxAttempts ?? 4;
    if (!Number.isInteger(this.#maxAttempts) || this.#maxAttempts < 1)
      throw new TypeError('maxAttempts must be a positive integer');
    this.#delay = options.retryDelay ?? { baseMs: 100, capMs: 2000 };
  }

  /**
   * Checks every event first, so a batch with one bad event puts none on the bus.
   *
   * @throws ValidationError when an event is not a valid CloudEvent (pointers start with its index).
   * @throws PayloadTooLargeError when an event is over EventBridge's 256 KB.
   * @throws UnavailableError when EventBridge cannot be reached, or still fails entries after the retries
   *   (some of the batch may be on the bus then: publishing again is safe, consumers are idempotent).
   */
  async publish(events: readonly CloudEvent[]): Promise<void> {
    const entries = events.map((event, i) => this.#entry(event, i));
    for (const chunk of chunks(entries)) await this.#put(chunk);
  }

  /** @throws TypeError always: on AWS, EventBridge rules deliver events to the functions. */
  subscribe(type: string, _handler: EventHandler): Unsubscribe {
    throw new TypeError(
      `EventBridgeEventBus cannot subscribe to ${type} in process: on AWS an EventBridge rule on ` +
        `detail-type ${type} delivers it to a Lambda function (the CDK construct makes the rules)`,
    );
  }

  #entry(event: CloudEvent, index: number): Sized {
    let checked: CloudEvent;
    try {
      checked = parseCloudEvent(event);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const issues = error.issues.map((i) => ({ ...i, pointer: `/${index}${i.pointer}` }));
      throw new ValidationError(`event ${index}: ${error.message}`, issues, { cause: error });
    }
    const entry = {
      Source: WEFT_EVENT_SOURCE,
      DetailType: checked.type,
      Detail: JSON.stringify(checked),
      EventBusName: this.#bus,
    } satisfies PutEventsRequestEntry;
    const bytes = utf8(entry.Source) + utf8(entry.DetailType) + utf8(entry.Detail) + ENTRY_MARGIN_BYTES;
    if (bytes > PUT_EVENTS_MAX_BYTES) {
      throw new PayloadTooLargeError(
        `event ${index} (${checked.type} ${checked.id}) is ${bytes} bytes as an EventBridge entry; ` +
          `EventBridge takes at most ${PUT_EVENTS_MAX_BYTES}: put large content in the blob store and send its key`,
      );
    }
    return { entry, bytes, id: checked.id };
  }

  async #put(chunk: readonly Sized[]): Promise<void> {
    const backoff = new Backoff(this.#delay);
    let pending = chunk;
    for (let attempt = 1; ; attempt++) {
      let results: { ErrorCode?: string; ErrorMessage?: string }[];
      try {
        const out = await this.#client.send(new PutEventsCommand({ Entries: pending.map((s) => s.entry) }));
        if (!out.FailedEntryCount) return;
        results = out.Entries ?? [];
      } catch (error) {
        throw this.#unavailable(error);
      }
      // Entries answer in request order; one without an ErrorCode is on the bus (a missing answer is not).
      const failed = pending.filter((_, i) => !results[i] || results[i].ErrorCode);
      const first = results.find((r) => r.ErrorCode);
      if (failed.length === 0) return;
      if (attempt >= this.#maxAttempts) {
        throw new UnavailableError(
          `EventBridge bus ${this.#bus} refused ${failed.length} of ${pending.length} events ` +
            `${attempt} times (${first?.ErrorCode}: ${first?.ErrorMessage}): retry later; ` +
            `first refused: ${failed[0]!.id}`,
        );
      }
      pending = failed;
      await sleep(backoff.next());
    }
  }

  #unavailable(error: unknown): unknown {
    if (error instanceof EventBridgeServiceException) {
      if (error.name === 'ResourceNotFoundException') {
        return new UnavailableError(`EventBridge bus ${this.#bus} does not exist: deploy the AWS stack`, {
          cause: error,
        });
      }
      if (
        error.$fault === 'server' ||
        error.$retryable ||
        error.name === 'ThrottlingException' ||
        error.name === 'AccessDeniedException'
      ) {
        return new UnavailableError(`EventBridge refused or failed PutEvents (${error.name}): retry later`, {
          cause: error,
        });
      }
      return error;
    }
    return unreachable('EventBridge', error) ?? error;
  }
}

interface Sized {
  readonly entry: PutEventsRequestEntry;
  readonly bytes: number;
  readonly id: string;
}

/** Consecutive runs of at most 10 entries and 256 KB. */
function* chunks(entries: readonly Sized[]): Generator<Sized[]> {
  let chunk: Sized[] = [];
  let bytes = 0;
  for (const sized of entries) {
    if (chunk.length === PUT_EVENTS_MAX_ENTRIES || bytes + sized.bytes > PUT_EVENTS_MAX_BYTES) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(sized);
    bytes += sized.bytes;
  }
  if (chunk.length > 0) yield chunk;
}

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');
