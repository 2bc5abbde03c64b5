/**
 * Turns an RFC 9457 problem from the API into one line that says what went
 * wrong, where (the field, and the file it came from) and what to do next.
 *
 * @module
 */
import type { Connection } from './connection.js';
import { RequestError } from './errors.js';

/** The parts of a problem document the CLI reads; anything may be missing. */
export interface ProblemBody {
  readonly detail?: string;
  readonly title?: string;
  readonly field?: string;
  readonly errors?: readonly { readonly pointer: string; readonly detail: string }[];
}

export interface ProblemContext {
  readonly connection: Connection;
  /** Where the user wrote the field at `pointer` (`mesh.yaml document 2`), if known. */
  readonly locateField?: ((pointer: string) => string | undefined) | undefined;
  /** What to do after a 404, e.g. how to list what exists. */
  readonly notFoundHint?: string | undefined;
}

/** The error to throw for a refused request. */
export function problemError(status: number, problem: ProblemBody, context: ProblemContext): RequestError {
  const detail = problem.detail || problem.title || `the API answered ${status}`;
  const field = problem.field ? ` (field ${located(problem.field, context)})` : '';
  const hint = hintFor(status, context);
  const more = (problem.errors ?? []).slice(1).map((e) => `  ${located(e.pointer, context)}: ${e.detail}`);
  return new RequestError(`${detail}${field}${hint ? `; ${hint}` : ''}`, more);
}

function located(pointer: string, context: ProblemContext): string {
  const where = context.locateField?.(pointer);
  return where ? `${pointer} in ${where}` : pointer;
}

function hintFor(status: number, { connection, notFoundHint }: ProblemContext): string | undefined {
  switch (status) {
    case 401:
      return connection.tokenSource === 'none'
        ? `run \`weft serve\` (it writes ${connection.tokenFile}), or pass --token / set WEFT_TOKEN`
        : `run \`weft serve\`, or pass a current admin token with --token / WEFT_TOKEN (the ${sourceName(connection)} was refused)`;
    case 403:
      return 'writing needs an admin token: pass one with --token / WEFT_TOKEN';
    case 404:
      return notFoundHint;
    case 400:
    case 422:
      return 'fix it and run the command again';
    case 409:
    case 412:
      return 'it changed meanwhile: run the command again';
    case 429:
    case 503:
      return 'the API is busy or a backing service is down: try again shortly';
    default:
      return status >= 500 ? "the API failed: see the server's log (locally DATA/api.log)" : undefined;
  }
}

function sourceName(connection: Connection): string {
  if (connection.tokenSource === 'flag') return '--token value';
  if (connection.tokenSource === 'env') return 'WEFT_TOKEN value';
  return `token in ${connection.tokenFile}`;
}
