/**
 * `weft serve --mesh DIR --cloud azure` as a real process keeps its state in
 * Azure Tables on the azurite it runs under DIR/azure/azurite (not dynalite
 * under DIR/azure/state), saves it on SIGTERM, and finds it again on the next
 * start.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCAL_AZURE_JOIN_TOKEN_TABLE, LOCAL_AZURE_TABLE } from '../../functions/local/cloud-state-store.js';
import { AZURITE_TABLE_DB, startEmbeddedAzurite } from '../../functions/local/embedded-azurite.js';
import { freePort } from '../agents/gateway/support/agent-process.js';
import { DEMO_MESH, killAll, type RunningWeft, runWeft, startWeft } from '../cli/weft-process.js';
import { tempDir } from '../support/temp-dir.js';

describe('weft serve --cloud azure', () => {
  afterAll(() => killAll());

  it('stores in Azure Tables on azurite under MESH/azure/azurite, across a restart', async () => {
    const mesh = await tempDir('weft-azure-serve-');
    const flags: string[] = [];
    for (const cloud of ['aws', 'gcp', 'azure']) {
      flags.push('--cloud', `${cloud}=http://127.0.0.1:${await freePort()}`);
    }
    const init = await runWeft(['ca', 'init', '--mesh', mesh, '--trust-domain', 'weft.demo', ...flags]);
    expect(init.code, init.stderr).toBe(0);
    const serve = () => startWeft('serve', ['--mesh', mesh, '--cloud', 'azure']);
    const gateways = async (azure: RunningWeft) => {
      const res = await fetch(`${azure.url}/v1/gateways`, {
        headers: { authorization: `Bearer ${azure.token}` },
      });
      return ((await res.json()) as { items: { metadata: { name: string } }[] }).items.map(
        (g) => g.metadata.name,
      );
    };

    let azure = await serve();
    const applied = await runWeft(['apply', '-f', DEMO_MESH, '--server', azure.url, '--data', mesh]);
    expect(applied.code, applied.stderr).toBe(0);
    const names = await gateways(azure);
    expect(names).toHaveLength(3);
    // A join token minted now is kept in azurite too: it still works after the restart below.
    const minted = await runWeft([
      ...['token', 'create', '--spiffe-id', 'spiffe://weft.demo/gw/azure/azure-edge'],
      ...['--server', azure.url, '--data', mesh],
    ]);
    expect(minted.code, minted.stderr).toBe(0);
    expect(await azure.stop('SIGTERM')).toBe(0);

    const dir = join(mesh, 'azure');
    expect(existsSync(join(dir, 'azurite', AZURITE_TABLE_DB))).toBe(true);
    expect(existsSync(join(dir, 'state'))).toBe(false);
    // The gateways are entities in the state table, read through the Azure Tables SDK.
    const azurite = (await startEmbeddedAzurite({ dataDir: join(dir, 'azurite') }))!;
    try {
      const stored: string[] = [];
      const entities = azurite.client(LOCAL_AZURE_TABLE).listEntities({
        queryOptions: { filter: "PartitionKey eq 'Gateway'" },
      });
      for await (const entity of entities) stored.push(String(entity.rowKey).split('|')[1] ?? '');
      expect(stored.sort()).toStrictEqual([...names].sort());
      let tokens = 0;
      for await (const _ of azurite.client(LOCAL_AZURE_JOIN_TOKEN_TABLE).listEntities()) tokens++;
      expect(tokens, 'the join token hash, in its own table').toBe(1);
    } finally {
      await azurite.close();
    }

    azure = await serve();
    expect(await gateways(azure)).toStrictEqual(names);
    expect(await azure.stop('SIGTERM')).toBe(0);
  }, 60_000);
});
