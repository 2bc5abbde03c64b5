/**
 * Creating the state table where nobody deployed it: `weft up` with azurite
 * and the tests. In the cloud the deployment owns the table.
 *
 * @module
 */
import { RestError, type TableClient } from '@azure/data-tables';
import { UnavailableError } from '../../shared/model/errors.js';
import { azureErrorCode, toStoreError } from './table-errors.js';

export interface EnsureAzureTableOptions {
  /** How long to wait while a table of that name is still being deleted. @default 60_000 */
  readonly timeoutMs?: number;
}

/**
 * Creates the client's table if it is missing. Safe to call from many cold
 * starts at once: the SDK already treats `TableAlreadyExists` as success.
 * Azure keeps a deleted table's name for up to a minute (`TableBeingDeleted`),
 * so that answer is retried until `timeoutMs`.
 *
 * @throws UnavailableError when Azure Tables cannot be reached, refuses the
 * credentials, or the name is still being deleted at the deadline.
 * @example
 * const client = TableClient.fromConnectionString(connectionString, 'weft');
 * await ensureAzureTable(client);
 */
export async function ensureAzureTable(
  client: TableClient,
  options: EnsureAzureTableOptions = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (let delay = 100; ; delay = Math.min(delay * 2, 5000)) {
    try {
      await client.createTable();
      return;
    } catch (error) {
      const beingDeleted = error instanceof RestError && azureErrorCode(error) === 'TableBeingDeleted';
      if (!beingDeleted) throw toStoreError(error, client.tableName);
      if (Date.now() + delay > deadline) {
        throw new UnavailableError(
          `Azure table ${client.tableName} is still being deleted: try again in a minute, or name another table`,
          { cause: error },
        );
      }
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
