import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbReplayCache, REPLAY_PARTITION } from '../../../functions/aws/dynamodb-replay-cache.js';
import { ensureTable } from '../../../functions/aws/dynamodb-state-store.js';
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from '../../../functions/local/embedded-dynamodb.js';
import { UnavailableError } from '../../../shared/model/errors.js';

const TABLE = 'weft-replay';
let db: EmbeddedDynamoDb;
let next = 0;
const key = () => `svid_proof:${process.pid}-${++next}`;

beforeAll(async () => {
  db = await startEmbeddedDynamoDb({});
  await ensureTable(db.client, TABLE);
});
afterAll(async () => {
  await db?.close();
});

/** Two caches on one table: what two warm Lambda instances hold. */
const instances = () =>
  [1, 2].map(() => new DynamoDbReplayCache({ client: db.client, tableName: TABLE })) as [
    DynamoDbReplayCache,
    DynamoDbReplayCache,
  ];

describe('DynamoDbReplayCache on dynalite', () => {
  it('lets a key be claimed once across instances', async () => {
    const [a, b] = instances();
    const k = key();
    expect(await a.claim(k, Date.now() + 60_000)).toBe(true);
    expect(await b.claim(k, Date.now() + 60_000)).toBe(false);
    expect(await a.claim(k, Date.now() + 60_000)).toBe(false);
    expect(await b.claim(key(), Date.now() + 60_000)).toBe(true);
  });

  it('gives a key to exactly one of many racing claims', async () => {
    const [a, b] = instances();
    const k = key();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).claim(k, Date.now() + 60_000)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('lets an expired claim be made again', async () => {
    let now = 1_000_000;
    const cache = new DynamoDbReplayCache({ client: db.client, tableName: TABLE, now: () => now });
    const k = key();
    expect(await cache.claim(k, now + 1000)).toBe(true);
    now += 999;
    expect(await cache.claim(k, now + 1000)).toBe(false);
    now += 2;
    expect(await cache.claim(k, now + 1000)).toBe(true);
  });

  it('writes its own partition with expiresAt (ms) and ttl (epoch seconds, the table TTL attribute)', async () => {
    const k = key();
    await instances()[0].claim(k, 1_900_000_000_123);
    const { Item } = await db.client.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: REPLAY_PARTITION }, sk: { S: k } } }),
    );
    expect(Item).toStrictEqual({
      pk: { S: '_replay' },
      sk: { S: k },
      expiresAt: { N: '1900000000123' },
      ttl: { N: '1900000001' },
    });
  });

  it('claims long keys by their hash', async () => {
    const [a, b] = instances();
    const long = `aws_iam:${'x'.repeat(2000)}`;
    expect(await a.claim(long, Date.now() + 60_000)).toBe(true);
    expect(await b.claim(long, Date.now() + 60_000)).toBe(false);
    expect(await b.claim(`${long}y`, Date.now() + 60_000)).toBe(true);
  });

  it('fails closed with UnavailableError when the table is missing', async () => {
    const cache = new DynamoDbReplayCache({ client: db.client, tableName: 'no-such-table' });
    await expect(cache.claim(key(), Date.now() + 1000)).rejects.toBeInstanceOf(UnavailableError);
  });
});
