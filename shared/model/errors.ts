/**
 * Typed errors with stable codes. The core throws these; only the edge (the
 * API) maps them to HTTP, as RFC 9457 problem details.
 *
 * @module
 */

/** Stable, documented error codes. Never renamed once released. */
export type ErrorCode =
  | 'ERR_VALIDATION'
  | 'ERR_NOT_FOUND'
  | 'ERR_CONFLICT'
  | 'ERR_PRECONDITION_FAILED'
  | 'ERR_UNAUTHENTICATED'
  | 'ERR_FORBIDDEN'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_METHOD_NOT_ALLOWED'
  | 'ERR_RATE_LIMITED'
  | 'ERR_UNAVAILABLE'
  | 'ERR_INTERNAL';

/** One thing wrong with an input, located by a JSON pointer (`/spec/ports/0/port`). */
export interface FieldIssue {
  readonly pointer: string;
  readonly detail: string;
}

/** Base of every error weft throws on purpose. */
export class WeftError extends Error {
  readonly code: ErrorCode;
  /** The HTTP status an edge should answer with. */
  readonly status: number;

  constructor(code: ErrorCode, status: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WeftError';
    this.code = code;
    this.status = status;
  }
}

/** Input does not satisfy a schema or a cross-field rule. */
export class ValidationError extends WeftError {
  readonly issues: readonly FieldIssue[];

  constructor(message: string, issues: readonly FieldIssue[] = [], options?: { cause?: unknown }) {
    super('ERR_VALIDATION', 422, message, options);
    this.name = 'ValidationError';
    this.issues = issues;
  }

  /** The first offending field, as a JSON pointer, when there is one. */
  get field(): string | undefined {
    return this.issues[0]?.pointer;
  }
}

/** A body that is not even parseable (bad JSON/YAML): 400, not 422. */
export class MalformedError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_VALIDATION', 400, message, options);
    this.name = 'MalformedError';
  }
}

export class NotFoundError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_NOT_FOUND', 404, message, options);
    this.name = 'NotFoundError';
  }
}

/** A compare-and-set lost: the stored version is not the one expected. */
export class ConflictError extends WeftError {
  readonly currentVersion: string | undefined;

  constructor(message: string, currentVersion?: string, options?: { cause?: unknown }) {
    super('ERR_CONFLICT', 409, message, options);
    this.name = 'ConflictError';
    this.currentVersion = currentVersion;
  }
}

/** The client's `If-Match` did not match the stored version. */
export class PreconditionFailedError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_PRECONDITION_FAILED', 412, message, options);
    this.name = 'PreconditionFailedError';
  }
}

export class UnauthenticatedError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_UNAUTHENTICATED', 401, message, options);
    this.name = 'UnauthenticatedError';
  }
}

export class ForbiddenError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_FORBIDDEN', 403, message, options);
    this.name = 'ForbiddenError';
  }
}

export class PayloadTooLargeError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_PAYLOAD_TOO_LARGE', 413, message, options);
    this.name = 'PayloadTooLargeError';
  }
}

export class UnsupportedMediaTypeError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_UNSUPPORTED_MEDIA_TYPE', 415, message, options);
    this.name = 'UnsupportedMediaTypeError';
  }
}

export class MethodNotAllowedError extends WeftError {
  readonly allow: readonly string[];

  constructor(message: string, allow: readonly string[], options?: { cause?: unknown }) {
    super('ERR_METHOD_NOT_ALLOWED', 405, message, options);
    this.name = 'MethodNotAllowedError';
    this.allow = allow;
  }
}

export class RateLimitedError extends WeftError {
  /** Whole seconds until the caller may try again; the edge sends it as `Retry-After`. */
  readonly retryAfterSeconds: number | undefined;

  constructor(message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super('ERR_RATE_LIMITED', 429, message, options);
    this.name = 'RateLimitedError';
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/** A backing service (store, bus, key service) could not be reached. */
export class UnavailableError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_UNAVAILABLE', 503, message, options);
    this.name = 'UnavailableError';
  }
}
