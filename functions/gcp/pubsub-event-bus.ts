/**
 * The `EventBus` on Pub/Sub. Each CloudEvent is one message, in structured
 * mode: `data` is the whole CloudEvent as UTF-8 JSON (what `unwrapPubSub`
 * in `compile-function.ts` reads back from an Eventarc delivery), and the
 * attributes `ce-type`, `ce-source` and `ce-id` repeat its envelope, so a
 * subscription can filter on the type without reading the data. The SDK's
 * publisher batches messages (up to 1,000 and ~9 MiB a request); each
 * message must be under Pub/Sub's 10 MB.
 *
 * Delivery is Eventarc's: its Pub/Sub triggers push to the functions, so
 * there is no in-process `subscribe` on Google Cloud.
 *
 * @module
 */
import type { PubSub, Topic } from '@google-cloud/pubsub';
import { type CloudEvent, parseCloudEvent } from '../../shared/events/cloud-event.js';
import type { EventBus, EventHandler, Unsubscribe } from '../../shared/events/event-bus.js';
import { PayloadTooLargeError, UnavailableError, ValidationError } from '../../shared/model/errors.js';
import { GRPC, grpcCode } from './firestore-errors.js';

/** Most bytes of one Pub/Sub message, data and attributes: 10 MB. */
export const PUBSUB_MAX_MESSAGE_BYTES = 10_000_000;
/** Most bytes of one attribute value. */
export const PUBSUB_MAX_ATTRIBUTE_BYTES = 1024;
/** Most messages in one `Publish` request. */
export const PUBLISH_MAX_MESSAGES = 1000;
/**
 * Most bytes of messages weft batches into one `Publish` request (the SDK's
 * own cap, under Pub/Sub's 10 MB a request); a larger message goes alone.
 */
export const PUBLISH_MAX_BATCH_BYTES = 9 * 1024 * 1024;
/**
 * What a message is counted for beyond its data and attributes: the
 * request's topic name and protobuf framing, which a message sent alone
 * still pays. weft keeps a margin rather than meet a refusal.
 */
const MESSAGE_MARGIN_BYTES = 1024;

/** The attributes each message carries, and the CloudEvent attribute each repeats. */
const ATTRIBUTES = { 'ce-type': 'type', 'ce-source': 'source', 'ce-id': 'id' } as const;

/** Configuration of {@link PubSubEventBus}. */
export interface PubSubEventBusOptions {
  readonly pubsub: PubSub;
  /** `WEFT_PUBSUB_TOPIC`: the changes topic, an id (`weft-changes`) or a full `projects/P/topics/T` name. */
  readonly topic: string;
  /**
   * How long one `publish` may take, the SDK's retries of transient failures
   * (UNAVAILABLE, throttling) included; then it fails with UnavailableError.
   * @default 30_000
   */
  readonly timeoutMs?: number;
}

/**
 * @example
 * const bus = new PubSubEventBus({ pubsub: new PubSub(), topic: process.env.WEFT_PUBSUB_TOPIC! });
 * await bus.publish([resourceChanged(record)]);
 */
export class PubSubEventBus implements EventBus {
  readonly #topic: Topic;
  readonly #name: string;

  constructor(options: PubSubEventBusOptions) {
    if (!options.pubsub) throw new TypeError('PubSubEventBus needs a PubSub client');
    if (!options.topic) throw new TypeError('PubSubEventBus needs a topic');
    const timeout = options.timeoutMs ?? 30_000;
    if (!(timeout > 0)) throw new TypeError('timeoutMs must be positive');
    this.#name = options.topic;
    this.#topic = options.pubsub.topic(options.topic, {
      // The SDK's defaults are 100 messages and 1 MiB: fewer, fuller requests.
      batching: { maxMessages: PUBLISH_MAX_MESSAGES, maxBytes: PUBLISH_MAX_BATCH_BYTES },
      gaxOpts: { timeout },
    });
  }

  /**
   * Checks every event first, so a batch with one bad event puts none on the bus.
   *
   * @throws ValidationError when an event is not a valid CloudEvent, or its `type`, `source` or `id` is
   *   over Pub/Sub's 1024 bytes of attribute value (pointers start with its index).
   * @throws PayloadTooLargeError when an event is over Pub/Sub's 10 MB.
   * @throws UnavailableError when Pub/Sub cannot be reached within `timeoutMs`, refuses the
   *   credentials, or the topic does not exist (some of the batch may be on the bus then:
   *   publishing again is safe, consumers are idempotent).
   */
  async publish(events: readonly CloudEvent[]): Promise<void> {
    const messages = events.map((event, i) => message(event, i));
    if (messages.length === 0) return;
    try {
      const sent = messages.map((m) => this.#topic.publishMessage(m));
      // Send what is queued now rather than after the batching delay.
      await Promise.all([...sent, this.#topic.flush()]);
    } catch (error) {
      throw this.#unavailable(error);
    }
  }

  /** @throws TypeError always: on Google Cloud, Eventarc triggers deliver events to the functions. */
  subscribe(type: string, _handler: EventHandler): Unsubscribe {
    throw new TypeError(
      `PubSubEventBus cannot subscribe to ${type} in process: on Google Cloud an Eventarc trigger on ` +
        `topic ${this.#name} delivers it to a function (the deploy script makes the triggers)`,
    );
  }

  #unavailable(error: unknown): unknown {
    const code = grpcCode(error);
    const detail = error instanceof Error ? error.message : String(error);
    if (code === GRPC.NOT_FOUND) {
      return new UnavailableError(`Pub/Sub topic ${this.#name} does not exist: deploy the GCP resources`, {
        cause: error,
      });
    }
    if (code === GRPC.PERMISSION_DENIED || code === GRPC.UNAUTHENTICATED) {
      return new UnavailableError(
        `Pub/Sub refused the credentials (${detail}): grant the function's service account ` +
          `roles/pubsub.publisher on topic ${this.#name}`,
        { cause: error },
      );
    }
    if (code === GRPC.UNAVAILABLE || code === GRPC.DEADLINE_EXCEEDED) {
      return new UnavailableError(
        `cannot reach Pub/Sub (${detail}): check the network, or PUBSUB_EMULATOR_HOST when using an emulator`,
        { cause: error },
      );
    }
    if (
      code === GRPC.CANCELLED ||
      code === GRPC.RESOURCE_EXHAUSTED ||
      code === GRPC.ABORTED ||
      code === GRPC.INTERNAL
    ) {
      return new UnavailableError(`Pub/Sub is throttling or failing (${detail}): retry later`, {
        cause: error,
      });
    }
    return error;
  }
}

interface Message {
  readonly data: Buffer;
  readonly attributes: Record<string, string>;
}

/** `event` as a Pub/Sub message, checked against CloudEvents and Pub/Sub's limits. */
function message(event: CloudEvent, index: number): Message {
  let checked: CloudEvent;
  try {
    checked = parseCloudEvent(event);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const issues = error.issues.map((i) => ({ ...i, pointer: `/${index}${i.pointer}` }));
    throw new ValidationError(`event ${index}: ${error.message}`, issues, { cause: error });
  }
  const attributes: Record<string, string> = {};
  let bytes = MESSAGE_MARGIN_BYTES;
  for (const [name, field] of Object.entries(ATTRIBUTES)) {
    const value = checked[field];
    // CloudEvents allows 1024 characters, Pub/Sub 1024 bytes: they differ past ASCII.
    if (utf8(value) > PUBSUB_MAX_ATTRIBUTE_BYTES) {
      const detail = `is ${utf8(value)} bytes of UTF-8; a Pub/Sub attribute holds at most ${PUBSUB_MAX_ATTRIBUTE_BYTES}`;
      throw new ValidationError(`event ${index}: ${field} ${detail}`, [
        { pointer: `/${index}/${field}`, detail },
      ]);
    }
    attributes[name] = value;
    bytes += utf8(name) + utf8(value);
  }
  const data = Buffer.from(JSON.stringify(checked), 'utf8');
  bytes += data.length;
  if (bytes > PUBSUB_MAX_MESSAGE_BYTES) {
    throw new PayloadTooLargeError(
      `event ${index} (${checked.type} ${checked.id}) is ${bytes} bytes as a Pub/Sub message; ` +
        `Pub/Sub takes at most ${PUBSUB_MAX_MESSAGE_BYTES}: put large content in the blob store and send its key`,
    );
  }
  return { data, attributes };
}

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');
