/**
 * DynamoDB failures as core errors, each saying what to do about it. The
 * conditional-check failure is not here: it needs the key and the current
 * version, so the store maps it where it writes.
 *
 * @module
 */
import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { PayloadTooLargeError, UnavailableError } from '../../shared/model/errors.js';

const THROTTLED = new Set([
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'ThrottlingException',
  'LimitExceededException',
]);
const NOT_ALLOWED = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'MissingAuthenticationTokenException',
  'ExpiredTokenException',
]);

/**
 * Turns what the SDK threw into an `UnavailableError` (the store cannot serve
 * now: missing table, throttling, credentials, network) or a
 * `PayloadTooLargeError`; anything else (a malformed request: a bug) is
 * returned unchanged.
 */
export function toStoreError(error: unknown, tableName: string): unknown {
  if (error instanceof DynamoDBServiceException) {
    if (error.name === 'ResourceNotFoundException') {
      return new UnavailableError(
        `DynamoDB table ${tableName} does not exist: create it with ensureTable() (weft up does) or deploy the AWS stack`,
        { cause: error },
      );
    }
    if (THROTTLED.has(error.name) || error.$fault === 'server' || error.$retryable) {
      return new UnavailableError(`DynamoDB is throttling or failing (${error.name}): retry later`, {
        cause: error,
      });
    }
    if (NOT_ALLOWED.has(error.name)) {
      return new UnavailableError(
        `DynamoDB refused the credentials (${error.name}): check the role's access to table ${tableName}`,
        { cause: error },
      );
    }
    if (error.name === 'ValidationException' && /item size/i.test(error.message)) {
      return new PayloadTooLargeError(
        'the resource is too large to store: DynamoDB items hold at most 400 KB',
        {
          cause: error,
        },
      );
    }
    return error;
  }
  // Transport failures carry no service name but do carry the SDK's `$metadata`.
  if (error instanceof Error && ('$metadata' in error || error.name === 'TimeoutError')) {
    const code = (error as { code?: string }).code ?? error.name;
    return new UnavailableError(
      `cannot reach DynamoDB (${code}): check the endpoint and network, or start the local store with weft up`,
      { cause: error },
    );
  }
  return error;
}
