import { RestError, type TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOC_PART_CHARS, toEntity } from '../../../functions/azure/table-entity.js';
import { AzureTableStateStore, ensureAzureTable } from '../../../functions/azure/table-state-store.js';
import { ConflictError, PayloadTooLargeError, UnavailableError } from '../../../shared/model/errors.js';
import { parseResource, type Resource } from '../../../shared/model/resource.js';
import type { StoredRecord } from '../../../shared/storage/state-store.js';
import { describeStateStoreContract } from '../../contract/state-store.js';
import { type Azurite, startAzurite } from '../../support/azurite.js';

let azurite: Azurite;
let tables = 0;

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

/** A store on a table of its own, so every test starts empty. */
async function freshStore(): Promise<{
  store: AzureTableStateStore;
  client: TableClient;
  close(): Promise<void>;
}> {
  const client = azurite.client(`weft${++tables}`);
  await ensureAzureTable(client);
  return { store: new AzureTableStateStore({ client }), client, close: () => client.deleteTable() };
}

describeStateStoreContract('AzureTableStateStore on azurite', freshStore);

const orders: StoredRecord = {
  key: { kind: 'Service', namespace: 'shop', name: 'orders' },
  version: '0000000001000-000000-azure',
  origin: 'azure',
  updatedAt: '2030-01-01T00:00:00.000Z',
  resource: service('shop', 'orders', { app: 'orders' }),
};

describe('AzureTableStateStore', () => {
  it('lays entities out as documented (kind, namespace|name, version, origin, updatedAt, deleted, doc0, labels)', async () => {
    const { store, client, close } = await freshStore();
    await store.put(orders);
    const entity = await client.getEntity('Service', 'shop|orders');
    expect(entity).toMatchObject({
      version: orders.version,
      origin: 'azure',
      updatedAt: orders.updatedAt,
      deleted: false,
      doc0: JSON.stringify(orders.resource),
      labels: '{"app":"orders"}',
    });
    await store.delete(orders.key, { ...orders, version: '0000000002000-000000-gcp', origin: 'gcp' });
    const gone = await client.getEntity('Service', 'shop|orders');
    expect(gone).toMatchObject({ version: '0000000002000-000000-gcp', origin: 'gcp', deleted: true });
    expect(Object.keys(gone).filter((k) => /^doc|^labels$/.test(k))).toStrictEqual([]);
    await close();
  });

  it('splits a large document across ASCII properties of at most 32,000 characters, text intact', async () => {
    const { store, close } = await freshStore();
    const text = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`t${i}`, 'é中😀x'.repeat(800)]));
    const big = { ...orders, resource: service('shop', 'orders', { app: 'orders' }, text) };
    const entity = toEntity(big);
    const parts = Object.keys(entity).filter((k) => k.startsWith('doc'));
    expect(parts.length).toBeGreaterThan(3);
    for (const p of parts) expect(entity[p]).toMatch(new RegExp(`^[\\x20-\\x7e]{1,${DOC_PART_CHARS}}$`));
    await store.put(big);
    expect(await store.get(big.key)).toStrictEqual(big);
    // A smaller replacement leaves no stale parts behind.
    await store.put(orders, { ifVersion: big.version });
    expect(await store.get(orders.key)).toStrictEqual(orders);
    await close();
  });

  it('escapes the characters Azure forbids in a RowKey, and lists such a namespace exactly', async () => {
    const { store, close } = await freshStore();
    const odd = ['a/b', 'c\\d', 'e#f', 'g?h', 'i|j', 'k%2F', 'tab\there'];
    for (const name of odd) await store.put({ ...orders, key: { ...orders.key, namespace: 'x|y/', name } });
    await store.put({ ...orders, key: { ...orders.key, namespace: 'x|y' } });
    const listed = await store.list('Service', { namespace: 'x|y/' });
    expect(listed.map((r) => r.key.name)).toStrictEqual([...odd].sort());
    expect(await store.get({ ...orders.key, namespace: 'x|y/', name: 'k%2F' })).toMatchObject({
      key: { namespace: 'x|y/', name: 'k%2F' },
    });
    await close();
  });

  it('turns a write that loses between its read and its If-Match into ConflictError (412 as cause)', async () => {
    const { store, client, close } = await freshStore();
    await store.put(orders);
    const rival = { ...orders, version: '0000000003000-000000-aws' };
    // A client whose every update is preceded by a rival's write: the ETag the store read is stale.
    const racing = new Proxy(client, {
      get: (target, name, receiver) =>
        name === 'updateEntity'
          ? async (...args: Parameters<TableClient['updateEntity']>) => {
              await target.upsertEntity(toEntity(rival), 'Replace');
              return target.updateEntity(...args);
            }
          : Reflect.get(target, name, receiver),
    });
    const store2 = new AzureTableStateStore({ client: racing });
    const error = await store2
      .put({ ...orders, version: '0000000002000-000000-azure' }, { ifVersion: orders.version })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).currentVersion).toBe(rival.version);
    expect(((error as ConflictError).cause as RestError).statusCode).toBe(412);
    expect(await store.get(orders.key)).toStrictEqual(rival);
    await close();
  });

  it('keeps the 409 as the cause when an insert finds an entity', async () => {
    const { store, close } = await freshStore();
    await store.put(orders);
    const error = await store.put(orders, { ifAbsent: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).cause).toBeInstanceOf(RestError);
    expect((error as ConflictError).currentVersion).toBe(orders.version);
    await close();
  });

  it('refuses ifVersion together with ifAbsent as a programming error', async () => {
    const { store, close } = await freshStore();
    await expect(store.put(orders, { ifVersion: null, ifAbsent: true })).rejects.toThrow(TypeError);
    await close();
  });

  it('answers PayloadTooLargeError for an entity over 1 MiB', async () => {
    const { store, close } = await freshStore();
    const from = Array.from(
      { length: 3 },
      (_, i) => `spiffe://acme.test/ns/shop/svc/${'x'.repeat(2000)}${i}`,
    );
    const policy = parseResource({
      apiVersion: 'weft.dev/v1',
      kind: 'AccessPolicy',
      metadata: { name: 'huge', namespace: 'shop' },
      spec: { service: 'orders', action: 'allow', rules: Array.from({ length: 250 }, () => ({ from })) },
    });
    const huge = { ...orders, key: { ...orders.key, kind: 'AccessPolicy' as const }, resource: policy };
    const error = await store.put(huge).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(await store.get(huge.key)).toBeUndefined();
    await close();
  });

  it('answers UnavailableError naming ensureAzureTable when the table is missing', async () => {
    const store = new AzureTableStateStore({ client: azurite.client('weftnevercreated') });
    for (const call of [() => store.get(orders.key), () => store.put(orders), () => store.list('Service')]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as Error).message).toContain('ensureAzureTable');
    }
  });

  it('answers UnavailableError when Azure Tables cannot be reached', async () => {
    const stopped = await startAzurite();
    await stopped.stop();
    const store = new AzureTableStateStore({ client: stopped.client('weft') });
    const error = await store.changedSince(undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(/cannot reach Azure Tables \(ECONNREFUSED\)/);
    await expect(ensureAzureTable(stopped.client('weft'))).rejects.toThrow(UnavailableError);
  });

  it('refuses entities it did not write instead of misreading them', async () => {
    const { store, client, close } = await freshStore();
    await client.createEntity({ partitionKey: 'Service', rowKey: 'shop|odd', version: 'x' });
    await expect(store.changedSince(undefined)).rejects.toThrow(/not a weft record \(no deleted\)/);
    await close();
  });
});

describe('ensureAzureTable', () => {
  it('creates the table, is a no-op the second time, and survives racing cold starts', async () => {
    const client = azurite.client('weftensure');
    await Promise.all(Array.from({ length: 5 }, () => ensureAzureTable(client)));
    await ensureAzureTable(client);
    await new AzureTableStateStore({ client }).put(orders);
    expect(await new AzureTableStateStore({ client }).get(orders.key)).toStrictEqual(orders);
  });
});

function service(
  namespace: string,
  name: string,
  labels: Record<string, string>,
  annotations?: Record<string, string>,
): Resource {
  return parseResource({
    apiVersion: 'weft.dev/v1',
    kind: 'Service',
    metadata: { name, namespace, labels, ...(annotations && { annotations }) },
    spec: { ports: [{ port: 8080 }] },
  });
}
