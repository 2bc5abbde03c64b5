/**
 * The data plane's typed errors. Each maps to one HTTP status at the edge
 * (`problem.ts`); codes reuse the core's stable {@link ErrorCode}s so the
 * problem documents a workload sees look like the API's.
 *
 * @module
 */
import { WeftError } from '../../../shared/model/errors.js';

/** The Host (or absolute-form URL) names no service of the mesh, or none this gateway serves. */
export class UnknownServiceError extends WeftError {
  readonly host: string;

  constructor(host: string, options?: { cause?: unknown }) {
    super('ERR_NOT_FOUND', 404, `no mesh service is named ${JSON.stringify(host)}`, options);
    this.name = 'UnknownServiceError';
    this.host = host;
  }
}

/** The service has Routes, and no rule of theirs matches the call (Envoy's `NR`, Gateway API's 404). */
export class NoRouteError extends WeftError {
  constructor(service: string, method: string, path: string) {
    super('ERR_NOT_FOUND', 404, `no route rule of ${service} matches ${method} ${path}`);
    this.name = 'NoRouteError';
  }
}

/** An authorization policy (or the mesh default) denied the call. */
export class AccessDeniedError extends WeftError {
  /** `<policy>/<rule index>` or `default`. */
  readonly decidedBy: string;

  constructor(source: string, destination: string, decidedBy: string) {
    super('ERR_FORBIDDEN', 403, `${source} may not call ${destination} (decided by ${decidedBy})`);
    this.name = 'AccessDeniedError';
    this.decidedBy = decidedBy;
  }
}

/** Every environment (or local endpoint) that could serve the call is drained, ejected or absent. */
export class NoHealthyBackendError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_UNAVAILABLE', 503, message, options);
    this.name = 'NoHealthyBackendError';
  }
}

/** How an upstream attempt failed, in the vocabulary of `RetryOn`. */
export type UpstreamFailure = 'connect-failure' | 'reset' | 'timeout';

/** The upstream (remote gateway or local endpoint) failed before answering. */
export class UpstreamError extends WeftError {
  readonly failure: UpstreamFailure;

  constructor(failure: UpstreamFailure, message: string, options?: { cause?: unknown }) {
    // 504 for a timeout, 502 for everything else, as Envoy and nginx answer.
    super('ERR_UNAVAILABLE', failure === 'timeout' ? 504 : 502, message, options);
    this.name = 'UpstreamError';
    this.failure = failure;
  }
}

/** The request itself is unusable as a proxy request (no target, CONNECT, absurd path). */
export class BadProxyRequestError extends WeftError {
  constructor(message: string, status = 400) {
    super('ERR_VALIDATION', status, message);
    this.name = 'BadProxyRequestError';
  }
}

/** A TLS peer did not present the SPIFFE ID it had to. */
export class PeerIdentityError extends Error {
  readonly code = 'ERR_WEFT_PEER_IDENTITY';
  readonly expected: string;
  readonly presented: readonly string[];

  constructor(expected: string, presented: readonly string[]) {
    super(`peer presented ${presented.join(', ') || 'no URI SAN'}, expected ${expected}`);
    this.name = 'PeerIdentityError';
    this.expected = expected;
    this.presented = presented;
  }
}
