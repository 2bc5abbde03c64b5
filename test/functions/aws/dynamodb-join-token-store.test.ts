import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbJoinTokenStore } from '../../../functions/aws/dynamodb-join-token-store.js';
import { DynamoDbStateStore, ensureTable } from '../../../functions/aws/dynamodb-state-store.js';
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from '../../../functions/local/embedded-dynamodb.js';
import { UnavailableError } from '../../../shared/model/errors.js';
import { parseResource } from '../../../shared/model/resource.js';
import { describeJoinTokenStoreContract } from '../../contract/join-token-store.js';

const TABLE = 'weft-join-tokens';
let db: EmbeddedDynamoDb;

beforeAll(async () => {
  db = await startEmbeddedDynamoDb({});
  await ensureTable(db.client, TABLE);
});
afterAll(async () => {
  await db?.close();
});

describeJoinTokenStoreContract(
  'DynamoDbJoinTokenStore on dynalite',
  async () => new DynamoDbJoinTokenStore({ client: db.client, tableName: TABLE }),
);

describe('DynamoDbJoinTokenStore', () => {
  it('shares the state table without showing up as records', async () => {
    const tokens = new DynamoDbJoinTokenStore({ client: db.client, tableName: TABLE });
    const state = new DynamoDbStateStore({ client: db.client, tableName: TABLE });
    await tokens.put('shared-table', {
      spiffeId: 'spiffe://acme.test/gw/a/b',
      expiresAt: Date.now() + 60_000,
    });
    const resource = parseResource({
      apiVersion: 'weft.dev/v1',
      kind: 'Environment',
      metadata: { name: 'aws' },
      spec: { provider: 'aws', region: 'us-east-1' },
    });
    const key = { kind: 'Environment' as const, namespace: '', name: 'aws' };
    const stamp = { version: '0000000001000-000000-aws', origin: 'aws', updatedAt: new Date().toISOString() };
    await state.put({ key, ...stamp, resource });
    expect((await state.changedSince(undefined)).map((r) => r.key.name)).toEqual(['aws']);
    expect((await state.changedSince('0000000000000-000000-aws')).map((r) => r.key.name)).toEqual(['aws']);
    expect(await tokens.consume('shared-table')).toBeDefined();
  });

  it('reports a missing table as UnavailableError', async () => {
    const tokens = new DynamoDbJoinTokenStore({ client: db.client, tableName: 'no-such-table' });
    await expect(tokens.consume('x')).rejects.toBeInstanceOf(UnavailableError);
    await expect(tokens.put('x', { spiffeId: 'spiffe://a/gw/b/c', expiresAt: 1 })).rejects.toBeInstanceOf(
      UnavailableError,
    );
  });
});
