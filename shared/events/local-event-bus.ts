/**
 * The in-process `EventBus` of the local host: what EventBridge is to the AWS
 * deployment. Each subscription has its own queue, drained one batch at a
 * time after `publish` has returned; a batch whose handler throws is handed
 * over again with exponential backoff, up to a bound, then dropped and
 * reported. Nothing survives the process: the publisher's sweep republishes
 * from the state store what a restart lost.
 *
 * @module
 */
import { type CloudEvent, parseCloudEvent } from './cloud-event.js';
import type { EventBus, EventHandler, Unsubscribe } from './event-bus.js';

/** A failed delivery, for the log. */
export interface DeliveryFailure {
  readonly type: string;
  readonly ids: readonly string[];
  readonly attempt: number;
  /** True when the batch is dropped: that was the last attempt. */
  readonly final: boolean;
  readonly error: unknown;
}

/** Retry and batching of {@link LocalEventBus}. */
export interface LocalEventBusOptions {
  /** Deliveries of one batch before it is dropped. @default 5 */
  readonly maxAttempts?: number;
  /** Wait before the second attempt; doubles after each. @default 100 */
  readonly retryDelayMs?: number;
  /** Most events per handler call. @default 100 */
  readonly maxBatch?: number;
  /** Told of every failed delivery. @default ignore */
  readonly onFailure?: (failure: DeliveryFailure) => void;
}

interface Subscription {
  readonly type: string;
  readonly handler: EventHandler;
  readonly queue: CloudEvent[];
  running?: Promise<void>;
}

/**
 * @example
 * const bus = new LocalEventBus({ onFailure: (f) => logger.error({ msg: 'delivery failed', ...f }) });
 * bus.subscribe(RESOURCE_CHANGED, (events) => distributor.handle(events));
 * await bus.publish([event]); // returns at once; the handler runs next
 */
export class LocalEventBus implements EventBus {
  readonly #options: Required<LocalEventBusOptions>;
  readonly #subscriptions = new Set<Subscription>();
  readonly #timers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  #closed = false;

  constructor(options: LocalEventBusOptions = {}) {
    this.#options = { maxAttempts: 5, retryDelayMs: 100, maxBatch: 100, onFailure: () => {}, ...options };
  }

  async publish(events: readonly CloudEvent[]): Promise<void> {
    const checked = events.map((e) => Object.freeze(parseCloudEvent(e)));
    if (this.#closed) return;
    for (const sub of this.#subscriptions) {
      const matching = checked.filter((e) => e.type === sub.type);
      if (matching.length === 0) continue;
      sub.queue.push(...matching);
      sub.running ??= this.#drain(sub);
    }
  }

  subscribe(type: string, handler: EventHandler): Unsubscribe {
    const sub: Subscription = { type, handler, queue: [] };
    this.#subscriptions.add(sub);
    return () => this.#subscriptions.delete(sub);
  }

  /** Resolves when every queue is empty and no handler runs. */
  async idle(): Promise<void> {
    for (let busy = this.#busy(); busy.length > 0; busy = this.#busy()) await Promise.all(busy);
  }

  /** Stops retries, drops what is queued, and waits for running handlers. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const sub of this.#subscriptions) sub.queue.length = 0;
    for (const t of this.#timers) t.wake();
    await this.idle();
  }

  #busy(): Promise<void>[] {
    return [...this.#subscriptions].flatMap((s) => (s.running ? [s.running] : []));
  }

  async #drain(sub: Subscription): Promise<void> {
    // Never in the publisher's turn: a write returns before any consumer runs.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      while (sub.queue.length > 0 && !this.#closed) {
        await this.#deliver(sub, sub.queue.splice(0, this.#options.maxBatch));
      }
    } finally {
      sub.running = undefined;
    }
  }

  async #deliver(sub: Subscription, batch: CloudEvent[]): Promise<void> {
    const { maxAttempts, retryDelayMs, onFailure } = this.#options;
    for (let attempt = 1; ; attempt++) {
      try {
        await sub.handler(batch);
        return;
      } catch (error) {
        const final = attempt >= maxAttempts || this.#closed;
        onFailure({ type: sub.type, ids: batch.map((e) => e.id), attempt, final, error });
        if (final) return;
        await this.#sleep(retryDelayMs * 2 ** (attempt - 1));
        if (this.#closed) return;
      }
    }
  }

  /** A wait that `close()` cuts short and that does not keep the process alive. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => entry.wake(), ms).unref(),
        wake: () => {
          clearTimeout(entry.timer);
          this.#timers.delete(entry);
          resolve();
        },
      };
      this.#timers.add(entry);
    });
  }
}
