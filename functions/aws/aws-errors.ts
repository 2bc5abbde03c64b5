/**
 * What every AWS adapter says when the SDK failed before any service
 * answered (no route, a timeout, a refused connection): the caller can
 * retry, and the fix is the endpoint or the network, not the request.
 *
 * @module
 */
import { UnavailableError } from '../../shared/model/errors.js';

/**
 * `error` as an UnavailableError naming `service` when it is a transport
 * failure of the AWS SDK; `undefined` for anything else.
 */
export function unreachable(service: string, error: unknown): UnavailableError | undefined {
  if (!(error instanceof Error && ('$metadata' in error || error.name === 'TimeoutError'))) return undefined;
  const code = (error as { code?: string }).code ?? error.name;
  return new UnavailableError(`cannot reach ${service} (${code}): check the endpoint and network`, {
    cause: error,
  });
}
