/** The Azure Tables join-token store on azurite: the same contract as every other. */
import { afterAll, beforeAll } from 'vitest';
import { AzureTableJoinTokenStore } from '../../../functions/azure/table-join-token-store.js';
import { ensureAzureTable } from '../../../functions/azure/table-state-store.js';
import { describeJoinTokenStoreContract } from '../../contract/join-token-store.js';
import { type Azurite, startAzurite } from '../../support/azurite.js';

let azurite: Azurite;
let tables = 0;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

describeJoinTokenStoreContract('AzureTableJoinTokenStore on azurite', async () => {
  const client = azurite.client(`weftjoin${++tables}`);
  await ensureAzureTable(client);
  return new AzureTableJoinTokenStore({ client });
});
