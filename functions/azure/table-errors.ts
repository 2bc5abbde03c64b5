/**
 * Azure Tables failures as core errors, each saying what to do about it. A
 * lost compare-and-set is not here: it needs the key and the current version,
 * so the store maps it where it writes (see {@link isLostRace}).
 *
 * @module
 */
import { RestError } from '@azure/data-tables';
import { PayloadTooLargeError, UnavailableError } from '../../shared/model/errors.js';

const TOO_LARGE = new Set(['EntityTooLarge', 'PropertyValueTooLarge', 'RequestBodyTooLarge']);
const NOT_ALLOWED = new Set([401, 403]);

/**
 * The service's error code (`TableNotFound`, `EntityAlreadyExists`...). The
 * SDK leaves `RestError.code` empty for service errors and puts it in the
 * `x-ms-error-code` header or the OData body instead.
 */
export function azureErrorCode(error: RestError): string | undefined {
  const details = error.details as
    | { errorCode?: string; odataError?: { code?: string }; Code?: string }
    | undefined;
  return details?.errorCode ?? details?.odataError?.code ?? details?.Code ?? error.code;
}

/**
 * Whether a conditional write lost to another writer: the entity appeared
 * (409 `EntityAlreadyExists`), changed (412, the `If-Match` ETag is stale) or
 * vanished (404 `ResourceNotFound`, not `TableNotFound`) since it was read.
 */
export function isLostRace(error: unknown): error is RestError {
  if (!(error instanceof RestError)) return false;
  const code = azureErrorCode(error);
  return (
    error.statusCode === 412 ||
    (error.statusCode === 409 && code === 'EntityAlreadyExists') ||
    (error.statusCode === 404 && code === 'ResourceNotFound')
  );
}

/**
 * Turns what the SDK threw into an `UnavailableError` (the store cannot serve
 * now: missing table, throttling, credentials, network) or a
 * `PayloadTooLargeError`; anything else (a malformed request: a bug) is
 * returned unchanged.
 */
export function toStoreError(error: unknown, tableName: string): unknown {
  if (!(error instanceof RestError)) return error;
  const code = azureErrorCode(error);
  const status = error.statusCode;
  if (status === undefined) {
    // No answer at all: refused, reset, DNS, TLS or a timeout on the way.
    return new UnavailableError(
      `cannot reach Azure Tables (${code ?? error.message}): check the endpoint and network, or start azurite`,
      { cause: error },
    );
  }
  if (code === 'TableNotFound') {
    return new UnavailableError(
      `Azure table ${tableName} does not exist: create it with ensureAzureTable() or deploy the Azure resources`,
      { cause: error },
    );
  }
  if (code !== undefined && TOO_LARGE.has(code)) {
    return new PayloadTooLargeError(
      'the resource is too large to store: Azure Tables entities hold at most 1 MiB (about 500,000 characters)',
      { cause: error },
    );
  }
  if (NOT_ALLOWED.has(status)) {
    return new UnavailableError(
      `Azure Tables refused the credentials (${code ?? status}): check the connection string, or the identity's role on table ${tableName}`,
      { cause: error },
    );
  }
  if (status === 408 || status === 429 || status >= 500) {
    return new UnavailableError(`Azure Tables is throttling or failing (${code ?? status}): retry later`, {
      cause: error,
    });
  }
  return error;
}
