import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AzureTableStateStore } from '../../../functions/azure/table-state-store.js';
import { LOCAL_AZURE_TABLE, startCloudStateStore } from '../../../functions/local/cloud-state-store.js';
import { AZURITE_TABLE_DB, startEmbeddedAzurite } from '../../../functions/local/embedded-azurite.js';
import { UnavailableError } from '../../../shared/model/errors.js';
import { parseResource } from '../../../shared/model/resource.js';
import type { StoredRecord } from '../../../shared/storage/state-store.js';
import { tempDir } from '../../support/temp-dir.js';

const orders: StoredRecord = {
  key: { kind: 'Service', namespace: 'shop', name: 'orders' },
  version: '0000000001000-000000-azure',
  origin: 'azure',
  updatedAt: '2030-01-01T00:00:00.000Z',
  resource: parseResource({
    apiVersion: 'weft.dev/v1',
    kind: 'Service',
    metadata: { name: 'orders', namespace: 'shop', labels: { app: 'orders' } },
    spec: { ports: [{ port: 8080 }] },
  }),
};

describe('startEmbeddedAzurite', () => {
  it('serves Azure Tables on a free loopback port and keeps them on disk across restarts', async () => {
    const dataDir = join(await tempDir('weft-azurite-'), 'azurite');
    const first = (await startEmbeddedAzurite({ dataDir }))!;
    expect(first.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/);
    const client = first.client('weft');
    await client.createTable();
    await new AzureTableStateStore({ client }).put(orders);
    await first.close();
    await first.close(); // idempotent
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    expect(existsSync(join(dataDir, AZURITE_TABLE_DB))).toBe(true);

    const second = (await startEmbeddedAzurite({ dataDir }))!;
    try {
      const store = new AzureTableStateStore({ client: second.client('weft') });
      await expect(store.get(orders.key)).resolves.toStrictEqual(orders);
    } finally {
      await second.close();
    }
  });

  it('refuses a directory another start holds, and takes over a stale lock', async () => {
    const dataDir = join(await tempDir('weft-azurite-'), 'azurite');
    const held = (await startEmbeddedAzurite({ dataDir }))!;
    await expect(startEmbeddedAzurite({ dataDir })).rejects.toThrow(UnavailableError);
    await held.close();

    // A process that died without closing left its pid behind.
    await writeFile(join(dataDir, 'weft.lock'), '2147483646\n');
    const again = (await startEmbeddedAzurite({ dataDir }))!;
    expect(await readFile(join(dataDir, 'weft.lock'), 'utf8')).toBe(`${process.pid}\n`);
    await again.close();
    expect(existsSync(join(dataDir, 'weft.lock'))).toBe(false);
  });
});

describe('startCloudStateStore', () => {
  it('puts azure on the Azure Tables adapter over azurite under DATA/azurite', async () => {
    const dataDir = await tempDir('weft-cloud-state-');
    const info: Record<string, unknown>[] = [];
    const logger = { info: (e: Record<string, unknown>) => info.push(e), warn() {}, error() {} };
    const state = (await startCloudStateStore({ cloud: 'azure', dataDir, logger }))!;
    try {
      expect(state.store).toBeInstanceOf(AzureTableStateStore);
      expect(state.dir).toBe(join(dataDir, 'azurite'));
      expect(info).toMatchObject([{ msg: 'state: Azure Tables on azurite', dir: state.dir }]);
      await state.store.put(orders);
    } finally {
      await state.close();
    }
    const azurite = (await startEmbeddedAzurite({ dataDir: join(dataDir, 'azurite') }))!;
    try {
      const entity = await azurite.client(LOCAL_AZURE_TABLE).getEntity('Service', 'shop|orders');
      expect(entity).toMatchObject({ version: orders.version, origin: 'azure' });
    } finally {
      await azurite.close();
    }
  });

  it('leaves aws and gcp on the embedded default', async () => {
    const dataDir = await tempDir('weft-cloud-state-');
    await expect(startCloudStateStore({ cloud: 'aws', dataDir })).resolves.toBeUndefined();
    await expect(startCloudStateStore({ cloud: 'gcp', dataDir })).resolves.toBeUndefined();
    expect(existsSync(join(dataDir, 'azurite'))).toBe(false);
  });
});
