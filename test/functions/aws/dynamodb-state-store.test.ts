import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbStateStore, ensureTable } from '../../../functions/aws/dynamodb-state-store.js';
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from '../../../functions/local/embedded-dynamodb.js';
import { ConflictError, PayloadTooLargeError, UnavailableError } from '../../../shared/model/errors.js';
import { parseResource } from '../../../shared/model/resource.js';
import type { StoredRecord } from '../../../shared/storage/state-store.js';
import { describeStateStoreContract } from '../../contract/state-store.js';

let db: EmbeddedDynamoDb;
let tables = 0;

beforeAll(async () => {
  db = await startEmbeddedDynamoDb({});
});
afterAll(async () => {
  await db?.close();
});

/** A store on a table of its own, so every test starts empty. */
async function freshStore(): Promise<{
  store: DynamoDbStateStore;
  tableName: string;
  close(): Promise<void>;
}> {
  const tableName = `weft-test-${++tables}`;
  await ensureTable(db.client, tableName);
  return {
    store: new DynamoDbStateStore({ client: db.client, tableName }),
    tableName,
    close: async () => {
      await db.client.send(new DeleteTableCommand({ TableName: tableName }));
    },
  };
}

describeStateStoreContract('DynamoDbStateStore on dynalite', freshStore);

const orders: StoredRecord = {
  key: { kind: 'Service', namespace: 'shop', name: 'orders' },
  version: '0000000001000-000000-aws',
  origin: 'aws',
  updatedAt: '2030-01-01T00:00:00.000Z',
  resource: parseResource({
    apiVersion: 'weft.dev/v1',
    kind: 'Service',
    metadata: { name: 'orders', namespace: 'shop', labels: { app: 'orders' } },
    spec: { ports: [{ port: 8080 }] },
  }),
};

describe('DynamoDbStateStore', () => {
  it('lays items out as documented (pk, sk, version, origin, updatedAt, deleted, doc, labels)', async () => {
    const { store, tableName, close } = await freshStore();
    await store.put(orders);
    const key = { pk: { S: 'Service' }, sk: { S: 'shop/orders' } };
    const { Item } = await db.client.send(new GetItemCommand({ TableName: tableName, Key: key }));
    expect(Item).toStrictEqual({
      ...key,
      version: { S: orders.version },
      origin: { S: 'aws' },
      updatedAt: { S: orders.updatedAt },
      deleted: { BOOL: false },
      doc: { S: JSON.stringify(orders.resource) },
      labels: { M: { app: { S: 'orders' } } },
    });
    await store.delete(orders.key, {
      version: '0000000002000-000000-gcp',
      origin: 'gcp',
      updatedAt: orders.updatedAt,
    });
    const gone = await db.client.send(new GetItemCommand({ TableName: tableName, Key: key }));
    expect(gone.Item).toStrictEqual({
      ...key,
      version: { S: '0000000002000-000000-gcp' },
      origin: { S: 'gcp' },
      updatedAt: { S: orders.updatedAt },
      deleted: { BOOL: true },
    });
    await close();
  });

  it('keeps the SDK exception as the cause of a ConflictError', async () => {
    const { store, close } = await freshStore();
    await store.put(orders);
    const error = await store.put(orders, { ifVersion: null }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).cause).toBeInstanceOf(ConditionalCheckFailedException);
    expect((error as ConflictError).currentVersion).toBe(orders.version);
    await close();
  });

  it('refuses ifVersion together with ifAbsent as a programming error', async () => {
    const { store, close } = await freshStore();
    await expect(store.put(orders, { ifVersion: null, ifAbsent: true })).rejects.toThrow(TypeError);
    await close();
  });

  it('answers PayloadTooLargeError for an item over 400 KB', async () => {
    const { store, close } = await freshStore();
    const from = [`spiffe://acme.test/ns/shop/svc/${'x'.repeat(2000)}`];
    const huge = parseResource({
      apiVersion: 'weft.dev/v1',
      kind: 'AccessPolicy',
      metadata: { name: 'huge', namespace: 'shop' },
      spec: { service: 'orders', action: 'allow', rules: Array.from({ length: 250 }, () => ({ from })) },
    });
    const key = { kind: 'AccessPolicy' as const, namespace: 'shop', name: 'huge' };
    const error = await store.put({ ...orders, key, resource: huge }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    await close();
  });

  it('answers UnavailableError naming ensureTable when the table is missing', async () => {
    const store = new DynamoDbStateStore({ client: db.client, tableName: 'weft-never-created' });
    for (const call of [() => store.get(orders.key), () => store.put(orders), () => store.list('Service')]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as Error).message).toContain('ensureTable');
    }
  });

  it('answers UnavailableError when DynamoDB cannot be reached', async () => {
    const stopped = await startEmbeddedDynamoDb({});
    await stopped.close();
    const client = new DynamoDBClient({
      endpoint: stopped.endpoint,
      region: 'local',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    const store = new DynamoDbStateStore({ client, tableName: 'weft' });
    const error = await store.changedSince(undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(/cannot reach DynamoDB \(ECONNREFUSED\)/);
    client.destroy();
  });

  it('refuses items it did not write instead of misreading them', async () => {
    const { store, tableName, close } = await freshStore();
    await db.client.send(
      new PutItemCommand({ TableName: tableName, Item: { pk: { S: 'Service' }, sk: { S: 'shop/odd' } } }),
    );
    await expect(store.changedSince(undefined)).rejects.toThrow(/not a weft record/);
    await close();
  });
});

describe('ensureTable', () => {
  it('creates an ACTIVE on-demand table, and is a no-op the second time', async () => {
    await ensureTable(db.client, 'weft-ensure');
    await ensureTable(db.client, 'weft-ensure');
    const { Table } = await db.client.send(new DescribeTableCommand({ TableName: 'weft-ensure' }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(Table?.KeySchema).toStrictEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
  });

  it('survives many cold starts creating the table at once', async () => {
    await Promise.all(Array.from({ length: 5 }, () => ensureTable(db.client, 'weft-racing')));
    const { Table } = await db.client.send(new DescribeTableCommand({ TableName: 'weft-racing' }));
    expect(Table?.TableStatus).toBe('ACTIVE');
  });

  it('refuses a table of that name with other keys', async () => {
    await db.client.send(
      new CreateTableCommand({
        TableName: 'weft-other-keys',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    await expect(ensureTable(db.client, 'weft-other-keys')).rejects.toThrow(/has keys id:HASH/);
  });
});
