/**
 * Creating the state table where nobody deployed it: `weft up` and the tests.
 * In the clouds the CDK stack owns the table.
 *
 * @module
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { UnavailableError } from '../../shared/model/errors.js';
import { toStoreError } from './dynamodb-errors.js';

export interface EnsureTableOptions {
  /** How long to wait for the table to become ACTIVE. @default 300_000 */
  readonly timeoutMs?: number;
}

/**
 * Creates the table (on-demand billing, `pk`/`sk` string keys) if it is
 * missing, then waits until it is ACTIVE. Safe to call from many cold starts
 * at once.
 *
 * @throws TypeError when a table of that name exists with other keys.
 * @throws UnavailableError when DynamoDB cannot be reached or the table never becomes ACTIVE.
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  options: EnsureTableOptions = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  let table = await describe(client, tableName);
  if (!table) {
    try {
      const created = await client.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
        }),
      );
      table = created.TableDescription;
    } catch (error) {
      // Another cold start created it first: fine, wait for it below.
      if (!(error instanceof ResourceInUseException)) throw toStoreError(error, tableName);
    }
  }
  // Locally tables are ACTIVE at once; in AWS this takes seconds, so back off up to 1 s.
  for (let delay = 10; table?.TableStatus !== 'ACTIVE'; delay = Math.min(delay * 2, 1000)) {
    if (Date.now() > deadline) {
      throw new UnavailableError(
        `DynamoDB table ${tableName} is still ${table?.TableStatus ?? 'missing'}: try again`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    table = await describe(client, tableName);
  }
  checkKeys(tableName, table);
}

async function describe(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw toStoreError(error, tableName);
  }
}

function checkKeys(tableName: string, table: TableDescription): void {
  const keys = table.KeySchema?.map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
  if (keys !== 'pk:HASH,sk:RANGE') {
    throw new TypeError(
      `DynamoDB table ${tableName} has keys ${keys}, not pk:HASH,sk:RANGE: name another table`,
    );
  }
}
