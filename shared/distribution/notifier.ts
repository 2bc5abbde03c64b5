/**
 * Webhook notifications (docs/distribution.md §4): POSTs each gateway's
 * signed notification to its `spec.webhook`, at most 8 at a time, retrying
 * with exponential backoff and jitter (200 ms, doubling, 5 tries). A newer
 * notification for a gateway supersedes an older one still queued or
 * waiting to retry: only the latest version is worth telling. Best effort
 * by design: a gateway that hears nothing polls.
 *
 * A gateway that never reported its status, nor took a notification from
 * this notifier, is most likely not running yet (the first `weft up`
 * compiles before it starts the agents): its failures are marked
 * `neverReported`, and {@link logNotifyOutcome} logs them at info, not error.
 *
 * @module
 */

import type { DistributeLogger } from './distribute-options.js';

/** One notification to deliver. */
export interface Notification {
  /** The gateway key (`<environment>/<name>`): at most one notification per gateway is pending. */
  readonly gateway: string;
  readonly url: string;
  /** The signed notification (compact JWS). */
  readonly body: string;
}

/** How a notification ended. */
export interface NotifyOutcome {
  readonly gateway: string;
  readonly url: string;
  readonly result: 'delivered' | 'failed' | 'superseded';
  readonly attempts: number;
  /** The last HTTP status, or the error's message. */
  readonly detail?: string;
  /** On a failure: the gateway never reported its status nor took a notification here (not started yet). */
  readonly neverReported?: true;
}

/** Delivery policy of {@link Notifier}; the defaults are the protocol's. */
export interface NotifierOptions {
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default 8 */
  readonly concurrency?: number;
  /** @default 5 */
  readonly attempts?: number;
  /** The wait before the second try; doubles after each. @default 200 */
  readonly baseDelayMs?: number;
  /** Per request. @default 5000 */
  readonly timeoutMs?: number;
  /** In [0, 1). @default Math.random */
  readonly random?: () => number;
  readonly onOutcome?: (outcome: NotifyOutcome) => void;
  /**
   * Whether `gateway` has ever reported its status, asked after a failure
   * to a gateway this notifier never delivered to (a rejection counts as yes).
   * @default every gateway has
   */
  readonly hasReported?: (gateway: string) => Promise<boolean>;
}

/** Logs each outcome as `webhook`: a failure at error level, unless the gateway never reported. */
export function logNotifyOutcome(logger: DistributeLogger): (outcome: NotifyOutcome) => void {
  return (outcome) => {
    const event = { msg: 'webhook', ...outcome };
    if (outcome.result === 'failed' && !outcome.neverReported) logger.error(event);
    else logger.info(event);
  };
}

/** Statuses worth another try: the agent may be restarting or overloaded. 4xx otherwise will not change. */
const RETRYABLE = (status: number) => status === 408 || status === 429 || status >= 500;

/**
 * @example
 * const notifier = new Notifier({ onOutcome: logNotifyOutcome(logger), hasReported });
 * notifier.notify({ gateway: 'aws/gw-1', url: webhook, body: jws });
 */
export class Notifier {
  readonly #o: Required<NotifierOptions>;
  readonly #latest = new Map<string, Notification>();
  readonly #queue: string[] = [];
  readonly #running = new Set<Promise<void>>();
  readonly #wakers = new Set<() => void>();
  /** Gateways a notification was delivered to. */
  readonly #heard = new Set<string>();
  #closed = false;

  constructor(options: NotifierOptions = {}) {
    this.#o = {
      fetch: (...args) => globalThis.fetch(...args),
      concurrency: 8,
      attempts: 5,
      baseDelayMs: 200,
      timeoutMs: 5000,
      random: Math.random,
      onOutcome: () => {},
      hasReported: async () => true,
      ...options,
    };
  }

  /** Queues `n`, replacing whatever is pending for the same gateway. Never waits. */
  notify(n: Notification): void {
    if (this.#closed) return;
    const pending = this.#queue.includes(n.gateway);
    this.#latest.set(n.gateway, n);
    if (!pending) this.#queue.push(n.gateway);
    this.#pump();
  }

  /** Resolves when nothing is queued or in flight. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running);
  }

  /** Drops what is queued, cuts retry waits short, and waits for requests in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.length = 0;
    for (const wake of this.#wakers) wake();
    await this.idle();
  }

  #pump(): void {
    while (!this.#closed && this.#running.size < this.#o.concurrency && this.#queue.length > 0) {
      const n = this.#latest.get(this.#queue.shift()!)!;
      const run: Promise<void> = this.#deliver(n).then(async (delivered) => {
        const outcome = await this.#annotate(delivered);
        this.#running.delete(run);
        if (this.#latest.get(n.gateway) === n) this.#latest.delete(n.gateway);
        this.#o.onOutcome(outcome);
        this.#pump();
      });
      this.#running.add(run);
    }
  }

  /** Remembers a delivery; marks a failure to a gateway never heard from. */
  async #annotate(outcome: NotifyOutcome): Promise<NotifyOutcome> {
    if (outcome.result === 'delivered') this.#heard.add(outcome.gateway);
    if (outcome.result !== 'failed' || this.#heard.has(outcome.gateway)) return outcome;
    const reported = await this.#o.hasReported(outcome.gateway).catch(() => true);
    return reported ? outcome : { ...outcome, neverReported: true };
  }

  async #deliver(n: Notification): Promise<NotifyOutcome> {
    const { attempts, baseDelayMs, random } = this.#o;
    let detail: string | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) {
        // Equal jitter: at least half the backoff, so retries of many gateways spread out but still back off.
        const backoff = baseDelayMs * 2 ** (attempt - 2);
        await this.#sleep(backoff / 2 + (random() * backoff) / 2);
      }
      if (this.#latest.get(n.gateway) !== n || this.#closed)
        return { gateway: n.gateway, url: n.url, result: 'superseded', attempts: attempt - 1 };
      const status = await this.#post(n).catch((error: unknown) => (error as Error).message ?? String(error));
      if (typeof status === 'number' && status >= 200 && status < 300)
        return { gateway: n.gateway, url: n.url, result: 'delivered', attempts: attempt };
      detail = String(status);
      if (typeof status === 'number' && !RETRYABLE(status))
        return { gateway: n.gateway, url: n.url, result: 'failed', attempts: attempt, detail };
    }
    return { gateway: n.gateway, url: n.url, result: 'failed', attempts, ...(detail && { detail }) };
  }

  async #post(n: Notification): Promise<number> {
    const res = await this.#o.fetch(n.url, {
      method: 'POST',
      headers: { 'content-type': 'application/jose' },
      body: n.body,
      signal: AbortSignal.timeout(this.#o.timeoutMs),
    });
    // Read the answer away, or the connection is not reused.
    await res.arrayBuffer().catch(() => undefined);
    return res.status;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref?.();
      this.#wakers.add(wake);
    });
  }
}
