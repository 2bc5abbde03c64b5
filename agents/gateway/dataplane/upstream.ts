/**
 * Calling an upstream, shared by both gateways: deadlines as abort signals
 * that can be cleared, failures sorted into the `RetryOn` vocabulary, and
 * relaying an answer back while it streams.
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { UpstreamFailure } from './errors.js';
import { responseHeaders } from './http-util.js';

/** An abort signal that fires after `ms`, or when `parent` does. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** True when this deadline's own timer fired (not the parent). */
  readonly expired: boolean;
  /** Stops the timer; the parent link stays. */
  clear(): void;
  /** Stops the timer and unlinks from the parent. */
  dispose(): void;
}

/** A deadline of `ms` under `parent`. Cleared timers cost nothing, unlike `AbortSignal.timeout`. */
export function deadline(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new Error(`deadline of ${ms} ms passed`));
  }, ms);
  const onParent = () => controller.abort(parent?.reason);
  if (parent?.aborted) onParent();
  else parent?.addEventListener('abort', onParent, { once: true });
  return {
    signal: controller.signal,
    get expired() {
      return expired;
    },
    clear: () => clearTimeout(timer),
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParent);
    },
  };
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

/**
 * Writes `upstream`'s status and headers, then streams its body; resolves
 * when the answer is done or cut. A broken stream on either side cuts the
 * other (the access log keeps the status). Plain `pipe` rather than
 * `stream.pipeline`, which costs an AbortController per call on this path.
 */
export function relay(res: ServerResponse, upstream: Dispatcher.ResponseData): Promise<void> {
  res.writeHead(upstream.statusCode, responseHeaders(upstream.headers));
  const body = upstream.body;
  return new Promise((resolve) => {
    body.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) body.destroy();
      resolve();
    });
    body.pipe(res);
  });
}
