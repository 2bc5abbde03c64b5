/**
 * The `EventBus` port: at-least-once delivery of CloudEvents to the handlers
 * subscribed to their type. EventBridge, Pub/Sub and Event Grid implement it
 * in the clouds (a rule or subscription per handler), `LocalEventBus` in
 * process. Handlers must be idempotent and order-free: any event may come
 * twice, late, or after a newer one.
 *
 * @module
 */
import type { CloudEvent } from './cloud-event.js';

/**
 * Handles a batch of events of one type. Resolving acknowledges the whole
 * batch; throwing asks for it again (with backoff, a bounded number of times).
 */
export type EventHandler = (events: readonly CloudEvent[]) => Promise<void>;

/** Stops a subscription. */
export type Unsubscribe = () => void;

/** Publishes CloudEvents and delivers them to subscribers, at least once. */
export interface EventBus {
  /**
   * Hands `events` to the bus. Resolves once the bus holds them (not once
   * they are handled), so a writer never waits for its consumers.
   *
   * @throws ValidationError when an event is not a valid CloudEvent.
   */
  publish(events: readonly CloudEvent[]): Promise<void>;
  /** Delivers every later event of `type` to `handler`, in batches. */
  subscribe(type: string, handler: EventHandler): Unsubscribe;
}
