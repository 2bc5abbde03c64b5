import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbStateStore, ensureTable } from '../../../functions/aws/dynamodb-state-store.js';
import { startEmbeddedDynamoDb } from '../../../functions/local/embedded-dynamodb.js';
import { UnavailableError } from '../../../shared/model/errors.js';
import { parseResource } from '../../../shared/model/resource.js';
import type { StoredRecord } from '../../../shared/storage/state-store.js';

const TABLE = 'weft';

function service(name: string, version: string): StoredRecord {
  return {
    key: { kind: 'Service', namespace: 'shop', name },
    version,
    origin: 'local',
    updatedAt: '2030-01-01T00:00:00.000Z',
    resource: parseResource({
      apiVersion: 'weft.dev/v1',
      kind: 'Service',
      metadata: { name, namespace: 'shop', labels: { app: name } },
      spec: { ports: [{ port: 8080 }] },
    }),
  };
}

describe('startEmbeddedDynamoDb', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'weft-dynalite-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves on a free loopback port', async () => {
    const db = await startEmbeddedDynamoDb({});
    expect(db.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await db.client.send(new ListTablesCommand({}))).TableNames).toStrictEqual([]);
    await db.close();
  });

  it('keeps records and tombstones across a restart on the same data directory', async () => {
    const orders = service('orders', '0000000001000-000000-local');
    const cart = service('cart', '0000000001001-000000-local');
    const cartGone = { version: '0000000001002-000000-local', origin: 'local', updatedAt: cart.updatedAt };

    const first = await startEmbeddedDynamoDb({ dataDir: join(dataDir, 'state') });
    await ensureTable(first.client, TABLE);
    const before = new DynamoDbStateStore({ client: first.client, tableName: TABLE });
    await before.put(orders);
    await before.put(cart);
    await before.delete(cart.key, cartGone);
    await first.close();

    for (let restart = 0; restart < 2; restart++) {
      const again = await startEmbeddedDynamoDb({ dataDir: join(dataDir, 'state') });
      await ensureTable(again.client, TABLE);
      const after = new DynamoDbStateStore({ client: again.client, tableName: TABLE });
      expect(await after.get(orders.key)).toStrictEqual(orders);
      expect(await after.get(cart.key)).toStrictEqual({ key: cart.key, ...cartGone, resource: null });
      expect(await after.list('Service')).toStrictEqual([orders]);
      expect((await after.changedSince(undefined)).map((r) => r.version)).toStrictEqual([
        orders.version,
        cartGone.version,
      ]);
      await again.close();
    }
  });

  it('creates its data directory private (0700), and makes one left 0755 private', async () => {
    const fresh = join(dataDir, 'fresh', 'state');
    const db = await startEmbeddedDynamoDb({ dataDir: fresh });
    await db.close();
    expect((await stat(fresh)).mode & 0o777).toBe(0o700);

    const loose = join(dataDir, 'loose');
    await mkdir(loose);
    await chmod(loose, 0o755);
    const again = await startEmbeddedDynamoDb({ dataDir: loose });
    await again.close();
    expect((await stat(loose)).mode & 0o777).toBe(0o700);
  });

  it('forgets everything on restart when it runs in memory', async () => {
    const first = await startEmbeddedDynamoDb({});
    await ensureTable(first.client, TABLE);
    await first.close();
    const second = await startEmbeddedDynamoDb({});
    expect((await second.client.send(new ListTablesCommand({}))).TableNames).toStrictEqual([]);
    await second.close();
  });

  it('closes once however often it is asked', async () => {
    const db = await startEmbeddedDynamoDb({ dataDir });
    await Promise.all([db.close(), db.close()]);
    await db.close();
  });

  it('fails to start when the port is taken, and lets go of the data directory', async () => {
    const db = await startEmbeddedDynamoDb({});
    const port = Number(new URL(db.endpoint).port);
    await expect(startEmbeddedDynamoDb({ dataDir, port })).rejects.toThrow(/EADDRINUSE/);
    const next = await startEmbeddedDynamoDb({ dataDir });
    expect((await next.client.send(new ListTablesCommand({}))).TableNames).toStrictEqual([]);
    await next.close();
    await db.close();
  });

  it('refuses a data directory another store holds with UnavailableError, without crashing', async () => {
    const holder = await startEmbeddedDynamoDb({ dataDir });
    const error = await startEmbeddedDynamoDb({ dataDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toContain(dataDir);
    expect((await holder.client.send(new ListTablesCommand({}))).TableNames).toStrictEqual([]);
    await holder.close();
  });
});
