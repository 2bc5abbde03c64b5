/**
 * The agent's errors. The split that matters to a control loop is whether
 * waiting helps: an unreachable or overloaded control plane is retried with
 * backoff while the agent keeps serving; a refusal (4xx) is logged with the
 * API's own words and not hammered; lost credentials need an operator.
 *
 * @module
 */
import {
  type ErrorCode,
  UnauthenticatedError,
  UnavailableError,
  WeftError,
} from '../../shared/model/errors.js';

/** Not reachable, timed out, 5xx or 429: the same call may work later. */
export class ControlPlaneUnavailableError extends UnavailableError {
  /** From `Retry-After`, when the control plane sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    this.name = 'ControlPlaneUnavailableError';
    this.retryAfterMs = options?.retryAfterMs;
  }
}

const CODES: Readonly<Record<number, ErrorCode>> = {
  400: 'ERR_VALIDATION',
  401: 'ERR_UNAUTHENTICATED',
  403: 'ERR_FORBIDDEN',
  404: 'ERR_NOT_FOUND',
  409: 'ERR_CONFLICT',
  413: 'ERR_PAYLOAD_TOO_LARGE',
  415: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  422: 'ERR_VALIDATION',
};

/** The control plane answered 4xx: it understood and said no. `message` carries its `detail`. */
export class ControlPlaneRefusedError extends WeftError {
  /** The problem's own `code` (`ERR_UNAUTHENTICATED`...), when it sent one. */
  readonly problemCode: string | undefined;

  constructor(status: number, message: string, problemCode?: string) {
    super(CODES[status] ?? 'ERR_VALIDATION', status, message);
    this.name = 'ControlPlaneRefusedError';
    this.problemCode = problemCode;
  }
}

/**
 * The agent has no X.509-SVID it can renew (none on disk, or it expired while
 * the agent was down or cut off) and no join token that works: only an
 * operator can fix that, by minting a new join token.
 */
export class JoinTokenNeededError extends UnauthenticatedError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JoinTokenNeededError';
  }
}

/**
 * The data plane could not bind its ingress or egress address. `code` is the
 * system error's (`EADDRINUSE`, `EADDRNOTAVAIL`...), as on the error it wraps.
 */
export class DataPlaneListenError extends Error {
  readonly code: string | undefined;

  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'DataPlaneListenError';
    this.code = (options.cause as NodeJS.ErrnoException | undefined)?.code;
  }
}
