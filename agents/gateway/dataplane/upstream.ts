/**
 * Calling an upstream, shared by both gateways: one attempt as an undici
 * dispatch handler that writes the answer straight into the caller's
 * response, and failures sorted into the `RetryOn` vocabulary.
 *
 * Why a handler and not `pool.request()`: `request()` builds a `Readable`
 * per answer, wires an `AbortSignal` into it, and the answer then goes
 * through `pipe`; with the handler, each chunk undici parses is written to
 * the caller as it comes (backpressure by undici's `resume`), and the
 * attempt is stopped with undici's own `abort`, so a call needs no
 * `AbortController` at all (issue 5: they were a tenth of a hop's CPU).
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { UpstreamFailure } from './errors.js';
import { answerHeaders } from './http-util.js';

/** Given an answer's status: relay it to the caller (true), or drop it for another attempt (false). */
export type AcceptAnswer = (status: number) => boolean;

/** A call's hold on its attempts: the one in flight (to cut), and why the whole call stopped, if it did. */
export interface CallControl {
  current: UpstreamAttempt | undefined;
  stopped: 'deadline' | 'gone' | undefined;
}

/**
 * Stops a call: the attempt in flight fails (or its relay is cut) and no
 * other starts. One timer per call drives this for the deadline; the
 * caller's response closing early, for `gone`.
 */
export function stopCall(control: CallControl, why: 'deadline' | 'gone', reason: Error): void {
  control.stopped ??= why;
  control.current?.cut(reason);
}

/**
 * One attempt. `settled` resolves once the upstream answered (`status` set;
 * the answer is then being relayed or dropped) or failed first (`error`
 * set). A failure after the answer began cuts the caller's response, as a
 * proxy must: its status line is already gone.
 */
export class UpstreamAttempt implements Dispatcher.DispatchHandler {
  /** The upstream's status, once it answered; 0 before. */
  status = 0;
  /** Why the attempt failed before an answer. */
  error: unknown;
  readonly settled: Promise<void>;
  readonly #res: ServerResponse;
  readonly #accept: AcceptAnswer;
  #settle!: () => void;
  #done = false;
  #relaying = false;
  #abort: ((reason: Error) => void) | undefined;
  #resume: (() => void) | undefined;
  #cut: Error | undefined;

  constructor(res: ServerResponse, accept: AcceptAnswer) {
    this.#res = res;
    this.#accept = accept;
    this.settled = new Promise((resolve) => {
      this.#settle = resolve;
    });
  }

  /**
   * Dispatches the attempt on `pool`; the returned promise is `settled`. A
   * dispatch that throws (a closed pool) fails the attempt like any error.
   */
  send(pool: Dispatcher, options: Dispatcher.DispatchOptions): Promise<void> {
    try {
      pool.dispatch(options, this);
    } catch (error) {
      this.onError(error as Error);
    }
    return this.settled;
  }

  /** True once the answer is being relayed to the caller (its status line is sent). */
  get relaying(): boolean {
    return this.#relaying;
  }

  /**
   * Stops the attempt (a deadline passed, the caller went away): before an
   * answer it fails with `reason`; during one, the relay is cut.
   */
  cut(reason: Error): void {
    if (this.#cut) return;
    this.#cut = reason;
    // Still queued for a connection: fail now; undici's abort comes with onConnect.
    if (this.#abort) this.#abort(reason);
    else this.#fail(reason);
  }

  onConnect(abort: (reason?: Error) => void): void {
    if (this.#cut) abort(this.#cut);
    else this.#abort = abort;
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void): boolean {
    this.status = status;
    if (this.#accept(status)) {
      try {
        this.#res.writeHead(status, answerHeaders(rawHeaders));
      } catch (error) {
        // A header Node refuses to send (a bad character): nothing reached the caller, so the attempt failed.
        this.status = 0;
        this.#fail(error);
        throw error; // undici aborts the request
      }
      this.#relaying = true;
      this.#resume = resume;
    }
    this.#finish();
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (!this.#relaying) return true;
    const more = this.#res.write(chunk);
    // undici stops reading the socket until the caller drains: a slow caller slows the upstream.
    if (!more) this.#res.once('drain', this.#resume!);
    return more;
  }

  onComplete(): void {
    if (this.#relaying) this.#res.end();
  }

  onError(error: Error): void {
    if (this.#relaying) this.#res.destroy();
    else this.#fail(error);
  }

  #fail(error: unknown): void {
    if (this.#done) return;
    this.error = error;
    this.#finish();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#settle();
  }
}

/** Failures that happen before a byte of the request could reach the peer. */
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_WEFT_PEER_IDENTITY',
]);

/**
 * Sorts an undici failure: `connect-failure` (TCP or TLS never came up, or
 * the peer is not who it must be), `timeout` (no answer in time), or
 * `reset` (the connection broke once the request may have left).
 */
export function classifyFailure(error: unknown, timedOut: boolean): UpstreamFailure {
  if (timedOut) return 'timeout';
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 3; depth++) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (CONNECT_CODES.has(code) || /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED)/.test(code))
      return 'connect-failure';
    if (code === 'UND_ERR_HEADERS_TIMEOUT') return 'timeout';
    e = e.cause as typeof e;
  }
  return 'reset';
}
