/**
 * Maps thrown errors to the API's problem+json responses (RFC 9457).
 *
 * @module
 */
import { MethodNotAllowedError, RateLimitedError, UnauthenticatedError } from '../model/errors.js';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../model/problem.js';
import type { ApiResponse } from './types.js';

/**
 * Maps any thrown value to a problem response. Unknown errors become a 500
 * whose detail says nothing about internals (they are logged, not shown).
 */
export function problemResponse(error: unknown, instance?: string): ApiResponse {
  const problem = toProblem(error, instance);
  const headers: Record<string, string> = {
    'content-type': PROBLEM_CONTENT_TYPE,
    'cache-control': 'no-store',
  };
  if (error instanceof UnauthenticatedError) headers['www-authenticate'] = 'Bearer realm="weft"';
  if (error instanceof MethodNotAllowedError) headers.allow = error.allow.join(', ');
  if (error instanceof RateLimitedError && error.retryAfterSeconds !== undefined)
    headers['retry-after'] = String(error.retryAfterSeconds);
  return { status: problem.status, headers, body: `${JSON.stringify(problem, null, 2)}\n` };
}
