/** AzureTableReplayCache on azurite's Table service: claims across instances, races, expiry. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AzureTableReplayCache,
  REPLAY_PARTITION,
  tableRowKey,
} from '../../../functions/azure/table-replay-cache.js';
import { ensureAzureTable } from '../../../functions/azure/table-state-store.js';
import { UnavailableError } from '../../../shared/model/errors.js';
import { type Azurite, startAzurite } from '../../support/azurite.js';

const TABLE = 'weftreplay';
let azurite: Azurite;
let next = 0;
const key = () => `svid_proof:${process.pid}-${++next}`;

beforeAll(async () => {
  azurite = await startAzurite();
  await ensureAzureTable(azurite.client(TABLE));
});
afterAll(async () => {
  await azurite?.stop();
});

/** Two caches on one table, each with a client of its own: what two warm function instances hold. */
const instances = (now?: () => number) =>
  [1, 2].map(() => new AzureTableReplayCache({ client: azurite.client(TABLE), now })) as [
    AzureTableReplayCache,
    AzureTableReplayCache,
  ];

describe('AzureTableReplayCache on azurite', () => {
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

  it('lets an expired claim be made again, by exactly one of racing claims', async () => {
    let now = 1_000_000;
    const [a, b] = instances(() => now);
    const k = key();
    expect(await a.claim(k, now + 1000)).toBe(true);
    now += 999;
    expect(await b.claim(k, now + 1000)).toBe(false);
    now += 1;
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).claim(k, now + 1000)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await a.claim(k, now + 1000)).toBe(false);
  });

  it('writes one entity in its own partition, reused once expired', async () => {
    const client = azurite.client(TABLE);
    const k = key();
    let now = 2_000_000;
    const cache = new AzureTableReplayCache({ client, now: () => now });
    await cache.claim(k, 1_900_000_000_123.4);
    expect(await client.getEntity(REPLAY_PARTITION, k)).toMatchObject({
      partitionKey: 'replay',
      rowKey: k,
      expiresAt: '1900000000124',
    });
    now = 1_900_000_000_124;
    expect(await cache.claim(k, now + 5)).toBe(true);
    const rows = [];
    for await (const row of client.listEntities({ queryOptions: { filter: `RowKey eq '${k}'` } }))
      rows.push(row);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.expiresAt).toBe(String(now + 5));
  });

  it('claims long keys and keys with characters Azure forbids by their hash', async () => {
    const [a, b] = instances();
    for (const odd of [`aws_iam:${'x'.repeat(2000)}`, `azure_msi:ab/cd+ef==`, `gcp:a#b?c\\d`]) {
      expect(tableRowKey(odd)).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(await a.claim(odd, Date.now() + 60_000)).toBe(true);
      expect(await b.claim(odd, Date.now() + 60_000)).toBe(false);
      expect(await b.claim(`${odd}y`, Date.now() + 60_000)).toBe(true);
    }
  });

  it('fails closed with UnavailableError when the table is missing or Azure Tables is unreachable', async () => {
    const missing = new AzureTableReplayCache({ client: azurite.client('weftnosuchtable') });
    await expect(missing.claim(key(), Date.now() + 1000)).rejects.toBeInstanceOf(UnavailableError);
    const stopped = await startAzurite();
    await stopped.stop();
    const unreachable = new AzureTableReplayCache({ client: stopped.client(TABLE) });
    await expect(unreachable.claim(key(), Date.now() + 1000)).rejects.toThrow(/cannot reach Azure Tables/);
  });

  it('refuses what is not a key or an expiry', async () => {
    const [a] = instances();
    await expect(a.claim('', Date.now())).rejects.toBeInstanceOf(TypeError);
    await expect(a.claim(key(), Number.NaN)).rejects.toBeInstanceOf(TypeError);
    expect(() => new AzureTableReplayCache({ client: undefined as never })).toThrow(TypeError);
  });
});
