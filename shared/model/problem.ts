/**
 * RFC 9457 problem details: the one error shape weft answers with, at the
 * API and at a gateway. Pure: the HTTP mapping lives at each edge.
 *
 * @module
 */
import { ValidationError, WeftError } from './errors.js';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  /** weft's stable error code, e.g. `ERR_VALIDATION`. */
  code: string;
  /** JSON pointer of the first offending field. */
  field?: string;
  /** Every offending field. */
  errors?: { pointer: string; detail: string }[];
  [extension: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function toProblem(error: unknown, instance?: string): Problem {
  if (!(error instanceof WeftError)) {
    return {
      type: 'https://weft.dev/problems/internal',
      title: TITLES[500]!,
      status: 500,
      detail: 'The server hit an unexpected error; it has been logged. Retry, and report it if it persists.',
      code: 'ERR_INTERNAL',
      ...(instance ? { instance } : {}),
    };
  }
  const problem: Problem = {
    type: `https://weft.dev/problems/${error.code.slice(4).toLowerCase().replaceAll('_', '-')}`,
    title: TITLES[error.status] ?? 'Error',
    status: error.status,
    detail: error.message,
    code: error.code,
    ...(instance ? { instance } : {}),
  };
  if (error instanceof ValidationError && error.issues.length > 0) {
    problem.field = error.issues[0]!.pointer;
    problem.errors = error.issues.map((i) => ({ ...i }));
  }
  return problem;
}
